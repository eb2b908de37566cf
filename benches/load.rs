//! The HTTP load generator. It starts gridpatrol inside this process as production runs it
//! (release build, a fresh data directory, SQLite or a fresh PostgreSQL database, the demo
//! district, one HTTP worker per core, the default pool), drives it from N concurrent
//! keep-alive clients, and reports throughput and latency for each measured window.
//!
//!     cargo bench --bench load -- <scenario> [--backend sqlite|postgres] [--clients 64]
//!         [--seconds 15] [--warmup 3] [--runs 3]
//!
//! Scenarios that need a big database (`check`: an enterprise library of `--library`
//! enterprises; `queue`: `--cases` open cases; `cycles`: cases to work through) fill it
//! directly through the stores before the server starts, so that its start-up sees what a
//! production server would.
//!
//! The `/healthz` ceiling is always measured first, in the same run, with the same clients
//! and durations: the load generator shares the machine's cores with the server, so the
//! ratio scenario / healthz is the figure to compare across machines and commits, not the
//! absolute requests per second.
//!
//! A scenario is one `impl Scenario`: how to prepare (log in, build request material) and
//! which request a client sends next. Add it to `ScenarioName` and to the match in `main`.
//!
//! Traffic goes only to the server this process starts on 127.0.0.1 (proxies are ignored);
//! every loop is bounded by its window's deadline, so the bench always ends by itself.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use anyhow::{bail, Context as _};
use clap::{Parser, ValueEnum};
use diesel::{Connection, ExpressionMethods, PgConnection, QueryDsl, RunQueryDsl};
use geo::{BoundingRect, Contains, Point, Polygon};
use gridpatrol::cases::store::{self as cases_store, CaseSeed};
use gridpatrol::checklist::model::Tier;
use gridpatrol::config::ServeConfig;
use gridpatrol::db::Conn;
use gridpatrol::grid::coords::wgs84_to_gcj02;
use gridpatrol::licences::numbers::{org_check_char, uscc_check_char};
use gridpatrol::startup::Service as App;
use rand::seq::SliceRandom;
use rand::Rng;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

// The integration tests' photo fixtures: one definition of "a 3-MP camera JPEG with EXIF".
#[path = "../tests/api/photo_fixtures.rs"]
#[allow(dead_code)]
mod photo_fixtures;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// CPU (in % of one core) used outside the bench and its database beyond which the
/// measured figures are called disturbed.
const DISTURBED_PCT: f64 = 25.0;
/// How many error answers are shown per window.
const ERROR_SAMPLES: usize = 5;

// ---------------------------------------------------------------------------------------
// Command line

