//! gridpatrol: the backend for community grid inspection (网格化巡查).
//!
//! This file builds the application: the shared state, the `configure` function that
//! lists every route (groups of them through their module's own `configure`), the JSON
//! error handling for everything actix answers itself, and the server start-up. Domain
//! rules live in their modules; see docs/architecture.md.

pub mod audit;
pub mod auth;
pub mod cases;
pub mod checklist;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod enterprises;
pub mod error;
pub mod grid;
pub mod import;
pub mod openapi;
pub mod paging;
pub mod photos;
pub mod reports;
pub mod stats;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceResponse};
use actix_web::error::JsonPayloadError;
use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use arc_swap::ArcSwap;
use serde_json::json;

use crate::config::ServeConfig;
use crate::error::{ApiError, ApiResult};
use crate::grid::index::CellIndex;

/// Settings the handlers need at run time.
#[derive(Debug, Clone)]
pub struct Settings {
    pub token_ttl_hours: i64,
    pub json_limit: usize,
    pub photo_limit: usize,
    pub argon2_memory_kib: u32,
    pub map_refresh_secs: u64,
    pub overdue_check_secs: u64,
    pub escalation_grace_secs: u64,
}

/// What every handler shares. Nothing here is state that other server processes would
/// need to see: the pool is a handle to the database, the cell index a cache of it.
pub struct AppState {
    pub pool: db::Pool,
    /// Group commit of writes on SQLite; None on PostgreSQL (see db::batch).
    pub writer: Option<db::batch::GroupCommit<audit::store::NewEntry>>,
    pub cells: ArcSwap<CellIndex>,
    /// Checklist versions by number: immutable once stored, so safe to keep.
    pub checklists: RwLock<HashMap<i32, Arc<HashMap<String, checklist::model::ChecklistItem>>>>,
    pub photos: photos::store::PhotoFiles,
    pub settings: Settings,
    pub decoy_hash: String,
    /// Who holds a token, for a second or two (see auth::cache for the bound).
    pub tokens: auth::cache::TokenCache,
}

