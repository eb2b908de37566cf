//! Inspection reports: validation, idempotency (also under a race), flags, photos in either
//! order, access to photos, cases from failed items.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::both;
use crate::harness::{Backend, TestApp};
use crate::photo_fixtures::{jpeg, png, truncated, webp, with_exif, Exif};

both!(
    a_report_opens_cases_and_settles_when_its_photo_arrives,
    a_photo_may_arrive_before_its_report,
    retries_are_idempotent_and_another_body_conflicts,
    racing_identical_reports_store_one,
    every_invalid_field_is_listed,
    gcj02_reports_are_stored_in_wgs84,
    assignment_map_and_lateness_flags,
    exif_far_or_off_time_is_flagged,
    photo_uploads_refuse_bad_bytes,
    photos_are_shown_only_to_those_who_may_see_them,
    nearby_failures_of_one_item_join_one_case,
    racing_reports_failing_two_items_in_either_order_open_each_case_once,
    reports_are_listed_scoped_and_as_geojson,
);

/// 灯湖社区第01网格 (insp-denghu-01's) and 第05网格 (not theirs), and a point outside the map.
pub const IN_OWN_CELL: (f64, f64) = (113.1215, 23.0205);
pub const IN_OTHER_CELL: (f64, f64) = (113.1258667, 23.0153333);
pub const OFF_MAP: (f64, f64) = (113.30, 22.80);

pub fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn now_rfc3339(offset_minutes: i64) -> String {
    let t = chrono::Utc::now() + chrono::Duration::minutes(offset_minutes);
    t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .to_rfc3339()
}

/// A shop report with ten items, the first (FS-001, photo required) failed.
pub fn shop_report(at: (f64, f64), photo: Option<&str>) -> Value {
    let codes = [
        "FS-001", "FS-004", "FS-005", "FS-007", "FS-008", "FS-010", "FS-015", "FS-018", "FS-020",
        "FS-021",
    ];
    let items: Vec<Value> = codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            if i == 0 {
                json!({"code": code, "result": "fail", "note": "二楼疏散通道堆放纸箱，安全出口上锁",
                       "photos": photo.map(|p| vec![p]).unwrap_or_default()})
            } else {
                json!({"code": code, "result": if i == 9 { "na" } else { "pass" }})
            }
        })
        .collect();
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "captured_at": now_rfc3339(-10),
        "location": {"lon": at.0, "lat": at.1, "accuracy_m": 8.5, "crs": "wgs84"},
        "place": {"kind": "shop", "name": "灯湖便利店", "address": "佛山市南海区桂城街道灯湖东路12号首层"},
        "checklist_version": 1,
        "items": items,
        "licenses_seen": [],
        "photos": [],
        "note": "例行巡查"
    })
}

fn exif_near(at: (f64, f64)) -> Exif {
    let local = chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::minutes(12);
    use chrono::{Datelike, Timelike};
    Exif {
        taken_at: Some((
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            local.second(),
        )),
        offset: Some("+08:00".into()),
        gps: Some(at),
    }
}

pub fn put_photo(app: &TestApp, token: &str, bytes: &[u8], content_type: &str) -> (u16, Value) {
    app.send(
        app.client
            .put(app.url(&format!("/api/v1/photos/{}", sha(bytes))))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes.to_vec()),
    )
}

