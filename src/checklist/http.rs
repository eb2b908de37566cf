//! Reading the checklist and the departments.

use actix_web::web;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::checklist::model::ChecklistItem;
use crate::checklist::store::{self, Department};
use crate::db::Db;
use crate::web::error::{ApiError, ApiResult, ErrorEnvelope};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChecklistQuery {
    /// A version number; the current version when absent.
    #[param(minimum = 1)]
    pub version: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ChecklistView {
    pub version: i32,
    pub name: String,
    pub imported_at: String,
    pub items: Vec<ChecklistItem>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct VersionView {
    pub version: i32,
    pub name: String,
    pub item_count: i32,
    pub imported_at: String,
    pub content_sha256: String,
}

/// The checklist: the current version, or `?version=N` for an older one.
#[utoipa::path(get, path = "/api/v1/checklist", tag = "checklist", params(ChecklistQuery),
    responses((status = 200, body = ChecklistView), (status = 404, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn checklist(
    db: web::Data<Db>,
    _who: Principal,
    query: web::Query<ChecklistQuery>,
) -> ApiResult<web::Json<ChecklistView>> {
    let wanted = query.version;
    db.run(move |conn| {
        let version = match wanted {
            Some(n) => store::version(conn, n)?
                .ok_or_else(|| ApiError::not_found(format!("no checklist version {n}")))?,
            None => store::current_version(conn)?
                .ok_or_else(|| ApiError::not_found("no checklist has been imported"))?,
        };
        let items = store::items(conn, version.version)?;
        Ok(web::Json(ChecklistView {
            version: version.version,
            name: version.name,
            imported_at: crate::clock::rfc3339(version.imported_at),
            items,
        }))
    })
    .await
}

/// Every checklist version, newest first.
#[utoipa::path(get, path = "/api/v1/checklist/versions", tag = "checklist",
    responses((status = 200, body = Vec<VersionView>), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn versions(
    db: web::Data<Db>,
    _who: Principal,
) -> ApiResult<web::Json<Vec<VersionView>>> {
    db.run(|conn| {
        Ok(web::Json(
            store::versions(conn)?
                .into_iter()
                .map(|v| VersionView {
                    version: v.version,
                    name: v.name,
                    item_count: v.item_count,
                    imported_at: crate::clock::rfc3339(v.imported_at),
                    content_sha256: v.content_sha256,
                })
                .collect(),
        ))
    })
    .await
}

/// The departments cases are dispatched to.
#[utoipa::path(get, path = "/api/v1/departments", tag = "checklist",
    responses((status = 200, body = Vec<Department>), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn departments(
    db: web::Data<Db>,
    _who: Principal,
) -> ApiResult<web::Json<Vec<Department>>> {
    db.run(|conn| Ok(web::Json(store::all_departments(conn)?)))
        .await
}
