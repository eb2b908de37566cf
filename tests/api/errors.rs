//! Every bad request answers the JSON envelope with the right status (the harness checks
//! the envelope on every error answer).

use serde_json::json;

use crate::both;
use crate::harness::{Backend, TestApp};

both!(error_statuses);

fn error_statuses(b: Backend) {
    let Some(app) = TestApp::spawn_with(b, |c| c.json_limit = 4096) else {
        return;
    };
    let login = app.url("/api/v1/auth/login");
    // 400: malformed JSON, and a malformed query.
    let (status, body) = app.send(
        app.client
            .post(&login)
            .header("content-type", "application/json")
            .body("{\"username\": \"admin\""),
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("malformed_json"))
    );
    let token = app.login("admin");
    let (status, _) = app.get("/api/v1/grid/locate?lon=east&lat=23.0", &token);
    assert_eq!(status, 400);
    let (status, _) = app.get("/api/v1/grid/locate?lat=23.0", &token);
    assert_eq!(status, 400);
    let (status, _) = app.get("/api/v1/checklist?version=latest", &token);
    assert_eq!(status, 400);
    // 401 and 403.
    let (status, _) = app.get("/api/v1/checklist", "gp_nope");
    assert_eq!(status, 401);
    let inspector = app.login("insp-denghu-01");
    let (status, body) = app.get("/api/v1/grid/cells?region=44060512500000", &inspector);
    assert_eq!(status, 403, "{body}");
    // 404: an unknown path, an unknown version.
    let (status, _) = app.get("/api/v1/no-such-thing", &token);
    assert_eq!(status, 404);
    let (status, _) = app.get("/api/v1/checklist?version=999", &token);
    assert_eq!(status, 404);
    // 405: a known path with a method it lacks.
    let (status, body) = app.send(app.client.get(&login));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let (status, _) = app.send(app.client.delete(app.url("/healthz")));
    assert_eq!(status, 405);
    // 413: over the body limit.
    let big = json!({"username": "x".repeat(10_000), "password": "y"});
    let (status, body) = app.send(app.client.post(&login).json(&big));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    // 415: not JSON.
    let (status, _) = app.send(
        app.client
            .post(&login)
            .header("content-type", "text/plain")
            .body("{\"username\":\"admin\",\"password\":\"Admin#2026\"}"),
    );
    assert_eq!(status, 415);
    // 422: JSON of the wrong shape; out-of-range coordinates; unknown crs.
    let (status, body) = app.send(app.client.post(&login).json(&json!({"username": "admin"})));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("validation_failed"))
    );
    let (status, _) = app.send(
        app.client
            .post(&login)
            .json(&json!({"username": "admin", "password": "Admin#2026", "role": "admin"})),
    );
    assert_eq!(status, 422);
    let (status, _) = app.get("/api/v1/grid/locate?lon=213.1&lat=23.0", &token);
    assert_eq!(status, 422);
    let (status, body) = app.get("/api/v1/grid/locate?lon=113.1&lat=23.0&crs=bd09", &token);
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"][0]["field"], "crs");
}