impl AppState {
    /// Runs blocking database work on actix's blocking pool, never on the executor.
    pub async fn db<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut db::Conn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await?
    }

    /// Runs a read of a few pages by unique key. On SQLite, with a connection idle, it
    /// runs right here on the worker: handing it to the blocking pool and back costs two
    /// thread switches, more than the read itself (measured on the licence check: 15k →
    /// 17k req/s). Anything longer, and every PostgreSQL round trip, goes to the pool.
    pub async fn quick_read<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut db::Conn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        if let db::Pool::Sqlite(pool) = &self.pool {
            if let Some(idle) = pool.try_get() {
                return work(&mut db::Conn::Sqlite(idle));
            }
        }
        self.db(work).await
    }

    /// Runs one unit of write work in its own transaction (part of a group commit on SQLite,
    /// where it may run twice: see `db::batch`), answering only after it is durable.
    pub async fn write<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: Fn(&mut db::Conn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.submit(work).await,
            None => self.db(move |conn| conn.write(work)).await,
        }
    }

    /// Writes the trace of lookups to the audit log; answers once it is durable, so that
    /// no answer leaves without its trace. On SQLite the writer appends every waiting
    /// record in one statement; on PostgreSQL one INSERT, atomic without a transaction.
    pub async fn audit(
        &self,
        who: &auth::Principal,
        device: Option<&str>,
        lookups: Vec<audit::store::Lookup>,
    ) -> ApiResult<()> {
        let rows = audit::store::entries(who, device, lookups);
        if rows.is_empty() {
            return Ok(());
        }
        match &self.writer {
            Some(writer) => writer.append(rows).await,
            None => {
                self.db(move |conn| Ok(audit::store::insert(conn, &rows)?))
                    .await
            }
        }
    }

    /// Rebuilds the locate index when the stored map changed (after an import here, or
    /// in another process).
    pub async fn refresh_cells(&self) -> ApiResult<bool> {
        let known = self.cells.load().version;
        let pool = self.pool.clone();
        let fresh = web::block(move || -> ApiResult<Option<CellIndex>> {
            let mut conn = pool.get()?;
            if grid::store::map_version(&mut conn)? == known {
                return Ok(None);
            }
            Ok(Some(grid::store::load_index(&mut conn)?))
        })
        .await??;
        match fresh {
            Some(index) => {
                log::info!(
                    "locate index rebuilt: map version {}, {} cells",
                    index.version,
                    index.len()
                );
                self.cells.store(Arc::new(index));
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Opens the database, applies migrations, loads the demo district when asked and the
/// database is empty, and builds the locate index.
pub fn prepare(config: &ServeConfig) -> anyhow::Result<web::Data<AppState>> {
    let url = config.storage.database_url();
    let pool = db::Pool::open(&url, config.storage.pool_size())?;
    let applied = pool.migrate()?;
    if !applied.is_empty() {
        log::info!("applied migrations: {}", applied.join(", "));
    }
    let mut conn = pool.get()?;
    if config.demo && demo::is_empty(&mut conn)? {
        let argon2 = config.storage.argon2_memory_kib;
        for line in demo::load(&mut conn, argon2, config.demo_cases)? {
            log::info!("demo: {line}");
        }
    }
    let index = grid::store::load_index(&mut conn)?;
    let writer = match pool.backend() {
        db::Backend::Sqlite => Some(db::batch::GroupCommit::start(
            pool.clone(),
            audit::store::insert,
        )),
        db::Backend::Pg => None,
    };
    Ok(web::Data::new(AppState {
        writer,
        pool,
        cells: ArcSwap::from_pointee(index),
        checklists: RwLock::new(HashMap::new()),
        photos: photos::store::PhotoFiles::new(&config.storage.data_dir)?,
        settings: Settings {
            token_ttl_hours: config.token_ttl_hours,
            json_limit: config.json_limit,
            photo_limit: config.photo_limit,
            argon2_memory_kib: config.storage.argon2_memory_kib,
            map_refresh_secs: config.map_refresh_secs.max(1),
            overdue_check_secs: config.overdue_check_secs.max(1),
            escalation_grace_secs: config.escalation_grace_secs,
        },
        decoy_hash: auth::password::decoy_hash(config.storage.argon2_memory_kib),
        tokens: auth::cache::TokenCache::new(Duration::from_millis(config.token_cache_ms)),
    }))
}

/// Every route of the service: listed here, or in the `configure` of the domain module
/// that owns a group of them (cases, enterprises and audit, statistics), called below.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    let json_limit = state.settings.json_limit;
    let photo_limit = state.settings.photo_limit;
    cfg.app_data(state)
        .app_data(json_config(json_limit))
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            ApiError::bad_request(format!("malformed query: {err}")).into()
        }))
        .app_data(web::PathConfig::default().error_handler(|err, _| {
            ApiError::bad_request(format!("malformed path parameter: {err}")).into()
        }))
        .service(endpoint("/healthz").route(web::get().to(healthz)))
        .service(endpoint("/readyz").route(web::get().to(readyz)))
        .service(endpoint("/api/v1/openapi.json").route(web::get().to(openapi::document)))
        .service(
            web::scope("/api/v1")
                .service(endpoint("/auth/login").route(web::post().to(auth::http::login)))
                .service(endpoint("/auth/logout").route(web::post().to(auth::http::logout)))
                .service(endpoint("/auth/me").route(web::get().to(auth::http::me)))
                .service(endpoint("/checklist").route(web::get().to(checklist::http::checklist)))
                .service(
                    endpoint("/checklist/versions").route(web::get().to(checklist::http::versions)),
                )
                .service(
                    endpoint("/departments").route(web::get().to(checklist::http::departments)),
                )
                .service(endpoint("/grid/locate").route(web::get().to(grid::http::locate)))
                .service(endpoint("/grid/cells").route(web::get().to(grid::http::cells)))
                .service(endpoint("/regions").route(web::get().to(grid::http::regions)))
                .service(
                    endpoint("/reports")
                        .route(web::post().to(reports::http::submit))
                        .route(web::get().to(reports::http::list)),
                )
                .service(endpoint("/reports/{id}").route(web::get().to(reports::http::read)))
                .service(
                    endpoint("/photos/{sha256}")
                        .app_data(web::PayloadConfig::new(photo_limit))
                        .route(web::put().to(photos::http::upload))
                        .route(web::head().to(photos::http::exists))
                        .route(web::get().to(photos::http::original)),
                )
                .service(
                    endpoint("/photos/{sha256}/thumbnail")
                        .route(web::get().to(photos::http::thumbnail)),
                )
                .configure(cases::http::configure)
                .configure(stats::http::configure)
                .configure(enterprises::http::configure),
        )
        .default_service(web::to(not_found));
}

