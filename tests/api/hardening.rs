//! The holes a review found by trying the API as an attacker with an ordinary account, each
//! closed: nothing of an object outside one's scope leaks through any path, enterprise data
//! follows region and role and is always audited, input is bounded, NUL bytes are refused,
//! reads do not write, and a password change ends the old sessions.

use serde_json::{json, Value};

use crate::both;
use crate::harness::{Backend, TestApp};
use crate::reports::{shop_report, IN_OWN_CELL};

both!(
    a_hidden_case_is_404_on_every_path,
    the_licence_check_masks_what_lies_outside_the_region,
    enterprise_views_list_only_what_the_caller_may_read,
    reports_that_show_enterprise_data_are_audited,
    a_report_cannot_fan_out_without_bound,
    nul_characters_are_refused_before_the_database,
    reading_reports_writes_nothing_and_history_stays,
    a_new_password_ends_the_old_sessions,
);

/// The middle of the first cell of `region`, as an admin sees the map.
fn inside(app: &TestApp, admin: &str, region: &str) -> (f64, f64) {
    let (status, cells) = app.get(
        &format!("/api/v1/grid/cells?region={region}&limit=1"),
        admin,
    );
    assert_eq!(status, 200, "{cells}");
    let ring = &cells["features"][0]["geometry"]["coordinates"][0];
    let ring = match ring[0][0].is_array() {
        true => &ring[0],
        false => ring,
    };
    let points: Vec<(f64, f64)> = ring
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let n = (points.len() - 1) as f64;
    let lon = points[..points.len() - 1].iter().map(|p| p.0).sum::<f64>() / n;
    let lat = points[..points.len() - 1].iter().map(|p| p.1).sum::<f64>() / n;
    (lon, lat)
}

fn audit_count(app: &TestApp, admin: &str, actor: &str) -> usize {
    let (status, page) = app.get(&format!("/api/v1/audit?actor={actor}&limit=1000"), admin);
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().len()
}

/// A case in 大沥 is nobody's business in 桂城's 灯湖 community: reading it, claiming it with
/// a stale version, or acting on it all answer 404, and no answer carries the case.
fn a_hidden_case_is_404_on_every_path(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let admin = app.login("admin");
    let dali = inside(&app, &admin, "44060512500000");
    let dispatcher = app.login("disp-dali-1");
    let (status, case) = app.post(
        "/api/v1/cases",
        &dispatcher,
        &json!({"title": "黄岐涌边违规堆放建筑垃圾", "category": "city_appearance",
                "department": "urban", "lon": dali.0, "lat": dali.1, "time_limit_hours": 48}),
    );
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_i64().unwrap();
    for user in ["insp-denghu-01", "hdl-guicheng-market", "disp-denghu-1"] {
        let token = app.login(user);
        let (status, body) = app.get(&format!("/api/v1/cases/{id}"), &token);
        assert_eq!(status, 404, "{user}: {body}");
        for body in [json!({"version": 0}), json!({"version": 1}), json!(null)] {
            let (status, answer) = app.send(
                app.client
                    .post(app.url(&format!("/api/v1/cases/{id}/claim")))
                    .bearer_auth(&token)
                    .json(&body),
            );
            assert_eq!(status, 404, "{user} claim {body}: {answer}");
            assert!(!answer.to_string().contains("黄岐涌"), "{answer}");
        }
        for action in [
            json!({"action": "reject", "note": "x", "version": 0}),
            json!({"action": "start", "version": 99}),
            json!({"action": "dispatch", "department": "urban"}),
        ] {
            let (status, answer) =
                app.post(&format!("/api/v1/cases/{id}/actions"), &token, &action);
            assert_eq!(status, 404, "{user} {action}: {answer}");
            assert!(answer["error"]["details"]["case"].is_null(), "{answer}");
        }
    }
}

