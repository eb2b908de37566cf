//! Enterprise library and licence check endpoints. Every read of enterprise data leaves an
//! audit record, written before the answer leaves.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;

use crate::audit::store::{self as audit, Lookup};
use crate::auth::{Principal, Role};
use crate::cases::scope::{self, Place};
use crate::db::Db;
use crate::enterprises::check::{self, CheckAnswer};
use crate::enterprises::import;
use crate::enterprises::store::{self, ImportSummary, Search};
use crate::grid::coords;
use crate::grid::index::MapIndex;
use crate::licences::model::{LicenceKind, Seen};
use crate::web::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::web::extract::{read_body, Device};

/// A library import is large: its body, after decompression, may grow to this.
const IMPORT_LIMIT: usize = 256 * 1024 * 1024;
use crate::web::paging::{LibraryCode, Page};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckQuery {
    /// The number as read off the wall (spaces, dashes and full-width characters are fine).
    #[param(min_length = 1, max_length = 64)]
    pub number: String,
    /// `business_licence` (or `uscc`), `food_business`, `food_production`, `tobacco_retail`, `hygiene`.
    #[param(value_type = Option<crate::web::schema::LicenceKindName>, inline)]
    pub kind: Option<String>,
    /// Where the licence was seen.
    #[param(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
    #[param(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    /// `wgs84` (default) or `gcj02`.
    #[param(value_type = Option<crate::web::schema::CrsName>, inline)]
    pub crs: Option<String>,
    /// The name on the sign.
    #[param(max_length = 200)]
    pub name: Option<String>,
    /// Why you look it up (default: an on-site licence check).
    #[param(max_length = 200)]
    pub purpose: Option<String>,
}

fn parse_kind(kind: Option<&str>) -> ApiResult<Option<LicenceKind>> {
    kind.map(|k| {
        LicenceKind::parse(k).ok_or_else(|| {
            ApiError::invalid(
                format!("unknown licence kind {k:?}"),
                json!([{"field": "kind", "problem": "one of business_licence, food_business, food_production, tobacco_retail, hygiene"}]),
            )
        })
    })
    .transpose()
}