fn a_report_opens_cases_and_settles_when_its_photo_arrives(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let photo = with_exif(&jpeg(640, 480, 1), &exif_near(IN_OWN_CELL));
    let report = shop_report(IN_OWN_CELL, Some(&sha(&photo)));
    let (status, answer) = app.post("/api/v1/reports", &token, &report);
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["id"], report["id"]);
    assert_eq!(answer["cell"]["code"], "44060501100101");
    assert_eq!(answer["flags"], json!(["photo_missing"]));
    assert_eq!(answer["license_checks"], json!([]));
    assert!(answer["received_at"].as_str().unwrap().ends_with("+08:00"));
    let cases = answer["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "one failed item, one case");

    let path = format!("/api/v1/reports/{}", report["id"].as_str().unwrap());
    let (_, view) = app.get(&path, &token);
    assert_eq!(view["photos_missing"], json!([sha(&photo)]));
    assert_eq!(view["items"].as_array().unwrap().len(), 10);
    assert_eq!(view["cell"]["town"], "44060501100000");

    let (status, stored) = put_photo(&app, &token, &photo, "image/jpeg");
    assert_eq!(status, 201, "{stored}");
    assert_eq!(
        (stored["width"].as_i64(), stored["height"].as_i64()),
        (Some(640), Some(480))
    );
    assert_eq!(stored["reports_updated"], 1);
    assert!(stored["gps"]["lon"].as_f64().unwrap() - IN_OWN_CELL.0 < 1e-5);
    assert!(stored["taken_at"].as_str().unwrap().ends_with("+08:00"));
    let (_, view) = app.get(&path, &token);
    assert_eq!(view["flags"], json!([]), "{view}");
    assert_eq!(view["photos_missing"], json!([]));
    assert_eq!(view["cases"], answer["cases"]);
}

fn a_photo_may_arrive_before_its_report(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let photo = with_exif(&jpeg(800, 600, 2), &exif_near(IN_OWN_CELL));
    let (status, _) = put_photo(&app, &token, &photo, "image/jpeg");
    assert_eq!(status, 201);
    let (status, again) = put_photo(&app, &token, &photo, "image/jpeg");
    assert_eq!(status, 200, "the server had it: {again}");
    let head = app
        .client
        .head(app.url(&format!("/api/v1/photos/{}", sha(&photo))))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    let (status, answer) = app.post(
        "/api/v1/reports",
        &token,
        &shop_report(IN_OWN_CELL, Some(&sha(&photo))),
    );
    assert_eq!(status, 201);
    assert_eq!(answer["flags"], json!([]), "{answer}");
    assert_eq!(answer["photos_missing"], json!([]));
}

