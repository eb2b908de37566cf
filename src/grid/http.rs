//! Locate a point in the grid, list cells as GeoJSON, read the region tree.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Principal, Reach};
use crate::db::Db;
use crate::grid::coords;
use crate::grid::index::{MapIndex, RegionRef};
use crate::grid::store;
use crate::region::{Level, RegionCode};
use crate::web::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::web::geo::{self, FeatureId};
use crate::web::paging::Page;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocateQuery {
    /// Longitude in the given CRS.
    #[param(minimum = -180, maximum = 180)]
    pub lon: f64,
    /// Latitude in the given CRS.
    #[param(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// `wgs84` (default) or `gcj02` (Chinese map SDKs).
    #[param(value_type = Option<crate::web::schema::CrsName>, inline)]
    pub crs: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Position {
    pub lon: f64,
    pub lat: f64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LocateResponse {
    pub cell: RegionRef,
    pub community: RegionRef,
    pub town: RegionRef,
    pub district: RegionRef,
    /// The point in WGS-84, as it was looked up.
    pub wgs84: Position,
}

/// The grid cell, community, town and district that contain a point.
#[utoipa::path(get, path = "/api/v1/grid/locate", tag = "grid", params(LocateQuery),
    responses((status = 200, body = LocateResponse),
        (status = 404, description = "outside every cell", body = ErrorEnvelope),
        (status = 400, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn locate(
    map: web::Data<MapIndex>,
    _who: Principal,
    query: web::Query<LocateQuery>,
) -> ApiResult<web::Json<LocateResponse>> {
    let (lon, lat) = coords::point_param(query.lon, query.lat, query.crs.as_deref())?;
    let index = map.load();
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
pub(crate) struct CellsQuery {
    /// Only cells under this region (a town or community code).
    #[param(value_type = Option<crate::web::schema::RegionCodeText>, inline)]
    pub region: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
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
pub(crate) async fn cells(
    db: web::Data<Db>,
    map: web::Data<MapIndex>,
    who: Principal,
    query: web::Query<CellsQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.into_inner();
    let page = Page::<RegionCode>::new(query.limit, query.cursor.as_deref())?;
    let mut prefix = who.region_prefix();
    if let Some(region) = &query.region {
        let narrower = RegionCode::parse(region).map_err(|e| {
            ApiError::bad_request(e.to_string()).with_details(json!({"parameter": "region"}))
        })?;
        if !who.may_see(narrower.as_str()) {
            return Err(ApiError::forbidden(format!(
                "region {region} lies outside your region"
            )));
        }
        prefix = narrower.prefix().to_string();
    }
    let after = page.after.as_ref().map(|c| c.to_string());
    let fetch = page.fetch();
    let (mut rows, inspectors) = db
        .run(move |conn| {
            let rows = store::cells_page(conn, &prefix, after.as_deref(), fetch)?;
            let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
            let inspectors = store::inspectors_of(conn, &codes)?;
            Ok((rows, inspectors))
        })
        .await?;
    // Stored cell codes are well-formed (the map import checks them); a row that is not is
    // left out rather than shown with a made-up ancestry.
    rows.retain(|r| RegionCode::parse(&r.code).is_ok());
    let next = page.finish(&mut rows, |r| {
        RegionCode::parse(&r.code).expect("kept rows parse")
    });
    let index = map.load();
    let names = |cell: &RegionCode, level: Level| -> Value {
        let code = cell
            .ancestor(level)
            .map(|c| c.to_string())
            .unwrap_or_default();
        let name = index.region_name(&code).unwrap_or_default();
        json!({"code": code, "name": name})
    };
    let features = rows
        .iter()
        .map(|r| {
            let cell = RegionCode::parse(&r.code).expect("kept rows parse");
            let properties = json!({
                "code": r.code,
                "name": r.name,
                "name_en": r.name_en,
                "community": names(&cell, Level::Community),
                "town": names(&cell, Level::Town),
                "district": names(&cell, Level::District),
                "inspectors": inspectors.get(&r.code).cloned().unwrap_or_default(),
            });
            geo::stored_shape(FeatureId::Text(r.code.clone()), &r.geometry, properties)
        })
        .collect();
    Ok(geo::collection(features, next))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RegionNode {
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
pub(crate) async fn regions(
    db: web::Data<Db>,
    who: Principal,
) -> ApiResult<web::Json<Vec<RegionNode>>> {
    let rows = db.run(|conn| Ok(store::live_regions(conn)?)).await?;
    let reach = who.reach();
    // Their region, what it covers, and what covers it.
    let visible: Vec<&store::RegionRow> = rows
        .iter()
        .filter(|r| match &reach {
            Reach::Everything => true,
            Reach::Nothing => false,
            Reach::Region(mine) => {
                mine.covers(&r.code)
                    || RegionCode::parse(&r.code).is_ok_and(|theirs| theirs.covers(mine.as_str()))
            }
        })
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
                    level: r.level,
                    name: r.name.clone(),
                    name_en: r.name_en.clone(),
                    children: build_tree(children, Some(&r.code)),
                })
                .collect()
        })
        .unwrap_or_default()
}
