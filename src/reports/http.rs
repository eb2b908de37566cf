//! Receiving reports from handhelds, and reading them back.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::audit::store::Lookup;
use crate::auth::{Principal, Role};
use crate::checklist::cache::Checklists;
use crate::db::{Conn, Db};
use crate::grid::index::MapIndex;
use crate::reports::access;
use crate::reports::ingest::{Ingest, ReportAnswer};
use crate::reports::model::{self, ReportInput};
use crate::reports::store::{self, ReportFilter, ReportRow};
use crate::web::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::web::extract::{Body, Device};
use crate::web::geo::{self, FeatureId};
use crate::web::negotiate::{Accept, Format};
use crate::web::paging::{time_param, Page, TimeAndId};

/// Submit an inspection report (inspectors). Idempotent by `id`: the same id with the
/// same body answers 200 with the first answer; another body under that id answers 409.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports", request_body = ReportInput,
    responses((status = 201, body = ReportAnswer), (status = 200, description = "a retry of a stored report", body = ReportAnswer),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn submit(
    db: web::Data<Db>,
    map: web::Data<MapIndex>,
    checklists: web::Data<Checklists>,
    who: Principal,
    device: Device,
    body: Body<Value>,
) -> ApiResult<HttpResponse> {
    who.require(&[Role::Inspector])?;
    let ingest = Ingest {
        db: &db,
        map: &map,
        checklists: &checklists,
    };
    let done = ingest.report(&who, &device, body.into_inner()).await?;
    Ok(match done.created {
        true => HttpResponse::Created().json(done.answer),
        false => HttpResponse::Ok().json(done.answer),
    })
}

/// A page of reports.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReportPage {
    pub items: Vec<ReportView>,
    /// The cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A report as stored, with its current flags, photos and cases.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReportView {
    pub id: String,
    pub inspector: String,
    pub captured_at: String,
    pub received_at: String,
    #[schema(value_type = Object)]
    pub location: Value,
    #[schema(value_type = Object)]
    pub cell: Value,
    #[schema(value_type = Object)]
    pub place: Value,
    pub checklist_version: i32,
    pub items: Vec<model::StoredItem>,
    pub licenses_seen: Vec<model::LicenceSeen>,
    #[schema(value_type = Vec<Object>)]
    pub license_checks: Vec<Value>,
    pub photos: Vec<String>,
    pub photos_missing: Vec<String>,
    pub flags: Vec<String>,
    pub cases: Vec<i64>,
    pub note: Option<String>,
}

/// The view of a stored report; `inspector` is its inspector's username.
fn view(conn: &mut Conn, row: &ReportRow, inspector: String) -> ApiResult<ReportView> {
    let store::Settled {
        flags: state,
        report_photos: photos,
    } = store::current_flags(conn, row)?;
    let cases = store::case_ids(conn, &row.id)?;
    Ok(ReportView {
        id: row.id.clone(),
        inspector,
        captured_at: crate::clock::rfc3339(row.captured_at),
        received_at: crate::clock::rfc3339(row.received_at),
        location: json!({"lon": row.lon, "lat": row.lat, "accuracy_m": row.accuracy_m, "crs": "wgs84", "reported_crs": row.reported_crs}),
        cell: json!({"code": row.cell_code, "community": row.community_code, "town": row.town_code, "district": row.district_code}),
        place: json!({"kind": row.place_kind, "name": row.place_name, "address": row.place_address, "enterprise_uscc": row.enterprise_uscc}),
        checklist_version: row.checklist_version,
        items: row.items(),
        licenses_seen: row.licenses_seen(),
        license_checks: serde_json::from_str(&row.license_checks).unwrap_or_default(),
        photos,
        photos_missing: state.photos_missing,
        flags: state.flags,
        cases,
        note: row.note.clone(),
    })
}

