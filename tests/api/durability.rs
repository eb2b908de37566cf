//! What the server acknowledged survives the process being killed mid-stream (SIGKILL, no
//! shutdown), and a photo is never left partial under its hash. The real binary runs as a
//! child process here, so the kill is real.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::both;
use crate::cases::spot;
use crate::harness::{demo_password, fresh_database, read, Backend};
use crate::photo_fixtures::jpeg;
use crate::reports::{shop_report, IN_OWN_CELL};

both!(
    acknowledged_reports_and_photos_survive_a_kill,
    acknowledged_writes_survive_repeated_kills_under_mixed_load,
);

/// A database and data directory that outlive the server processes run on them. A
/// PostgreSQL database is dropped with it, whether the test passed or not.
pub(crate) struct Store {
    dir: tempfile::TempDir,
    database_url: String,
    pg: Option<(String, String)>,
}

impl Store {
    /// None when PostgreSQL is asked for but not configured.
    pub(crate) fn fresh(b: Backend) -> Option<Store> {
        let dir = tempfile::tempdir().unwrap();
        let (database_url, pg) = fresh_database(b, dir.path())?;
        Some(Store {
            dir,
            database_url,
            pg,
        })
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn start(&self) -> Server {
        start(&self.database_url, &self.data_dir())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut conn) = PgConnection::establish(admin) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

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
        // The suites build their own cases (as the harness does): a demo case near a
        // report would take its finding in, and start-up would take longer.
        .env("GRIDPATROL_DEMO_CASES", "false")
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

/// Uploads a new 480 × 360 JPEG made from `seed`: its hash, and what the server answered.
fn put_jpeg(
    client: &Client,
    base: &str,
    token: &str,
    seed: u32,
) -> (String, reqwest::Result<Response>) {
    let bytes = jpeg(480, 360, seed);
    let sha = hex::encode(Sha256::digest(&bytes));
    let sent = client
        .put(format!("{base}/api/v1/photos/{sha}"))
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .body(bytes)
        .send();
    (sha, sent)
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
    let Some(store) = Store::fresh(b) else { return };
    let data_dir = store.data_dir();
    let mut server = store.start();
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
                        let (sha, sent) = put_jpeg(client, base, token, 1000 + n);
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

    let server = store.start();
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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo users who make the load: an inspector reports, uploads and verifies; two
/// dispatchers of the 桂城 centre race for the cases (FS-001 is a town-tier fire item); the
/// fire department works what is dispatched to it; the admin reads every case.
const INSPECTOR: &str = "insp-denghu-01";
const DISPATCHERS: [&str; 2] = ["disp-guicheng-1", "disp-guicheng-2"];
const FIRE: &str = "hdl-guicheng-fire";
const ADMIN: &str = "admin";

/// How long each life of the server carries load before it is killed, in milliseconds:
/// uneven, so that the kills land at different points of the work.
const LIVES_MS: [u64; 4] = [1600, 1100, 1900, 1300];

/// A case action the server acknowledged, with what it answered.
#[derive(Debug, Clone)]
struct Step {
    case: i64,
    action: String,
    actor: String,
    version: i64,
    status: String,
}

/// Everything the server acknowledged, over all its lives.
#[derive(Default)]
struct Ledger {
    /// Each report as sent, with its answer.
    reports: Mutex<Vec<(Value, Value)>>,
    /// Each photo's sha256, with the length the server answered.
    photos: Mutex<Vec<(String, i64)>>,
    steps: Mutex<Vec<Step>>,
    /// The cases acknowledged reports opened or joined: those the drivers walk.
    cases: Mutex<BTreeSet<i64>>,
}

impl Ledger {
    fn writes(&self) -> usize {
        self.reports.lock().unwrap().len()
            + self.photos.lock().unwrap().len()
            + self.steps.lock().unwrap().len()
    }
}

/// The answer when the server said 2xx and the whole answer arrived; None when it refused,
/// or died before or while answering.
fn answered(sent: reqwest::Result<Response>) -> Option<Value> {
    let response = sent.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().ok()
}

fn sessions(client: &Client, base: &str) -> HashMap<&'static str, String> {
    let mut users = vec![INSPECTOR, FIRE, ADMIN];
    users.extend(DISPATCHERS);
    users
        .into_iter()
        .map(|user| (user, login(client, base, user)))
        .collect()
}

/// The step the drivers take next on `case`, as whom, and on which route: claim (a third of
/// the cases released once and claimed again), dispatch to fire (a quarter declined once
/// and dispatched again), start, resolve, verify; a seventh voided (注销) instead. None
/// once the case is final.
fn next_step(case: &Value, dispatcher: &str) -> Option<(String, &'static str, Value)> {
    let id = case["id"].as_i64().unwrap();
    let holder = case["claimed_by"]["username"]
        .as_str()
        .unwrap_or(dispatcher)
        .to_string();
    let taken = |action: &str| {
        case["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == action)
    };
    let photo = format!("{id:064x}");
    let (actor, route, body) = match case["status"].as_str().unwrap() {
        "open" => (dispatcher.to_string(), "claim", json!({})),
        "claimed" if id % 7 == 3 => (
            holder,
            "actions",
            json!({"action": "reject", "note": "现场无此商铺"}),
        ),
        "claimed" if id % 3 == 0 && !taken("release") => {
            (holder, "actions", json!({"action": "release"}))
        }
        "claimed" => (
            holder,
            "actions",
            json!({"action": "dispatch", "department": "fire", "note": "请消防条线处理"}),
        ),
        "dispatched" if id % 4 == 1 && !taken("decline") => (
            FIRE.into(),
            "actions",
            json!({"action": "decline", "note": "不属本部门"}),
        ),
        "dispatched" => (FIRE.into(), "actions", json!({"action": "start"})),
        "in_progress" => (
            FIRE.into(),
            "actions",
            json!({"action": "resolve", "note": "已清理通道", "photos": [photo]}),
        ),
        "resolved" => (
            INSPECTOR.into(),
            "actions",
            json!({"action": "verify", "outcome": "pass", "photos": [photo]}),
        ),
        _ => return None,
    };
    Some((actor, route, body))
}

/// Walks the known cases through their life cycle, each step conditional on the version
/// read; the two drivers walk the list from opposite ends and race where they meet.
fn drive_cases(
    client: &Client,
    base: &str,
    tokens: &HashMap<&'static str, String>,
    ledger: &Ledger,
    driver: usize,
    stop: &AtomicBool,
) {
    let mut finished = HashSet::new();
    while !stop.load(Ordering::Relaxed) {
        let mut ids: Vec<i64> = ledger
            .cases
            .lock()
            .unwrap()
            .iter()
            .copied()
            .filter(|id| !finished.contains(id))
            .collect();
        if driver == 1 {
            ids.reverse();
        }
        if ids.is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
        for id in ids {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let url = format!("{base}/api/v1/cases/{id}");
            let Some(case) = answered(client.get(&url).bearer_auth(&tokens[ADMIN]).send()) else {
                continue;
            };
            let Some((actor, route, mut body)) = next_step(&case, DISPATCHERS[driver]) else {
                finished.insert(id);
                continue;
            };
            body["version"] = case["version"].clone();
            let action = body["action"].as_str().unwrap_or("claim").to_string();
            let sent = client
                .post(format!("{url}/{route}"))
                .bearer_auth(&tokens[actor.as_str()])
                .json(&body)
                .send();
            if let Some(after) = answered(sent) {
                ledger.steps.lock().unwrap().push(Step {
                    case: id,
                    action,
                    actor,
                    version: after["version"].as_i64().unwrap(),
                    status: after["status"].as_str().unwrap().to_string(),
                });
            }
        }
    }
}

/// Submits shop reports failing FS-001 over 48 spots of the inspector's cell: each opens a
/// case, or joins the active case of its spot.
fn submit_reports(
    client: &Client,
    base: &str,
    token: &str,
    ledger: &Ledger,
    spots: &AtomicU32,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let at = spot(spots.fetch_add(1, Ordering::Relaxed) as usize % 48);
        let report = shop_report(at, None);
        let sent = client
            .post(format!("{base}/api/v1/reports"))
            .bearer_auth(token)
            .json(&report)
            .send();
        if let Some(answer) = answered(sent) {
            let cases = answer["cases"].as_array().unwrap();
            ledger
                .cases
                .lock()
                .unwrap()
                .extend(cases.iter().map(|c| c.as_i64().unwrap()));
            ledger.reports.lock().unwrap().push((report, answer));
        }
    }
}

fn upload_photos(
    client: &Client,
    base: &str,
    token: &str,
    ledger: &Ledger,
    seeds: &AtomicU32,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let (sha, sent) = put_jpeg(client, base, token, seeds.fetch_add(1, Ordering::Relaxed));
        if let Some(answer) = answered(sent) {
            let length = answer["bytes"].as_i64().unwrap();
            ledger.photos.lock().unwrap().push((sha, length));
        }
    }
}

/// Several lives of the server on one database and data directory, each under mixed load
/// (reports, photos, case actions from several clients) and ended by SIGKILL mid-load; then
/// everything any life acknowledged must be there, whole and consistent.
fn acknowledged_writes_survive_repeated_kills_under_mixed_load(b: Backend) {
    let began = Instant::now();
    let Some(store) = Store::fresh(b) else { return };
    let client = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let ledger = Ledger::default();
    let (spots, seeds) = (AtomicU32::new(0), AtomicU32::new(50_000));
    for (life, millis) in LIVES_MS.into_iter().enumerate() {
        let mut server = store.start();
        let tokens = sessions(&client, &server.base);
        let before = ledger.writes();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let (client, base, tokens, ledger, stop) =
                (&client, &server.base, &tokens, &ledger, &stop);
            let inspector = &tokens[INSPECTOR];
            let (spots, seeds) = (&spots, &seeds);
            s.spawn(move || upload_photos(client, base, inspector, ledger, seeds, stop));
            for _ in 0..2 {
                s.spawn(move || submit_reports(client, base, inspector, ledger, spots, stop));
            }
            for driver in 0..2 {
                s.spawn(move || drive_cases(client, base, tokens, ledger, driver, stop));
            }
            std::thread::sleep(Duration::from_millis(millis));
            // No shutdown, no flush: the process is gone mid-request.
            server.child.kill().unwrap();
            server.child.wait().unwrap();
            stop.store(true, Ordering::Relaxed);
        });
        assert!(
            ledger.writes() > before,
            "life {life} of the server acknowledged no write before its kill: the kill did not \
             land under load"
        );
    }
    let reports = ledger.reports.into_inner().unwrap();
    let photos = ledger.photos.into_inner().unwrap();
    let steps = ledger.steps.into_inner().unwrap();
    let loaded = began.elapsed();
    let server = store.start();
    let tokens = sessions(&client, &server.base);
    let (base, inspector, admin) = (&server.base, &tokens[INSPECTOR], &tokens[ADMIN]);
    let get = |url: String, token: &str| read(client.get(url).bearer_auth(token).send().unwrap());
    assert!(
        reports.len() >= 20 && photos.len() >= 8 && steps.len() >= 20,
        "too little load to prove anything: {} reports, {} photos, {} case steps acknowledged",
        reports.len(),
        photos.len(),
        steps.len()
    );

    // Every acknowledged report is stored as answered, and its retry is a replay.
    for (report, answer) in &reports {
        let id = report["id"].as_str().unwrap();
        let (status, stored) = get(format!("{base}/api/v1/reports/{id}"), inspector);
        assert_eq!(status, 200, "acknowledged report {id} was lost: {stored}");
        assert_eq!(
            stored["cases"], answer["cases"],
            "acknowledged report {id} lost the cases it was answered with"
        );
        let (status, again) = read(
            client
                .post(format!("{base}/api/v1/reports"))
                .bearer_auth(inspector)
                .json(report)
                .send()
                .unwrap(),
        );
        assert_eq!(
            status, 200,
            "the retry of acknowledged report {id} after the restarts was not taken as a \
             retry: {again}"
        );
        assert_eq!(
            &again, answer,
            "the retry of acknowledged report {id} answered otherwise than the first time"
        );
    }
    let mut listed: HashMap<String, usize> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/reports?limit=1000");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = get(url, inspector);
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().unwrap() {
            *listed
                .entry(item["id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    for (report, _) in &reports {
        let id = report["id"].as_str().unwrap();
        let times = listed.get(id).copied().unwrap_or(0);
        assert_eq!(
            times, 1,
            "acknowledged report {id} is listed {times} times after its retry"
        );
    }

    // Every acknowledged photo is served whole, with its thumbnail.
    for (sha, length) in &photos {
        let response = client
            .get(format!("{base}/api/v1/photos/{sha}"))
            .bearer_auth(inspector)
            .send()
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            200,
            "acknowledged photo {sha} was lost"
        );
        let bytes = response.bytes().unwrap();
        assert_eq!(
            (hex::encode(Sha256::digest(&bytes)), bytes.len() as i64),
            (sha.clone(), *length),
            "acknowledged photo {sha} is served partial or altered"
        );
        let (status, _) = read(
            client
                .get(format!("{base}/api/v1/photos/{sha}/thumbnail"))
                .bearer_auth(inspector)
                .send()
                .unwrap(),
        );
        assert_eq!(
            status, 200,
            "the thumbnail of acknowledged photo {sha} was lost"
        );
    }
    // No file in the photo store is partial: none left temporary, each holds its hash.
    let mut orphans = 0;
    for path in photo_files(&store.data_dir()) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !name.starts_with(".tmp-"),
            "a temporary file survived the restarts: {name}"
        );
        if name.contains(".thumb.") {
            continue;
        }
        let sha = name.split('.').next().unwrap().to_string();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            sha,
            "a partial photo lies under its hash: {name}"
        );
        let known = client
            .head(format!("{base}/api/v1/photos/{sha}"))
            .bearer_auth(inspector)
            .send()
            .unwrap();
        orphans += usize::from(known.status().as_u16() == 404);
    }

    // Every case is whole: its version counts its timeline, its state is the last event's,
    // and every acknowledged step is on the timeline where its answer put it.
    let mut cases: BTreeSet<i64> = steps.iter().map(|s| s.case).collect();
    for (_, answer) in &reports {
        cases.extend(
            answer["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_i64().unwrap()),
        );
    }
    let mut statuses: HashMap<String, usize> = HashMap::new();
    for &id in &cases {
        let (status, case) = get(format!("{base}/api/v1/cases/{id}"), admin);
        assert_eq!(
            status, 200,
            "case {id}, opened by an acknowledged report, was lost: {case}"
        );
        let timeline = case["timeline"].as_array().unwrap();
        let last = timeline.last().expect("a timeline is never empty");
        *statuses
            .entry(case["status"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert_eq!(
            case["version"].as_u64(),
            Some(timeline.len() as u64),
            "case {id} is at version {} with {} timeline events: a step was half written",
            case["version"],
            timeline.len()
        );
        assert_eq!(
            (&case["status"], &case["tier"]),
            (&last["to_status"], &last["to_tier"]),
            "case {id} does not stand where its last event left it: {last}"
        );
        for pair in timeline.windows(2) {
            assert_eq!(
                pair[1]["from_status"], pair[0]["to_status"],
                "case {id}'s timeline skips a step between {} and {}",
                pair[0], pair[1]
            );
        }
        let claimer = case["claimed_by"]["username"].as_str();
        match case["status"].as_str().unwrap() {
            "open" => assert_eq!(claimer, None, "open case {id} still has a claimer"),
            "claimed" => {
                let claim = timeline.iter().rev().find(|e| e["action"] == "claim");
                assert!(
                    claimer.is_some() && claimer == claim.and_then(|e| e["actor"].as_str()),
                    "claimed case {id} is held by {claimer:?}, not by who last claimed it"
                );
            }
            _ => {}
        }
        assert_eq!(
            case["closed_at"].is_string(),
            case["status"] == "closed",
            "case {id} is {} with closed_at {}",
            case["status"],
            case["closed_at"]
        );
        for step in steps.iter().filter(|s| s.case == id) {
            let event = timeline
                .get(step.version as usize - 1)
                .unwrap_or(&Value::Null);
            assert!(
                event["action"] == step.action.as_str()
                    && event["to_status"] == step.status.as_str()
                    && event["actor"] == step.actor.as_str(),
                "case {id} lost the acknowledged {step:?}: its event {} is {event}",
                step.version
            );
        }
        let joined: Vec<&str> = case["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        for (report, answer) in &reports {
            if answer["cases"].as_array().unwrap().contains(&json!(id)) {
                let report = report["id"].as_str().unwrap();
                let times = joined.iter().filter(|&&r| r == report).count();
                assert_eq!(
                    times, 1,
                    "case {id} names acknowledged report {report} {times} times"
                );
            }
        }
    }
    eprintln!(
        "{b:?}: {} lives killed in {:.1} s; {} reports, {} photos, {} case steps acknowledged \
         over {} cases {statuses:?}; {orphans} photo files without a row; checked in {:.1} s",
        LIVES_MS.len(),
        loaded.as_secs_f64(),
        reports.len(),
        photos.len(),
        steps.len(),
        cases.len(),
        (began.elapsed() - loaded).as_secs_f64()
    );
}
