//! What the server acknowledged survives the process being killed mid-stream (SIGKILL, no
//! shutdown), and a photo is never left partial under its hash. The real binary runs as a
//! child process here, so the kill is real.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::blocking::Client;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::both;
use crate::harness::{demo_password, fresh_pg_database, pg_admin_url, read, Backend};
use crate::photo_fixtures::jpeg;
use crate::reports::{shop_report, IN_OWN_CELL};

both!(acknowledged_reports_and_photos_survive_a_kill);

pub(crate) struct Server {
    pub child: Child,
    pub base: String,
}

/// Starts the real binary on `database_url` (a SQLite path or a PostgreSQL URL) with the
/// demo district, and waits until it is ready.
pub(crate) fn start(database_url: &str, data_dir: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_gridpatrol"))
        .args([
            "serve",
            "--demo",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--workers",
            "2",
        ])
        .env("GRIDPATROL_DATABASE_URL", database_url)
        .env("GRIDPATROL_DATA_DIR", data_dir)
        .env("GRIDPATROL_ARGON2_MEMORY_KIB", "64")
        .env("GRIDPATROL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the gridpatrol binary");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = || {
        Client::new()
            .get(format!("{base}/readyz"))
            .send()
            .is_ok_and(|r| r.status().as_u16() == 200)
    };
    while !ready() {
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    Server { child, base }
}

pub(crate) fn login(client: &Client, base: &str, user: &str) -> String {
    let answer = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": demo_password(user)}))
        .send()
        .unwrap();
    let (status, body) = read(answer);
    assert_eq!(status, 200);
    body["token"].as_str().unwrap().to_string()
}

fn photo_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(dir.join("photos"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for f in std::fs::read_dir(sub.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(f.path());
        }
    }
    out
}

fn acknowledged_reports_and_photos_survive_a_kill(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let (database_url, pg) = match b {
        Backend::Sqlite => (dir.path().join("gp.sqlite").display().to_string(), None),
        Backend::Pg => {
            let Some(admin) = pg_admin_url() else { return };
            let (url, name) = fresh_pg_database(&admin);
            (url, Some((admin, name)))
        }
    };
    let mut server = start(&database_url, &data_dir);
    let client = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let token = login(&client, &server.base, "insp-denghu-01");
    let acknowledged = Mutex::new(Vec::<String>::new());
    let photos_acknowledged = Mutex::new(Vec::<String>::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for worker in 0..4u32 {
            let (client, base, token) = (&client, &server.base, &token);
            let (acknowledged, photos_acknowledged, stop) =
                (&acknowledged, &photos_acknowledged, &stop);
            s.spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) && n < 10_000 {
                    n += 1;
                    if worker == 0 {
                        let bytes = jpeg(480, 360, 1000 + n);
                        let sha = hex::encode(Sha256::digest(&bytes));
                        let sent = client
                            .put(format!("{base}/api/v1/photos/{sha}"))
                            .bearer_auth(token)
                            .header("content-type", "image/jpeg")
                            .body(bytes)
                            .send();
                        if matches!(sent.map(|r| r.status().as_u16()), Ok(200 | 201)) {
                            photos_acknowledged.lock().unwrap().push(sha);
                        }
                    } else {
                        let report = shop_report(IN_OWN_CELL, None);
                        let sent = client
                            .post(format!("{base}/api/v1/reports"))
                            .bearer_auth(token)
                            .json(&report)
                            .send();
                        if matches!(sent.map(|r| r.status().as_u16()), Ok(200 | 201)) {
                            acknowledged
                                .lock()
                                .unwrap()
                                .push(report["id"].as_str().unwrap().to_string());
                        }
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(2500));
        // No shutdown, no flush: the process is gone mid-request.
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    let photos_acknowledged = photos_acknowledged.into_inner().unwrap();
    assert!(
        acknowledged.len() >= 5,
        "too few reports before the kill: {}",
        acknowledged.len()
    );
    // A write the kill may have torn: a temporary file the restart must sweep.
    let stray = data_dir
        .join("photos")
        .join("ab")
        .join(".tmp-torn.jpg-0000");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"\xFF\xD8\xFF partial").unwrap();

    let server = start(&database_url, &data_dir);
    assert!(!stray.exists(), "the torn temporary file was not swept");
    let token = login(&client, &server.base, "insp-denghu-01");
    for id in &acknowledged {
        let (status, body) = read(
            client
                .get(format!("{}/api/v1/reports/{id}", server.base))
                .bearer_auth(&token)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "acknowledged report {id} was lost: {body}");
    }
    for sha in &photos_acknowledged {
        let head = client
            .head(format!("{}/api/v1/photos/{sha}", server.base))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(
            head.status().as_u16(),
            200,
            "acknowledged photo {sha} was lost"
        );
    }
    // Every file under a hash holds exactly the bytes of that hash.
    for path in photo_files(&data_dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !name.starts_with(".tmp-"),
            "a temporary file survived: {name}"
        );
        if name.ends_with(".jpg") && !name.contains(".thumb.") {
            let sha = name.trim_end_matches(".jpg").to_string();
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                sha,
                "partial photo under its hash"
            );
        }
    }
    drop(server);
    if let Some((admin, name)) = pg {
        if let Ok(mut conn) = PgConnection::establish(&admin) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