/// One report; a GeoJSON Feature with `Accept: application/geo+json`.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "report UUID")),
    responses((status = 200, description = "the report; a GeoJSON Feature with `Accept: application/geo+json`", content((ReportView = "application/json"), (Object = "application/geo+json"))),
        (status = 404, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn read(
    db: web::Data<Db>,
    who: Principal,
    device: Device,
    accept: Accept,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner().to_ascii_lowercase();
    let reader = who.clone();
    let report = db
        .run(move |conn| {
            let row = store::find(conn, &id)?
                .ok_or_else(|| ApiError::not_found(format!("no report {id}")))?;
            // The inspector's cells: the region of a report outside the map, and its flags.
            let assigned = crate::auth::store::cells_of(conn, row.inspector_id)?;
            if !access::may_read(&reader, &row, || {
                Ok::<_, ApiError>(store::region_of(&assigned))
            })? {
                // Not 403: whether a report exists outside your scope is not yours to know.
                return Err(ApiError::not_found(format!("no report {id}")));
            }
            let mut names = crate::auth::store::usernames(conn, &[row.inspector_id])?;
            let inspector = names.remove(&row.inspector_id).unwrap_or_default();
            view(conn, &row, inspector)
        })
        .await?;
    audit_enterprise_data(&db, &who, &device, std::slice::from_ref(&report)).await?;
    Ok(match accept.choose(&[Format::Json, Format::GeoJson]) {
        Format::GeoJson => HttpResponse::Ok()
            .content_type(geo::MEDIA_TYPE)
            .json(feature(&report)),
        _ => HttpResponse::Ok().json(report),
    })
}

/// Stored licence checks carry the enterprise they found: an answer that shows any is a
/// lookup of enterprise data like any other, traced before it leaves.
async fn audit_enterprise_data(
    db: &Db,
    who: &Principal,
    device: &Device,
    views: &[ReportView],
) -> ApiResult<()> {
    let shown: Vec<&str> = views
        .iter()
        .flat_map(|v| &v.license_checks)
        .filter_map(|c| c["enterprise"]["uscc"].as_str())
        .collect();
    if shown.is_empty() {
        return Ok(());
    }
    let lookup = Lookup {
        action: "view",
        resource: "reports".into(),
        query: json!({"reports": views.iter().map(|v| &v.id).collect::<Vec<_>>(), "enterprises": shown}),
        result_count: shown.len() as i32,
        purpose: "licence checks stored with reports".into(),
    };
    crate::audit::log(db, who, device, vec![lookup]).await
}

/// A report as a GeoJSON point feature, its view as the properties.
fn feature(v: &ReportView) -> geojson::Feature {
    let (lon, lat) = (v.location["lon"].as_f64(), v.location["lat"].as_f64());
    geo::point(
        FeatureId::Text(v.id.clone()),
        lon.unwrap_or_default(),
        lat.unwrap_or_default(),
        v,
    )
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    /// Username of the inspector.
    #[param(max_length = 64)]
    pub inspector: Option<String>,
    /// Cell code.
    #[param(value_type = Option<crate::web::schema::RegionCodeText>, inline)]
    pub cell: Option<String>,
    /// Captured at or after (RFC 3339).
    #[param(value_type = Option<crate::web::schema::DateTime>, inline)]
    pub from: Option<String>,
    /// Captured before (RFC 3339).
    #[param(value_type = Option<crate::web::schema::DateTime>, inline)]
    pub to: Option<String>,
    /// Only reports carrying this flag.
    #[param(value_type = Option<ReportQueryFlagName>, inline)]
    pub flag: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

const FLAGS: [&str; 6] = [
    "outside_assignment",
    "outside_map",
    "photo_missing",
    "photo_location_mismatch",
    "photo_time_mismatch",
    "late",
];

/// Reports in your scope, newest first; GeoJSON with `Accept: application/geo+json`.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "a page of reports, or with `Accept: application/geo+json` a FeatureCollection of points whose properties are the reports, with `next_cursor`",
        content((ReportPage = "application/json"), (Object = "application/geo+json"))),
        (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    db: web::Data<Db>,
    who: Principal,
    device: Device,
    accept: Accept,
    query: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    who.require(&[
        Role::Inspector,
        Role::Dispatcher,
        Role::Supervisor,
        Role::Admin,
        Role::Handler,
    ])?;
    let q = query.into_inner();
    let page = Page::<TimeAndId>::new(q.limit, q.cursor.as_deref())?;
    let from = time_param("from", q.from.as_deref())?;
    let to = time_param("to", q.to.as_deref())?;
    if let Some(flag) = &q.flag {
        if !FLAGS.contains(&flag.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown flag {flag:?}; one of {}",
                FLAGS.join(", ")
            )));
        }
    }
    if let Some(cell) = &q.cell {
        if !who.may_see(cell) && who.role != Role::Inspector {
            return Err(ApiError::forbidden(format!(
                "cell {cell} lies outside your region"
            )));
        }
    }
    let after = page.after.clone().map(|a| (a.at, a.id));
    let (limit, fetch) = (page.limit, page.fetch());
    let (mut rows, views) = db
        .run({
            let who = who.clone();
            move |conn| {
                let mut filter = ReportFilter {
                    region_prefix: who.region_prefix(),
                    cell: q.cell.clone(),
                    from,
                    to,
                    flag: q.flag.clone(),
                    ..Default::default()
                };
                if who.role == Role::Inspector {
                    filter.inspector_id = Some(who.user_id);
                    filter.region_prefix = String::new();
                }
                if let Some(name) = &q.inspector {
                    let id = store::user_id(conn, name)?;
                    match (who.role, id) {
                        (Role::Inspector, Some(id)) if id != who.user_id => {
                            return Err(ApiError::forbidden("inspectors see their own reports"))
                        }
                        (_, Some(id)) => filter.inspector_id = Some(id),
                        (_, None) => {
                            return Err(ApiError::bad_request(format!("no inspector {name:?}")))
                        }
                    }
                }
                let rows = store::list(conn, &filter, after, fetch)?;
                let mut views = HashMap::new();
                // Each inspector's name once per page, not once per report.
                let mut ids: Vec<i64> = rows.iter().map(|r| r.inspector_id).collect();
                ids.sort_unstable();
                ids.dedup();
                let names = crate::auth::store::usernames(conn, &ids)?;
                for row in rows.iter().take(limit as usize) {
                    let inspector = names.get(&row.inspector_id).cloned().unwrap_or_default();
                    views.insert(row.id.clone(), view(conn, row, inspector)?);
                }
                Ok((rows, views))
            }
        })
        .await?;
    let next = page.finish(&mut rows, |r| TimeAndId {
        at: r.captured_at,
        id: r.id.clone(),
    });
    let mut views = views;
    let items: Vec<ReportView> = rows.iter().filter_map(|r| views.remove(&r.id)).collect();
    audit_enterprise_data(&db, &who, &device, &items).await?;
    if accept.choose(&[Format::Json, Format::GeoJson]) == Format::GeoJson {
        return Ok(geo::collection(items.iter().map(feature).collect(), next));
    }
    Ok(HttpResponse::Ok().json(ReportPage {
        items,
        next_cursor: next,
    }))
}

crate::choices!(
    /// The values of `flag`.
    ReportQueryFlagName: ["outside_assignment", "outside_map", "photo_missing", "photo_location_mismatch", "photo_time_mismatch", "late"]
);