/// Cross-check a licence number against the library.
#[utoipa::path(get, path = "/api/v1/licenses/check", tag = "enterprises", params(CheckQuery),
    responses((status = 200, body = CheckAnswer), (status = 400, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn check_licence(
    db: web::Data<Db>,
    map: web::Data<MapIndex>,
    who: Principal,
    device: Device,
    query: web::Query<CheckQuery>,
) -> ApiResult<web::Json<CheckAnswer>> {
    let q = query.into_inner();
    let kind = parse_kind(q.kind.as_deref())?;
    if q.number.trim().is_empty() || q.number.chars().count() > 64 {
        return Err(ApiError::invalid(
            "number must be 1 to 64 characters",
            json!([{"field": "number", "problem": "empty or too long"}]),
        ));
    }
    let at = match (q.lon, q.lat) {
        (Some(lon), Some(lat)) => Some(coords::point_param(lon, lat, q.crs.as_deref())?),
        (None, None) => None,
        _ => return Err(ApiError::bad_request("give both lon and lat, or neither")),
    };
    let seen = Seen {
        at,
        cell: at.and_then(|(lon, lat)| map.load().locate(lon, lat).map(|e| e.cell.code.clone())),
        name: q.name.clone().filter(|n| !n.trim().is_empty()),
    };
    let purpose = q
        .purpose
        .clone()
        .unwrap_or_else(|| "on-site licence check".into());
    let today = check::today();
    // The lookup is a few point reads by unique key; only the audit record goes through
    // the writer.
    let number = q.number.clone();
    let viewer = who.clone();
    let checked = db
        .quick_read(move |conn| Ok(check::run(conn, &number, kind, &seen, &viewer, &today)?))
        .await?;
    let lookup = Lookup {
        action: "check",
        resource: format!("licence:{}", checked.answer.number),
        query: json!({"number": q.number, "kind": q.kind, "lon": q.lon, "lat": q.lat, "name": q.name}),
        result_count: checked.enterprise.is_some() as i32,
        purpose,
    };
    // The answer leaves only once its trace is committed.
    crate::audit::log(&db, &who, &device, vec![lookup]).await?;
    Ok(web::Json(checked.answer))
}

fn required_purpose(purpose: Option<String>) -> ApiResult<String> {
    purpose
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("say why you look this up: the purpose parameter is required")
                .with_details(json!({"parameter": "purpose"}))
        })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchQuery {
    /// A name fragment or a USCC prefix.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// A cell code.
    #[param(value_type = Option<crate::web::schema::RegionCodeText>, inline)]
    pub cell: Option<String>,
    /// `lon,lat,radius_m` (WGS-84).
    pub near: Option<String>,
    /// `active`, `revoked`, `cancelled` or `suspended`.
    #[param(value_type = Option<SearchQueryStatusName>, inline)]
    pub status: Option<String>,
    /// Why you search (required; written to the audit log).
    #[param(required = true, min_length = 1, max_length = 200)]
    pub purpose: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Search the enterprises of your region.
#[utoipa::path(get, path = "/api/v1/enterprises", tag = "enterprises", params(SearchQuery),
    responses((status = 200, description = "{\"items\":[enterprise],\"next_cursor\"}", body = Object),
        (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn search(
    db: web::Data<Db>,
    who: Principal,
    device: Device,
    query: web::Query<SearchQuery>,
) -> ApiResult<web::Json<Value>> {
    let q = query.into_inner();
    let purpose = required_purpose(q.purpose.clone())?;
    let page = Page::<LibraryCode>::new(q.limit, q.cursor.as_deref())?;
    let near = match q.near.as_deref() {
        None => None,
        Some(text) => {
            // Every part must be a number: dropping a bad one would shift the others.
            let parts: Option<Vec<f64>> = text.split(',').map(|p| p.trim().parse().ok()).collect();
            match parts.as_deref().unwrap_or_default() {
                &[lon, lat, r]
                    if crate::grid::coords::in_range(lon, lat) && r > 0.0 && r <= 50_000.0 =>
                {
                    Some((lon, lat, r))
                }
                _ => {
                    return Err(ApiError::bad_request(
                        "near must be lon,lat,radius_m (radius up to 50 km)",
                    ))
                }
            }
        }
    };
    if let Some(status) = &q.status {
        if !import::ENTERPRISE_STATUSES.contains(&status.as_str()) {
            return Err(ApiError::bad_request(format!("unknown status {status:?}")));
        }
    }
    if let Some(cell) = &q.cell {
        if !who.may_see(cell) {
            return Err(ApiError::forbidden(format!(
                "cell {cell} lies outside your region"
            )));
        }
    }
    let search = Search {
        region_prefix: who.region_prefix(),
        q: q.q.clone().filter(|t| !t.trim().is_empty()),
        cell: q.cell.clone(),
        near,
        status: q.status.clone(),
    };
    let (after, fetch) = (page.after.clone().map(|c| c.0), page.fetch());
    let (mut rows, next) = db
        .run(move |conn| {
            let mut rows = store::search(conn, &search, after.as_deref(), fetch)?;
            let next = page.finish(&mut rows, |e| LibraryCode(e.uscc.clone()));
            Ok((rows, next))
        })
        .await?;
    let lookup = Lookup {
        action: "search",
        resource: "enterprises".into(),
        query: json!({"q": q.q, "cell": q.cell, "near": q.near, "status": q.status, "cursor": q.cursor}),
        result_count: rows.len() as i32,
        purpose,
    };
    crate::audit::log(&db, &who, &device, vec![lookup]).await?;
    let items: Vec<Value> = rows
        .drain(..)
        .map(|e| check::enterprise_view(&e, check::shows_whole(&who, &e)))
        .collect();
    Ok(web::Json(json!({"items": items, "next_cursor": next})))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViewQuery {
    /// Why you look this enterprise up (required; written to the audit log).
    #[param(required = true, min_length = 1, max_length = 200)]
    pub purpose: Option<String>,
}

/// One enterprise with its licences, and the reports and cases that name it.
#[utoipa::path(get, path = "/api/v1/enterprises/{uscc}", tag = "enterprises",
    params(("uscc" = String, Path, description = "unified social credit code"), ViewQuery),
    responses((status = 200, body = Object), (status = 404, body = ErrorEnvelope), (status = 400, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn view(
    db: web::Data<Db>,
    who: Principal,
    device: Device,
    uscc: web::Path<String>,
    query: web::Query<ViewQuery>,
) -> ApiResult<web::Json<Value>> {
    let purpose = required_purpose(query.into_inner().purpose)?;
    let uscc = crate::licences::numbers::normalise(&uscc.into_inner());
    let asked = uscc.clone();
    let reader = who.clone();
    let found = db
        .run(move |conn| {
            let Some(e) = store::find(conn, &asked)? else {
                return Ok(None);
            };
            if !store::visible_to(&reader, e.cell_code.as_deref()) {
                return Ok(None);
            }
            let licences = store::licences_of(conn, &e.uscc)?;
            // Only the reports and cases the caller may read themselves; a report outside
            // the map is left to its inspector and admins here.
            let mut reports = store::reports_naming(conn, &e.uscc)?;
            reports.retain(|(_, _, cell, inspector)| {
                let no_region = || Ok::<_, std::convert::Infallible>(None);
                reader
                    .may_read_report(*inspector, cell.as_deref(), no_region)
                    .unwrap_or(false)
            });
            let mut cases = store::cases_about(conn, &e.uscc)?;
            cases.retain(|c| {
                let place = Place {
                    cell: c.cell_code.as_deref(),
                    community: &c.community_code,
                    department: &c.department,
                };
                scope::may_read(&reader, place, false)
            });
            Ok(Some((e, licences, reports, cases)))
        })
        .await?;
    // The refusal is traced too, before it leaves.
    let lookup = Lookup {
        action: "view",
        resource: format!("enterprise:{uscc}"),
        query: json!({"uscc": uscc}),
        result_count: found.is_some() as i32,
        purpose,
    };
    crate::audit::log(&db, &who, &device, vec![lookup]).await?;
    // The same answer as for a code that does not exist.
    let (e, licences, reports, cases) =
        found.ok_or_else(|| ApiError::not_found(format!("no enterprise {uscc} in your region")))?;
    let mut view = check::enterprise_view(&e, check::shows_whole(&who, &e));
    view["licences"] = licences.iter().map(check::licence_view).collect();
    view["reports"] = reports
        .into_iter()
        .map(|(id, at, cell, _)| json!({"id": id, "captured_at": crate::clock::rfc3339(at), "cell": cell}))
        .collect();
    view["cases"] = cases
        .into_iter()
        .map(|c| json!({"id": c.id, "title": c.title, "status": c.status, "opened_at": crate::clock::rfc3339(c.opened_at)}))
        .collect();
    Ok(web::Json(view))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportQuery {
    /// Refuse the whole file when any row is bad (default: good rows go in).
    pub strict: Option<bool>,
}

/// Import enterprises (administrators): JSON `{"enterprises":[...]}` with nested licences, or
/// an enterprise CSV (`text/csv`; columns in docs/enterprises.md). Upserts by USCC.
#[utoipa::path(post, path = "/api/v1/enterprises/import", tag = "enterprises", params(ImportQuery),
    request_body(description = "an enterprise CSV, or JSON `{\"enterprises\":[...]}` with nested licences",
        content((String = "text/csv"), (Object = "application/json"))),
    responses((status = 200, body = ImportSummary), (status = 422, body = ErrorEnvelope),
        (status = 415, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn import_library(
    db: web::Data<Db>,
    map: web::Data<MapIndex>,
    who: Principal,
    device: Device,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> ApiResult<web::Json<ImportSummary>> {
    // Nothing of the body is read until the caller is known to be an admin and the type is
    // one we take: a large (or compressed) upload from anyone else costs nothing.
    who.require(&[Role::Admin])?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_json = content_type.starts_with("application/json");
    if !is_json && !content_type.starts_with("text/csv") {
        return Err(ApiError::unsupported_media_type(
            "send application/json or text/csv",
        ));
    }
    let body = read_body(&req, payload, IMPORT_LIMIT).await?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::invalid(
            "the file is not UTF-8",
            json!([{"field": "body", "problem": "not UTF-8"}]),
        )
    })?;
    let strict = query.strict.unwrap_or(false);
    let parsed = match is_json {
        true => import::parse_json(text),
        false => import::parse_csv(text, None),
    };
    let (records, problems) = parsed.map_err(|e| {
        ApiError::invalid(
            "the file cannot be read",
            json!([{"field": "body", "problem": e}]),
        )
    })?;
    let cells = map.load();
    let summary = db
        .run(move |conn| {
            let summary =
                crate::import::enterprises(conn, &records, problems, strict, &cells, |_| {})?;
            audit::record(
                conn,
                &who,
                device.0.as_deref(),
                vec![Lookup {
                    action: "import",
                    resource: "enterprises".into(),
                    query: json!({"strict": strict, "content_type": content_type}),
                    result_count: (summary.inserted + summary.updated) as i32,
                    purpose: "library import".into(),
                }],
            )?;
            Ok(summary)
        })
        .await?;
    Ok(web::Json(summary))
}

crate::choices!(
    /// The values of `status`.
    SearchQueryStatusName: ["active", "revoked", "cancelled", "suspended"]
);