fn retries_are_idempotent_and_another_body_conflicts(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let report = shop_report(IN_OWN_CELL, None);
    let (status, first) = app.post("/api/v1/reports", &token, &report);
    assert_eq!(status, 201);
    // The same body, serialised with keys in another order, is a retry.
    let reordered: Value = serde_json::from_str(&{
        let mut keys: Vec<(&String, &Value)> = report.as_object().unwrap().iter().collect();
        keys.reverse();
        let inner: Vec<String> = keys
            .iter()
            .map(|(k, v)| format!("{}:{}", Value::String((*k).clone()), v))
            .collect();
        format!("{{{}}}", inner.join(","))
    })
    .unwrap();
    let (status, second) = app.post("/api/v1/reports", &token, &reordered);
    assert_eq!(status, 200, "{second}");
    assert_eq!(first, second);
    let mut changed = report.clone();
    changed["note"] = json!("another body");
    let (status, body) = app.post("/api/v1/reports", &token, &changed);
    assert_eq!(status, 409, "{body}");
    // Another inspector cannot replay someone's report id either.
    let other = app.login("insp-denghu-02");
    let (status, _) = app.post("/api/v1/reports", &other, &report);
    assert_eq!(status, 409);
    let (_, list) = app.get("/api/v1/reports", &token);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

fn racing_identical_reports_store_one(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let report = shop_report(IN_OWN_CELL, None);
    let statuses: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| s.spawn(|| app.post("/api/v1/reports", &token, &report)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = statuses.iter().filter(|(s, _)| *s == 201).count();
    let replayed = statuses.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!((created, replayed), (1, 15), "{statuses:?}");
    assert!(statuses
        .iter()
        .all(|(_, a)| a["cases"] == statuses[0].1["cases"]));
    let (_, list) = app.get("/api/v1/reports", &token);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let admin = app.login("admin");
    let (_, view) = app.get(
        &format!("/api/v1/reports/{}", report["id"].as_str().unwrap()),
        &admin,
    );
    assert_eq!(view["cases"].as_array().unwrap().len(), 1);
}

fn every_invalid_field_is_listed(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let mut report = shop_report(IN_OWN_CELL, Some("not-a-hash"));
    report["captured_at"] = json!(now_rfc3339(60));
    report["location"] = json!({"lon": 213.1, "lat": 23.0, "crs": "bd09"});
    let items = report["items"].as_array_mut().unwrap();
    items[1]["code"] = json!("XX-999");
    items[2]["code"] = items[3]["code"].clone();
    // FS-002 does not concern shops.
    items[4]["code"] = json!("FS-002");
    let (status, body) = app.post("/api/v1/reports", &token, &report);
    assert_eq!(status, 422, "{body}");
    let text = body["error"]["details"].to_string();
    for expected in [
        "captured_at",
        "5 minutes ahead",
        "unknown crs",
        "out of range",
        "unknown item code XX-999",
        "appears twice",
        "does not apply to a shop",
        "not a sha256",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    let mut report = shop_report(IN_OWN_CELL, None);
    report["checklist_version"] = json!(99);
    report["place"]["kind"] = json!("spaceport");
    let (status, body) = app.post("/api/v1/reports", &token, &report);
    assert_eq!(status, 422);
    let text = body["error"]["details"].to_string();
    assert!(
        text.contains("checklist version 99 does not exist"),
        "{text}"
    );
    assert!(text.contains("unknown place kind"), "{text}");
    let mut report = shop_report(IN_OWN_CELL, None);
    report["id"] = json!("report-7");
    report["extra"] = json!(true);
    let (status, _) = app.post("/api/v1/reports", &token, &report);
    assert_eq!(status, 422);
    let (status, _) = app.post("/api/v1/reports", &token, &json!([1, 2]));
    assert_eq!(status, 422);
    // Only inspectors report.
    let dispatcher = app.login("disp-guicheng-1");
    let (status, _) = app.post(
        "/api/v1/reports",
        &dispatcher,
        &shop_report(IN_OWN_CELL, None),
    );
    assert_eq!(status, 403);
    let (_, list) = app.get("/api/v1/reports", &token);
    assert_eq!(list["items"], json!([]), "nothing was stored");
}

fn gcj02_reports_are_stored_in_wgs84(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let (glon, glat) = gridpatrol::grid::coords::wgs84_to_gcj02(IN_OWN_CELL.0, IN_OWN_CELL.1);
    let mut report = shop_report(IN_OWN_CELL, None);
    report["location"] = json!({"lon": glon, "lat": glat, "crs": "gcj02"});
    let (status, answer) = app.post("/api/v1/reports", &token, &report);
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["cell"]["code"], "44060501100101");
    let (_, view) = app.get(
        &format!("/api/v1/reports/{}", report["id"].as_str().unwrap()),
        &token,
    );
    let (lon, lat) = (
        view["location"]["lon"].as_f64().unwrap(),
        view["location"]["lat"].as_f64().unwrap(),
    );
    assert!(gridpatrol::grid::coords::distance_m(lon, lat, IN_OWN_CELL.0, IN_OWN_CELL.1) < 0.01);
    assert_eq!(view["location"]["crs"], "wgs84");
    assert_eq!(view["location"]["reported_crs"], "gcj02");
}

fn assignment_map_and_lateness_flags(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let mut report = shop_report(IN_OTHER_CELL, None);
    report["items"][0]["result"] = json!("pass");
    let (status, answer) = app.post("/api/v1/reports", &token, &report);
    assert_eq!(status, 201);
    assert_eq!(answer["flags"], json!(["outside_assignment"]));
    assert_eq!(answer["cases"], json!([]));
    let mut report = shop_report(OFF_MAP, None);
    report["items"][0]["result"] = json!("pass");
    report["captured_at"] = json!(now_rfc3339(-73 * 60));
    let (status, answer) = app.post("/api/v1/reports", &token, &report);
    assert_eq!(status, 201, "still accepted: {answer}");
    assert_eq!(answer["flags"], json!(["outside_map", "late"]));
    assert!(answer["cell"].is_null());
    // A report outside the map still reaches the inspector's own centres.
    let supervisor = app.login("sup-guicheng");
    let (status, _) = app.get(
        &format!("/api/v1/reports/{}", report["id"].as_str().unwrap()),
        &supervisor,
    );
    assert_eq!(status, 200);
}

fn exif_far_or_off_time_is_flagged(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    // Taken 1.5 km away.
    let far = with_exif(
        &jpeg(320, 240, 3),
        &exif_near((IN_OWN_CELL.0 + 0.015, IN_OWN_CELL.1)),
    );
    // Taken three hours before the report.
    let mut old = exif_near(IN_OWN_CELL);
    let (y, mo, d, h, mi, s) = old.taken_at.unwrap();
    let earlier = chrono::NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap()
        - chrono::Duration::hours(3);
    use chrono::{Datelike, Timelike};
    old.taken_at = Some((
        earlier.year(),
        earlier.month(),
        earlier.day(),
        earlier.hour(),
        earlier.minute(),
        earlier.second(),
    ));
    let stale = with_exif(&jpeg(320, 240, 4), &old);
    let plain = jpeg(320, 240, 5);
    for (bytes, expected) in [
        (&far, json!(["photo_location_mismatch"])),
        (&stale, json!(["photo_time_mismatch"])),
        (&plain, json!([])),
    ] {
        let (status, _) = put_photo(&app, &token, bytes, "image/jpeg");
        assert_eq!(status, 201);
        let mut report = shop_report(IN_OWN_CELL, Some(&sha(bytes)));
        report["photos"] = json!([sha(bytes)]);
        let (_, answer) = app.post("/api/v1/reports", &token, &report);
        assert_eq!(answer["flags"], expected, "{answer}");
    }
}

fn photo_uploads_refuse_bad_bytes(b: Backend) {
    let Some(app) = TestApp::spawn_with(b, |c| c.photo_limit = 200_000) else {
        return;
    };
    let token = app.login("insp-denghu-01");
    let good = jpeg(64, 48, 6);
    // The hash in the path is not the bytes' hash.
    let (status, body) = app.send(
        app.client
            .put(app.url(&format!("/api/v1/photos/{}", sha(b"other bytes"))))
            .bearer_auth(&token)
            .header("content-type", "image/jpeg")
            .body(good.clone()),
    );
    assert_eq!(status, 422, "{body}");
    // Not an image type we take; a GIF sent as JPEG; PNG bytes sent as JPEG.
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    assert_eq!(put_photo(&app, &token, &good, "text/plain").0, 415);
    assert_eq!(put_photo(&app, &token, &gif, "image/jpeg").0, 415);
    assert_eq!(
        put_photo(&app, &token, &png(32, 32, 1), "image/jpeg").0,
        415
    );
    // Corrupt bytes of a supported type.
    assert_eq!(
        put_photo(&app, &token, &truncated(&jpeg(256, 256, 7)), "image/jpeg").0,
        422
    );
    assert_eq!(
        put_photo(&app, &token, &truncated(&png(256, 256, 8)), "image/png").0,
        422
    );
    // Over the size limit.
    let big = jpeg(1600, 1200, 9);
    assert!(big.len() > 200_000);
    assert_eq!(put_photo(&app, &token, &big, "image/jpeg").0, 413);
    // A malformed hash in the path.
    let (status, _) = app.send(
        app.client
            .put(app.url("/api/v1/photos/xyz"))
            .bearer_auth(&token)
            .header("content-type", "image/jpeg")
            .body(good.clone()),
    );
    assert_eq!(status, 400);
    // None of that stored anything; the good photo in every format goes in.
    for (bytes, ct) in [
        (good, "image/jpeg"),
        (png(40, 30, 2), "image/png"),
        (webp(40, 30, 3), "image/webp"),
    ] {
        let (status, body) = put_photo(&app, &token, &bytes, ct);
        assert_eq!(status, 201, "{ct}: {body}");
        assert_eq!(body["content_type"], ct);
    }
    let head = app
        .client
        .head(app.url(&format!("/api/v1/photos/{}", sha(&gif))))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(head.status().as_u16(), 404);
}

fn photos_are_shown_only_to_those_who_may_see_them(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let owner = app.login("insp-denghu-01");
    let photo = jpeg(1024, 512, 10);
    let hash = sha(&photo);
    put_photo(&app, &owner, &photo, "image/jpeg");
    let (status, _) = app.post(
        "/api/v1/reports",
        &owner,
        &shop_report(IN_OWN_CELL, Some(&hash)),
    );
    assert_eq!(status, 201);
    let fetch = |token: &str, suffix: &str| {
        app.client
            .get(app.url(&format!("/api/v1/photos/{hash}{suffix}")))
            .bearer_auth(token)
            .send()
            .unwrap()
    };
    let original = fetch(&owner, "");
    assert_eq!(original.status().as_u16(), 200);
    assert_eq!(original.bytes().unwrap().to_vec(), photo);
    let thumb = fetch(&owner, "/thumbnail");
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&thumb.bytes().unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 160));
    for (user, expected) in [
        ("disp-guicheng-1", 200),
        ("disp-denghu-1", 200),
        ("sup-district", 200),
        ("disp-dali-1", 404),
        ("insp-huangqi-01", 404),
        ("insp-denghu-02", 404),
    ] {
        let token = app.login(user);
        assert_eq!(fetch(&token, "").status().as_u16(), expected, "{user}");
        assert_eq!(
            fetch(&token, "/thumbnail").status().as_u16(),
            expected,
            "{user} thumbnail"
        );
    }
}