/// The demo enterprises in two towns: one in 桂城 and one in 大沥, found as an admin sees
/// them.
fn enterprises_by_town(app: &TestApp, admin: &str) -> (String, String) {
    let mut reader = csv::Reader::from_reader(gridpatrol::demo::ENTERPRISES.as_bytes());
    let (mut guicheng, mut dali) = (None, None);
    for row in reader.deserialize::<std::collections::HashMap<String, String>>() {
        let row = row.unwrap();
        if row["status"] != "active" {
            continue;
        }
        let (status, e) = app.get(
            &format!("/api/v1/enterprises/{}?purpose=test", row["uscc"]),
            admin,
        );
        assert_eq!(status, 200, "{e}");
        match e["town"].as_str() {
            Some("44060501100000") if guicheng.is_none() => guicheng = Some(row["uscc"].clone()),
            Some("44060512500000") if dali.is_none() => dali = Some(row["uscc"].clone()),
            _ => {}
        }
        if guicheng.is_some() && dali.is_some() {
            break;
        }
    }
    (guicheng.unwrap(), dali.unwrap())
}

/// A 桂城 supervisor checking a number of a 大沥 enterprise learns the verdict but sees the
/// enterprise's personal data masked, as they could not view it at all; their own town's
/// they see whole. Every check is audited.
fn the_licence_check_masks_what_lies_outside_the_region(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let admin = app.login("admin");
    let (guicheng, dali) = enterprises_by_town(&app, &admin);
    let supervisor = app.login("sup-guicheng");
    let before = audit_count(&app, &admin, "sup-guicheng");
    let (status, answer) = app.get(
        &format!("/api/v1/licenses/check?number={dali}"),
        &supervisor,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["verdict"], "valid", "{answer}");
    assert_eq!(answer["enterprise"]["personal_data"], "masked", "{answer}");
    assert!(answer["enterprise"]["phone"]
        .as_str()
        .unwrap()
        .contains('*'));
    assert_eq!(
        app.get(
            &format!("/api/v1/enterprises/{dali}?purpose=test"),
            &supervisor
        )
        .0,
        404
    );
    let (_, own) = app.get(
        &format!("/api/v1/licenses/check?number={guicheng}"),
        &supervisor,
    );
    assert_eq!(own["enterprise"]["personal_data"], "whole", "{own}");
    assert_eq!(audit_count(&app, &admin, "sup-guicheng"), before + 3);
}

/// A dispatcher of the 灯湖 community sees an enterprise of 灯湖, but not the report an
/// inspector filed about it from another community, nor the case that report opened.
fn enterprise_views_list_only_what_the_caller_may_read(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let admin = app.login("admin");
    // An enterprise of 灯湖 (community 44060501100100).
    let (status, page) = app.get(
        "/api/v1/enterprises?cell=44060501100101&purpose=test&limit=1",
        &admin,
    );
    assert_eq!(status, 200, "{page}");
    let uscc = page["items"][0]["uscc"].as_str().unwrap().to_string();
    // Named from 东二 (community 44060501100200): seen there, by its own inspector.
    let donger = inside(&app, &admin, "44060501100200");
    let inspector = app.login("insp-donger-01");
    let mut report = shop_report(donger, None);
    report["place"]["enterprise_uscc"] = json!(uscc);
    let (status, answer) = app.post("/api/v1/reports", &inspector, &report);
    assert_eq!(status, 201, "{answer}");
    let report_id = answer["id"].as_str().unwrap();
    let (_, seen_by_town) = app.get(
        &format!("/api/v1/enterprises/{uscc}?purpose=test"),
        &app.login("sup-guicheng"),
    );
    let ids = |v: &Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].to_string().trim_matches('"').to_string())
            .collect()
    };
    assert!(ids(&seen_by_town, "reports").contains(&report_id.to_string()));
    assert!(!ids(&seen_by_town, "cases").is_empty(), "{seen_by_town}");
    let community = app.login("disp-denghu-1");
    let (status, seen) = app.get(
        &format!("/api/v1/enterprises/{uscc}?purpose=test"),
        &community,
    );
    assert_eq!(status, 200, "{seen}");
    assert!(
        !ids(&seen, "reports").contains(&report_id.to_string()),
        "{seen}"
    );
    assert!(ids(&seen, "cases").is_empty(), "{seen}");
}

