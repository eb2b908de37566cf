//! Statistics endpoints: the performance of departments (按期结案率, 结案率, 返工, ...) and
//! the hot spots of the grid, as JSON, GeoJSON or CSV (`Accept: text/csv`).
//!
//! Handlers only parse, ask `stats::model` who may see what, let `stats::store` count in
//! the database, and answer. Formulas: docs/statistics.md.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::clock::{self, rfc3339};
use crate::db::Db;
use crate::grid::index::MapIndex;
use crate::stats::model::{self, Coverage, DepartmentStats, Refusal, Window};
use crate::stats::store;
use crate::web::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::web::geo::{self, FeatureId};
use crate::web::negotiate::{csv_answer, Accept, Format};

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::BadParameter { parameter, message } => {
                ApiError::bad_request(message).with_details(json!({"parameter": parameter}))
            }
            Refusal::Forbidden(message) => ApiError::forbidden(message),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct DepartmentsQuery {
    /// Start of the window, inclusive (RFC 3339). Default: 30 days before `to`.
    #[param(value_type = Option<crate::web::schema::DateTime>, inline)]
    pub from: Option<String>,
    /// End of the window, exclusive (RFC 3339). Default: now.
    #[param(value_type = Option<crate::web::schema::DateTime>, inline)]
    pub to: Option<String>,
    /// A region code (town, community, ...) within yours. Default: your region (an admin:
    /// everywhere).
    #[param(value_type = Option<crate::web::schema::RegionCodeText>, inline)]
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct CellsQuery {
    /// Cases opened at or after (RFC 3339). Default: 30 days before `to`.
    #[param(value_type = Option<crate::web::schema::DateTime>, inline)]
    pub from: Option<String>,
    /// Cases opened before (RFC 3339). Default: now.
    #[param(value_type = Option<crate::web::schema::DateTime>, inline)]
    pub to: Option<String>,
    /// Only the cells under this region code (within yours). Default: your region.
    #[param(value_type = Option<crate::web::schema::RegionCodeText>, inline)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct RegionName {
    pub code: String,
    pub name: String,
}

/// The performance of every department over a window, within a region.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct DepartmentReport {
    /// The window `[from, to)`.
    pub from: String,
    pub to: String,
    /// When the snapshot counts (`open_overdue`) and "closed so far" were taken.
    pub as_of: String,
    /// The region counted; null for everywhere (an admin who named none).
    pub region: Option<RegionName>,
    /// Every department, those with nothing to count included, by code.
    pub departments: Vec<DepartmentStats>,
}

fn region_name(map: &MapIndex, coverage: &Coverage) -> Option<RegionName> {
    coverage.code().map(|code| RegionName {
        code: code.to_string(),
        name: map.load().region_name(code).unwrap_or_default().to_string(),
    })
}

