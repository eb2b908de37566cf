//! Starts the real server on port 0 with a fresh database of its own (a temporary SQLite
//! file, or a new PostgreSQL database when GRIDPATROL_TEST_PG_URL is set), with the demo
//! district or without it and with users of any role, and talks to it over HTTP:
//! `TestApp::builder(backend).without_demo().user("admin-test", "admin").spawn()`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use diesel::{Connection, PgConnection, RunQueryDsl};
use gridpatrol::config::{ServeConfig, StorageConfig};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Pg,
}

/// Runs a test function once per backend: `both!(name, ...)` makes `sqlite::name` and
/// `postgres::name`. The PostgreSQL variant says so and passes when no server is
/// configured; .ci/run always configures one.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::harness::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::harness::Backend::Pg) } )*
        }
    };
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub database_url: String,
    pub data_dir: PathBuf,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

pub fn default_config(database_url: String, data_dir: PathBuf) -> ServeConfig {
    ServeConfig {
        storage: StorageConfig {
            database_url: Some(database_url),
            data_dir,
            pool_size: Some(8),
            // Cheap hashes: the suite logs in hundreds of times.
            argon2_memory_kib: 64,
        },
        bind: "127.0.0.1:0".into(),
        demo: true,
        // The suites build their own cases; the demo's own are tested in stats.rs.
        demo_cases: false,
        workers: Some(2),
        token_ttl_hours: 12,
        token_cache_ms: 2000,
        json_limit: 1024 * 1024,
        login_address_limit: 30,
        // Tests act from several client addresses by naming them in this header.
        client_address_header: Some("x-client-address".into()),
        photo_limit: 15 * 1024 * 1024,
        photo_max_pixels: 50_000_000,
        map_refresh_secs: 1,
        overdue_check_secs: 1,
        // Long enough that no suite sees a case escalated behind its back; the cases
        // suite shortens it where it tests escalation.
        escalation_grace_secs: 3600,
    }
}