/// Stored licence checks carry enterprise data; listing or reading such a report leaves an
/// audit record, a report without one does not.
fn reports_that_show_enterprise_data_are_audited(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let admin = app.login("admin");
    let (guicheng, _) = enterprises_by_town(&app, &admin);
    let inspector = app.login("insp-denghu-01");
    let mut report = shop_report(IN_OWN_CELL, None);
    report["licenses_seen"] = json!([{"number": guicheng, "kind": "business_licence"}]);
    let (status, answer) = app.post("/api/v1/reports", &inspector, &report);
    assert_eq!(status, 201, "{answer}");
    let id = answer["id"].as_str().unwrap();
    let supervisor = app.login("sup-guicheng");
    let before = audit_count(&app, &admin, "sup-guicheng");
    let (status, read) = app.get(&format!("/api/v1/reports/{id}"), &supervisor);
    assert_eq!(status, 200, "{read}");
    assert!(read["license_checks"][0]["enterprise"].is_object());
    assert_eq!(audit_count(&app, &admin, "sup-guicheng"), before + 1);
    let (status, _) = app.get("/api/v1/reports?limit=5", &supervisor);
    assert_eq!(status, 200);
    assert_eq!(audit_count(&app, &admin, "sup-guicheng"), before + 2);
    // A report with no licence checks shows no enterprise: no record.
    let (status, plain) = app.post(
        "/api/v1/reports",
        &inspector,
        &shop_report(IN_OWN_CELL, None),
    );
    assert_eq!(status, 201, "{plain}");
    let plain = plain["id"].as_str().unwrap();
    app.get(&format!("/api/v1/reports/{plain}"), &supervisor);
    assert_eq!(audit_count(&app, &admin, "sup-guicheng"), before + 2);
}

/// 5,000 licences seen in one report used to mean 5,000 lookups, audit rows and joins in
/// one write. Every list and text of a report, a case step and a case is bounded now, and
/// what is over is named with its limit; nothing is stored.
fn a_report_cannot_fan_out_without_bound(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let inspector = app.login("insp-denghu-01");
    let admin = app.login("admin");
    let before = audit_count(&app, &admin, "insp-denghu-01");
    let mut report = shop_report(IN_OWN_CELL, None);
    report["licenses_seen"] = Value::Array(
        (0..5000)
            .map(|i| json!({"number": format!("JY1440605{i:07}")}))
            .collect(),
    );
    let (status, answer) = app.post("/api/v1/reports", &inspector, &report);
    assert_eq!(status, 422, "{answer}");
    let problems = answer["error"]["details"].as_array().unwrap();
    assert!(problems
        .iter()
        .any(|p| p["field"] == "licenses_seen" && p["limit"] == 20));
    let id = report["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/reports/{id}"), &inspector).0, 404);
    assert_eq!(audit_count(&app, &admin, "insp-denghu-01"), before);
    let mut report = shop_report(IN_OWN_CELL, None);
    report["note"] = json!("巡".repeat(4001));
    report["place"]["name"] = json!("店".repeat(201));
    report["photos"] = json!(vec!["ab".repeat(32); 21]);
    let (status, answer) = app.post("/api/v1/reports", &inspector, &report);
    assert_eq!(status, 422, "{answer}");
    let fields: Vec<&str> = answer["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    for field in ["note", "place.name", "photos"] {
        assert!(fields.contains(&field), "{field}: {answer}");
    }
    // A case step and a case opened by hand.
    let (status, answer) = app.post(
        "/api/v1/cases/1/actions",
        &admin,
        &json!({"action": "reject", "note": "x".repeat(4001)}),
    );
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = app.post(
        "/api/v1/cases",
        &app.login("disp-guicheng-1"),
        &json!({"title": "井".repeat(201), "category": "city_appearance", "department": "urban",
                "lon": IN_OWN_CELL.0, "lat": IN_OWN_CELL.1, "time_limit_hours": 24}),
    );
    assert_eq!(status, 422, "{answer}");
}

