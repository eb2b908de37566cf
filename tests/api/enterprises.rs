//! The enterprise library through HTTP: licence verdicts, masking by role, search and view
//! scoped and audited, imports (API and CLI), licence findings on reports becoming cases.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::both;
use crate::harness::{Backend, TestApp};
use crate::reports::{shop_report, IN_OWN_CELL};

both!(
    licence_verdicts,
    personal_data_is_masked_by_role,
    reports_check_their_licences_and_open_one_case_per_enterprise,
    search_and_view_are_scoped_and_audited,
    near_search_pages_within_the_radius,
    api_import_reports_bad_rows_by_line,
    cli_import_is_repeatable_and_names_bad_rows,
    the_audit_log_cannot_be_changed,
    concurrent_checks_each_leave_one_trace,
);

#[derive(Clone, Debug)]
struct Enterprise {
    uscc: String,
    name: String,
    lon: f64,
    lat: f64,
    status: String,
}

/// The demo library as its CSV files hold it.
fn demo_library() -> (Vec<Enterprise>, Vec<HashMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(gridpatrol::demo::ENTERPRISES.as_bytes());
    let enterprises = reader
        .deserialize::<HashMap<String, String>>()
        .map(|r| {
            let r = r.unwrap();
            Enterprise {
                uscc: r["uscc"].clone(),
                name: r["name"].clone(),
                lon: r["lon"].parse().unwrap(),
                lat: r["lat"].parse().unwrap(),
                status: r["status"].clone(),
            }
        })
        .collect();
    let mut reader = csv::Reader::from_reader(gridpatrol::demo::LICENCES.as_bytes());
    let licences = reader.deserialize().map(|r| r.unwrap()).collect();
    (enterprises, licences)
}

/// A valid USCC no demo enterprise holds, from an 8-character organization code body.
fn fresh_uscc(body8: &str) -> String {
    use gridpatrol::licences::numbers::{org_check_char, uscc_check_char};
    let first17 = format!("91440605{body8}{}", org_check_char(body8).unwrap());
    format!("{first17}{}", uscc_check_char(&first17).unwrap())
}

fn first_with_status<'a>(list: &'a [Enterprise], status: &str) -> &'a Enterprise {
    list.iter().find(|e| e.status == status).unwrap()
}

