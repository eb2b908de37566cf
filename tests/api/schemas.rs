//! The JSON Schemas in schemas/ describe what the server takes: the payloads this suite
//! sends validate against them, and payloads the server refuses are refused by them too.

use serde_json::{json, Value};

use crate::reports::{shop_report, IN_OWN_CELL};

fn schema(name: &str) -> jsonschema::Validator {
    let path = format!("{}/schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn report_payloads_match_the_schema() {
    let report = schema("report.schema.json");
    let mut sample = shop_report(IN_OWN_CELL, Some(&"ab".repeat(32)));
    sample["licenses_seen"] = json!([{"number": "91350100M000100Y43", "kind": "business_licence"}]);
    let errors: Vec<String> = report.iter_errors(&sample).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut gcj = sample.clone();
    gcj["location"]["crs"] = json!("gcj02");
    assert!(report.is_valid(&gcj));
    for (field, bad) in [
        ("location", json!({"lon": 213.0, "lat": 23.0})),
        ("items", json!([{"code": "FS-001", "result": "broken"}])),
        ("photos", json!(["not-a-hash"])),
        (
            "licenses_seen",
            json!(vec![json!({"number": "91350100M000100Y43"}); 21]),
        ),
        ("note", json!("巡".repeat(4001))),
        ("unknown_field", json!(1)),
    ] {
        let mut wrong = sample.clone();
        wrong[field] = bad;
        assert!(!report.is_valid(&wrong), "{field} should be refused");
    }
}

#[test]
fn login_payloads_match_the_schema() {
    let login = schema("login.request.schema.json");
    assert!(login.is_valid(&json!({"username": "insp-denghu-01", "password": "Patrol#2026"})));
    assert!(!login.is_valid(&json!({"username": "insp-denghu-01"})));
    assert!(!login.is_valid(&json!({"username": "a", "password": "b", "role": "admin"})));
}