fn nearby_failures_of_one_item_join_one_case(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let (_, first) = app.post("/api/v1/reports", &token, &shop_report(IN_OWN_CELL, None));
    // About 20 m east: the same problem again.
    let near = (IN_OWN_CELL.0 + 0.0002, IN_OWN_CELL.1);
    let (_, second) = app.post("/api/v1/reports", &token, &shop_report(near, None));
    assert_eq!(first["cases"], second["cases"]);
    // The case holds both reports, and its timeline says which joined when.
    let case = &first["cases"][0];
    let (status, view) = app.get(&format!("/api/v1/cases/{case}"), &app.login("admin"));
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["version"], 2, "{view}");
    let joined: Vec<&Value> = view["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert_eq!(joined.len(), 2, "{view}");
    assert!(joined.contains(&&first["id"]) && joined.contains(&&second["id"]));
    let timeline = view["timeline"].as_array().unwrap();
    let actions: Vec<&str> = timeline
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["open", "report_joined"]);
    let (opened, rejoined) = (&timeline[0], &timeline[1]);
    assert_eq!(opened["actor"], "insp-denghu-01");
    assert_eq!(opened["to_status"], "open");
    assert_eq!(opened["from_status"], Value::Null);
    assert_eq!(opened["department"], view["department"]);
    assert_eq!(opened["details"]["report_id"], first["id"]);
    assert_eq!(opened["details"]["source"], "report_item");
    assert_eq!(rejoined["actor"], "insp-denghu-01");
    assert_eq!(rejoined["actor_role"], "inspector");
    assert_eq!(
        (&rejoined["from_status"], &rejoined["to_status"]),
        (&json!("open"), &json!("open"))
    );
    assert_eq!(
        (&rejoined["from_tier"], &rejoined["to_tier"]),
        (&view["tier"], &view["tier"])
    );
    assert_eq!(rejoined["details"]["report_id"], second["id"]);
    assert_eq!(rejoined["details"]["item_code"], view["item_code"]);
    assert_eq!(rejoined["photos"], json!([]));
    // About 100 m north: another place, another case.
    let far = (IN_OWN_CELL.0, IN_OWN_CELL.1 + 0.0009);
    let (_, third) = app.post("/api/v1/reports", &token, &shop_report(far, None));
    assert_ne!(first["cases"], third["cases"]);
}

