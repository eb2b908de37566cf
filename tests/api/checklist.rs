//! The 202-item checklist, its versions, and its import.

use serde_json::{json, Value};

use crate::both;
use crate::harness::{Backend, TestApp};

both!(
    the_checklist_has_202_items,
    a_changed_checklist_is_a_new_version,
    a_bad_checklist_is_refused_naming_each_item,
);

fn the_checklist_has_202_items(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("insp-denghu-01");
    let (status, body) = app.get("/api/v1/checklist", &token);
    assert_eq!(status, 200);
    assert_eq!(body["version"], 1);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 202);
    let (_, departments) = app.get("/api/v1/departments", &token);
    let known: Vec<&str> = departments
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(known.len(), 16);
    for item in items {
        for field in ["code", "category", "title_zh", "title_en", "severity"] {
            assert!(!item[field].as_str().unwrap().is_empty(), "{item}");
        }
        assert!(
            known.contains(&item["department"].as_str().unwrap()),
            "{item}"
        );
        assert!(["community", "town", "district"].contains(&item["tier"].as_str().unwrap()));
        assert!(item["time_limit_hours"].as_i64().unwrap() > 0);
        assert!(item["photo_required"].is_boolean());
        assert!(!item["applies_to"].as_array().unwrap().is_empty());
    }
    let first = &items[0];
    assert_eq!(first["code"], "FS-001");
    assert_eq!(first["category_zh"], "消防安全");
}

fn import(app: &TestApp, name: &str, doc: &Value) -> std::process::Output {
    std::fs::create_dir_all(&app.data_dir).unwrap();
    let path = app.data_dir.join(name);
    std::fs::write(&path, doc.to_string()).unwrap();
    app.cli(&["import", "checklist", path.to_str().unwrap()])
}

fn a_changed_checklist_is_a_new_version(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("sup-district");
    let mut doc: Value = serde_json::from_str(gridpatrol::demo::CHECKLIST).unwrap();
    // The same content again makes no new version.
    let out = import(&app, "same.json", &doc);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged"));
    // A shorter time limit for FS-001 does.
    doc["items"][0]["time_limit_hours"] = json!(8);
    let out = import(&app, "changed.json", &doc);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, current) = app.get("/api/v1/checklist", &token);
    assert_eq!(current["version"], 2);
    assert_eq!(current["items"][0]["time_limit_hours"], 8);
    let (status, old) = app.get("/api/v1/checklist?version=1", &token);
    assert_eq!(status, 200);
    assert_eq!(old["version"], 1);
    assert_eq!(old["items"][0]["time_limit_hours"], 24);
    let (_, versions) = app.get("/api/v1/checklist/versions", &token);
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert_eq!(versions[0]["version"], 2);
}

fn a_bad_checklist_is_refused_naming_each_item(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let mut doc: Value = serde_json::from_str(gridpatrol::demo::CHECKLIST).unwrap();
    let items = doc["items"].as_array_mut().unwrap();
    items[5]["code"] = items[4]["code"].clone();
    items[10]["department"] = json!("tobacco_bureau");
    items[11]["tier"] = json!("province");
    items[12].as_object_mut().unwrap().remove("title_en");
    let dup = items[4]["code"].as_str().unwrap().to_string();
    let out = import(&app, "bad.json", &doc);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("duplicate code {dup}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("item #10") && stderr.contains("unknown department \"tobacco_bureau\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("item #11") && stderr.contains("unknown tier \"province\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("item #12") && stderr.contains("missing field title_en"),
        "{stderr}"
    );
    let token = app.login("admin");
    let (_, versions) = app.get("/api/v1/checklist/versions", &token);
    assert_eq!(versions.as_array().unwrap().len(), 1, "nothing was stored");
}
