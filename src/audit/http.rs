//! Reading the audit log (administrators only). There is deliberately no endpoint that
//! changes it.

use actix_web::web;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use crate::audit::store::{self, AuditFilter, AuditView};
use crate::auth::{Principal, Role};
use crate::db::Db;
use crate::web::error::{ApiResult, ErrorEnvelope};
use crate::web::paging::{time_param, Page};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    /// Username of the actor.
    pub actor: Option<String>,
    /// A resource (`enterprise:<uscc>`, `licence:<number>`, `enterprises`), or a prefix
    /// ending in `*`. Resources are not indexed (each record would cost a page): the
    /// search walks the records newest first, so give `from` to bound it.
    pub resource: Option<String>,
    /// At or after (RFC 3339).
    #[param(value_type = Option<crate::web::schema::DateTime>, inline)]
    pub from: Option<String>,
    /// Before (RFC 3339).
    #[param(value_type = Option<crate::web::schema::DateTime>, inline)]
    pub to: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Audit records, newest first (administrators).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "{\"items\":[AuditView],\"next_cursor\"}", body = Object),
        (status = 403, body = ErrorEnvelope), (status = 400, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    db: web::Data<Db>,
    who: Principal,
    query: web::Query<AuditQuery>,
) -> ApiResult<web::Json<serde_json::Value>> {
    who.require(&[Role::Admin])?;
    let q = query.into_inner();
    let page = Page::<i64>::new(q.limit, q.cursor.as_deref())?;
    let filter = AuditFilter {
        actor: q.actor,
        resource: q.resource,
        from: time_param("from", q.from.as_deref())?,
        to: time_param("to", q.to.as_deref())?,
    };
    let (before, fetch) = (page.after, page.fetch());
    let mut rows = db
        .run(move |conn| Ok(store::list(conn, &filter, before, fetch)?))
        .await?;
    let next = page.finish(&mut rows, |r| r.id);
    let items: Vec<AuditView> = rows.into_iter().map(AuditView::from).collect();
    Ok(web::Json(json!({"items": items, "next_cursor": next})))
}