/// Reports that fail the same two items, listed in opposite orders, race: none may wait for
/// a lock the other holds (PostgreSQL would abort one as a deadlock), and between them they
/// open each item's case once.
fn racing_reports_failing_two_items_in_either_order_open_each_case_once(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let report = |reversed: bool| {
        let mut r = shop_report(IN_OWN_CELL, None);
        r["items"][1] = json!({"code": "FS-004", "result": "fail", "note": "灭火器压力不足"});
        if reversed {
            r["items"].as_array_mut().unwrap().swap(0, 1);
        }
        r
    };
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..24)
            .map(|i| {
                let body = report(i % 2 == 1);
                let token = &token;
                let app = &app;
                s.spawn(move || app.post("/api/v1/reports", token, &body))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut cases = std::collections::BTreeSet::new();
    for (status, answer) in &answers {
        assert_eq!(*status, 201, "{answer}");
        let ids = answer["cases"].as_array().unwrap();
        assert_eq!(ids.len(), 2, "{answer}");
        cases.extend(ids.iter().map(|c| c.as_i64().unwrap()));
    }
    assert_eq!(cases.len(), 2, "one case per item: {cases:?}");
}

fn reports_are_listed_scoped_and_as_geojson(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let denghu = app.login("insp-denghu-01");
    let huangqi = app.login("insp-huangqi-01");
    for _ in 0..3 {
        app.post("/api/v1/reports", &denghu, &shop_report(IN_OWN_CELL, None));
    }
    // 黄岐社区 lies in 大沥镇.
    let (status, _) = app.post(
        "/api/v1/reports",
        &huangqi,
        &shop_report((113.1215, 23.0235), None),
    );
    assert_eq!(status, 201);
    let (_, own) = app.get("/api/v1/reports?limit=2", &denghu);
    assert_eq!(own["items"].as_array().unwrap().len(), 2);
    let cursor = own["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = app.get(&format!("/api/v1/reports?limit=2&cursor={cursor}"), &denghu);
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    let guicheng = app.login("disp-guicheng-1");
    let (_, town) = app.get("/api/v1/reports", &guicheng);
    assert_eq!(
        town["items"].as_array().unwrap().len(),
        3,
        "a town sees its own reports only"
    );
    let admin = app.login("admin");
    let (_, all) = app.get("/api/v1/reports?inspector=insp-huangqi-01", &admin);
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    let (_, flagged) = app.get(
        "/api/v1/reports?flag=photo_missing&cell=44060501100101",
        &admin,
    );
    assert_eq!(flagged["items"].as_array().unwrap().len(), 3);
    let geo = app
        .client
        .get(app.url("/api/v1/reports"))
        .bearer_auth(&admin)
        .header("accept", "application/geo+json")
        .send()
        .unwrap();
    assert_eq!(geo.headers()["content-type"], "application/geo+json");
    let geo: Value = geo.json().unwrap();
    assert_eq!(geo["type"], "FeatureCollection");
    assert_eq!(geo["features"].as_array().unwrap().len(), 4);
    assert_eq!(geo["features"][0]["geometry"]["type"], "Point");
    for bad in ["flag=weird", "from=yesterday", "limit=5000"] {
        let (status, _) = app.get(&format!("/api/v1/reports?{bad}"), &admin);
        assert_eq!(status, 400, "{bad}");
    }
    let (status, _) = app.get("/api/v1/reports?cell=44060512500101", &guicheng);
    assert_eq!(status, 403);
    // Another inspector cannot read someone's report.
    let (_, list) = app.get("/api/v1/reports", &denghu);
    let id = list["items"][0]["id"].as_str().unwrap();
    let (status, _) = app.get(&format!("/api/v1/reports/{id}"), &huangqi);
    assert_eq!(status, 404);
}
