"""Schemathesis hooks for .ci/fuzz: how each generated request is authenticated.

Loaded through SCHEMATHESIS_HOOKS by .ci/fuzz, which sets:

  FUZZ_TOKEN          the bearer token of the role under test (admin or inspector)
  FUZZ_LOGOUT_TOKENS  a file of spare tokens of the same user, one a line

Every operation but logout gets `Authorization: Bearer $FUZZ_TOKEN`. POST /api/v1/auth/logout
revokes the token it carries, so it gets a spare token instead, a fresh one per request; once
the spares are spent it gets an already revoked one (the server answers 401, which the document
declares). Without this the first logout would revoke FUZZ_TOKEN and every later request of
the run would answer 401.

The token is set here rather than with `schemathesis run -H`, because a -H header would override
the logout provider. Cases that schemathesis generates *without* credentials on purpose (negative
security tests) are left without them by schemathesis itself.
"""

import os
import threading

import schemathesis

LOGOUT_PATH = "/api/v1/auth/logout"

_TOKEN = os.environ["FUZZ_TOKEN"]


def _bearer(case, token):
    case.headers = case.headers or {}
    case.headers["Authorization"] = f"Bearer {token}"


class _SparePool:
    def __init__(self, path):
        self._lock = threading.Lock()
        self._tokens = []
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self._tokens = [line.strip() for line in f if line.strip()]
        self._last = None

    def take(self):
        with self._lock:
            if self._tokens:
                self._last = self._tokens.pop()
            # Spent: reuse the last spare, which is revoked by now (never FUZZ_TOKEN).
            return self._last or "gp_spent"


_SPARES = _SparePool(os.environ.get("FUZZ_LOGOUT_TOKENS"))


# retry_on=[]: a 401 is an answer to check, not a reason to fetch a token and send it again.
@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(path=LOGOUT_PATH)
class SpareToken:
    def get(self, case, context):
        return _SPARES.take()

    def set(self, case, data, context):
        _bearer(case, data)


@schemathesis.auth(refresh_interval=None, retry_on=[]).skip_for(path=LOGOUT_PATH)
class RoleToken:
    def get(self, case, context):
        return _TOKEN

    def set(self, case, data, context):
        _bearer(case, data)
