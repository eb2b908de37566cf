//! Stored regions and cells: replacing the map, loading the locate index, listing cells.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{regions, user_cells, users};
use crate::db::{self, Conn};
use crate::db_run;
use crate::grid::index::{CellEntry, CellIndex, RegionRef};
use crate::grid::model::Region;
use crate::region::{Level, RegionCode};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = regions)]
pub(crate) struct RegionRow {
    pub code: String,
    pub level: Level,
    pub name: String,
    pub name_en: String,
    pub parent_code: Option<String>,
    pub geometry: String,
}

#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct MapImportSummary {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    /// The new map version (every server rebuilds its locate index when it changes).
    pub map_version: i64,
}

const MAP_VERSION_KEY: &str = "map_version";

/// The columns a map import sets, on insert and on update alike.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = regions, treat_none_as_null = true)]
struct RegionValues<'a> {
    level: Level,
    name: &'a str,
    name_en: &'a str,
    parent_code: Option<&'a str>,
    geometry: &'a str,
    min_lon: f64,
    min_lat: f64,
    max_lon: f64,
    max_lat: f64,
    change_seq: i64,
    deleted_at: Option<i64>,
}

/// Replaces the stored map with `new_regions` (already validated) in one transaction.
/// Regions missing from the new map are kept as tombstones so that handhelds learn of the
/// removal when they sync, and so that old reports keep their cell.
pub(crate) fn replace_map(
    conn: &mut Conn,
    new_regions: &[Region],
) -> QueryResult<MapImportSummary> {
    conn.write(|conn| {
        let seq = db::next_change_seq(conn)?;
        let existing: HashMap<String, (String, String, String, bool)> = db_run!(conn, |c| {
            regions::table
                .select((
                    regions::code,
                    regions::name,
                    regions::name_en,
                    regions::geometry,
                    regions::deleted_at.is_not_null(),
                ))
                .load::<(String, String, String, String, bool)>(c)
        })?
        .into_iter()
        .map(|(code, name, name_en, geometry, deleted)| (code, (name, name_en, geometry, deleted)))
        .collect();
        let mut summary = MapImportSummary::default();
        // Parents come before children (the slice is sorted by level), as the foreign key
        // on parent_code needs.
        for r in new_regions {
            let geometry = r.geometry.to_string();
            let (min_lon, min_lat, max_lon, max_lat) = r.bbox();
            let values = RegionValues {
                level: r.level,
                name: &r.name,
                name_en: &r.name_en,
                parent_code: r.parent.as_deref(),
                geometry: &geometry,
                min_lon,
                min_lat,
                max_lon,
                max_lat,
                change_seq: seq,
                // A region back in the map is live again.
                deleted_at: None,
            };
            match existing.get(&r.code) {
                Some((name, name_en, geom, deleted))
                    if !deleted
                        && *name == r.name
                        && *name_en == r.name_en
                        && *geom == geometry =>
                {
                    summary.unchanged += 1;
                }
                Some(_) => {
                    db_run!(conn, |c| diesel::update(regions::table.find(&r.code))
                        .set(&values)
                        .execute(c))?;
                    summary.updated += 1;
                }
                None => {
                    db_run!(conn, |c| diesel::insert_into(regions::table)
                        .values((regions::code.eq(&r.code), &values))
                        .execute(c))?;
                    summary.inserted += 1;
                }
            }
        }
        let keep: std::collections::HashSet<&str> =
            new_regions.iter().map(|r| r.code.as_str()).collect();
        let gone: Vec<&String> = existing
            .iter()
            .filter(|(code, (_, _, _, deleted))| !deleted && !keep.contains(code.as_str()))
            .map(|(code, _)| code)
            .collect();
        let now = crate::clock::now();
        for code in &gone {
            db_run!(conn, |c| diesel::update(regions::table.find(code))
                .set((
                    regions::deleted_at.eq(Some(now)),
                    regions::change_seq.eq(seq)
                ))
                .execute(c))?;
            // A removed cell can no longer be patrolled.
            db_run!(conn, |c| diesel::delete(
                user_cells::table.filter(user_cells::cell_code.eq(code))
            )
            .execute(c))?;
        }
        summary.removed = gone.len();
        if summary.inserted + summary.updated + summary.removed > 0 {
            db::set_setting(conn, MAP_VERSION_KEY, &seq.to_string())?;
            summary.map_version = seq;
        } else {
            summary.map_version = map_version(conn)?;
        }
        Ok(summary)
    })
}

/// The version of the stored map; -1 while there is none.
pub(crate) fn map_version(conn: &mut Conn) -> QueryResult<i64> {
    Ok(db::setting(conn, MAP_VERSION_KEY)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1))
}

