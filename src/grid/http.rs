//! Locate a point in the grid, list cells as GeoJSON, read the region tree.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::grid::coords::{self, Crs};
use crate::grid::index::RegionRef;
use crate::grid::model::{scope_prefix, Level};
use crate::grid::store;
use crate::paging::Page;
use crate::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LocateQuery {
    /// Longitude in the given CRS.
    pub lon: f64,
    /// Latitude in the given CRS.
    pub lat: f64,
    /// `wgs84` (default) or `gcj02` (Chinese map SDKs).
    pub crs: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Position {
    pub lon: f64,
    pub lat: f64,
}

#[derive(Serialize, ToSchema)]
pub struct LocateResponse {
    pub cell: RegionRef,
    pub community: RegionRef,
    pub town: RegionRef,
    pub district: RegionRef,
    /// The point in WGS-84, as it was looked up.
    pub wgs84: Position,
}

/// Parses a CRS name, answering 422 for an unknown one.
pub fn parse_crs(crs: Option<&str>) -> ApiResult<Crs> {
    match crs {
        None => Ok(Crs::Wgs84),
        Some(name) => name.parse().map_err(|_| {
            ApiError::invalid(
                format!("unknown crs {name:?}"),
                json!([{"field": "crs", "problem": "must be wgs84 or gcj02"}]),
            )
        }),
    }
}

/// The grid cell, community, town and district that contain a point.
#[utoipa::path(get, path = "/api/v1/grid/locate", tag = "grid", params(LocateQuery),
    responses((status = 200, body = LocateResponse),
        (status = 404, description = "outside every cell", body = ErrorEnvelope),
        (status = 400, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn locate(
    state: web::Data<AppState>,
    _who: Principal,
    query: web::Query<LocateQuery>,
) -> ApiResult<web::Json<LocateResponse>> {
    let crs = parse_crs(query.crs.as_deref())?;
    if !coords::in_range(query.lon, query.lat) {
        return Err(ApiError::invalid(
            "coordinates out of range",
            json!([{"field": "lon/lat", "problem": "lon must be within ±180 and lat within ±90"}]),
        ));
    }
    let (lon, lat) = coords::to_wgs84(crs, query.lon, query.lat);
    let index = state.cells.load();
    let entry = index.locate(lon, lat).ok_or_else(|| {
        ApiError::not_found("the point lies outside every grid cell")
            .with_details(json!({"lon": lon, "lat": lat}))
    })?;
    Ok(web::Json(LocateResponse {
        cell: entry.cell.clone(),
        community: entry.community.clone(),
        town: entry.town.clone(),
        district: entry.district.clone(),
        wgs84: Position { lon, lat },
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CellsQuery {
    /// Only cells under this region (a town or community code).
    pub region: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Grid cells in the caller's region as a GeoJSON FeatureCollection; the next page's
/// cursor is the foreign member `next_cursor`.
#[utoipa::path(get, path = "/api/v1/grid/cells", tag = "grid", params(CellsQuery),
    responses((status = 200, description = "GeoJSON FeatureCollection of cells with properties code, name, community, town, district, inspectors", content_type = "application/geo+json", body = Object),
        (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn cells(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<CellsQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let mut prefix = who.region_prefix();
    if let Some(region) = &query.region {
        let narrower = scope_prefix(region).to_string();
        if !narrower.starts_with(&prefix) {
            return Err(ApiError::forbidden(format!(
                "region {region} lies outside your region"
            )));
        }
        prefix = narrower;
    }
    let (after, limit) = (page.after.clone(), page.limit);
    let (mut rows, inspectors) = state
        .db(move |conn| {
            let rows = store::cells_page(conn, &prefix, after.as_deref(), limit + 1)?;
            let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
            let inspectors = store::inspectors_of(conn, &codes)?;
            Ok((rows, inspectors))
        })
        .await?;
    let next = page.finish(&mut rows, |r| r.code.clone());
    let index = state.cells.load();
    let names = |code: &str| -> Value {
        json!({"code": code, "name": index.region_name(code).unwrap_or_default()})
    };
    let features: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "type": "Feature",
                "id": r.code,
                "geometry": serde_json::from_str::<Value>(&r.geometry).unwrap_or(Value::Null),
                "properties": {
                    "code": r.code,
                    "name": r.name,
                    "name_en": r.name_en,
                    "community": names(&crate::grid::model::ancestor_at(&r.code, Level::Community)),
                    "town": names(&crate::grid::model::ancestor_at(&r.code, Level::Town)),
                    "district": names(&crate::grid::model::ancestor_at(&r.code, Level::District)),
                    "inspectors": inspectors.get(&r.code).cloned().unwrap_or_default(),
                }
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .content_type("application/geo+json")
        .json(json!({"type": "FeatureCollection", "features": features, "next_cursor": next})))
}

#[derive(Serialize, ToSchema)]
pub struct RegionNode {
    pub code: String,
    pub level: Level,
    pub name: String,
    pub name_en: String,
    #[schema(no_recursion)]
    pub children: Vec<RegionNode>,
}

/// The region tree (district → towns → communities → cells) as far as the caller may see:
/// their region, its descendants and its ancestors.
#[utoipa::path(get, path = "/api/v1/regions", tag = "grid",
    responses((status = 200, body = Vec<RegionNode>), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn regions(
    state: web::Data<AppState>,
    who: Principal,
) -> ApiResult<web::Json<Vec<RegionNode>>> {
    let rows = state.db(|conn| Ok(store::live_regions(conn)?)).await?;
    let prefix = who.region_prefix();
    let visible: Vec<&store::RegionRow> = rows
        .iter()
        .filter(|r| r.code.starts_with(&prefix) || prefix.starts_with(scope_prefix(&r.code)))
        .collect();
    let mut children: std::collections::HashMap<Option<&str>, Vec<&store::RegionRow>> =
        Default::default();
    for r in &visible {
        children
            .entry(r.parent_code.as_deref())
            .or_default()
            .push(r);
    }
    Ok(web::Json(build_tree(&children, None)))
}

type Children<'a> = std::collections::HashMap<Option<&'a str>, Vec<&'a store::RegionRow>>;

fn build_tree(children: &Children, parent: Option<&str>) -> Vec<RegionNode> {
    children
        .get(&parent)
        .map(|rows| {
            rows.iter()
                .map(|r| RegionNode {
                    code: r.code.clone(),
                    level: Level::parse(&r.level).unwrap_or(Level::Cell),
                    name: r.name.clone(),
                    name_en: r.name_en.clone(),
                    children: build_tree(children, Some(&r.code)),
                })
                .collect()
        })
        .unwrap_or_default()
}