#[derive(Parser, Debug)]
#[command(
    name = "load",
    about = "HTTP load generator for gridpatrol (cargo bench --bench load -- <scenario>)"
)]
struct Opts {
    /// What to load; the /healthz ceiling is measured first in every case.
    #[arg(value_enum)]
    scenario: Option<ScenarioName>,
    /// Database of the server under load.
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// Concurrent clients (default: 64; 4 for photos).
    #[arg(long)]
    clients: Option<usize>,
    /// Offered load in requests per second, spread evenly over the clients (open loop);
    /// latency then counts from each request's scheduled send time, so a server that falls
    /// behind shows it in the percentiles. Without it every client sends back to back
    /// (closed loop), which measures the ceiling, where latency is clients / throughput.
    /// The /healthz ceiling is always measured closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// Length of each measured window.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Length of the warm-up before the measured windows (not reported).
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Measured windows per scenario; the median is reported too.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// One reqwest Client (one connection pool) for all tasks, or one per task.
    #[arg(long, value_enum, default_value_t = ClientMode::Shared)]
    client_mode: ClientMode,
    /// Threads of the load generator's runtime (default: 1, so that the server keeps the
    /// other core; see BENCHMARKS.md).
    #[arg(long, default_value_t = 1)]
    load_threads: usize,
    /// Distinct photos prepared per window (photos scenario; default 60 per second).
    #[arg(long)]
    photo_pool: Option<usize>,
    /// Enterprises generated into the library before the server starts (check scenario).
    #[arg(long, default_value_t = 300_000)]
    library: usize,
    /// Open cases inserted before the server starts (queue scenario); another fifth of
    /// this is inserted in other statuses.
    #[arg(long, default_value_t = 100_000)]
    cases: usize,
    /// Open cases prepared for the cycles scenario (default: enough for 3,000 cycles/s over
    /// the warm-up and every run).
    #[arg(long)]
    cycle_cases: Option<usize>,
    /// Clients that, beside the scenario's, post bogus logins back to back from the same
    /// address all through every window (a login flood); their answers are tallied apart.
    #[arg(long, default_value_t = 0)]
    flood: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScenarioName {
    /// Only the ceiling: GET /healthz.
    Healthz,
    /// GET /api/v1/grid/locate at random points of the demo cells, WGS-84 and GCJ-02.
    Locate,
    /// POST /api/v1/reports from every demo inspector: 10 shop items, 1 failed.
    Reports,
    /// PUT /api/v1/photos/{sha256} of distinct 3-megapixel JPEGs with EXIF.
    Photos,
    /// GET /api/v1/licenses/check against a library of --library enterprises: 70% library
    /// USCCs, 10% food business licences, 10% corrupted numbers, 10% unknown numbers.
    Check,
    /// GET /api/v1/cases?queue=mine as the 桂城 town centre with --cases open cases stored;
    /// the first page in opening order, then pages by due time through a cursor.
    Queue,
    /// claim, dispatch, start and resolve of distinct 桂城 town cases (4 requests a cycle).
    Cycles,
    /// GET /api/v1/departments as an inspector: a simple authenticated read.
    Read,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    #[value(alias = "pg")]
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClientMode {
    Shared,
    PerTask,
}

impl Opts {
    fn check(&self) -> anyhow::Result<()> {
        if !(1..=600).contains(&self.seconds) {
            bail!("--seconds must be within 1..=600");
        }
        if self.warmup > 120 {
            bail!("--warmup must be at most 120");
        }
        if !(1..=20).contains(&self.runs) {
            bail!("--runs must be within 1..=20");
        }
        if let Some(c) = self.clients {
            if !(1..=1024).contains(&c) {
                bail!("--clients must be within 1..=1024");
            }
        }
        if self
            .rate
            .is_some_and(|r| !(r.is_finite() && (1.0..=1_000_000.0).contains(&r)))
        {
            bail!("--rate must be within 1..=1,000,000 requests per second");
        }
        if !(1..=16).contains(&self.load_threads) {
            bail!("--load-threads must be within 1..=16");
        }
        if self.library > 5_000_000 {
            bail!("--library must be at most 5,000,000");
        }
        if !(1..=2_000_000).contains(&self.cases) {
            bail!("--cases must be within 1..=2,000,000");
        }
        if self
            .cycle_cases
            .is_some_and(|n| !(1..=5_000_000).contains(&n))
        {
            bail!("--cycle-cases must be within 1..=5,000,000");
        }
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let opts = Opts::parse();
    let Some(scenario) = opts.scenario else {
        // `cargo bench` without a filter runs every bench binary: leave the criterion
        // benches to it rather than start a minute-long load run nobody asked for.
        println!(
            "load: no scenario given; run `cargo bench --bench load -- \
             <healthz|locate|reports|photos|check|queue|cycles> [--backend sqlite|postgres] \
             [--clients N] [--seconds S] [--warmup S] [--runs K] [--library N] [--cases N] \
             [--cycle-cases N]`"
        );
        return Ok(());
    };
    opts.check()?;
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("GRIDPATROL_LOG", "warn"))
        .init();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let service = Service::start(opts.backend, |state| match scenario {
        ScenarioName::Check => seed_library(&opts, state),
        ScenarioName::Queue => seed_queue(&opts, state),
        ScenarioName::Cycles => seed_cycles(&opts, state),
        _ => Ok(Seeded::default()),
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.load_threads)
        .thread_name("loadgen")
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async {
        match scenario {
            ScenarioName::Healthz => bench::<Healthz>(&opts, &service, cores).await,
            ScenarioName::Locate => bench::<Locate>(&opts, &service, cores).await,
            ScenarioName::Reports => bench::<Reports>(&opts, &service, cores).await,
            ScenarioName::Photos => bench::<Photos>(&opts, &service, cores).await,
            ScenarioName::Check => bench::<Check>(&opts, &service, cores).await,
            ScenarioName::Queue => bench_two::<Queue, QueueByDue>(&opts, &service, cores).await,
            ScenarioName::Cycles => bench::<Cycles>(&opts, &service, cores).await,
            ScenarioName::Read => bench::<Read>(&opts, &service, cores).await,
        }
    });
    runtime.block_on(service.stop());
    outcome
}

// ---------------------------------------------------------------------------------------
// The service under load

/// A database created for this run on PostgreSQL, dropped when the run ends (or panics).
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    fn create(admin_url: &str) -> anyhow::Result<PgDatabase> {
        let name = format!("gp_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(admin_url)
            .with_context(|| format!("cannot reach PostgreSQL at {admin_url}"))?;
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .context("create the bench database")?;
        let (head, query) = match admin_url.split_once('?') {
            Some((h, q)) => (h, format!("?{q}")),
            None => (admin_url, String::new()),
        };
        let base = head.rsplit_once('/').map_or(head, |(b, _)| b);
        Ok(PgDatabase {
            admin_url: admin_url.to_string(),
            url: format!("{base}/{name}{query}"),
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.admin_url).and_then(|mut c| {
            diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut c)
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
        });
        if let Err(e) = dropped {
            eprintln!("could not drop bench database {}: {e}", self.name);
        }
    }
}

/// gridpatrol running in this process on 127.0.0.1:<free port>.
struct Service {
    base: String,
    describe: String,
    handle: actix_web::dev::ServerHandle,
    thread: std::thread::JoinHandle<()>,
    pg: Option<PgDatabase>,
    dir: tempfile::TempDir,
    /// What the scenario stored before the server started, for its `prepare`.
    seeded: Mutex<Seeded>,
}

/// `gridpatrol serve` as its command line would build it, so that every default (and any
/// GRIDPATROL_* variable set in the environment) applies as in production.
#[derive(Parser)]
struct ServeArgs {
    #[command(flatten)]
    serve: ServeConfig,
}

impl Service {
    /// Starts the server once `seed` has stored what the scenario needs.
    fn start(
        backend: Backend,
        seed: impl FnOnce(&App) -> anyhow::Result<Seeded>,
    ) -> anyhow::Result<Service> {
        let dir = tempfile::tempdir().context("temporary data directory")?;
        let data_dir = dir.path().join("data");
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let admin = std::env::var("GRIDPATROL_BENCH_PG_URL")
                    .ok()
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| DEFAULT_PG_URL.to_string());
                Some(PgDatabase::create(&admin)?)
            }
        };
        let database_url = match &pg {
            Some(db) => db.url.clone(),
            None => data_dir.join("gridpatrol.sqlite").display().to_string(),
        };
        std::fs::create_dir_all(&data_dir)?;
        let data_dir_arg = data_dir.display().to_string();
        let config = ServeArgs::try_parse_from([
            "serve",
            "--database-url",
            &database_url,
            "--data-dir",
            &data_dir_arg,
            "--bind",
            "127.0.0.1:0",
            "--demo",
            // Logins are not what is measured: cheap hashes keep start-up quick.
            "--argon2-memory-kib",
            "64",
        ])
        .context("server configuration")?
        .serve;
        let started = Instant::now();
        let state = gridpatrol::prepare(&config).context("prepare the service")?;
        let ready = started.elapsed();
        let seeding = Instant::now();
        let seeded = seed(&state).context("fill the database for the scenario")?;
        if !seeded.lines.is_empty() {
            for line in &seeded.lines {
                println!("seeded: {line}");
            }
            println!(
                "seeded: done in {:.1} s (before the server started)",
                seeding.elapsed().as_secs_f64()
            );
        }
        let listener = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let workers = config.workers;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("actix-system".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let server = match gridpatrol::server(state, listener, workers) {
                        Ok(server) => server,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = tx.send(Ok(server.handle()));
                    let _ = server.await;
                })
            })?;
        let handle = rx.recv().context("the server thread ended")??;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let describe = format!(
            "gridpatrol on {} ({}), {} HTTP worker(s), pool of {}, ready in {:.1} s",
            backend.name(),
            match &pg {
                Some(db) => format!("database {}", db.name),
                None => "SQLite file in a fresh temporary directory".into(),
            },
            workers.unwrap_or(cores),
            config.storage.pool_size(),
            ready.as_secs_f64(),
        );
        Ok(Service {
            base: format!("http://127.0.0.1:{port}"),
            describe,
            handle,
            thread,
            pg,
            dir,
            seeded: Mutex::new(seeded),
        })
    }

    /// Stops the server, then drops its PostgreSQL database and its temporary directory.
    async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.thread.join();
        drop(self.pg);
        drop(self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// What every scenario shares

/// The clients and the server's address.
struct Ctx {
    base: String,
    clients: Vec<Client>,
    cores: usize,
    /// The bench database on PostgreSQL, to find its server processes for the CPU account.
    pg_url: Option<String>,
    /// What was stored before the server started (taken by the scenario's `prepare`).
    seeded: Mutex<Seeded>,
}

impl Ctx {
    fn new(service: &Service, mode: ClientMode, tasks: usize, cores: usize) -> anyhow::Result<Ctx> {
        let count = match mode {
            ClientMode::Shared => 1,
            ClientMode::PerTask => tasks,
        };
        let clients = (0..count)
            .map(|_| {
                Client::builder()
                    // Only the server this process started: never a proxy from the environment.
                    .no_proxy()
                    .tcp_nodelay(true)
                    .timeout(Duration::from_secs(60))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Ctx {
            base: service.base.clone(),
            clients,
            cores,
            pg_url: service.pg.as_ref().map(|db| db.url.clone()),
            seeded: Mutex::new(std::mem::take(&mut *service.seeded.lock().expect("seeded"))),
        })
    }

    fn client(&self, task: usize) -> &Client {
        &self.clients[task % self.clients.len()]
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Logs a demo user in; answers the ready-made Authorization header.
    async fn login(&self, username: &str, password: &str) -> anyhow::Result<HeaderValue> {
        let answer = self.clients[0]
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await?;
        let status = answer.status();
        let body: Value = answer.json().await?;
        let Some(token) = body["token"].as_str().filter(|_| status.is_success()) else {
            bail!("login {username}: {status} {body}");
        };
        let mut header = HeaderValue::from_str(&format!("Bearer {token}"))?;
        header.set_sensitive(true);
        Ok(header)
    }

    async fn get_json(&self, path: &str, auth: &HeaderValue) -> anyhow::Result<Value> {
        let answer = self.clients[0]
            .get(self.url(path))
            .header(AUTHORIZATION, auth.clone())
            .send()
            .await?;
        let status = answer.status();
        let body: Value = answer.json().await?;
        if !status.is_success() {
            bail!("GET {path}: {status} {body}");
        }
        Ok(body)
    }
}

/// One kind of load. `request` is called once per request, by many tasks at once, so it
/// should only pick and assemble: anything costly belongs in `prepare` or `before_window`.
trait Scenario: Sized + Send + Sync + 'static {
    const NAME: &'static str;
    /// Clients when --clients is not given.
    const DEFAULT_CLIENTS: usize = 64;
    /// What one request is, in the printed figures.
    const UNIT: &'static str = "req";
    /// Whether per-core throughput is a goal (printed too).
    const PER_CORE: bool = false;
    /// Requests that make one cycle of work, when the goal counts cycles (0: it does not).
    const REQUESTS_PER_CYCLE: usize = 0;

    async fn prepare(ctx: &Ctx, opts: &Opts) -> anyhow::Result<Self>;

    /// Called before each window (0 is the warm-up) while no request is in flight.
    fn before_window(&mut self, _window: usize, _seconds: u64) {}

    /// The `i`-th request (counted across windows) of client task `task`.
    fn request(&self, ctx: &Ctx, task: usize, i: u64) -> RequestBuilder;

    /// Sees every answer (status and body); for scenario-specific tallies.
    fn observe(&self, _task: usize, _status: u16, _body: &[u8]) {}

    /// Lines printed after the scenario's windows.
    fn summary(&self) -> Vec<String> {
        Vec::new()
    }
}

// ---------------------------------------------------------------------------------------
// The demo district, as the server loaded it

struct DemoUser {
    username: String,
    password: String,
    cells: Vec<String>,
}

fn demo_users() -> anyhow::Result<Vec<DemoUser>> {
    let file: Value = serde_json::from_str(gridpatrol::demo::USERS)?;
    let users = file["users"].as_array().context("users.json: no users")?;
    Ok(users
        .iter()
        .map(|u| DemoUser {
            username: u["username"].as_str().unwrap_or_default().to_string(),
            password: u["password"].as_str().unwrap_or_default().to_string(),
            cells: u["cells"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect())
}

/// Every grid cell of the demo map, by code.
fn demo_cells() -> anyhow::Result<BTreeMap<String, Polygon<f64>>> {
    let map: geojson::FeatureCollection = gridpatrol::demo::MAP.parse()?;
    let mut cells = BTreeMap::new();
    for feature in map.features {
        let props = feature
            .properties
            .as_ref()
            .context("feature without properties")?;
        if props.get("level").and_then(Value::as_str) != Some("cell") {
            continue;
        }
        let code = props
            .get("code")
            .and_then(Value::as_str)
            .context("cell without code")?;
        let geometry = feature.geometry.context("cell without geometry")?;
        let polygon: Polygon<f64> = geometry.value.try_into()?;
        cells.insert(code.to_string(), polygon);
    }
    Ok(cells)
}

/// Keeps sampled points this far (in degrees, about 20 m) inside a cell's bounding box, so
/// that a few metres of GPS jitter, or a GCJ-02 round trip, stay in the cell.
const CELL_MARGIN_DEG: f64 = 0.0002;

fn point_in(cell: &Polygon<f64>, rng: &mut impl Rng) -> (f64, f64) {
    let rect = cell.bounding_rect().expect("a cell has an extent");
    let (min, max) = (rect.min(), rect.max());
    let inset = |lo: f64, hi: f64| {
        let m = CELL_MARGIN_DEG.min((hi - lo) / 4.0);
        (lo + m, hi - m)
    };
    let (x0, x1) = inset(min.x, max.x);
    let (y0, y1) = inset(min.y, max.y);
    // Rejection sampling: the demo cells are rectangles, but a map may hold other shapes.
    for _ in 0..1000 {
        let (x, y) = (rng.gen_range(x0..x1), rng.gen_range(y0..y1));
        if cell.contains(&Point::new(x, y)) {
            return (x, y);
        }
    }
    let c = rect.center();
    (c.x, c.y)
}

// ---------------------------------------------------------------------------------------
// Scenarios

/// GET /healthz: the ceiling of this machine, server and client together.
struct Healthz {
    url: String,
}

impl Scenario for Healthz {
    const NAME: &'static str = "healthz";

    async fn prepare(ctx: &Ctx, _: &Opts) -> anyhow::Result<Self> {
        Ok(Healthz {
            url: ctx.url("/healthz"),
        })
    }

    fn request(&self, ctx: &Ctx, task: usize, _: u64) -> RequestBuilder {
        ctx.client(task).get(&self.url)
    }
}

/// GET /api/v1/departments as an inspector: the token lookup and a small read.
struct Read {
    url: String,
    auth: HeaderValue,
}

impl Scenario for Read {
    const NAME: &'static str = "read";

    async fn prepare(ctx: &Ctx, _: &Opts) -> anyhow::Result<Self> {
        Ok(Read {
            url: ctx.url("/api/v1/departments"),
            auth: ctx.login("insp-denghu-01", "Patrol#2026").await?,
        })
    }

    fn request(&self, ctx: &Ctx, task: usize, _: u64) -> RequestBuilder {
        ctx.client(task)
            .get(&self.url)
            .header(AUTHORIZATION, self.auth.clone())
    }
}

/// Bogus logins back to back until `deadline`, each with a fresh name: what the flood was
/// answered, by status.
async fn flood(ctx: Arc<Ctx>, task: usize, deadline: Instant) -> BTreeMap<u16, u64> {
    let url = ctx.url("/api/v1/auth/login");
    let mut answers = BTreeMap::new();
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let body = json!({"username": format!("bot-{task}-{n}"), "password": "hunter2"});
        let status = match ctx.client(task).post(&url).json(&body).send().await {
            Ok(answer) => {
                let status = answer.status().as_u16();
                let _ = answer.bytes().await;
                status
            }
            Err(_) => 0,
        };
        *answers.entry(status).or_default() += 1;
    }
    answers
}

/// GET /api/v1/grid/locate at random points inside the demo cells, half of them in GCJ-02.
struct Locate {
    urls: Vec<String>,
    auth: HeaderValue,
}

impl Scenario for Locate {
    const NAME: &'static str = "locate";

    async fn prepare(ctx: &Ctx, _: &Opts) -> anyhow::Result<Self> {
        let auth = ctx.login("insp-denghu-01", "Patrol#2026").await?;
        let cells: Vec<Polygon<f64>> = demo_cells()?.into_values().collect();
        let mut rng = rand::thread_rng();
        let urls = (0..4096)
            .map(|k| {
                let (lon, lat) = point_in(cells.choose(&mut rng).expect("cells"), &mut rng);
                if k % 2 == 0 {
                    ctx.url(&format!("/api/v1/grid/locate?lon={lon:.7}&lat={lat:.7}"))
                } else {
                    let (lon, lat) = wgs84_to_gcj02(lon, lat);
                    ctx.url(&format!(
                        "/api/v1/grid/locate?lon={lon:.7}&lat={lat:.7}&crs=gcj02"
                    ))
                }
            })
            .collect();
        Ok(Locate { urls, auth })
    }

    fn request(&self, ctx: &Ctx, task: usize, i: u64) -> RequestBuilder {
        // A different walk through the points for every task.
        let k = (i as usize).wrapping_mul(7919).wrapping_add(task * 104_729) % self.urls.len();
        ctx.client(task)
            .get(&self.urls[k])
            .header(AUTHORIZATION, self.auth.clone())
    }
}

/// Share of failed items that are a problem seen before at the same place (a revisit within
/// a few metres, with the same item failing), which joins the open case instead of opening
/// one. Problems stay open for days while inspectors patrol their cells daily, so a good
/// part of real failures are such re-sightings; a fifth is our working assumption.
const REVISIT_SHARE: f64 = 0.2;
/// Share of reports sent in GCJ-02 (handhelds using a Chinese map SDK's position).
const GCJ02_SHARE: f64 = 0.2;
/// Checklist items per report, one of them failed.
const ITEMS_PER_REPORT: usize = 10;

struct Inspector {
    auth: HeaderValue,
    cells: Vec<Polygon<f64>>,
}

/// A failed item a client reported, which a later revisit may see again.
#[derive(Clone, Copy)]
struct Finding {
    lon: f64,
    lat: f64,
    item: usize,
}

struct ShopItem {
    code: String,
    photo_required: bool,
}

#[derive(Default)]
struct ReportTally {
    answers: u64,
    created: u64,
    case_refs: u64,
    cases: HashSet<i64>,
    flags: BTreeMap<String, u64>,
    revisits: u64,
}

/// POST /api/v1/reports: each client is one of the demo inspectors (clients beyond their
/// number share an inspector), reporting a shop at a random point of one of their cells:
/// 10 items that apply to shops, one failed at a varying position, a photo named for it
/// (sent separately, so `photo_missing` is expected), 20% in GCJ-02.
struct Reports {
    url: String,
    checklist_version: i64,
    items: Vec<ShopItem>,
    inspectors: Vec<Inspector>,
    /// Per client task: failed items it reported, for revisits.
    findings: Vec<Mutex<Vec<Finding>>>,
    tally: Mutex<ReportTally>,
}

impl Scenario for Reports {
    const NAME: &'static str = "reports";
    const UNIT: &'static str = "reports";

    async fn prepare(ctx: &Ctx, opts: &Opts) -> anyhow::Result<Self> {
        let cells = demo_cells()?;
        let mut inspectors = Vec::new();
        for user in demo_users()?
            .into_iter()
            .filter(|u| u.username.starts_with("insp-") && !u.cells.is_empty())
        {
            let auth = ctx.login(&user.username, &user.password).await?;
            let cells = user
                .cells
                .iter()
                .map(|c| {
                    cells
                        .get(c)
                        .cloned()
                        .context("an inspector's cell is not on the map")
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            inspectors.push(Inspector { auth, cells });
        }
        if inspectors.is_empty() {
            bail!("the demo district has no inspectors with cells");
        }
        let checklist = ctx
            .get_json("/api/v1/checklist", &inspectors[0].auth)
            .await?;
        let items: Vec<ShopItem> = checklist["items"]
            .as_array()
            .context("checklist without items")?
            .iter()
            .filter(|item| {
                item["applies_to"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "shop"))
            })
            .map(|item| ShopItem {
                code: item["code"].as_str().unwrap_or_default().to_string(),
                photo_required: item["photo_required"].as_bool().unwrap_or(false),
            })
            .collect();
        if items.len() < ITEMS_PER_REPORT {
            bail!("only {} checklist items apply to a shop", items.len());
        }
        let tasks = opts.clients.unwrap_or(Self::DEFAULT_CLIENTS);
        println!(
            "reports: {} inspectors, {} shop items in checklist version {}",
            inspectors.len(),
            items.len(),
            checklist["version"]
        );
        Ok(Reports {
            url: ctx.url("/api/v1/reports"),
            checklist_version: checklist["version"].as_i64().unwrap_or(1),
            items,
            inspectors,
            findings: (0..tasks).map(|_| Mutex::new(Vec::new())).collect(),
            tally: Mutex::new(ReportTally::default()),
        })
    }

    fn request(&self, ctx: &Ctx, task: usize, _: u64) -> RequestBuilder {
        let mut rng = rand::thread_rng();
        let inspector = &self.inspectors[task % self.inspectors.len()];
        let finding = {
            let mut past = self.findings[task % self.findings.len()]
                .lock()
                .expect("findings");
            if !past.is_empty() && rng.gen_bool(REVISIT_SHARE) {
                let seen = past[rng.gen_range(0..past.len())];
                self.tally.lock().expect("tally").revisits += 1;
                // The same shop again: the handheld's fix wanders by a few metres.
                let jitter = 5.0 / 111_000.0;
                Finding {
                    lon: seen.lon + rng.gen_range(-jitter..jitter),
                    lat: seen.lat + rng.gen_range(-jitter..jitter),
                    item: seen.item,
                }
            } else {
                let cell = inspector.cells.choose(&mut rng).expect("cells");
                let (lon, lat) = point_in(cell, &mut rng);
                let fresh = Finding {
                    lon,
                    lat,
                    item: rng.gen_range(0..self.items.len()),
                };
                if past.len() < 256 {
                    past.push(fresh);
                } else {
                    let k = rng.gen_range(0..past.len());
                    past[k] = fresh;
                }
                fresh
            }
        };
        // Ten distinct shop items including the failed one, in random order.
        let mut picked =
            rand::seq::index::sample(&mut rng, self.items.len(), ITEMS_PER_REPORT).into_vec();
        if !picked.contains(&finding.item) {
            picked[0] = finding.item;
        }
        picked.shuffle(&mut rng);
        let items: Vec<Value> = picked
            .iter()
            .map(|&k| {
                let item = &self.items[k];
                if k == finding.item {
                    let photo = hex::encode(rng.gen::<[u8; 32]>());
                    json!({"code": item.code, "result": "fail",
                           "note": "二楼疏散通道堆放纸箱，安全出口上锁",
                           "photos": if item.photo_required { vec![photo] } else { vec![] }})
                } else if rng.gen_bool(0.1) {
                    json!({"code": item.code, "result": "na"})
                } else {
                    json!({"code": item.code, "result": "pass"})
                }
            })
            .collect();
        let (lon, lat, crs) = if rng.gen_bool(GCJ02_SHARE) {
            let (lon, lat) = wgs84_to_gcj02(finding.lon, finding.lat);
            (lon, lat, "gcj02")
        } else {
            (finding.lon, finding.lat, "wgs84")
        };
        let captured = chrono::Utc::now() - chrono::Duration::seconds(rng.gen_range(5..1800));
        let body = json!({
            "id": uuid::Builder::from_random_bytes(rng.gen()).into_uuid().to_string(),
            "captured_at": captured
                .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00"))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            "location": {"lon": lon, "lat": lat, "accuracy_m": rng.gen_range(3.0..15.0), "crs": crs},
            "place": {"kind": "shop", "name": format!("便利店{}", rng.gen_range(1..500)),
                      "address": "佛山市南海区桂城街道灯湖东路12号首层"},
            "checklist_version": self.checklist_version,
            "items": items,
            "licenses_seen": [],
            "photos": [],
            "note": "例行巡查"
        });
        ctx.client(task)
            .post(&self.url)
            .header(AUTHORIZATION, inspector.auth.clone())
            .json(&body)
    }

    fn observe(&self, _: usize, status: u16, body: &[u8]) {
        if !(200..300).contains(&status) {
            return;
        }
        let Ok(answer) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        let mut tally = self.tally.lock().expect("tally");
        tally.answers += 1;
        tally.created += u64::from(status == 201);
        for id in answer["cases"].as_array().into_iter().flatten() {
            if let Some(id) = id.as_i64() {
                tally.case_refs += 1;
                tally.cases.insert(id);
            }
        }
        for flag in answer["flags"].as_array().into_iter().flatten() {
            if let Some(flag) = flag.as_str() {
                *tally.flags.entry(flag.to_string()).or_default() += 1;
            }
        }
    }

    fn summary(&self) -> Vec<String> {
        let t = self.tally.lock().expect("tally");
        let joined = t.case_refs.saturating_sub(t.cases.len() as u64);
        let flags: Vec<String> = t.flags.iter().map(|(f, n)| format!("{f} {n}")).collect();
        vec![
            format!(
                "reports stored (warm-up and runs): {} ({} created), revisits sent {}",
                t.answers, t.created, t.revisits
            ),
            format!(
                "failed items: {} opened a new case, {} joined an open one ({:.1}%)",
                t.cases.len(),
                joined,
                100.0 * joined as f64 / t.case_refs.max(1) as f64
            ),
            format!("flags: {}", flags.join(", ")),
        ]
    }
}

/// Distinct pictures drawn for the photo pool; every photo of the pool is one of these with
/// its own comment segment, so hashes differ while the decoding work stays the same.
const BASE_PHOTOS: usize = 16;
/// Photos drawn per second of a window when --photo-pool is not given: above what 2 cores
/// ingest (66/s measured), so that no upload in a window repeats an earlier one.
const DEFAULT_PHOTOS_PER_SECOND: usize = 120;

/// PUT /api/v1/photos/{sha256} of distinct 3-megapixel camera JPEGs with EXIF (decode,
/// EXIF, thumbnail and two durable file writes on the server).
struct Photos {
    url: String,
    auth: HeaderValue,
    bases: Vec<Vec<u8>>,
    /// Photos per window: --photo-pool, or DEFAULT_PHOTOS_PER_SECOND × its length.
    fixed_pool: Option<usize>,
    pool: Vec<(String, Bytes)>,
    next: AtomicUsize,
    /// Requests that found the pool used up and sent a photo again (answered 200).
    repeats: AtomicU64,
    created: AtomicU64,
    known: AtomicU64,
}

/// `base` with a COM segment holding `tag` inserted after its SOI and APP1 (EXIF) segment:
/// another hash, the same picture, and still one end-of-image marker at the end.
fn tagged_photo(base: &[u8], tag: &str) -> Vec<u8> {
    let after = if base.get(2..4) == Some(&[0xFF, 0xE1]) {
        4 + usize::from(u16::from_be_bytes([base[4], base[5]]))
    } else {
        2
    };
    let payload = tag.as_bytes();
    let mut out = Vec::with_capacity(base.len() + 4 + payload.len());
    out.extend_from_slice(&base[..after]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(
        &u16::try_from(payload.len() + 2)
            .expect("short tag")
            .to_be_bytes(),
    );
    out.extend_from_slice(payload);
    out.extend_from_slice(&base[after..]);
    out
}

/// Runs `work(k)` for k in 0..n on every core; answers the results in order.
fn on_all_cores<T: Send>(n: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |c| c.get());
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        let work = &work;
        for (t, chunk) in out.chunks_mut(n.div_ceil(threads).max(1)).enumerate() {
            let first = t * n.div_ceil(threads).max(1);
            s.spawn(move || {
                for (j, slot) in chunk.iter_mut().enumerate() {
                    *slot = Some(work(first + j));
                }
            });
        }
    });
    out.into_iter().map(|v| v.expect("computed")).collect()
}

impl Scenario for Photos {
    const NAME: &'static str = "photos";
    const DEFAULT_CLIENTS: usize = 4;
    const UNIT: &'static str = "photos";
    const PER_CORE: bool = true;

    async fn prepare(ctx: &Ctx, opts: &Opts) -> anyhow::Result<Self> {
        let auth = ctx.login("insp-denghu-01", "Patrol#2026").await?;
        let started = Instant::now();
        let bases = on_all_cores(BASE_PHOTOS, |k| {
            // Taken in 灯湖社区第01网格 (insp-denghu-01's cell).
            photo_fixtures::camera_photo(k as u32 + 1, 113.1215 + k as f64 * 1e-5, 23.0205)
        });
        let mean = bases.iter().map(Vec::len).sum::<usize>() / bases.len();
        println!(
            "photos: {} base pictures of 2048x1536, {:.2} MB on average, made in {:.1} s",
            bases.len(),
            mean as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        Ok(Photos {
            url: ctx.url("/api/v1/photos/"),
            auth,
            bases,
            fixed_pool: opts.photo_pool,
            pool: Vec::new(),
            next: AtomicUsize::new(0),
            repeats: AtomicU64::new(0),
            created: AtomicU64::new(0),
            known: AtomicU64::new(0),
        })
    }

    fn before_window(&mut self, window: usize, seconds: u64) {
        let size = self
            .fixed_pool
            .unwrap_or(DEFAULT_PHOTOS_PER_SECOND * seconds as usize + 16)
            .max(1);
        let started = Instant::now();
        let bases = &self.bases;
        let run = std::process::id();
        self.pool = on_all_cores(size, |k| {
            let bytes = tagged_photo(
                &bases[k % bases.len()],
                &format!("gridpatrol load {run}-{window}-{k}"),
            );
            (hex::encode(Sha256::digest(&bytes)), Bytes::from(bytes))
        });
        self.next.store(0, Ordering::Relaxed);
        println!(
            "photos: {} distinct photos prepared for window {window} in {:.1} s",
            self.pool.len(),
            started.elapsed().as_secs_f64()
        );
    }

    fn request(&self, ctx: &Ctx, task: usize, _: u64) -> RequestBuilder {
        let mut k = self.next.fetch_add(1, Ordering::Relaxed);
        if k >= self.pool.len() {
            self.repeats.fetch_add(1, Ordering::Relaxed);
            k %= self.pool.len();
        }
        let (sha, bytes) = &self.pool[k];
        ctx.client(task)
            .put(format!("{}{sha}", self.url))
            .header(AUTHORIZATION, self.auth.clone())
            .header(CONTENT_TYPE, "image/jpeg")
            .body(bytes.clone())
    }

    fn observe(&self, _: usize, status: u16, _: &[u8]) {
        match status {
            201 => self.created.fetch_add(1, Ordering::Relaxed),
            200 => self.known.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    fn summary(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "photos stored (warm-up and runs): {} new, {} already known",
            self.created.load(Ordering::Relaxed),
            self.known.load(Ordering::Relaxed)
        )];
        let repeats = self.repeats.load(Ordering::Relaxed);
        if repeats > 0 {
            lines.push(format!(
                "WARNING: the photo pool ran out {repeats} times (those uploads were repeats, \
                 cheaper than new photos): raise --photo-pool"
            ));
        }
        lines
    }
}

// ---------------------------------------------------------------------------------------
// Data stored before the server starts (check, queue, cycles)

/// What a scenario stored before the server started: lines for the log, and the material
/// its `prepare` needs.
#[derive(Default)]
struct Seeded {
    lines: Vec<String>,
    /// check: paths (with query) of licence checks, in the planned mix.
    probes: Vec<String>,
    /// cycles: the open cases to work through, in order.
    case_ids: Vec<i64>,
}

/// 桂城街道: the town whose dispatch centre the queue and cycles scenarios act as.
const GUICHENG: &str = "44060501100000";
/// Seed of the generated enterprise library (any fixed value: the same library every run).
const LIBRARY_SEED: u64 = 20_261_128;
/// Distinct licence checks prepared (the clients walk through them).
const CHECK_PROBES: usize = 65_536;
/// Cycles per second the default --cycle-cases provides for (the goal is 1,000).
const CYCLE_CASES_PER_SECOND: usize = 3_000;
/// Cases opened per transaction when filling the database.
const CASES_PER_TRANSACTION: usize = 5_000;
/// The USCC character set (GB 32100-2015: no I, O, Z, S, V).
const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A cell of the demo map with its community, town and district.
struct Place {
    cell: String,
    community: String,
    town: String,
    district: String,
    shape: Polygon<f64>,
}

/// Every cell of the demo map, with its regions as the server's locate index has them.
fn places(state: &App) -> anyhow::Result<Vec<Place>> {
    let index = state.map.load();
    let mut rng = rand::thread_rng();
    let mut out = Vec::new();
    for (code, shape) in demo_cells()? {
        let (lon, lat) = point_in(&shape, &mut rng);
        let entry = index
            .locate(lon, lat)
            .with_context(|| format!("cell {code} is not in the locate index"))?;
        out.push(Place {
            cell: entry.cell.code.clone(),
            community: entry.community.code.clone(),
            town: entry.town.code.clone(),
            district: entry.district.code.clone(),
            shape,
        });
    }
    Ok(out)
}

/// A checklist item, as much of it as a case needs.
#[derive(serde::Deserialize)]
struct Item {
    code: String,
    category: String,
    title_zh: String,
    department: String,
    tier: Tier,
    severity: String,
    time_limit_hours: i64,
}

fn checklist_items() -> anyhow::Result<Vec<Item>> {
    #[derive(serde::Deserialize)]
    struct Checklist {
        items: Vec<Item>,
    }
    let checklist: Checklist = serde_json::from_str(gridpatrol::demo::CHECKLIST)?;
    if checklist.items.is_empty() {
        bail!("the demo checklist has no items");
    }
    Ok(checklist.items)
}

/// A case about `item` at a random point of `place`, opened at `opened_at` (µs).
fn case_seed(
    place: &Place,
    tier: Tier,
    item: &Item,
    opened_at: i64,
    rng: &mut impl Rng,
) -> CaseSeed {
    let (lon, lat) = point_in(&place.shape, rng);
    CaseSeed {
        source: "manual",
        item_code: Some(item.code.clone()),
        category: item.category.clone(),
        title: format!("{}（负载测试）", item.title_zh),
        description: format!("负载测试：{}。", item.title_zh),
        lon,
        lat,
        cell: Some(place.cell.clone()),
        community: place.community.clone(),
        town: place.town.clone(),
        district: place.district.clone(),
        tier,
        department: item.department.clone(),
        priority: item.severity.clone(),
        due_at: opened_at + item.time_limit_hours * 3_600_000_000,
        enterprise_uscc: None,
        report: None,
        actor: None,
    }
}

/// Opens every case through the case store (the row, its generated queue columns and its
/// `open` event), in big transactions; answers their ids in order.
fn open_cases(conn: &mut Conn, seeds: &[(CaseSeed, i64)]) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(seeds.len());
    for chunk in seeds.chunks(CASES_PER_TRANSACTION) {
        let opened = conn.write(|c| {
            chunk
                .iter()
                .map(|(seed, at)| cases_store::open(c, seed, *at))
                .collect::<diesel::QueryResult<Vec<i64>>>()
        })?;
        ids.extend(opened);
    }
    Ok(ids)
}

/// Moves cases to `status` directly (no timeline): the database's other cases only have to
/// be there, in the indexes, for the queue to be found among them.
fn set_status(conn: &mut Conn, ids: &[i64], status: &str, now: i64) -> anyhow::Result<()> {
    use gridpatrol::db::schema::cases;
    let closed_at = matches!(status, "closed" | "rejected").then_some(now);
    for chunk in ids.chunks(CASES_PER_TRANSACTION) {
        conn.write(|c| -> diesel::QueryResult<()> {
            gridpatrol::db_run!(c, |db| diesel::update(
                cases::table.filter(cases::id.eq_any(chunk))
            )
            .set((cases::status.eq(status), cases::closed_at.eq(closed_at)))
            .execute(db))?;
            Ok(())
        })?;
    }
    Ok(())
}

/// `--cases` open cases, 70% of them at the 桂城 town centre; 20% at the other towns'
/// centres, 7% at community and 3% at district tier anywhere; then another fifth of that
/// anywhere at their items' tiers in other statuses (mostly closed).
fn seed_queue(opts: &Opts, state: &App) -> anyhow::Result<Seeded> {
    let places = places(state)?;
    let items = checklist_items()?;
    let guicheng: Vec<&Place> = places.iter().filter(|p| p.town == GUICHENG).collect();
    let elsewhere: Vec<&Place> = places.iter().filter(|p| p.town != GUICHENG).collect();
    if guicheng.is_empty() || elsewhere.is_empty() {
        bail!("the demo map has no cells in 桂城 or none outside it");
    }
    let everywhere: Vec<&Place> = places.iter().collect();
    let now = gridpatrol::clock::now();
    let month = 30 * 86_400 * 1_000_000_i64;
    let mut rng = rand::thread_rng();
    let open = opts.cases;
    let others = open / 5;
    let mut at_centre = 0;
    let mut seeds = Vec::with_capacity(open + others);
    for k in 0..open + others {
        let item = items.choose(&mut rng).expect("items");
        let roll = rng.gen_range(0..100);
        let (pool, tier) = if k >= open {
            (&everywhere, item.tier)
        } else if roll < 70 {
            at_centre += 1;
            (&guicheng, Tier::Town)
        } else if roll < 90 {
            (&elsewhere, Tier::Town)
        } else if roll < 97 {
            (&everywhere, Tier::Community)
        } else {
            (&everywhere, Tier::District)
        };
        let place = pool.choose(&mut rng).expect("places");
        let opened = now - rng.gen_range(0..month);
        seeds.push((case_seed(place, tier, item, opened, &mut rng), opened));
    }
    let mut conn = state.db.pool().get()?;
    let started = Instant::now();
    let ids = open_cases(&mut conn, &seeds)?;
    let mut rest = &ids[open..];
    let mut moved = Vec::new();
    for (status, share) in [
        ("dispatched", 15),
        ("in_progress", 10),
        ("resolved", 10),
        ("rejected", 5),
        ("closed", 60),
    ] {
        let take = if status == "closed" {
            rest.len()
        } else {
            others * share / 100
        };
        let (these, after) = rest.split_at(take.min(rest.len()));
        set_status(&mut conn, these, status, now)?;
        moved.push(format!("{} {status}", thousands(these.len() as f64)));
        rest = after;
    }
    Ok(Seeded {
        lines: vec![format!(
            "{} open cases ({} at the 桂城 town centre {GUICHENG}, the rest at other centres \
             and tiers) and {} in other statuses ({}), in {:.1} s",
            thousands(open as f64),
            thousands(at_centre as f64),
            thousands(others as f64),
            moved.join(", "),
            started.elapsed().as_secs_f64()
        )],
        ..Seeded::default()
    })
}

/// Open cases for the fire department at the 桂城 town centre, one per cycle to come.
fn seed_cycles(opts: &Opts, state: &App) -> anyhow::Result<Seeded> {
    let count = opts.cycle_cases.unwrap_or_else(|| {
        let seconds = opts.warmup as usize + opts.runs * opts.seconds as usize;
        (seconds * CYCLE_CASES_PER_SECOND).max(1_000)
    });
    let places = places(state)?;
    let guicheng: Vec<&Place> = places.iter().filter(|p| p.town == GUICHENG).collect();
    if guicheng.is_empty() {
        bail!("the demo map has no cells in 桂城");
    }
    let items = checklist_items()?;
    let item = items
        .iter()
        .find(|i| i.department == "fire" && i.tier == Tier::Town)
        .context("the demo checklist has no town-tier fire item")?;
    let now = gridpatrol::clock::now();
    let mut rng = rand::thread_rng();
    let seeds: Vec<(CaseSeed, i64)> = (0..count)
        .map(|_| {
            let place = guicheng.choose(&mut rng).expect("places");
            let opened = now - rng.gen_range(0..3_600_000_000_i64);
            (case_seed(place, Tier::Town, item, opened, &mut rng), opened)
        })
        .collect();
    let started = Instant::now();
    let ids = open_cases(&mut state.db.pool().get()?, &seeds)?;
    Ok(Seeded {
        lines: vec![format!(
            "{} open {} cases (fire) at the 桂城 town centre in {:.1} s",
            thousands(ids.len() as f64),
            item.code,
            started.elapsed().as_secs_f64()
        )],
        case_ids: ids,
        ..Seeded::default()
    })
}

/// `--library` generated enterprises stored through the enterprise store, placed in the
/// demo map's cells as `gridpatrol generate` places them; then the licence checks to send.
fn seed_library(opts: &Opts, state: &App) -> anyhow::Result<Seeded> {
    use gridpatrol::demo::enterprises as generator;
    use gridpatrol::enterprises::import::{EnterpriseRecord, LicenceRecord};
    if opts.library == 0 {
        bail!("check needs a library: --library must be at least 1");
    }
    let mut conn = state.db.pool().get()?;
    let areas = generator::cell_areas(&mut conn)?;
    if areas.is_empty() {
        bail!("the database has no cells to place enterprises in");
    }
    let today = gridpatrol::clock::today();
    let started = Instant::now();
    let library = generator::generate(LIBRARY_SEED, opts.library, &areas, today);
    let records: Vec<EnterpriseRecord> = library
        .iter()
        .map(|(e, licences)| EnterpriseRecord {
            uscc: e.uscc.clone(),
            name: e.name.clone(),
            legal_representative: e.legal_representative.clone(),
            legal_rep_id_number: e.legal_rep_id_number.clone(),
            phone: e.phone.clone(),
            address: e.address.clone(),
            lon: e.lon,
            lat: e.lat,
            status: e.status.to_string(),
            registered_on: e.registered_on.to_string(),
            place_kind: Some(e.place_kind.to_string()),
            licences: licences
                .iter()
                .map(|l| LicenceRecord {
                    uscc: l.uscc.clone(),
                    kind: l.kind.to_string(),
                    number: l.number.clone(),
                    valid_from: l.valid_from.to_string(),
                    valid_to: l.valid_to.to_string(),
                    status: l.status.to_string(),
                })
                .collect(),
        })
        .collect();
    let generated = started.elapsed();
    let storing = Instant::now();
    let summary =
        gridpatrol::enterprises::store::upsert(&mut conn, &records, &state.map.load(), |_| {})?;
    let stored = storing.elapsed();

    // The checks: 70% a library enterprise's USCC, 10% one of its food business licences
    // (with kind=food_business), 10% a USCC with one character changed, 10% a well-formed
    // USCC the library does not hold; all seen at the enterprise's registered location.
    let food: Vec<(&str, f64, f64)> = library
        .iter()
        .flat_map(|(e, ls)| {
            ls.iter()
                .filter(|l| l.kind == "food_business")
                .map(move |l| (l.number.as_str(), e.lon, e.lat))
        })
        .collect();
    let mut rng = rand::thread_rng();
    let mut mix = [0usize; 4];
    let probes = (0..CHECK_PROBES)
        .map(|_| {
            let (e, _) = library.choose(&mut rng).expect("a library");
            let roll = rng.gen_range(0..100);
            let (class, number, kind, lon, lat) = match roll {
                70..=79 if !food.is_empty() => {
                    let &(number, lon, lat) = food.choose(&mut rng).expect("food");
                    (1, number.to_string(), "&kind=food_business", lon, lat)
                }
                80..=89 => (2, corrupt(&e.uscc, &mut rng), "", e.lon, e.lat),
                90.. => (3, unknown_uscc(&mut rng), "", e.lon, e.lat),
                _ => (0, e.uscc.clone(), "", e.lon, e.lat),
            };
            mix[class] += 1;
            format!("/api/v1/licenses/check?number={number}{kind}&lon={lon:.7}&lat={lat:.7}")
        })
        .collect();
    Ok(Seeded {
        lines: vec![
            format!(
                "enterprise library: {} enterprises ({} licences) generated in {:.1} s, \
                 stored through the enterprise store in {:.1} s ({} inserted, {} updated, {} \
                 refused)",
                thousands(library.len() as f64),
                thousands(summary.licences as f64),
                generated.as_secs_f64(),
                stored.as_secs_f64(),
                thousands(summary.inserted as f64),
                thousands(summary.updated as f64),
                summary.refused
            ),
            format!(
                "{} distinct checks: {} library USCCs, {} food business licences, {} USCCs \
                 with one character changed, {} unknown well-formed USCCs",
                thousands(CHECK_PROBES as f64),
                mix[0],
                mix[1],
                mix[2],
                mix[3]
            ),
        ],
        probes,
        ..Seeded::default()
    })
}

/// `number` with one character replaced by another of the USCC character set.
fn corrupt(number: &str, rng: &mut impl Rng) -> String {
    let mut chars = number.as_bytes().to_vec();
    let at = rng.gen_range(0..chars.len());
    let was = chars[at];
    while chars[at] == was {
        chars[at] = *USCC_CHARS.choose(rng).expect("charset");
    }
    String::from_utf8(chars).expect("ASCII")
}

/// A well-formed USCC of a Nanhai enterprise (both check characters right) that the
/// library almost surely does not hold.
fn unknown_uscc(rng: &mut impl Rng) -> String {
    loop {
        let body: String = (0..8)
            .map(|_| char::from(b'0' + rng.gen_range(0..10)))
            .collect();
        let Some(org_check) = org_check_char(&body) else {
            continue;
        };
        let first17 = format!("91440605{body}{org_check}");
        if let Some(check) = uscc_check_char(&first17) {
            return format!("{first17}{check}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios on the prepared data

/// GET /api/v1/licenses/check of the prepared mix, as every demo inspector in turn.
struct Check {
    urls: Vec<String>,
    inspectors: Vec<HeaderValue>,
    verdicts: Mutex<BTreeMap<String, u64>>,
}

/// The `"verdict":"..."` of a check's answer, without parsing the whole JSON.
fn verdict_of(body: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"verdict\":\"";
    let at = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let end = body[at..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&body[at..at + end]).ok()
}

impl Scenario for Check {
    const NAME: &'static str = "check";
    const PER_CORE: bool = true;

    async fn prepare(ctx: &Ctx, _: &Opts) -> anyhow::Result<Self> {
        let probes = std::mem::take(&mut ctx.seeded.lock().expect("seeded").probes);
        if probes.is_empty() {
            bail!("no licence checks were prepared");
        }
        let mut inspectors = Vec::new();
        for user in demo_users()?
            .into_iter()
            .filter(|u| u.username.starts_with("insp-"))
        {
            inspectors.push(ctx.login(&user.username, &user.password).await?);
        }
        if inspectors.is_empty() {
            bail!("the demo district has no inspectors");
        }
        println!("check: {} inspectors logged in", inspectors.len());
        Ok(Check {
            urls: probes.iter().map(|p| ctx.url(p)).collect(),
            inspectors,
            verdicts: Mutex::new(BTreeMap::new()),
        })
    }

    fn request(&self, ctx: &Ctx, task: usize, i: u64) -> RequestBuilder {
        let k = (i as usize).wrapping_mul(7919).wrapping_add(task * 104_729) % self.urls.len();
        ctx.client(task).get(&self.urls[k]).header(
            AUTHORIZATION,
            self.inspectors[task % self.inspectors.len()].clone(),
        )
    }

    fn observe(&self, _: usize, status: u16, body: &[u8]) {
        if !(200..300).contains(&status) {
            return;
        }
        let verdict = verdict_of(body).unwrap_or("(none)");
        let mut verdicts = self.verdicts.lock().expect("verdicts");
        match verdicts.get_mut(verdict) {
            Some(n) => *n += 1,
            None => {
                verdicts.insert(verdict.to_string(), 1);
            }
        }
    }

    fn summary(&self) -> Vec<String> {
        let verdicts = self.verdicts.lock().expect("verdicts");
        let total: u64 = verdicts.values().sum();
        let mut by_count: Vec<(&String, &u64)> = verdicts.iter().collect();
        by_count.sort_by_key(|v| std::cmp::Reverse(*v.1));
        let shares: Vec<String> = by_count
            .iter()
            .map(|(v, n)| format!("{v} {:.1}%", 100.0 * **n as f64 / total.max(1) as f64))
            .collect();
        vec![format!(
            "verdicts (warm-up and runs, {} answers): {}",
            thousands(total as f64),
            shares.join(", ")
        )]
    }
}

/// Pages of the 桂城 centre's queue by due time walked in `QueueByDue::prepare`.
const QUEUE_PAGES: usize = 50;

/// The two 桂城 town dispatchers' Authorization headers.
async fn guicheng_dispatchers(ctx: &Ctx) -> anyhow::Result<Vec<HeaderValue>> {
    let users = demo_users()?;
    let mut out = Vec::new();
    for name in ["disp-guicheng-1", "disp-guicheng-2"] {
        let user = users
            .iter()
            .find(|u| u.username == name)
            .with_context(|| format!("no demo user {name}"))?;
        out.push(ctx.login(&user.username, &user.password).await?);
    }
    Ok(out)
}

/// GET /api/v1/cases?queue=mine&limit=100 (the first page, oldest first) as the 桂城 town
/// dispatchers.
struct Queue {
    url: String,
    dispatchers: Vec<HeaderValue>,
}

impl Scenario for Queue {
    const NAME: &'static str = "queue";
    /// A latency goal: a town centre has a few dispatchers, not dozens.
    const DEFAULT_CLIENTS: usize = 8;

    async fn prepare(ctx: &Ctx, _: &Opts) -> anyhow::Result<Self> {
        let dispatchers = guicheng_dispatchers(ctx).await?;
        let path = "/api/v1/cases?queue=mine&limit=100";
        let page = ctx.get_json(path, &dispatchers[0]).await?;
        let items = page["items"].as_array().map_or(0, Vec::len);
        if items != 100 {
            bail!("the first page of the 桂城 queue holds {items} cases, not 100");
        }
        println!(
            "queue: {path}: 100 cases a page, next_cursor {}",
            page["next_cursor"]
        );
        Ok(Queue {
            url: ctx.url(path),
            dispatchers,
        })
    }

    fn request(&self, ctx: &Ctx, task: usize, _: u64) -> RequestBuilder {
        ctx.client(task).get(&self.url).header(
            AUTHORIZATION,
            self.dispatchers[task % self.dispatchers.len()].clone(),
        )
    }
}

/// GET /api/v1/cases?queue=mine&limit=100&sort=due_at&cursor=... (pages 2 to QUEUE_PAGES
/// of the 桂城 queue by due time) as the 桂城 town dispatchers.
struct QueueByDue {
    urls: Vec<String>,
    dispatchers: Vec<HeaderValue>,
}

impl Scenario for QueueByDue {
    const NAME: &'static str = "queue-due-cursor";
    const DEFAULT_CLIENTS: usize = 8;

    async fn prepare(ctx: &Ctx, _: &Opts) -> anyhow::Result<Self> {
        let dispatchers = guicheng_dispatchers(ctx).await?;
        let base = ctx.url("/api/v1/cases");
        let params = |cursor: Option<&str>| -> anyhow::Result<reqwest::Url> {
            let mut pairs = vec![("queue", "mine"), ("limit", "100"), ("sort", "due_at")];
            if let Some(c) = cursor {
                pairs.push(("cursor", c));
            }
            Ok(reqwest::Url::parse_with_params(&base, &pairs)?)
        };
        let mut urls = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..QUEUE_PAGES {
            let url = params(cursor.as_deref())?;
            if cursor.is_some() {
                urls.push(url.to_string());
            }
            let path = &url.as_str()[ctx.base.len()..];
            let page = ctx.get_json(path, &dispatchers[0]).await?;
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        if urls.is_empty() {
            bail!("the 桂城 queue by due time has a single page");
        }
        println!(
            "queue-due-cursor: pages 2 to {} of the queue by due time, 100 cases each",
            urls.len() + 1
        );
        Ok(QueueByDue { urls, dispatchers })
    }

    fn request(&self, ctx: &Ctx, task: usize, i: u64) -> RequestBuilder {
        let k = (i as usize).wrapping_mul(7919).wrapping_add(task * 104_729) % self.urls.len();
        ctx.client(task).get(&self.urls[k]).header(
            AUTHORIZATION,
            self.dispatchers[task % self.dispatchers.len()].clone(),
        )
    }
}

/// Where one cycles client is: its case and the step it sends next.
#[derive(Default)]
struct CycleTask {
    case: i64,
    /// 0 claim, 1 dispatch, 2 start, 3 resolve.
    step: usize,
    /// The step of the request in flight.
    sent: usize,
}

/// claim (a 桂城 town dispatcher) → dispatch to fire (the same dispatcher) → start →
/// resolve with a note and a photo (hdl-guicheng-fire), each client on its own cases. The
/// goal counts claim + dispatch + resolve; our life cycle needs `start` before `resolve`,
/// so one cycle is 4 requests. After an error answer the client moves on to a new case.
struct Cycles {
    base: String,
    dispatchers: Vec<HeaderValue>,
    handler: HeaderValue,
    cases: Vec<i64>,
    next_case: AtomicUsize,
    tasks: Vec<Mutex<CycleTask>>,
    completed: AtomicU64,
    abandoned: AtomicU64,
    reused: AtomicU64,
    /// (window, seconds, cycles completed before it).
    windows: Mutex<Vec<(usize, u64, u64)>>,
}

impl Scenario for Cycles {
    const NAME: &'static str = "cycles";
    const REQUESTS_PER_CYCLE: usize = 4;

    async fn prepare(ctx: &Ctx, opts: &Opts) -> anyhow::Result<Self> {
        let cases = std::mem::take(&mut ctx.seeded.lock().expect("seeded").case_ids);
        if cases.is_empty() {
            bail!("no cases were prepared");
        }
        let dispatchers = guicheng_dispatchers(ctx).await?;
        let handler = demo_users()?
            .into_iter()
            .find(|u| u.username == "hdl-guicheng-fire")
            .context("no demo user hdl-guicheng-fire")?;
        let handler = ctx.login(&handler.username, &handler.password).await?;
        let tasks = opts.clients.unwrap_or(Self::DEFAULT_CLIENTS);
        println!(
            "cycles: {} prepared cases; one cycle = claim + dispatch + start + resolve \
             (4 requests: the life cycle needs start before resolve)",
            thousands(cases.len() as f64)
        );
        Ok(Cycles {
            base: ctx.url("/api/v1/cases/"),
            dispatchers,
            handler,
            cases,
            next_case: AtomicUsize::new(0),
            tasks: (0..tasks)
                .map(|_| Mutex::new(CycleTask::default()))
                .collect(),
            completed: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            reused: AtomicU64::new(0),
            windows: Mutex::new(Vec::new()),
        })
    }

    fn before_window(&mut self, window: usize, seconds: u64) {
        let done = self.completed.load(Ordering::Relaxed);
        self.windows
            .get_mut()
            .expect("windows")
            .push((window, seconds, done));
    }

    fn request(&self, ctx: &Ctx, task: usize, _: u64) -> RequestBuilder {
        let mut state = self.tasks[task % self.tasks.len()]
            .lock()
            .expect("cycle task");
        if state.step == 0 {
            let k = self.next_case.fetch_add(1, Ordering::Relaxed);
            if k >= self.cases.len() {
                self.reused.fetch_add(1, Ordering::Relaxed);
            }
            state.case = self.cases[k % self.cases.len()];
        }
        let (id, step) = (state.case, state.step);
        state.sent = step;
        state.step = (step + 1) % Self::REQUESTS_PER_CYCLE;
        drop(state);
        let client = ctx.client(task);
        let dispatcher = self.dispatchers[task % self.dispatchers.len()].clone();
        let actions = format!("{}{id}/actions", self.base);
        match step {
            0 => client
                .post(format!("{}{id}/claim", self.base))
                .header(AUTHORIZATION, dispatcher),
            1 => client
                .post(actions)
                .header(AUTHORIZATION, dispatcher)
                .json(&json!({"action": "dispatch", "department": "fire"})),
            2 => client
                .post(actions)
                .header(AUTHORIZATION, self.handler.clone())
                .json(&json!({"action": "start"})),
            _ => {
                let photo = hex::encode(Sha256::digest(id.to_be_bytes()));
                client
                    .post(actions)
                    .header(AUTHORIZATION, self.handler.clone())
                    .json(&json!({"action": "resolve", "note": "已清理通道", "photos": [photo]}))
            }
        }
    }

    fn observe(&self, task: usize, status: u16, _: &[u8]) {
        let mut state = self.tasks[task % self.tasks.len()]
            .lock()
            .expect("cycle task");
        if (200..300).contains(&status) {
            if state.sent == Self::REQUESTS_PER_CYCLE - 1 {
                self.completed.fetch_add(1, Ordering::Relaxed);
            }
        } else if state.step != 0 {
            // The case is stuck: start the next request on a fresh one.
            state.step = 0;
            self.abandoned.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn summary(&self) -> Vec<String> {
        let windows = self.windows.lock().expect("windows");
        let done = self.completed.load(Ordering::Relaxed);
        let mut parts = Vec::new();
        for (k, &(window, seconds, before)) in windows.iter().enumerate() {
            let after = windows.get(k + 1).map_or(done, |w| w.2);
            let label = if window == 0 {
                "warm-up".to_string()
            } else {
                format!("run {window}")
            };
            parts.push(format!(
                "{label} {} ({}/s)",
                thousands((after - before) as f64),
                thousands((after - before) as f64 / seconds.max(1) as f64)
            ));
        }
        let mut lines = vec![
            format!(
                "cycles resolved (claim, dispatch, start, resolve all 2xx): {}",
                parts.join(", ")
            ),
            format!(
                "cases used: {} of {} prepared; cycles broken off by an error answer: {}",
                thousands(self.next_case.load(Ordering::Relaxed) as f64),
                thousands(self.cases.len() as f64),
                self.abandoned.load(Ordering::Relaxed)
            ),
        ];
        let reused = self.reused.load(Ordering::Relaxed);
        if reused > 0 {
            lines.push(format!(
                "WARNING: the prepared cases ran out {reused} times (those cycles failed): \
                 raise --cycle-cases"
            ));
        }
        lines
    }
}

// ---------------------------------------------------------------------------------------
// The driver

#[derive(Default)]
struct TaskOutcome {
    latencies_us: Vec<u32>,
    errors: u64,
    samples: Vec<String>,
    next: u64,
}

/// One client task: sends requests back to back until the deadline. Only requests that
/// complete before it count, so every window measures exactly its length.
async fn client_loop<S: Scenario>(
    ctx: Arc<Ctx>,
    scenario: Arc<S>,
    task: usize,
    first: u64,
    deadline: Instant,
    pace: Option<Pace>,
) -> TaskOutcome {
    let mut out = TaskOutcome {
        latencies_us: Vec::with_capacity(4096),
        next: first,
        ..TaskOutcome::default()
    };
    let mut due = pace.map(|p| p.first);
    loop {
        // Paced: the scheduled time, even when the previous answer came late (no
        // coordinated omission: the wait for a slow server is part of the latency).
        let started = match due {
            Some(at) => {
                tokio::time::sleep_until(at.into()).await;
                at
            }
            None => Instant::now(),
        };
        if started >= deadline {
            break;
        }
        if let (Some(at), Some(p)) = (due.as_mut(), pace) {
            *at += p.every;
        }
        let request = scenario.request(&ctx, task, out.next);
        out.next += 1;
        let failure = match request.send().await {
            Ok(answer) => {
                let status = answer.status();
                match answer.bytes().await {
                    Ok(body) => {
                        scenario.observe(task, status.as_u16(), &body);
                        (!status.is_success()).then(|| {
                            let text = String::from_utf8_lossy(&body);
                            format!("{status}: {}", text.chars().take(300).collect::<String>())
                        })
                    }
                    Err(e) => Some(format!("{status}, body unread: {e}")),
                }
            }
            Err(e) => Some(format!("not answered: {e:#}")),
        };
        let done = Instant::now();
        if done > deadline {
            break;
        }
        out.latencies_us
            .push(u32::try_from(done.duration_since(started).as_micros()).unwrap_or(u32::MAX));
        if let Some(failure) = failure {
            out.errors += 1;
            if out.samples.len() < ERROR_SAMPLES {
                out.samples.push(failure);
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    rate: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
}

struct Window {
    figures: Figures,
    samples: Vec<String>,
}

/// When a paced client sends: first at `first`, then every `every`.
#[derive(Debug, Clone, Copy)]
struct Pace {
    first: Instant,
    every: Duration,
}

async fn window<S: Scenario>(
    ctx: &Arc<Ctx>,
    scenario: &Arc<S>,
    next: &mut [u64],
    length: Duration,
    rate: Option<f64>,
) -> Window {
    let begin = Instant::now();
    let deadline = begin + length;
    let clients = next.len();
    // Each client sends every clients/rate seconds, the clients staggered evenly.
    let pace = |task: usize| {
        rate.map(|r| {
            let every = Duration::from_secs_f64(clients as f64 / r);
            Pace {
                first: begin + every.mul_f64(task as f64 / clients as f64),
                every,
            }
        })
    };
    let tasks: Vec<_> = next
        .iter()
        .enumerate()
        .map(|(task, &first)| {
            tokio::spawn(client_loop(
                ctx.clone(),
                scenario.clone(),
                task,
                first,
                deadline,
                pace(task),
            ))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut samples = Vec::new();
    for (task, handle) in tasks.into_iter().enumerate() {
        let out = handle.await.expect("a client task panicked");
        next[task] = out.next;
        latencies.extend_from_slice(&out.latencies_us);
        errors += out.errors;
        samples.extend(out.samples);
    }
    samples.truncate(ERROR_SAMPLES);
    latencies.sort_unstable();
    let pick = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        f64::from(latencies[rank - 1]) / 1000.0
    };
    Window {
        figures: Figures {
            rate: latencies.len() as f64 / length.as_secs_f64(),
            p50_ms: pick(0.50),
            p90_ms: pick(0.90),
            p99_ms: pick(0.99),
            max_ms: pick(1.0),
            errors,
        },
        samples,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn median_of(runs: &[Figures]) -> Figures {
    let of = |f: fn(&Figures) -> f64| median(runs.iter().map(f).collect());
    Figures {
        rate: of(|r| r.rate),
        p50_ms: of(|r| r.p50_ms),
        p90_ms: of(|r| r.p90_ms),
        p99_ms: of(|r| r.p99_ms),
        max_ms: of(|r| r.max_ms),
        errors: runs.iter().map(|r| r.errors).sum(),
    }
}

/// `12345.6` as `12,346`.
fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2} ms")
    } else if v < 100.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

fn line(unit: &str, f: &Figures) -> String {
    format!(
        "{:>8} {unit}/s  p50 {:>9}  p90 {:>9}  p99 {:>9}  max {:>9}  errors {}",
        thousands(f.rate),
        ms(f.p50_ms),
        ms(f.p90_ms),
        ms(f.p99_ms),
        ms(f.max_ms),
        f.errors
    )
}

struct Plan {
    clients: usize,
    warmup: u64,
    seconds: u64,
    runs: usize,
    /// Offered requests per second (open loop); None: closed loop.
    rate: Option<f64>,
    /// Bogus-login clients running beside the scenario's.
    flood: usize,
}

/// Prepares scenario `S`, warms up, runs the measured windows and prints each and the
/// median; answers the median.
async fn measure<S: Scenario>(ctx: &Arc<Ctx>, opts: &Opts, plan: &Plan) -> anyhow::Result<Figures> {
    let pacing = match plan.rate {
        Some(r) => format!(
            ", open loop at {} req/s offered (latency from the scheduled send)",
            thousands(r)
        ),
        None => String::new(),
    };
    println!(
        "\n== {}: {} clients, warm-up {} s, {} × {} s{pacing}",
        S::NAME,
        plan.clients,
        plan.warmup,
        plan.runs,
        plan.seconds
    );
    let mut scenario = Arc::new(S::prepare(ctx, opts).await?);
    let mut next = vec![0u64; plan.clients];
    let mut runs = Vec::new();
    let mut cpu = CpuUse::default();
    for w in 0..=plan.runs {
        let seconds = if w == 0 { plan.warmup } else { plan.seconds };
        if seconds == 0 {
            continue;
        }
        Arc::get_mut(&mut scenario)
            .expect("no client task holds the scenario between windows")
            .before_window(w, seconds);
        let processes = ctx.pg_url.as_deref().map(pg_processes).unwrap_or_default();
        let before = CpuSample::take(&processes);
        let length = Duration::from_secs(seconds);
        let flooders: Vec<_> = (0..plan.flood)
            .map(|f| {
                let deadline = Instant::now() + length;
                tokio::spawn(flood(ctx.clone(), plan.clients + f, deadline))
            })
            .collect();
        let result = window(ctx, &scenario, &mut next, length, plan.rate).await;
        if !flooders.is_empty() {
            let mut answers: BTreeMap<u16, u64> = BTreeMap::new();
            for f in flooders {
                for (status, n) in f.await.expect("a flood task panicked") {
                    *answers.entry(status).or_default() += n;
                }
            }
            let total: u64 = answers.values().sum();
            let by_status: Vec<String> = answers.iter().map(|(s, n)| format!("{s}: {n}")).collect();
            println!(
                "   flood: {} bogus logins/s from {} clients ({})",
                thousands(total as f64 / seconds as f64),
                plan.flood,
                by_status.join(", ")
            );
        }
        if let (Some(before), Some(after)) = (before, CpuSample::take(&processes)) {
            if w > 0 {
                cpu.add(&before, &after);
            }
        }
        let label = if w == 0 {
            "warm-up".to_string()
        } else {
            format!("run {w}")
        };
        println!("{label:>8}: {}", line(S::UNIT, &result.figures));
        for sample in &result.samples {
            println!("          error: {sample}");
        }
        if w > 0 {
            runs.push(result.figures);
        }
    }
    let med = median_of(&runs);
    println!("  median: {}", line(S::UNIT, &med));
    if S::REQUESTS_PER_CYCLE > 0 {
        println!(
            "          {} cycles/s ({} requests each)",
            thousands(med.rate / S::REQUESTS_PER_CYCLE as f64),
            S::REQUESTS_PER_CYCLE
        );
    }
    if S::PER_CORE {
        println!(
            "          {:.1} {}/s per core ({} cores, shared with the load generator)",
            med.rate / ctx.cores as f64,
            S::UNIT,
            ctx.cores
        );
    }
    if let Some((text, outside)) = cpu.describe(ctx.cores) {
        println!("     CPU: {text}");
        // Loopback networking costs the kernel some 10% by itself; much more means that
        // something else ran on the machine meanwhile.
        if outside > DISTURBED_PCT {
            println!(
                "          WARNING: {outside:.0}% of a core went to other processes: these \
                 figures are disturbed; run again on a quiet machine"
            );
        }
    }
    let measured: f64 = runs.iter().map(|r| r.rate * plan.seconds as f64).sum();
    if let Some((server_us, pg_us, load_us)) = cpu.per_request(measured) {
        // Less noisy than throughput on a shared machine: what one request costs.
        let pg = if ctx.pg_url.is_some() {
            format!(", PostgreSQL {pg_us:.0} µs")
        } else {
            String::new()
        };
        println!(
            "          CPU per {}: server {server_us:.0} µs{pg} ({} per CPU-second of \
             both), load generator {load_us:.0} µs",
            S::UNIT.trim_end_matches('s'),
            thousands(1e6 / (server_us + pg_us))
        );
    }
    for extra in scenario.summary() {
        println!("          {extra}");
    }
    if med.errors > 0 {
        println!(
            "          WARNING: {} error answers in the measured runs",
            med.errors
        );
    }
    Ok(med)
}

/// The ceiling, then scenario `S`, then the ratio and a table row for BENCHMARKS.md.
async fn bench<S: Scenario>(opts: &Opts, service: &Service, cores: usize) -> anyhow::Result<()> {
    bench_two::<S, S>(opts, service, cores).await
}

/// The ceiling, then scenario `S` and, when it is another one, `T` (a variant measured on
/// the same server and data), then the ratios and table rows for BENCHMARKS.md.
async fn bench_two<S: Scenario, T: Scenario>(
    opts: &Opts,
    service: &Service,
    cores: usize,
) -> anyhow::Result<()> {
    let plan = Plan {
        clients: opts.clients.unwrap_or(S::DEFAULT_CLIENTS),
        warmup: opts.warmup,
        seconds: opts.seconds,
        runs: opts.runs,
        rate: opts.rate,
        flood: opts.flood,
    };
    let ctx = Arc::new(Ctx::new(
        service,
        opts.client_mode,
        plan.clients + plan.flood,
        cores,
    )?);
    println!("{}", service.describe);
    println!(
        "load generator: {} runtime thread(s), {} client(s) ({:?}), {} cores on this machine",
        opts.load_threads,
        ctx.clients.len(),
        opts.client_mode,
        cores
    );
    // The ceiling is what the server can do flat out, so never paced.
    let ceiling = measure::<Healthz>(
        &ctx,
        opts,
        &Plan {
            rate: None,
            flood: 0,
            ..plan
        },
    )
    .await?;
    let mut rows = Vec::new();
    if S::NAME == Healthz::NAME {
        rows.push(Row::of::<Healthz>(ceiling));
    } else {
        rows.push(Row::of::<S>(measure::<S>(&ctx, opts, &plan).await?));
        if T::NAME != S::NAME {
            rows.push(Row::of::<T>(measure::<T>(&ctx, opts, &plan).await?));
        }
    }
    println!();
    for row in &rows {
        let ratio = row.figures.rate / ceiling.rate;
        println!(
            "{} / healthz throughput: {:.3} ({} / {} per second)",
            row.name,
            ratio,
            thousands(row.figures.rate),
            thousands(ceiling.rate)
        );
        if row.per_cycle > 0 {
            println!(
                "{}: {} cycles/s ({} requests each)",
                row.name,
                thousands(row.figures.rate / row.per_cycle as f64),
                row.per_cycle
            );
        }
    }
    println!(
        "\n| scenario | backend | clients | rate/s (median) | p50 | p99 | healthz req/s | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in &rows {
        let f = &row.figures;
        let mut rate = format!("{} {}", thousands(f.rate), row.unit);
        if row.per_cycle > 0 {
            let _ = write!(
                rate,
                " = {} cycles ({} requests each)",
                thousands(f.rate / row.per_cycle as f64),
                row.per_cycle
            );
        }
        let clients = match plan.rate {
            Some(r) => format!("{} at {}/s offered", plan.clients, thousands(r)),
            None => plan.clients.to_string(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.3} |",
            row.name,
            opts.backend.name(),
            clients,
            rate,
            ms(f.p50_ms),
            ms(f.p99_ms),
            thousands(ceiling.rate),
            f.rate / ceiling.rate
        );
    }
    Ok(())
}

/// One measured scenario, for the closing lines.
struct Row {
    name: &'static str,
    unit: &'static str,
    per_cycle: usize,
    figures: Figures,
}

impl Row {
    fn of<S: Scenario>(figures: Figures) -> Row {
        Row {
            name: S::NAME,
            unit: S::UNIT,
            per_cycle: S::REQUESTS_PER_CYCLE,
            figures,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Where the CPU goes (Linux /proc; silently absent elsewhere)

/// CPU time of this process's threads, grouped by thread name, and of the whole machine.
struct CpuSample {
    at: Instant,
    /// Clock ticks by thread group.
    threads: HashMap<&'static str, u64>,
    /// Busy and total ticks of the whole machine, all cores.
    busy: u64,
    total: u64,
}

/// Names a thread by what it does in this process (comm names are cut at 15 bytes).
fn thread_group(comm: &str) -> &'static str {
    match comm {
        c if c.starts_with("loadgen") => "load generator",
        // actix-web runs each HTTP worker on an arbiter thread "actix-rt|system:N|arbiter:M".
        c if c.starts_with("actix-rt|system") => "HTTP workers",
        // web::block runs on the workers' tokio blocking pools.
        c if c.starts_with("tokio-rt-worker") || c.starts_with("tokio-runtime") => {
            "blocking pool (db, images)"
        }
        c if c.starts_with("gridpatrol-writ") => "group-commit writer",
        c if c.starts_with("actix-server ac") || c.starts_with("actix-system") => {
            "acceptor and system"
        }
        c if c.starts_with("r2d2") => "pool maintenance",
        _ => "other threads",
    }
}

#[derive(diesel::QueryableByName)]
struct PgProcess {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    backend: bool,
}

const PG_BACKENDS: &str = "PostgreSQL backends";
const PG_WAL: &str = "PostgreSQL WAL writer and checkpointer";

/// The PostgreSQL processes working for the bench database: its backends (the server's
/// pool) and the cluster's WAL writer, checkpointer and background writer.
fn pg_processes(url: &str) -> Vec<(u32, &'static str)> {
    let Ok(mut conn) = PgConnection::establish(url) else {
        return Vec::new();
    };
    diesel::sql_query(
        "SELECT pid, datname IS NOT NULL AS backend FROM pg_stat_activity \
         WHERE pid <> pg_backend_pid() AND (datname = current_database() \
         OR backend_type IN ('walwriter', 'checkpointer', 'background writer'))",
    )
    .load::<PgProcess>(&mut conn)
    .unwrap_or_default()
    .into_iter()
    .filter_map(|p| {
        let group = if p.backend { PG_BACKENDS } else { PG_WAL };
        Some((u32::try_from(p.pid).ok()?, group))
    })
    .collect()
}

/// utime + stime of a /proc/.../stat line, and the command name in it.
fn stat_ticks(text: &str) -> Option<(&str, u64)> {
    let (open, close) = (text.find('(')?, text.rfind(')')?);
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the comm.
    let ticks = fields
        .get(11..13)?
        .iter()
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Some((&text[open + 1..close], ticks))
}

impl CpuSample {
    /// This process's threads, and `processes` (other processes, with their group).
    fn take(processes: &[(u32, &'static str)]) -> Option<CpuSample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let total: u64 = cpu.iter().take(8).sum();
        let idle = cpu.get(3)? + cpu.get(4).copied().unwrap_or(0);
        let mut threads = HashMap::new();
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let Ok(text) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            if let Some((comm, ticks)) = stat_ticks(&text) {
                *threads.entry(thread_group(comm)).or_default() += ticks;
            }
        }
        for &(pid, group) in processes {
            let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            if let Some((_, ticks)) = stat_ticks(&text) {
                *threads.entry(group).or_default() += ticks;
            }
        }
        Some(CpuSample {
            at: Instant::now(),
            threads,
            busy: total - idle,
            total,
        })
    }
}

#[derive(Default)]
struct CpuUse {
    seconds: f64,
    threads: HashMap<&'static str, u64>,
    busy: u64,
    total: u64,
}

impl CpuUse {
    fn add(&mut self, before: &CpuSample, after: &CpuSample) {
        self.seconds += after.at.duration_since(before.at).as_secs_f64();
        for (group, &ticks) in &after.threads {
            let was = before.threads.get(group).copied().unwrap_or(0);
            *self.threads.entry(group).or_default() += ticks.saturating_sub(was);
        }
        self.busy += after.busy.saturating_sub(before.busy);
        self.total += after.total.saturating_sub(before.total);
    }

    /// "HTTP workers 80%, ..." in percent of one core (100% = one core busy), assuming the
    /// kernel's usual 100 ticks per second.
    /// Microseconds of CPU per request: the server's threads in this process, the
    /// PostgreSQL processes serving it (none on SQLite), and the load generator.
    fn per_request(&self, requests: f64) -> Option<(f64, f64, f64)> {
        if requests < 1.0 || self.threads.is_empty() {
            return None;
        }
        let of = |group: &str| self.threads.get(group).copied().unwrap_or(0);
        let (load, pg) = (of("load generator"), of(PG_BACKENDS) + of(PG_WAL));
        let server = self.threads.values().sum::<u64>() - load - pg;
        // 100 ticks per second: one tick is 10,000 µs.
        let us = |ticks: u64| ticks as f64 * 10_000.0 / requests;
        Some((us(server), us(pg), us(load)))
    }

    /// The account as text, and the share of CPU (in % of one core) that went elsewhere.
    fn describe(&self, cores: usize) -> Option<(String, f64)> {
        if self.seconds <= 0.0 || self.total == 0 {
            return None;
        }
        let pct = |ticks: u64| ticks as f64 / (self.seconds * 100.0) * 100.0;
        let mut groups: Vec<(&str, u64)> = self.threads.iter().map(|(g, t)| (*g, *t)).collect();
        groups.sort_by_key(|g| std::cmp::Reverse(g.1));
        let mine: u64 = groups.iter().map(|g| g.1).sum();
        let mut text = String::new();
        for (group, ticks) in groups.iter().filter(|g| pct(g.1) >= 0.5) {
            let _ = write!(text, "{group} {:.0}%, ", pct(*ticks));
        }
        let machine = self.busy as f64 / self.total as f64 * cores as f64 * 100.0;
        let outside = (machine - pct(mine)).max(0.0);
        let _ = write!(
            text,
            "other processes and kernel {outside:.0}%; machine busy {machine:.0}% of {}%",
            cores * 100
        );
        Some((text, outside))
    }
}