/// How each department performed on the cases dispatched to it within a window.
///
/// Per department over `[from, to)`: received, closed, closed on time, 按期结案率 and 结案率,
/// median hours to close, open overdue (now), 返工, 回退 and 延期. Every formula is on the
/// fields of `DepartmentStats` and in docs/statistics.md. Supervisors, admins and
/// dispatchers, within their region. `Accept: text/csv` answers CSV with a header row,
/// one row per department, empty fields for null rates.
#[utoipa::path(get, path = "/api/v1/stats/departments", tag = "stats", params(DepartmentsQuery),
    responses(
        (status = 200, description = "the report, or CSV with `Accept: text/csv` (columns department, name, received, closed, closed_on_time, on_time_closure_rate, closure_rate, median_hours_to_close, open_overdue, reopened, declined, extended)",
            content((DepartmentReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "a malformed time or region, or from not before to", body = ErrorEnvelope),
        (status = 403, description = "not a supervisor, admin or dispatcher, or a region outside yours", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn departments(
    db: web::Data<Db>,
    map: web::Data<MapIndex>,
    who: Principal,
    accept: Accept,
    query: web::Query<DepartmentsQuery>,
) -> ApiResult<HttpResponse> {
    let coverage = model::coverage(&who, query.region.as_deref())?;
    let now = clock::now();
    let window = Window::parse(query.from.as_deref(), query.to.as_deref(), now)?;
    let region = region_name(&map, &coverage);
    let departments = db
        .run(move |conn| {
            let names = crate::checklist::store::all_departments(conn)?
                .into_iter()
                .map(|d| (d.code, d.name_zh))
                .collect();
            let counts = store::department_counts(conn, &coverage, window, now)?;
            Ok(model::department_report(names, counts))
        })
        .await?;
    if accept.choose(&[Format::Json, Format::Csv]) == Format::Csv {
        return csv_answer(
            &model::DEPARTMENT_CSV_HEADER,
            departments.iter().map(model::department_row),
        );
    }
    Ok(HttpResponse::Ok().json(DepartmentReport {
        from: rfc3339(window.from),
        to: rfc3339(window.to),
        as_of: rfc3339(now),
        region,
        departments,
    }))
}

/// The hot spots: cases per cell and category within a window, as GeoJSON.
///
/// A GeoJSON FeatureCollection of the cells in your region (or the `region`
/// named within it), each with `code`, `name`, `total` and `by_category` (category →
/// cases) of the cases opened within `[from, to)`, rejected cases left out; cells without
/// cases have a total of 0. `from`, `to` and `region` are repeated as foreign members.
/// `Accept: text/csv` answers CSV, one row per cell and category with cases (columns
/// cell, name, category, cases). Supervisors, admins and dispatchers.
#[utoipa::path(get, path = "/api/v1/stats/cells", tag = "stats", params(CellsQuery),
    responses(
        (status = 200, description = "GeoJSON FeatureCollection of cells with properties code, name, total, by_category; or CSV with `Accept: text/csv`",
            content((Object = "application/geo+json"), (String = "text/csv"))),
        (status = 400, description = "a malformed time or region, or from not before to", body = ErrorEnvelope),
        (status = 403, description = "not a supervisor, admin or dispatcher, or a region outside yours", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn cells(
    db: web::Data<Db>,
    map: web::Data<MapIndex>,
    who: Principal,
    accept: Accept,
    query: web::Query<CellsQuery>,
) -> ApiResult<HttpResponse> {
    let coverage = model::coverage(&who, query.region.as_deref())?;
    let window = Window::parse(query.from.as_deref(), query.to.as_deref(), clock::now())?;
    let region = region_name(&map, &coverage);
    let (report, geometries) = db
        .run(move |conn| {
            let rows =
                crate::grid::store::cells_page(conn, &coverage.cell_prefix(), None, i64::MAX)?;
            let counts = store::cell_category_counts(conn, &coverage, window)?;
            let mut geometries = HashMap::with_capacity(rows.len());
            let mut cells = Vec::with_capacity(rows.len());
            for row in rows {
                cells.push((row.code.clone(), row.name));
                geometries.insert(row.code, row.geometry);
            }
            Ok((model::cell_report(cells, counts), geometries))
        })
        .await?;
    if accept.choose(&[Format::GeoJson, Format::Csv]) == Format::Csv {
        let rows = report.iter().flat_map(|cell| {
            cell.by_category.iter().map(|(category, n)| {
                vec![
                    cell.code.clone(),
                    cell.name.clone(),
                    category.clone(),
                    n.to_string(),
                ]
            })
        });
        return csv_answer(&model::CELL_CSV_HEADER, rows);
    }
    let features = report
        .into_iter()
        .map(|cell| {
            let geometry = geometries.get(&cell.code).map_or("", String::as_str);
            geo::stored_shape(FeatureId::Text(cell.code.clone()), geometry, &cell)
        })
        .collect();
    Ok(geo::collection_with(
        features,
        [
            ("from", json!(rfc3339(window.from))),
            ("to", json!(rfc3339(window.to))),
            ("region", json!(region)),
        ],
    ))
}
