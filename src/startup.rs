//! Builds the application: opens and migrates the database, loads the demo district when
//! asked, makes the values handlers share (each its own `web::Data`), starts the background
//! tasks, and holds the ONE route table, from which the OpenAPI document is built too.
//! Nothing below this module imports it.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Compress, ErrorHandlers};
use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};

use crate::auth::sessions::Sessions;
use crate::checklist::cache::Checklists;
use crate::config::ServeConfig;
use crate::db::{self, Db};
use crate::grid::index::MapIndex;
use crate::photos::arrival::PhotoIntake;
use crate::photos::store::PhotoFiles;
use crate::route;
use crate::web::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::web::extract::{json_config, path_config, query_config, AddressSource};
use crate::web::routes::{envelope_every_error, not_found, refuse_nul, Api};
use crate::{auth, cases, checklist, enterprises, grid, photos, reports, stats};

/// Everything a server process holds: handles to the database and the photo store, and
/// caches of the database. Nothing here is state another process would need to see.
pub struct Service {
    pub db: web::Data<Db>,
    pub map: web::Data<MapIndex>,
    checklists: web::Data<Checklists>,
    photos: web::Data<PhotoFiles>,
    intake: web::Data<PhotoIntake>,
    sessions: web::Data<Sessions>,
    addresses: web::Data<AddressSource>,
    json_limit: usize,
    map_refresh: Duration,
    overdue_check: Duration,
    escalation_grace_us: i64,
}

/// Opens the database, applies migrations, loads the demo district when asked and the
/// database is empty, and builds the locate index.
pub fn prepare(config: &ServeConfig) -> anyhow::Result<Service> {
    let url = config.storage.database_url();
    let pool = db::Pool::open(&url, config.storage.pool_size())?;
    let applied = pool.migrate()?;
    if !applied.is_empty() {
        log::info!("applied migrations: {}", applied.join(", "));
    }
    let mut conn = pool.get()?;
    if config.demo && crate::demo::is_empty(&mut conn)? {
        let argon2 = config.storage.argon2_memory_kib;
        for line in crate::demo::load(&mut conn, argon2, config.demo_cases)? {
            log::info!("demo: {line}");
        }
    }
    let index = grid::store::load_index(&mut conn)?;
    drop(conn);
    let argon2 = config.storage.argon2_memory_kib;
    Ok(Service {
        db: web::Data::new(Db::new(pool)),
        map: web::Data::new(MapIndex::new(index)),
        checklists: web::Data::new(Checklists::default()),
        photos: web::Data::new(PhotoFiles::new(&config.storage.data_dir)?),
        intake: web::Data::new(PhotoIntake::new(
            config.photo_limit,
            config.photo_max_pixels,
        )),
        sessions: web::Data::new(Sessions::new(
            config.token_ttl_hours,
            Duration::from_millis(config.token_cache_ms),
            argon2,
            config.login_address_limit,
        )),
        addresses: web::Data::new(AddressSource {
            header: config.client_address_header.clone(),
        }),
        json_limit: config.json_limit,
        map_refresh: Duration::from_secs(config.map_refresh_secs.max(1)),
        overdue_check: Duration::from_secs(config.overdue_check_secs.max(1)),
        escalation_grace_us: i64::try_from(config.escalation_grace_secs)
            .unwrap_or(i64::MAX / 1_000_000)
            .saturating_mul(1_000_000),
    })
}

/// Builds the HTTP server on a bound listener and starts the background tasks beside it:
/// the map refresher and the time-limit sweep.
pub fn server(
    service: Service,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    grid::index::spawn_refresher(service.map.clone(), service.db.clone(), service.map_refresh);
    cases::sweep::spawn(
        service.db.clone(),
        service.overdue_check,
        service.escalation_grace_us,
    );
    let service = web::Data::new(service);
    let mut http = HttpServer::new(move || {
        let s = service.clone();
        App::new()
            .wrap(ErrorHandlers::new().default_handler(envelope_every_error))
            .wrap(Compress::default())
            .wrap(from_fn(refuse_nul))
            .app_data(s.db.clone())
            .app_data(s.map.clone())
            .app_data(s.checklists.clone())
            .app_data(s.photos.clone())
            .app_data(s.intake.clone())
            .app_data(s.sessions.clone())
            .app_data(s.addresses.clone())
            .app_data(json_config(s.json_limit))
            .app_data(query_config())
            .app_data(path_config())
            .configure(|cfg| routes().mount(cfg))
            .default_service(web::to(not_found))
    })
    .listen(listener)?;
    if let Some(n) = workers {
        http = http.workers(n.max(1));
    }
    Ok(http.run())
}

