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
    a_name_locked_at_one_address_logs_in_from_another,
    a_flooding_address_is_locked_for_every_name,
    concurrent_attempts_cannot_outrun_the_count,
);

/// A login from `address` (named in the header the test server reads addresses from).
fn login_from(
    app: &TestApp,
    address: &str,
    username: &str,
    password: &str,
) -> (u16, serde_json::Value, Option<String>) {
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-client-address", address)
        .json(&json!({"username": username, "password": password}))
        .send()
        .unwrap();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = crate::harness::read(response);
    (status, body, retry)
}

/// Someone who keeps failing with a dispatcher's name from one address locks that name
/// there only: the dispatcher logs in from the centre's own address all the same.
fn a_name_locked_at_one_address_logs_in_from_another(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let name = "disp-guicheng-1";
    let right = crate::harness::demo_password(name);
    for _ in 0..4 {
        assert_eq!(login_from(&app, "203.0.113.9", name, "guess").0, 401);
    }
    let (status, body, retry) = login_from(&app, "203.0.113.9", name, "guess");
    assert_eq!(status, 429, "{body}");
    let retry: u64 = retry.expect("Retry-After on 429").parse().unwrap();
    assert!((899..=900).contains(&retry), "{retry}");
    assert_eq!(login_from(&app, "203.0.113.9", name, right).0, 429);
    let (status, body, _) = login_from(&app, "10.44.6.5", name, right);
    assert_eq!(status, 200, "the owner from the centre's address: {body}");
}

/// An address that fails with many names is locked for every name (no name is stored per
/// attempt any more once it is: a locked address costs a read), with Retry-After; other
/// addresses are not affected.
fn a_flooding_address_is_locked_for_every_name(b: Backend) {
    let Some(app) = TestApp::builder(b)
        .configure(|c| c.login_address_limit = 12)
        .spawn()
    else {
        return;
    };
    for i in 0..11 {
        let (status, body, _) = login_from(&app, "198.51.100.7", &format!("bot-{i}"), "x");
        assert_eq!(status, 401, "attempt {i}: {body}");
    }
    let (status, body, retry) = login_from(&app, "198.51.100.7", "bot-11", "x");
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some());
    let right = crate::harness::demo_password("insp-denghu-01");
    assert_eq!(
        login_from(&app, "198.51.100.7", "insp-denghu-01", right).0,
        429,
        "the address is locked for every name"
    );
    assert_eq!(
        login_from(&app, "10.44.6.5", "insp-denghu-01", right).0,
        200
    );
    // What the flood left in the database: one counter per name it tried, and the
    // address's; nothing more for attempts made while locked.
    let (_, body, _) = login_from(&app, "198.51.100.7", "bot-99", "x");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    let pool = gridpatrol::db::Pool::open(&app.database_url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let keys: i64 = gridpatrol::db_run!(&mut conn, |c| {
        use diesel::prelude::*;
        use gridpatrol::db::schema::login_throttle as t;
        t::table
            .filter(t::key.like("%198.51.100.7"))
            .count()
            .get_result(c)
    })
    .unwrap();
    assert_eq!(keys, 13, "12 names and the address");
}

/// Twenty attempts at once with a wrong password: the count is taken before the password
/// is checked and atomically on both backends, so at most five are checked (401) and the
/// rest are refused (429); then the right password waits too.
fn concurrent_attempts_cannot_outrun_the_count(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| s.spawn(|| login_from(&app, "192.0.2.44", "sup-guicheng", "wrong").0))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(checked + refused, 20, "{statuses:?}");
    assert!(
        checked <= 5,
        "{checked} attempts were checked: {statuses:?}"
    );
    let right = crate::harness::demo_password("sup-guicheng");
    assert_eq!(login_from(&app, "192.0.2.44", "sup-guicheng", right).0, 429);
}

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
        use gridpatrol::db::schema::login_throttle as f;
        diesel::update(f::table.find("name:insp-denghu-01@127.0.0.1"))
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