/// A resource that answers 405 (as JSON, listing nothing else) to a method it lacks.
pub(crate) fn endpoint(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not answer {}", req.path(), req.method()),
    )
    .error_response()
}

fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| json_error(&err).into())
}

/// Maps what actix's JSON extractor refuses to our statuses: 415 wrong content type, 413
/// too large, 400 not JSON, 422 JSON of the wrong shape.
fn json_error(err: &JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than the limit of {limit} bytes"),
        )
        .with_details(json!({"limit": limit})),
        JsonPayloadError::Deserialize(e) => json_body_error(e),
        other => ApiError::bad_request(format!("could not read the body: {other}")),
    }
}

/// A JSON body that could not be read: 422 when it is JSON of the wrong shape, 400 when it
/// is not JSON at all. Handlers that read a body themselves answer the same.
pub(crate) fn json_body_error(e: &serde_json::Error) -> ApiError {
    if e.is_data() {
        ApiError::invalid(
            "the JSON does not have the expected shape",
            json!([{"problem": e.to_string()}]),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {e}"),
        )
    }
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("no such endpoint: {} {}", req.method(), req.path()))
        .error_response()
}

/// Turns every error answer that is not already our JSON envelope (actix's own 405s, its
/// 400s for broken headers, ...) into the envelope, so a client never sees another shape.
fn envelope_every_error<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this endpoint does not answer that method".to_string(),
        s => s.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let (req, res) = res.into_parts();
    let mut answer = ApiError::new(status, code, message).error_response();
    if let Some(allow) = res.headers().get(actix_web::http::header::ALLOW) {
        answer
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, allow.clone());
    }
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, answer).map_into_right_body(),
    ))
}

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "the process answers", body = Object)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "the database answers", body = Object),
        (status = 503, body = crate::error::ErrorEnvelope)))]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let backend = state.pool.backend();
    state
        .db(|conn| {
            db::ping(conn).map_err(|e| {
                log::error!("readiness: {e}");
                ApiError::unavailable("the database does not answer")
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "status": "ready",
        "database": match backend { db::Backend::Sqlite => "sqlite", db::Backend::Pg => "postgresql" },
    })))
}

/// Builds the HTTP server on a bound listener and starts the map refresher beside it.
pub fn server(
    state: web::Data<AppState>,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    let refresher = state.clone();
    actix_web::rt::spawn(async move {
        let period = Duration::from_secs(refresher.settings.map_refresh_secs);
        loop {
            actix_web::rt::time::sleep(period).await;
            if let Err(e) = refresher.refresh_cells().await {
                log::warn!("map refresh: {e}");
            }
        }
    });
    cases::timers::spawn(state.clone());
    let mut http = HttpServer::new(move || {
        App::new()
            .wrap(ErrorHandlers::new().default_handler(envelope_every_error))
            .wrap(actix_web::middleware::Compress::default())
            .configure(|cfg| configure(cfg, state.clone()))
    })
    .listen(listener)?;
    if let Some(n) = workers {
        http = http.workers(n.max(1));
    }
    Ok(http.run())
}