/// Every route of the service, each with its OpenAPI entry.
fn routes() -> Api {
    let mut api = Api::new(document_base());
    route!(api, healthz);
    route!(api, readyz);
    route!(api, openapi_document);
    route!(api, auth::http, login);
    route!(api, auth::http, logout);
    route!(api, auth::http, me);
    route!(api, checklist::http, checklist);
    route!(api, checklist::http, versions);
    route!(api, checklist::http, departments);
    route!(api, grid::http, locate);
    route!(api, grid::http, cells);
    route!(api, grid::http, regions);
    route!(api, reports::http, submit);
    route!(api, reports::http, list);
    route!(api, reports::http, read);
    route!(api, photos::http, upload);
    route!(api, photos::http, exists);
    route!(api, photos::http, original);
    route!(api, photos::http, thumbnail);
    route!(api, cases::http, open);
    route!(api, cases::http, list);
    route!(api, cases::http, read);
    route!(api, cases::http, claim);
    route!(api, cases::http, act);
    route!(api, stats::http, departments);
    route!(api, stats::http, cells);
    route!(api, enterprises::http, check_licence);
    route!(api, enterprises::http, search);
    route!(api, enterprises::http, view);
    route!(api, enterprises::http, import_library);
    route!(api, crate::audit::http, list);
    api
}

/// The document's info, tags and security scheme; the paths come from the route table.
fn document_base() -> OpenApi {
    let tags = [
        ("auth", "Log in and out; every other endpoint takes `Authorization: Bearer <token>`"),
        ("checklist", "The versioned inspection checklist and departments"),
        ("grid", "The grid map: locate, cells, regions"),
        ("reports", "Geotagged inspection reports from handhelds"),
        ("photos", "Content-addressed photos: upload, check, download"),
        ("health", "Liveness and readiness"),
        ("cases", "The case life cycle: queues of dispatch centres, departments and inspectors; claim, dispatch, handle, verify and close; every step on the timeline"),
        ("stats", "Performance of departments and hot spots of the grid, counted from the case timeline; JSON, GeoJSON or CSV (`Accept: text/csv`). Formulas: docs/statistics.md"),
        ("enterprises", "The enterprise library and licence cross-checks; every lookup is audited"),
        ("audit", "The append-only audit log of lookups"),
    ];
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("gridpatrol")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("Backend for community grid inspection: checklist, grid map, reports, licence cross-check and case dispatch. Errors are always `{\"error\":{\"code\",\"message\",\"details\"}}`. Times are RFC 3339 with offset (Asia/Shanghai); coordinates are WGS-84 `lon`/`lat` unless a `crs` says otherwise. Lists page with `limit` and an opaque `cursor`."))
                .license(Some(
                    utoipa::openapi::LicenseBuilder::new()
                        .name("Apache-2.0")
                        .identifier(Some("Apache-2.0"))
                        .build(),
                )),
        )
        .tags(Some(tags.map(|(name, description)| {
            TagBuilder::new()
                .name(name)
                .description(Some(description))
                .build()
        })))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    // The audit list answers `{"items":[AuditView]}`, which no path names as a body.
    components.schemas.insert(
        "AuditView".into(),
        <crate::audit::store::AuditView as utoipa::PartialSchema>::schema(),
    );
    doc
}

/// The OpenAPI document of the route table.
pub(crate) fn openapi() -> OpenApi {
    routes().document()
}

pub fn openapi_json() -> String {
    openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
}

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "the process answers", body = Object)))]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "the database answers", body = Object),
        (status = 503, body = ErrorEnvelope)))]
async fn readyz(db: web::Data<Db>) -> ApiResult<HttpResponse> {
    let backend = db.backend();
    db.run(|conn| {
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

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "health",
    responses((status = 200, description = "the OpenAPI 3.1 document of this service", body = Object)))]
async fn openapi_document() -> HttpResponse {
    // The document never changes while the process runs: built once, on first request.
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.get_or_init(openapi_json).as_str())
}