fn check(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/licenses/check?{query}"), token);
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn licence_verdicts(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let (library, licences) = demo_library();
    let good = first_with_status(&library, "active");
    let here = format!("lon={}&lat={}", good.lon, good.lat);

    let body = check(
        &app,
        &token,
        &format!(
            "number={}&kind=business_licence&{here}&name={}",
            good.uscc,
            enc(&good.name)
        ),
    );
    assert_eq!(body["verdict"], "valid", "{body}");
    assert_eq!(body["also"], json!([]));
    assert_eq!(body["enterprise"]["uscc"], good.uscc);
    assert_eq!(body["licence"]["kind"], "business_licence");
    assert!(body["distance_m"].as_f64().unwrap() < 1.0);
    // Read off a wall with full-width digits, spaces and a dash.
    let fullwidth: String = good
        .uscc
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let c = if c.is_ascii_digit() {
                char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap()
            } else {
                c.to_ascii_lowercase()
            };
            if i == 6 {
                format!(" {c}")
            } else if i == 12 {
                format!("-{c}")
            } else {
                c.to_string()
            }
        })
        .collect();
    assert_eq!(
        check(&app, &token, &format!("number={}", enc(&fullwidth)))["verdict"],
        "valid"
    );

    // One character changed; two swapped; a look-alike; nonsense.
    let mut changed: Vec<char> = good.uscc.chars().collect();
    changed[10] = if changed[10] == '3' { '4' } else { '3' };
    let changed: String = changed.into_iter().collect();
    assert_eq!(
        check(&app, &token, &format!("number={changed}"))["verdict"],
        "bad_check_digit"
    );
    let look_alike = good.uscc.replacen('0', "O", 1);
    assert_eq!(
        check(&app, &token, &format!("number={look_alike}"))["verdict"],
        "malformed"
    );
    assert_eq!(check(&app, &token, "number=ABC123")["verdict"], "malformed");
    // A well-formed code no enterprise holds.
    let unknown = fresh_uscc("MA5Y0001");
    let nf = check(&app, &token, &format!("number={unknown}"));
    assert_eq!(nf["verdict"], "not_found", "{nf}");
    assert!(nf["enterprise"].is_null());

    for (status, verdict) in [
        ("revoked", "revoked"),
        ("cancelled", "cancelled"),
        ("suspended", "suspended"),
    ] {
        let e = first_with_status(&library, status);
        assert_eq!(
            check(&app, &token, &format!("number={}", e.uscc))["verdict"],
            verdict,
            "{status}"
        );
    }
    let expired = licences
        .iter()
        .find(|l| l["kind"] == "food_business" && l["status"] == "expired")
        .unwrap();
    let body = check(
        &app,
        &token,
        &format!("number={}&kind=food_business", expired["number"]),
    );
    assert_eq!(body["verdict"], "expired", "{body}");
    // A business licence number presented as a food licence.
    let body = check(
        &app,
        &token,
        &format!("number={}&kind=food_business", good.uscc),
    );
    assert_eq!(body["verdict"], "kind_mismatch", "{body}");
    // Seen a kilometre away, under another name.
    let body = check(
        &app,
        &token,
        &format!(
            "number={}&lon={}&lat={}&name={}",
            good.uscc,
            good.lon + 0.01,
            good.lat,
            enc("顺景五金店")
        ),
    );
    assert_eq!(body["verdict"], "location_mismatch", "{body}");
    assert_eq!(body["also"], json!(["name_mismatch"]));
    assert!(body["distance_m"].as_f64().unwrap() > 900.0);
    // The most serious first, the rest listed.
    let revoked = first_with_status(&library, "revoked");
    let body = check(
        &app,
        &token,
        &format!(
            "number={}&lon={}&lat={}",
            revoked.uscc,
            revoked.lon + 0.01,
            revoked.lat
        ),
    );
    assert_eq!(body["verdict"], "revoked");
    assert_eq!(body["also"], json!(["location_mismatch"]));
    // Bad requests.
    let (status, _) = app.get(
        &format!("/api/v1/licenses/check?number={}&kind=permit", good.uscc),
        &token,
    );
    assert_eq!(status, 422);
    let (status, _) = app.get(
        &format!("/api/v1/licenses/check?number={}&lon=113.1", good.uscc),
        &token,
    );
    assert_eq!(status, 400);
    let (status, _) = app.get("/api/v1/licenses/check", &token);
    assert_eq!(status, 400);
}

fn personal_data_is_masked_by_role(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let (library, _) = demo_library();
    let good = first_with_status(&library, "active");
    let mut reader = csv::Reader::from_reader(gridpatrol::demo::ENTERPRISES.as_bytes());
    let raw: HashMap<String, String> = reader.deserialize().next().unwrap().unwrap();
    assert_eq!(raw["uscc"], good.uscc);
    for (user, whole) in [
        ("insp-denghu-01", false),
        ("disp-guicheng-1", false),
        ("hdl-guicheng-market", false),
        ("sup-guicheng", true),
        ("admin", true),
    ] {
        let token = app.login(user);
        let e = &check(&app, &token, &format!("number={}", good.uscc))["enterprise"];
        if whole {
            assert_eq!(
                e["legal_representative"], raw["legal_representative"],
                "{user}"
            );
            assert_eq!(e["phone"], raw["phone"], "{user}");
            assert_eq!(
                e["legal_rep_id_number"], raw["legal_rep_id_number"],
                "{user}"
            );
            assert_eq!(e["personal_data"], "whole");
        } else {
            let phone = e["phone"].as_str().unwrap();
            assert_eq!(
                phone,
                format!("{}****{}", &raw["phone"][..3], &raw["phone"][7..]),
                "{user}"
            );
            assert!(
                e["legal_representative"].as_str().unwrap().contains('*'),
                "{user}"
            );
            let id = e["legal_rep_id_number"].as_str().unwrap();
            assert_eq!(id.len(), 18);
            assert_eq!(&id[14..], &raw["legal_rep_id_number"][14..]);
            assert_eq!(id.matches('*').count(), 14, "{user}: {id}");
            assert_eq!(e["personal_data"], "masked");
        }
    }
}

