//! The in-memory locate index: an R-tree over the bounding boxes of the cell polygons,
//! then an exact point-in-polygon test on the few candidates. Built from the database and
//! rebuilt whenever the stored map version changes; it is a cache of the database, never a
//! source of truth, so any number of server processes can hold their own.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use arc_swap::ArcSwap;

use geo::{Coord, Intersects, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use serde::Serialize;

use crate::db::Db;
use crate::grid::store;
use crate::web::error::ApiResult;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegionRef {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct CellEntry {
    pub cell: RegionRef,
    pub community: RegionRef,
    pub town: RegionRef,
    pub district: RegionRef,
    pub shape: MultiPolygon<f64>,
}

impl CellEntry {
    pub(crate) fn placement(&self) -> Placement {
        Placement {
            cell: Some(self.cell.code.clone()),
            community: Some(self.community.code.clone()),
            town: Some(self.town.code.clone()),
            district: Some(self.district.code.clone()),
        }
    }
}

/// Where a point lies in the map: its cell and the regions above it (all None outside the
/// map).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Placement {
    pub cell: Option<String>,
    pub community: Option<String>,
    pub town: Option<String>,
    pub district: Option<String>,
}

type Envelope = GeomWithData<Rectangle<[f64; 2]>, u32>;

pub struct CellIndex {
    /// The map version this index was built from (settings key `map_version`).
    pub version: i64,
    tree: RTree<Envelope>,
    /// Sorted by cell code, so a point on a shared edge resolves to the lower code.
    cells: Vec<CellEntry>,
    /// Names of every live region, for answers that show a code's name.
    names: HashMap<String, String>,
}

impl CellIndex {
    pub fn build(version: i64, mut cells: Vec<CellEntry>, names: HashMap<String, String>) -> Self {
        cells.sort_by(|a, b| a.cell.code.cmp(&b.cell.code));
        let boxes = cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                use geo::BoundingRect;
                let r = c.shape.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i as u32,
                ))
            })
            .collect();
        CellIndex {
            version,
            tree: RTree::bulk_load(boxes),
            cells,
            names,
        }
    }

    pub(crate) fn region_name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The cell that contains a WGS-84 point (its boundary included), if any.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<&CellEntry> {
        let point = Coord { x: lon, y: lat };
        let mut best: Option<u32> = None;
        for candidate in self.tree.locate_all_at_point(&[lon, lat]) {
            let i = candidate.data;
            if best.is_some_and(|b| b < i) {
                continue;
            }
            if self.cells[i as usize].shape.intersects(&point) {
                best = Some(i);
            }
        }
        best.map(|i| &self.cells[i as usize])
    }
}

/// The locate index a server process holds, swapped whole when the stored map changes.
pub struct MapIndex {
    current: ArcSwap<CellIndex>,
}

impl MapIndex {
    pub(crate) fn new(index: CellIndex) -> MapIndex {
        MapIndex {
            current: ArcSwap::from_pointee(index),
        }
    }

    pub fn load(&self) -> Arc<CellIndex> {
        self.current.load_full()
    }

    /// Rebuilds the index when the stored map changed (after an import here, or in another
    /// process); answers whether it did.
    pub(crate) async fn refresh(&self, db: &Db) -> ApiResult<bool> {
        let known = self.current.load().version;
        let fresh = db
            .run(move |conn| {
                if store::map_version(conn)? == known {
                    return Ok(None);
                }
                Ok(Some(store::load_index(conn)?))
            })
            .await?;
        match fresh {
            Some(index) => {
                log::info!(
                    "locate index rebuilt: map version {}, {} cells",
                    index.version,
                    index.len()
                );
                self.current.store(Arc::new(index));
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Looks for a changed map every `period`, on the current actix runtime.
pub(crate) fn spawn_refresher(map: web::Data<MapIndex>, db: web::Data<Db>, period: Duration) {
    actix_web::rt::spawn(async move {
        loop {
            actix_web::rt::time::sleep(period).await;
            if let Err(e) = map.refresh(&db).await {
                log::warn!("map refresh: {e}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, MultiPolygon};

    fn entry(code: &str, x0: f64, x1: f64) -> CellEntry {
        let r = |c: &str| RegionRef {
            code: c.into(),
            name: c.into(),
        };
        CellEntry {
            cell: r(code),
            community: r("c"),
            town: r("t"),
            district: r("d"),
            shape: MultiPolygon(vec![polygon![
                (x: x0, y: 23.0), (x: x1, y: 23.0), (x: x1, y: 23.1), (x: x0, y: 23.1), (x: x0, y: 23.0)
            ]]),
        }
    }

    #[test]
    fn finds_the_containing_cell_and_resolves_edges_to_the_lower_code() {
        let index = CellIndex::build(
            1,
            vec![entry("02", 113.1, 113.2), entry("01", 113.0, 113.1)],
            HashMap::new(),
        );
        assert_eq!(index.locate(113.05, 23.05).unwrap().cell.code, "01");
        assert_eq!(index.locate(113.15, 23.05).unwrap().cell.code, "02");
        assert_eq!(index.locate(113.1, 23.05).unwrap().cell.code, "01");
        assert!(index.locate(113.25, 23.05).is_none());
    }
}