/// A NUL in a report's note was a 500 on PostgreSQL, and a handheld retried it forever: it
/// is a 422 naming the field on both backends, and a NUL in a query is a 400.
fn nul_characters_are_refused_before_the_database(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let inspector = app.login("insp-denghu-01");
    let mut report = shop_report(IN_OWN_CELL, None);
    report["note"] = json!("门口\u{0}堆物");
    report["items"][0]["note"] = json!("\u{0}");
    let (status, answer) = app.post("/api/v1/reports", &inspector, &report);
    assert_eq!(status, 422, "{answer}");
    let fields: Vec<&str> = answer["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"note") && fields.contains(&"items[0].note"),
        "{answer}"
    );
    let (status, answer) = app.send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "insp-denghu-01\u{0}", "password": "x"})),
    );
    assert_eq!(status, 422, "{answer}");
    let admin = app.login("admin");
    for path in [
        "/api/v1/enterprises?q=%00&purpose=test",
        "/api/v1/audit?actor=a%00b",
        "/api/v1/reports?inspector=%00",
    ] {
        let (status, answer) = app.get(path, &admin);
        assert_eq!(status, 400, "{path}: {answer}");
    }
    // A retry of a good report still works after all that.
    let good = shop_report(IN_OWN_CELL, None);
    assert_eq!(app.post("/api/v1/reports", &inspector, &good).0, 201);
    assert_eq!(app.post("/api/v1/reports", &inspector, &good).0, 200);
}

/// Reading reports used to settle their flags, rewriting `outside_assignment` from today's
/// assignment: a GET that wrote, and a history that changed. Now a report keeps the flags it
/// was filed with when its inspector's cells change, and reads change nothing.
fn reading_reports_writes_nothing_and_history_stays(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let inspector = app.login("insp-denghu-01");
    let (status, answer) = app.post(
        "/api/v1/reports",
        &inspector,
        &shop_report(IN_OWN_CELL, None),
    );
    assert_eq!(status, 201, "{answer}");
    let id = answer["id"].as_str().unwrap().to_string();
    assert!(!answer["flags"]
        .as_array()
        .unwrap()
        .contains(&json!("outside_assignment")));
    // The inspector moves to other cells.
    let users = json!({"users": [{"username": "insp-denghu-01", "password": "Patrol#2026",
        "display_name": "邓晓丽", "role": "inspector", "cells": ["44060501100201"]}]});
    let file = app.data_dir.join("moved.json");
    std::fs::write(&file, users.to_string()).unwrap();
    let out = app.cli(&["import", "users", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = app.login("admin");
    let stored = || -> String {
        let pool = gridpatrol::db::Pool::open(&app.database_url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        gridpatrol::db_run!(&mut conn, |c| {
            use diesel::prelude::*;
            use gridpatrol::db::schema::reports;
            reports::table
                .find(&id)
                .select(reports::flags)
                .get_result::<String>(c)
        })
        .unwrap()
    };
    let before = stored();
    for _ in 0..2 {
        let (status, read) = app.get(&format!("/api/v1/reports/{id}"), &admin);
        assert_eq!(status, 200, "{read}");
        assert!(
            !read["flags"]
                .as_array()
                .unwrap()
                .contains(&json!("outside_assignment")),
            "{read}"
        );
        app.get("/api/v1/reports?limit=50", &admin);
    }
    assert_eq!(stored(), before, "reads changed the stored flags");
}

/// Re-importing a user with a new password ends the sessions opened with the old one (a
/// handheld reported lost, a leaked password); an import that keeps the password does not.
fn a_new_password_ends_the_old_sessions(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-02");
    let import = |password: &str| {
        let users = json!({"users": [{"username": "insp-denghu-02", "password": password,
            "display_name": "黄志强", "role": "inspector",
            "cells": ["44060501100104", "44060501100105"]}]});
        let file = app.data_dir.join(format!("users-{}.json", password.len()));
        std::fs::write(&file, users.to_string()).unwrap();
        let out = app.cli(&["import", "users", file.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    import("Patrol#2026");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(app.get("/api/v1/auth/me", &token).0, 200, "same password");
    import("Changed#Patrol-2026");
    // Past the token cache (2 s in the tests), the old token is refused.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(app.get("/api/v1/auth/me", &token).0, 401);
}
