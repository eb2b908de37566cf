//! The OpenAPI 3 document, generated from the annotations on the handlers. A snapshot
//! test (tests/api/openapi.rs) keeps docs/openapi.json equal to it, so that every API
//! change is deliberate and visible in review.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gridpatrol",
        description = "Backend for community grid inspection: checklist, grid map, reports, licence cross-check and case dispatch. Errors are always `{\"error\":{\"code\",\"message\",\"details\"}}`. Times are RFC 3339 with offset (Asia/Shanghai); coordinates are WGS-84 `lon`/`lat` unless a `crs` says otherwise. Lists page with `limit` and an opaque `cursor`."
    ),
    paths(
        crate::healthz,
        crate::readyz,
        crate::auth::http::login,
        crate::auth::http::logout,
        crate::auth::http::me,
        crate::checklist::http::checklist,
        crate::checklist::http::versions,
        crate::checklist::http::departments,
        crate::grid::http::locate,
        crate::grid::http::cells,
        crate::grid::http::regions,
        crate::reports::http::submit,
        crate::reports::http::list,
        crate::reports::http::read,
        crate::photos::http::upload,
        crate::photos::http::exists,
        crate::photos::http::original,
        crate::photos::http::thumbnail,
    ),
    components(schemas(crate::error::ErrorEnvelope)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Log in and out; every other endpoint takes `Authorization: Bearer <token>`"),
        (name = "checklist", description = "The versioned inspection checklist and departments"),
        (name = "grid", description = "The grid map: locate, cells, regions"),
        (name = "reports", description = "Geotagged inspection reports from handhelds"),
        (name = "photos", description = "Content-addressed photos: upload, check, download"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole document: this one, merged with each domain module's own.
pub fn document_model() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::cases::http::CasesApi::openapi());
    doc.merge(crate::stats::http::StatsApi::openapi());
    doc.merge(crate::enterprises::http::EnterprisesApi::openapi());
    doc
}

pub fn json() -> String {
    document_model()
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
}

/// The document never changes while the process runs: built once, on first request.
pub async fn document() -> HttpResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.get_or_init(json).as_str())
}