pub fn pg_admin_url() -> Option<String> {
    std::env::var("GRIDPATROL_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A new, empty database for `backend`: a SQLite file in `dir`, or a fresh PostgreSQL
/// database (with the admin URL and its name, to drop it). None when PostgreSQL is asked
/// for but not configured.
pub fn fresh_database(backend: Backend, dir: &Path) -> Option<(String, Option<(String, String)>)> {
    match backend {
        Backend::Sqlite => Some((dir.join("test.sqlite").display().to_string(), None)),
        Backend::Pg => {
            let Some(admin) = pg_admin_url() else {
                eprintln!("GRIDPATROL_TEST_PG_URL is not set: PostgreSQL variant skipped");
                return None;
            };
            let (url, name) = fresh_pg_database(&admin);
            Some((url, Some((admin, name))))
        }
    }
}

pub fn fresh_pg_database(admin_url: &str) -> (String, String) {
    let name = format!("gp_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(admin_url)
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin_url}: {e}"));
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .expect("create test database");
    let (head, query) = match admin_url.split_once('?') {
        Some((h, q)) => (h, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let base = head.rsplit_once('/').map_or(head, |(b, _)| b);
    (format!("{base}/{name}{query}"), name)
}

/// What a test asks of its server before it starts.
pub struct Builder {
    backend: Backend,
    demo: bool,
    users: Vec<Value>,
    adjust: Vec<Adjustment>,
}

/// A change to a setting of the server under test.
type Adjustment = Box<dyn FnOnce(&mut ServeConfig)>;

#[allow(dead_code)] // each suite uses what it needs
impl Builder {
    /// An empty district: the schema only, no map, checklist, users or enterprises.
    pub fn without_demo(mut self) -> Builder {
        self.demo = false;
        self
    }

    /// A user of `role` (`inspector`, `dispatcher`, `handler`, `supervisor`, `admin`) with
    /// the password of that role's demo users; without a region or cells.
    pub fn user(self, username: &str, role: &str) -> Builder {
        self.user_in(username, role, None, None, &[])
    }

    /// A user of `role` with a region, a department and cells (which must exist).
    pub fn user_in(
        mut self,
        username: &str,
        role: &str,
        region: Option<&str>,
        department: Option<&str>,
        cells: &[&str],
    ) -> Builder {
        self.users.push(serde_json::json!({
            "username": username, "password": password_of_role(role),
            "display_name": username, "role": role, "region": region,
            "department": department, "cells": cells,
        }));
        self
    }

    /// Changes a setting of the server.
    pub fn configure(mut self, adjust: impl FnOnce(&mut ServeConfig) + 'static) -> Builder {
        self.adjust.push(Box::new(adjust));
        self
    }

    /// Starts the server; None when PostgreSQL is asked for but not configured.
    pub fn spawn(self) -> Option<TestApp> {
        TestApp::start(self)
    }
}

impl TestApp {
    pub fn builder(backend: Backend) -> Builder {
        Builder {
            backend,
            demo: true,
            users: Vec::new(),
            adjust: Vec::new(),
        }
    }

    /// A server on `backend` with the demo district; None when PostgreSQL is asked for but
    /// not configured.
    pub fn spawn(backend: Backend) -> Option<TestApp> {
        Self::builder(backend).spawn()
    }

    pub fn spawn_with(
        backend: Backend,
        adjust: impl FnOnce(&mut ServeConfig) + 'static,
    ) -> Option<TestApp> {
        Self::builder(backend).configure(adjust).spawn()
    }

    fn start(builder: Builder) -> Option<TestApp> {
        let backend = builder.backend;
        let _ = env_logger::builder().is_test(true).try_init();
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg) = fresh_database(backend, dir.path())?;
        let mut config = default_config(database_url.clone(), dir.path().join("data"));
        config.demo = builder.demo;
        for adjust in builder.adjust {
            adjust(&mut config);
        }
        let state = gridpatrol::prepare(&config).expect("prepare the app");
        if !builder.users.is_empty() {
            let file: gridpatrol::auth::store::UserFile =
                serde_json::from_value(serde_json::json!({"users": builder.users})).unwrap();
            let hashes: Vec<String> = file
                .users
                .iter()
                .map(|u| gridpatrol::auth::password::hash_password(&u.password, 64))
                .collect();
            let mut conn = state.db.pool().get().unwrap();
            gridpatrol::auth::store::upsert_users(&mut conn, &file, &hashes).expect("add users");
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let workers = config.workers;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = gridpatrol::server(state, listener, workers).expect("server");
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            })
        });
        let handle = rx.recv().expect("server started");
        Some(TestApp {
            base: format!("http://127.0.0.1:{port}"),
            client: Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap(),
            database_url,
            data_dir: dir.path().join("data"),
            handle,
            _dir: dir,
            pg,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Logs in a demo user (the demo password follows the username's role prefix).
    pub fn login(&self, username: &str) -> String {
        let (status, body) =
            self.send(self.client.post(self.url("/api/v1/auth/login")).json(
                &serde_json::json!({"username": username, "password": demo_password(username)}),
            ));
        assert_eq!(status, 200, "login {username}: {body}");
        body["token"].as_str().unwrap().to_string()
    }

    pub fn send(&self, request: RequestBuilder) -> (u16, Value) {
        let response = request.send().expect("request sent");
        read(response)
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(self.client.get(self.url(path)).bearer_auth(token))
    }

    #[allow(dead_code)] // used by the reports and cases suites
    pub fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .json(body),
        )
    }

    /// Runs the gridpatrol binary against this app's database.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
            .args(args)
            .env("GRIDPATROL_DATABASE_URL", &self.database_url)
            .env("GRIDPATROL_DATA_DIR", &self.data_dir)
            .env("GRIDPATROL_ARGON2_MEMORY_KIB", "64")
            .env("GRIDPATROL_LOG", "warn")
            .output()
            .expect("run the gridpatrol binary")
    }
}

/// Reads a response, asserting that every error answer is our JSON envelope.
pub fn read(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.text().unwrap_or_default();
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
    };
    if status >= 400 {
        assert!(
            content_type.contains("json"),
            "{status} answered {content_type}: {text}"
        );
        let error = &body["error"];
        assert!(
            error["code"].is_string()
                && error["message"].is_string()
                && error.get("details").is_some(),
            "{status} without the error envelope: {text}"
        );
    }
    (status, body)
}

/// The password of a demo user, which follows the role its username begins with.
pub fn demo_password(username: &str) -> &'static str {
    match username.split('-').next() {
        Some("insp") => password_of_role("inspector"),
        Some("disp") => password_of_role("dispatcher"),
        Some("hdl") => password_of_role("handler"),
        Some("sup") => password_of_role("supervisor"),
        _ => password_of_role("admin"),
    }
}

pub fn password_of_role(role: &str) -> &'static str {
    match role {
        "inspector" => "Patrol#2026",
        "dispatcher" => "Dispatch#2026",
        "handler" => "Handle#2026",
        "supervisor" => "Supervise#2026",
        _ => "Admin#2026",
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // stop() sends its command at once; the returned future only waits for the end.
        drop(self.handle.stop(false));
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut conn) = PgConnection::establish(admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}
