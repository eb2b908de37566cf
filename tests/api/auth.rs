//! Login, tokens, logout, expiry and roles.

use serde_json::json;

use crate::both;
use crate::harness::{Backend, TestApp};

both!(
    login_answers_token_and_user,
    bad_credentials_are_401,
    repeated_failures_lock_a_name_for_a_while,
    logout_revokes_the_token,
    expired_tokens_are_refused,
    every_protected_endpoint_needs_a_token,
    tokens_are_stored_only_as_hashes,
);

fn login_answers_token_and_user(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    for (username, role) in [
        ("insp-denghu-01", "inspector"),
        ("disp-guicheng-1", "dispatcher"),
        ("hdl-guicheng-market", "handler"),
        ("sup-district", "supervisor"),
        ("admin", "admin"),
    ] {
        let (status, body) = app.send(app.client.post(app.url("/api/v1/auth/login")).json(
            &json!({"username": username, "password": crate::harness::demo_password(username)}),
        ));
        assert_eq!(status, 200, "{body}");
        assert!(body["token"].as_str().unwrap().starts_with("gp_"));
        assert_eq!(body["user"]["username"], username);
        assert_eq!(body["user"]["role"], role);
        assert!(body["user"]["id"].is_i64());
        let expires = body["expires_at"].as_str().unwrap();
        assert!(expires.ends_with("+08:00"), "{expires}");
        let (status, me) = app.get("/api/v1/auth/me", body["token"].as_str().unwrap());
        assert_eq!(status, 200);
        assert_eq!(me["username"], username);
    }
    let token = app.login("insp-denghu-01");
    let (_, me) = app.get("/api/v1/auth/me", &token);
    assert_eq!(
        me["cells"],
        json!(["44060501100101", "44060501100102", "44060501100103"])
    );
}

/// Five failed logins within 15 minutes lock the name for 15 minutes, the right password
/// included; a known and an unknown name are treated alike, other names are not affected,
/// and a success clears the count.
fn repeated_failures_lock_a_name_for_a_while(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let attempt = |username: &str, password: &str| {
        app.send(
            app.client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"username": username, "password": password})),
        )
    };
    let right = crate::harness::demo_password("insp-denghu-01");
    // A success clears the count: four failures, a login, four more stay 401.
    for round in 0..2 {
        for _ in 0..4 {
            assert_eq!(
                attempt("insp-denghu-01", "wrong password").0,
                401,
                "round {round}"
            );
        }
        if round == 0 {
            assert_eq!(attempt("insp-denghu-01", right).0, 200);
        }
    }
    let (status, answer) = attempt("insp-denghu-01", "wrong password");
    assert_eq!(status, 429, "{answer}");
    assert_eq!(answer["error"]["code"], "too_many_attempts");
    let wait = answer["error"]["details"]["retry_after_seconds"]
        .as_i64()
        .unwrap();
    assert!((899..=900).contains(&wait), "{answer}");
    let (status, answer) = attempt("insp-denghu-01", right);
    assert_eq!(status, 429, "the right password waits too: {answer}");
    // Another inspector is not affected.
    assert_eq!(
        attempt(
            "insp-denghu-02",
            crate::harness::demo_password("insp-denghu-02")
        )
        .0,
        200
    );
    // An unknown name locks the same way, so a lock says nothing about who exists.
    for _ in 0..4 {
        assert_eq!(attempt("insp-nobody-99", "Patrol#2026").0, 401);
    }
    assert_eq!(attempt("insp-nobody-99", "Patrol#2026").0, 429);
    // When the lock has run out (set back here rather than waited for), the right
    // password works again and starts a fresh count.
    let pool = gridpatrol::db::Pool::open(&app.database_url, 2).unwrap();
    let mut conn = pool.get().unwrap();
    gridpatrol::db_run!(&mut conn, |c| {
        use diesel::prelude::*;
        use gridpatrol::db::schema::login_failures as f;
        diesel::update(f::table.find("insp-denghu-01"))
            .set(f::locked_until.eq(gridpatrol::clock::now() - 1))
            .execute(c)
    })
    .unwrap();
    assert_eq!(attempt("insp-denghu-01", right).0, 200);
    assert_eq!(attempt("insp-denghu-01", "wrong password").0, 401);
}

fn bad_credentials_are_401(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    for body in [
        json!({"username": "insp-denghu-01", "password": "wrong password"}),
        json!({"username": "nobody-here", "password": "Patrol#2026"}),
        json!({"username": "", "password": ""}),
    ] {
        let (status, answer) = app.send(app.client.post(app.url("/api/v1/auth/login")).json(&body));
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["error"]["code"], "unauthorized");
        assert!(answer.get("token").is_none());
    }
}

fn logout_revokes_the_token(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("disp-guicheng-1");
    let other = app.login("disp-guicheng-1");
    let (status, _) = app.send(
        app.client
            .post(app.url("/api/v1/auth/logout"))
            .bearer_auth(&token),
    );
    assert_eq!(status, 204);
    let (status, body) = app.get("/api/v1/checklist", &token);
    assert_eq!(status, 401, "{body}");
    // Only that session ended: the same user's other token still works.
    let (status, _) = app.get("/api/v1/auth/me", &other);
    assert_eq!(status, 200);
}

fn expired_tokens_are_refused(b: Backend) {
    let Some(app) = TestApp::builder(b)
        .without_demo()
        .user("insp-lin", "inspector")
        .configure(|c| c.token_ttl_hours = 0)
        .spawn()
    else {
        return;
    };
    let token = app.login("insp-lin");
    let (status, body) = app.get("/api/v1/auth/me", &token);
    assert_eq!(status, 401, "{body}");
}

fn every_protected_endpoint_needs_a_token(b: Backend) {
    let Some(app) = TestApp::builder(b).without_demo().spawn() else {
        return;
    };
    for path in [
        "/api/v1/auth/me",
        "/api/v1/checklist",
        "/api/v1/checklist/versions",
        "/api/v1/departments",
        "/api/v1/grid/locate?lon=113.13&lat=23.02",
        "/api/v1/grid/cells",
        "/api/v1/regions",
    ] {
        let (status, body) = app.send(app.client.get(app.url(path)));
        assert_eq!(status, 401, "{path}: {body}");
        let (status, _) = app.send(app.client.get(app.url(path)).bearer_auth("gp_forged"));
        assert_eq!(status, 401, "{path} with a forged token");
    }
    let (status, _) = app.send(app.client.post(app.url("/api/v1/auth/logout")));
    assert_eq!(status, 401);
    for open in ["/healthz", "/readyz", "/api/v1/openapi.json"] {
        let (status, _) = app.send(app.client.get(app.url(open)));
        assert_eq!(status, 200, "{open}");
    }
}

fn tokens_are_stored_only_as_hashes(b: Backend) {
    use diesel::prelude::*;
    let Some(app) = TestApp::builder(b)
        .without_demo()
        .user("admin-zhao", "admin")
        .spawn()
    else {
        return;
    };
    let token = app.login("admin-zhao");
    let pool = gridpatrol::db::Pool::open(&app.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let stored: Vec<String> = gridpatrol::db_run!(&mut conn, |c| {
        gridpatrol::db::schema::sessions::table
            .select(gridpatrol::db::schema::sessions::token_hash)
            .load(c)
    })
    .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    assert!(!stored[0].contains(&token[3..]));
    assert_eq!(stored[0], gridpatrol::auth::password::token_hash(&token));
}
