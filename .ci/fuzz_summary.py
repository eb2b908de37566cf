"""Deduplicate the failures of .ci/fuzz's schemathesis runs and say how to reproduce each.

    python fuzz_summary.py OUT.txt ROLE=RUN.ndjson [ROLE=RUN.ndjson ...]

Reads schemathesis NDJSON event reports (one per role), groups every failed check by
operation, check, response status and kind of failure (values stripped, so that 40 bodies
failing the same way make one line), picks the smallest request of each group as its
reproduction (as curl, with the role's token as $TOKEN), writes the full list to OUT.txt and
prints a short one to stdout. Exit status: 0 when no check failed, 1 otherwise.
"""

import base64
import json
import re
import shlex
import sys
from collections import OrderedDict

CHECK_ORDER = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]

# The phrase of a jsonschema error that says what is wrong, without the offending value.
_KIND = re.compile(
    r"^.*( is not of type .*| is not one of .*| is not valid under any of the given schemas"
    r"| is valid under each of .*| is too (long|short)| is (less|greater) than .*"
    r"| does not match .*| is not a .*| should be non-empty| is expected to be empty"
    r"| has non-unique elements| was expected| is not allowed for .*)$"
)
_TOKEN = re.compile(r"gp_[A-Za-z0-9_\-]{20,}")


def _b64(value):
    if isinstance(value, dict) and "$base64" in value:
        return base64.b64decode(value["$base64"])
    if isinstance(value, str):
        return value.encode()
    return b""


def _json_type(text):
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _kind(check, failure, response):
    """A value-free description of one failed check."""
    message = failure.get("message") or ""
    title = failure.get("title") or ""
    if check != "response_schema_conformance":
        # e.g. "Received: 415\nDocumented: 200, 400" -> "Received: 415; Documented: 200, 400"
        text = "; ".join(line.strip() for line in message.split("\n") if line.strip())
        return f"{title}: {text}" if text else title
    lines = message.split("\n")
    first = lines[0]
    m = _KIND.search(first)
    kind = first
    if m:
        kind = m.group(1).strip()
        if "required property" in kind or "Additional properties" in first:
            kind = first
    schema_at = ""
    for line in lines:
        if line.startswith("Schema at "):
            schema_at = line[len("Schema at ") :].rstrip(":")
    value = ""
    if "\nValue:\n" in message:
        value_text = message.split("\nValue:\n", 1)[1].strip()
        vt = _json_type(value_text)
        if vt:
            value = f" (value is {vt})"
    where = f" at {schema_at}" if schema_at else ""
    return f"{title}: {kind}{where}{value}"


def _curl(request):
    method = request.get("method", "GET")
    uri = _TOKEN.sub("$TOKEN", request.get("uri", ""))
    # curl -X HEAD would wait for a body that never comes; -I sends a HEAD.
    parts = ["curl", "-sI"] if method == "HEAD" else ["curl", "-si", "-X", method]
    for name, values in (request.get("headers") or {}).items():
        if name.lower() in ("user-agent", "accept-encoding", "connection", "content-length", "x-schemathesis-testcaseid"):
            continue
        for v in values if isinstance(values, list) else [values]:
            if name.lower() == "authorization" and _TOKEN.search(v or ""):
                parts += ["-H", '"Authorization: Bearer $TOKEN"']
                continue
            parts += ["-H", shlex.quote(f"{name}: {v}")]
    body = _b64(request.get("body"))
    prefix = ""
    if body:
        try:
            text = body.decode("utf-8")
            if "\x00" in text:
                raise UnicodeDecodeError("utf-8", body, 0, 1, "NUL")
            parts += ["--data-binary", shlex.quote(text)]
        except UnicodeDecodeError:
            escaped = "".join(f"\\x{b:02x}" for b in body)
            prefix = f"printf '{escaped}' | "
            parts += ["--data-binary", "@-"]
    parts.append(shlex.quote(uri))
    return prefix + " ".join(parts)


def _response_text(response):
    if not response:
        return "(no response)"
    body = _b64(response.get("content"))
    text = body.decode("utf-8", "replace")
    if len(text) > 400:
        text = text[:400] + " ..."
    ct = ""
    for name, values in (response.get("headers") or {}).items():
        if name.lower() == "content-type":
            ct = values[0] if isinstance(values, list) else values
    return f"{response.get('status_code')} {ct or '(no content-type)'} {text}".rstrip()


def collect(runs):
    groups = OrderedDict()
    totals = {}
    for role, path in runs:
        cases = 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                event = json.loads(line)
                finished = event.get("ScenarioFinished")
                if not finished:
                    continue
                recorder = finished.get("recorder") or {}
                checks = recorder.get("checks") or {}
                interactions = recorder.get("interactions") or {}
                cases += len(checks)
                for case_id, results in checks.items():
                    for result in results:
                        if result.get("status") != "failure":
                            continue
                        info = (result.get("failure_info") or {}).get("failure") or {}
                        interaction = interactions.get(case_id) or {}
                        request = interaction.get("request") or {}
                        response = interaction.get("response") or {}
                        operation = info.get("operation") or recorder.get("label")
                        status = response.get("status_code")
                        key = (operation, result["name"], status, _kind(result["name"], info, response))
                        group = groups.setdefault(key, {"count": 0, "roles": set(), "best": None})
                        group["count"] += 1
                        group["roles"].add(role)
                        curl = _curl(request) if request else "(request not recorded)"
                        size = len(curl)
                        if group["best"] is None or size < group["best"][0]:
                            group["best"] = (size, curl, _response_text(response), role)
        totals[role] = cases
    return groups, totals


def main(argv):
    out_path = argv[1]
    runs = [arg.split("=", 1) for arg in argv[2:]]
    groups, totals = collect(runs)

    def order(key):
        op, check, status, kind = key
        method, _, path = op.partition(" ")
        c = CHECK_ORDER.index(check) if check in CHECK_ORDER else len(CHECK_ORDER)
        return (path, method, c, status or 0, kind)

    keys = sorted(groups, key=order)
    full = []
    short = []
    last_op = None
    for key in keys:
        op, check, status, kind = key
        g = groups[key]
        if op != last_op:
            full.append(f"\n## {op}")
            short.append(op)
            last_op = op
        roles = ",".join(sorted(g["roles"]))
        full.append(f"- [{check}] HTTP {status}: {kind}  (x{g['count']}; {roles})")
        curl = g["best"][1]
        if "$TOKEN" in curl:
            curl = f"TOKEN=<{g['best'][3]} token>; {curl}"
        full.append(f"    {curl}")
        full.append(f"    answered: {g['best'][2]}")
        short.append(f"  {check:<30} {status}  {kind}  [x{g['count']}; {roles}]")
    header = [
        "Fuzz failures, deduplicated by operation, check, status and kind",
        "test cases checked: " + ", ".join(f"{r} {n}" for r, n in totals.items()),
        f"distinct failures: {len(keys)}",
    ]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(header + full) + "\n")
    print("\n".join(header))
    if short:
        print("\n".join(short))
    return 1 if keys else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