/// Every live region (not tombstoned), ordered by code.
pub(crate) fn live_regions(conn: &mut Conn) -> QueryResult<Vec<RegionRow>> {
    db_run!(conn, |c| regions::table
        .filter(regions::deleted_at.is_null())
        .order(regions::code)
        .select(RegionRow::as_select())
        .load(c))
}

/// A bounding box: `(min_lon, min_lat, max_lon, max_lat)`.
pub(crate) type BBox = (f64, f64, f64, f64);

/// Each live cell's code and its bounding box, as stored by `replace_map`.
pub(crate) fn cell_bboxes(conn: &mut Conn) -> QueryResult<Vec<(String, BBox)>> {
    let rows: Vec<(String, f64, f64, f64, f64)> = db_run!(conn, |c| regions::table
        .filter(regions::deleted_at.is_null())
        .filter(regions::level.eq(Level::Cell))
        .order(regions::code)
        .select((
            regions::code,
            regions::min_lon,
            regions::min_lat,
            regions::max_lon,
            regions::max_lat,
        ))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(code, w, s, e, n)| (code, (w, s, e, n)))
        .collect())
}

/// Builds the locate index from the stored map.
pub fn load_index(conn: &mut Conn) -> QueryResult<CellIndex> {
    let version = map_version(conn)?;
    let rows = live_regions(conn)?;
    let names: HashMap<&str, &str> = rows
        .iter()
        .map(|r| (r.code.as_str(), r.name.as_str()))
        .collect();
    let reference = |cell: &RegionCode, level: Level| {
        let code = cell
            .ancestor(level)
            .map(|c| c.to_string())
            .unwrap_or_default();
        RegionRef {
            name: names
                .get(code.as_str())
                .copied()
                .unwrap_or_default()
                .to_string(),
            code,
        }
    };
    let mut entries = Vec::new();
    for row in rows.iter().filter(|r| r.level == Level::Cell) {
        let Ok(code) = RegionCode::parse(&row.code) else {
            log::error!("stored cell code {:?} is malformed; skipped", row.code);
            continue;
        };
        let Ok(shape) = shape_of(&row.geometry) else {
            log::error!(
                "stored geometry of cell {} does not parse; skipped",
                row.code
            );
            continue;
        };
        entries.push(CellEntry {
            cell: RegionRef {
                code: row.code.clone(),
                name: row.name.clone(),
            },
            community: reference(&code, Level::Community),
            town: reference(&code, Level::Town),
            district: reference(&code, Level::District),
            shape,
        });
    }
    let names = rows.into_iter().map(|r| (r.code, r.name)).collect();
    Ok(CellIndex::build(version, entries, names))
}

fn shape_of(geometry: &str) -> Result<geo::MultiPolygon<f64>, String> {
    let geometry: geojson::Geometry = geometry.parse().map_err(|e| format!("{e}"))?;
    match geo::Geometry::<f64>::try_from(geometry).map_err(|e| format!("{e}"))? {
        geo::Geometry::Polygon(p) => Ok(geo::MultiPolygon(vec![p])),
        geo::Geometry::MultiPolygon(m) => Ok(m),
        _ => Err("not a polygon".into()),
    }
}

/// Live cells whose code starts with `prefix`, after the cursor code, at most `limit`.
pub(crate) fn cells_page(
    conn: &mut Conn,
    prefix: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<RegionRow>> {
    let pattern = format!("{prefix}%");
    let after = after.unwrap_or("").to_string();
    db_run!(conn, |c| regions::table
        .filter(regions::deleted_at.is_null())
        .filter(regions::level.eq(Level::Cell))
        .filter(regions::code.like(&pattern))
        .filter(regions::code.gt(&after))
        .order(regions::code)
        .limit(limit)
        .select(RegionRow::as_select())
        .load(c))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct AssignedInspector {
    pub username: String,
    pub display_name: String,
}

/// The active inspectors assigned to each of `cells`.
pub(crate) fn inspectors_of(
    conn: &mut Conn,
    cells: &[String],
) -> QueryResult<HashMap<String, Vec<AssignedInspector>>> {
    let rows: Vec<(String, String, String)> = db_run!(conn, |c| user_cells::table
        .inner_join(users::table)
        .filter(user_cells::cell_code.eq_any(cells))
        .filter(users::active.eq(true))
        .order((user_cells::cell_code, users::username))
        .select((user_cells::cell_code, users::username, users::display_name))
        .load(c))?;
    let mut out: HashMap<String, Vec<AssignedInspector>> = HashMap::new();
    for (cell, username, display_name) in rows {
        out.entry(cell).or_default().push(AssignedInspector {
            username,
            display_name,
        });
    }
    Ok(out)
}