fn reports_check_their_licences_and_open_one_case_per_enterprise(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let (library, _) = demo_library();
    let good = first_with_status(&library, "active");
    let revoked = first_with_status(&library, "revoked");
    let mut report = shop_report(IN_OWN_CELL, None);
    report["items"][0]["result"] = json!("pass");
    report["licenses_seen"] = json!([
        {"number": good.uscc, "kind": "business_licence"},
        {"number": revoked.uscc},
    ]);
    report["place"]["name"] = json!(good.name);
    let (status, answer) = app.post("/api/v1/reports", &token, &report);
    assert_eq!(status, 201, "{answer}");
    let checks = answer["license_checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[1]["verdict"], "revoked");
    assert_eq!(checks[1]["enterprise"]["uscc"], revoked.uscc);
    let cases = answer["cases"].as_array().unwrap().clone();
    assert_eq!(cases.len(), 1, "{answer}");
    // The same enterprise seen again elsewhere joins the open case.
    let mut again = shop_report((IN_OWN_CELL.0 + 0.002, IN_OWN_CELL.1), None);
    again["items"][0]["result"] = json!("pass");
    again["licenses_seen"] = json!([{"number": revoked.uscc}]);
    let (_, second) = app.post("/api/v1/reports", &token, &again);
    assert_eq!(second["cases"], json!(cases));
    // The enterprise view lists the reports and the case; the audit log has the checks.
    let admin = app.login("admin");
    let (status, view) = app.get(
        &format!("/api/v1/enterprises/{}?purpose=case+review", revoked.uscc),
        &admin,
    );
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["cases"].as_array().unwrap().len(), 1);
    assert_eq!(view["cases"][0]["id"], cases[0]);
    assert!(view["cases"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("证照核查"));
    assert_eq!(view["reports"].as_array().unwrap().len(), 2);
    let (_, audit) = app.get(
        &format!("/api/v1/audit?resource=licence:{}", revoked.uscc),
        &admin,
    );
    let purposes: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(purposes.len(), 2);
    assert!(purposes.contains(&format!("report:{}", report["id"].as_str().unwrap()).as_str()));
    assert_eq!(audit["items"][0]["actor"], "insp-denghu-01");
}

fn search_and_view_are_scoped_and_audited(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let inspector = app.login("insp-denghu-01");
    let (status, body) = app.get("/api/v1/enterprises?q=%E4%BE%BF%E5%88%A9", &inspector);
    assert_eq!(status, 400, "purpose is required: {body}");
    let (status, page) = app.get(
        "/api/v1/enterprises?q=%E4%BE%BF%E5%88%A9&purpose=patrol&limit=1000",
        &inspector,
    );
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for e in items {
        assert!(e["name"].as_str().unwrap().contains("便利"));
        assert!(
            e["cell"].as_str().unwrap().starts_with("440605011001"),
            "an inspector searches their community"
        );
        assert_eq!(e["personal_data"], "masked");
    }
    let (_, near) = app.get(
        &format!(
            "/api/v1/enterprises?near={},{},150&purpose=patrol",
            IN_OWN_CELL.0, IN_OWN_CELL.1
        ),
        &inspector,
    );
    for e in near["items"].as_array().unwrap() {
        let d = gridpatrol::grid::coords::distance_m(
            IN_OWN_CELL.0,
            IN_OWN_CELL.1,
            e["lon"].as_f64().unwrap(),
            e["lat"].as_f64().unwrap(),
        );
        assert!(d <= 150.0, "{d}");
    }
    let (_, page1) = app.get("/api/v1/enterprises?purpose=patrol&limit=5", &inspector);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = app.get(
        &format!("/api/v1/enterprises?purpose=patrol&limit=5&cursor={cursor}"),
        &inspector,
    );
    assert!(page2["items"][0]["uscc"].as_str() > page1["items"][4]["uscc"].as_str());
    // An enterprise of another town is not visible to a 桂城 dispatcher, and the refusal is traced.
    let (library, _) = demo_library();
    let dali = library
        .iter()
        .find(|e| e.lat > 23.023 && e.lat < 23.035)
        .unwrap();
    let dispatcher = app.login("disp-guicheng-1");
    let (status, _) = app.get(
        &format!("/api/v1/enterprises/{}?purpose=check", dali.uscc),
        &dispatcher,
    );
    assert_eq!(status, 404);
    let (status, _) = app.get(&format!("/api/v1/enterprises/{}", dali.uscc), &dispatcher);
    assert_eq!(status, 400);
    let sup = app.login("sup-district");
    let (status, view) = app.get(
        &format!(
            "/api/v1/enterprises/{}?purpose=inspection+planning",
            dali.uscc
        ),
        &sup,
    );
    assert_eq!(status, 200);
    assert!(!view["licences"].as_array().unwrap().is_empty());
    let admin = app.login("admin");
    let (_, audit) = app.get("/api/v1/audit?actor=disp-guicheng-1", &admin);
    let first = &audit["items"][0];
    assert_eq!(first["action"], "view");
    assert_eq!(first["resource"], format!("enterprise:{}", dali.uscc));
    assert_eq!(first["result_count"], 0);
    assert_eq!(first["purpose"], "check");
    let (_, searches) = app.get(
        "/api/v1/audit?actor=insp-denghu-01&resource=enterprises",
        &admin,
    );
    assert_eq!(searches["items"].as_array().unwrap().len(), 4);
    assert_eq!(searches["items"][3]["purpose"], "patrol");
    assert_eq!(searches["items"][3]["result_count"], items.len());
    let (status, _) = app.get("/api/v1/audit", &inspector);
    assert_eq!(status, 403);
}

/// The radius is applied before the page is cut: every page of a `near` search is full
/// and has a cursor while matches remain.
fn near_search_pages_within_the_radius(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let admin = app.login("admin");
    let (library, _) = demo_library();
    let (lon, lat, radius) = (library[0].lon, library[0].lat, 200.0);
    let mut expected: Vec<&str> = library
        .iter()
        .filter(|e| gridpatrol::grid::coords::distance_m(lon, lat, e.lon, e.lat) <= radius)
        .map(|e| e.uscc.as_str())
        .collect();
    expected.sort();
    assert!(expected.len() >= 2, "the demo library is denser than that");
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app.get(
            &format!("/api/v1/enterprises?near={lon},{lat},{radius}&purpose=patrol&limit=1&cursor={cursor}"),
            &admin,
        );
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "after {seen:?}: {page}");
        seen.push(items[0]["uscc"].as_str().unwrap().to_string());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    for bad in [
        "113,x,23,500",
        "113.12,23.02",
        "113.12,23.02,100,5",
        "113.12,,23.02,100",
    ] {
        let (status, body) = app.get(
            &format!("/api/v1/enterprises?near={bad}&purpose=patrol"),
            &admin,
        );
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{body}");
    }
}

