//! The OpenAPI document is served, covers every route, and equals the committed snapshot
//! docs/openapi.json (regenerate with GRIDPATROL_UPDATE_SNAPSHOTS=1 cargo test openapi).

use crate::harness::{Backend, TestApp};

#[test]
fn served_document_matches_the_snapshot() {
    let app = TestApp::builder(Backend::Sqlite)
        .without_demo()
        .spawn()
        .unwrap();
    let (status, served) = app.send(app.client.get(app.url("/api/v1/openapi.json")));
    assert_eq!(status, 200);
    assert_eq!(
        served["openapi"].as_str().unwrap().chars().next(),
        Some('3')
    );
    let generated = gridpatrol::startup::openapi_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
    if std::env::var("GRIDPATROL_UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run GRIDPATROL_UPDATE_SNAPSHOTS=1 cargo test openapi"
    );
    let paths = served["paths"].as_object().unwrap();
    for route in [
        "/healthz",
        "/readyz",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/api/v1/checklist",
        "/api/v1/checklist/versions",
        "/api/v1/departments",
        "/api/v1/grid/locate",
        "/api/v1/grid/cells",
        "/api/v1/regions",
        "/api/v1/reports",
        "/api/v1/reports/{id}",
        "/api/v1/photos/{sha256}",
        "/api/v1/photos/{sha256}/thumbnail",
    ] {
        assert!(
            paths.contains_key(route),
            "{route} missing from the OpenAPI document"
        );
    }
    assert!(served["components"]["securitySchemes"]["bearer"].is_object());
    assert!(served["components"]["schemas"]["ErrorEnvelope"].is_object());
}