const HEADER: &str = "uscc,name,legal_representative,legal_rep_id_number,phone,address,lon,lat,status,registered_on,place_kind";

fn api_import_reports_bad_rows_by_line(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let admin = app.login("admin");
    let code = fresh_uscc("MA5Y0002");
    let csv = format!(
        "{HEADER}\n{code},佛山市南海区桂城灯湖新开茶餐厅,梁家辉,,13922223333,佛山市南海区桂城街道灯湖东路20号,113.1216,23.0206,active,2026-01-05,restaurant\n\
         91440605MA5Z0000X9,坏数据,某人,,1,某地,113.12,23.02,active,2026-01-05,restaurant\n"
    );
    let post = |strict: bool, body: String, ct: &str| {
        app.send(
            app.client
                .post(app.url(&format!("/api/v1/enterprises/import?strict={strict}")))
                .bearer_auth(&admin)
                .header("content-type", ct)
                .body(body),
        )
    };
    let (status, body) = post(true, csv.clone(), "text/csv");
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"][0]["line"], 3);
    let (status, summary) = post(false, csv.clone(), "text/csv");
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        (summary["inserted"].as_i64(), summary["refused"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(summary["problems"][0]["line"], 3);
    let (_, again) = post(false, csv, "text/csv");
    assert_eq!(
        (again["inserted"].as_i64(), again["updated"].as_i64()),
        (Some(0), Some(1))
    );
    let token = app.login("insp-denghu-01");
    let found = check(&app, &token, &format!("number={code}"));
    assert_eq!(found["verdict"], "valid");
    assert_eq!(found["enterprise"]["cell"], "44060501100101");
    let (status, _) = post(false, "{}".into(), "text/plain");
    assert_eq!(status, 415);
    let dispatcher = app.login("disp-guicheng-1");
    let (status, _) = app.send(
        app.client
            .post(app.url("/api/v1/enterprises/import"))
            .bearer_auth(&dispatcher)
            .header("content-type", "application/json")
            .body("{\"enterprises\":[]}"),
    );
    assert_eq!(status, 403);
}

fn cli_import_is_repeatable_and_names_bad_rows(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    std::fs::create_dir_all(&app.data_dir).unwrap();
    let path = app.data_dir.join("library.csv");
    let mut text = gridpatrol::demo::ENTERPRISES
        .lines()
        .take(11)
        .collect::<Vec<_>>()
        .join("\n");
    text.push_str(
        "\n91440605MA5Z0000X9,坏数据,某人,,1,某地,113.12,23.02,unknown,2026-01-05,shop\n",
    );
    std::fs::write(&path, text).unwrap();
    let out = app.cli(&["import", "enterprises", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stdout.contains("0 inserted, 10 updated, 1 refused"),
        "{stdout}"
    );
    assert!(stderr.contains("enterprises line 12"), "{stderr}");
    let out = app.cli(&["import", "enterprises", "--strict", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 12"));
}

fn the_audit_log_cannot_be_changed(b: Backend) {
    use diesel::RunQueryDsl;
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    check(&app, &token, "number=91350100M000100Y43");
    let pool = gridpatrol::db::Pool::open(&app.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let update = gridpatrol::db_run!(&mut conn, |c| diesel::sql_query(
        "UPDATE audit_log SET purpose = 'nothing'"
    )
    .execute(c));
    assert!(update.is_err(), "an audit record was changed");
    let delete = gridpatrol::db_run!(&mut conn, |c| diesel::sql_query("DELETE FROM audit_log")
        .execute(c));
    assert!(delete.is_err(), "an audit record was deleted");
    let admin = app.login("admin");
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::POST,
    ] {
        let (status, _) = app.send(
            app.client
                .request(method, app.url("/api/v1/audit"))
                .bearer_auth(&admin),
        );
        assert_eq!(status, 405);
    }
    let (_, audit) = app.get("/api/v1/audit", &admin);
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}

/// Checks racing each other are traced by the writer in shared batches: every answer that
/// left has exactly its own record, none lost and none doubled.
fn concurrent_checks_each_leave_one_trace(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let (library, _) = demo_library();
    let inspectors = [
        "insp-denghu-01",
        "insp-xiabei-01",
        "insp-yanbu-03",
        "insp-heshun-01",
    ];
    let tokens: Vec<String> = inspectors.iter().map(|u| app.login(u)).collect();
    let picks: Vec<&Enterprise> = library.iter().step_by(37).take(48).collect();
    let answered: Vec<(usize, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = picks
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let (app, token) = (&app, &tokens[i % tokens.len()]);
                s.spawn(move || {
                    let body = check(app, token, &format!("number={}&purpose=race+{i}", e.uscc));
                    (i, body["number"].as_str().unwrap().to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(answered.len(), picks.len());
    let admin = app.login("admin");
    for (i, number) in answered {
        let (status, audit) = app.get(&format!("/api/v1/audit?resource=licence:{number}"), &admin);
        assert_eq!(status, 200, "{audit}");
        let mine: Vec<&Value> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["purpose"] == format!("race {i}"))
            .collect();
        assert_eq!(mine.len(), 1, "check {i} of {number}: {audit}");
        assert_eq!(mine[0]["actor"], inspectors[i % inspectors.len()]);
        assert_eq!(mine[0]["action"], "check");
    }
}
