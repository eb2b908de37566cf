//! The validation of an imported grid map: region codes and levels that agree, closed and
//! simple rings, and cells that tile their community without overlap or gap (the codes
//! themselves are `crate::region`'s). Pure: no I/O.

use geo::{Area, BoundingRect, Coord, Intersects, Line, MultiPolygon, Polygon, Relate};
use rstar::{RTree, RTreeObject, AABB};
use serde::Serialize;
use serde_json::Value;

use crate::region::{Level, RegionCode};

/// One region of an imported map, validated.
#[derive(Debug, Clone)]
pub(crate) struct Region {
    pub code: String,
    pub level: Level,
    pub name: String,
    pub name_en: String,
    pub parent: Option<String>,
    pub shape: MultiPolygon<f64>,
    /// The GeoJSON geometry as received (after validation), stored as text.
    pub geometry: Value,
}

impl Region {
    pub(crate) fn bbox(&self) -> (f64, f64, f64, f64) {
        match self.shape.bounding_rect() {
            Some(r) => (r.min().x, r.min().y, r.max().x, r.max().y),
            None => (0.0, 0.0, 0.0, 0.0),
        }
    }
}

/// A problem found in an imported map, naming the feature it is about.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MapProblem {
    pub feature: usize,
    pub code: Option<String>,
    pub problem: String,
}

/// Parses and validates a whole map (a GeoJSON FeatureCollection). Either every region is
/// good, or the answer lists every problem found.
pub(crate) fn parse_map(text: &str) -> Result<Vec<Region>, Vec<MapProblem>> {
    let fail = |problem: String| {
        vec![MapProblem {
            feature: 0,
            code: None,
            problem,
        }]
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| fail(format!("not JSON: {e}")))?;
    let features = match (doc.get("type").and_then(Value::as_str), doc.get("features")) {
        (Some("FeatureCollection"), Some(Value::Array(f))) => f,
        _ => return Err(fail("not a GeoJSON FeatureCollection".into())),
    };
    let mut problems = Vec::new();
    let mut regions = Vec::new();
    for (i, feature) in features.iter().enumerate() {
        match parse_feature(feature) {
            Ok(region) => regions.push(region),
            Err((code, list)) => problems.extend(list.into_iter().map(|problem| MapProblem {
                feature: i,
                code: code.clone(),
                problem,
            })),
        }
    }
    check_hierarchy(&regions, &mut problems);
    if problems.is_empty() {
        check_tiling(&regions, &mut problems);
    }
    if problems.is_empty() {
        regions.sort_by(|a, b| (a.level, &a.code).cmp(&(b.level, &b.code)));
        Ok(regions)
    } else {
        Err(problems)
    }
}

type FeatureError = (Option<String>, Vec<String>);

fn parse_feature(feature: &Value) -> Result<Region, FeatureError> {
    let props = feature.get("properties").cloned().unwrap_or(Value::Null);
    let text = |key: &str| props.get(key).and_then(Value::as_str).map(str::to_string);
    let code = text("code");
    let mut problems = Vec::new();
    let level = match (&code, text("level")) {
        (None, _) => {
            problems.push("missing property \"code\"".to_string());
            None
        }
        (Some(c), declared) => match RegionCode::parse(c) {
            Err(_) => {
                problems.push(format!("code {c:?} is not a 14-digit region code"));
                None
            }
            Ok(code) => {
                let l = code.level();
                if let Some(d) = declared {
                    if d.parse::<Level>().ok() != Some(l) {
                        problems.push(format!(
                            "level {d:?} does not match code {c}, which names a {}",
                            l.as_str()
                        ));
                    }
                }
                Some(l)
            }
        },
    };
    let name = text("name").filter(|n| !n.trim().is_empty());
    if name.is_none() {
        problems.push("missing property \"name\"".to_string());
    }
    let parent = code
        .as_deref()
        .and_then(|c| RegionCode::parse(c).ok()?.parent())
        .map(|p| p.to_string());
    if let (Some(declared), Some(derived)) = (props.get("parent"), &parent) {
        if !declared.is_null() && declared.as_str() != Some(derived.as_str()) {
            problems.push(format!(
                "parent {declared} does not match the code's parent {derived}"
            ));
        }
    }
    let geometry = feature.get("geometry").cloned().unwrap_or(Value::Null);
    let shape = match parse_geometry(&geometry) {
        Ok(shape) => Some(shape),
        Err(list) => {
            problems.extend(list);
            None
        }
    };
    match (problems.is_empty(), level, name, shape) {
        (true, Some(level), Some(name), Some(shape)) => Ok(Region {
            code: code.unwrap_or_default(),
            level,
            name_en: text("name_en").unwrap_or_else(|| name.clone()),
            name,
            parent,
            shape,
            geometry,
        }),
        _ => Err((code, problems)),
    }
}

/// A Polygon or MultiPolygon whose rings are closed, long enough, on the globe and simple.
fn parse_geometry(geometry: &Value) -> Result<MultiPolygon<f64>, Vec<String>> {
    let kind = geometry.get("type").and_then(Value::as_str);
    let coords = geometry.get("coordinates");
    let polygons: Vec<&Value> = match (kind, coords) {
        (Some("Polygon"), Some(c)) => vec![c],
        (Some("MultiPolygon"), Some(Value::Array(list))) => list.iter().collect(),
        (None, _) => return Err(vec!["missing geometry".into()]),
        (Some(other), _) => {
            return Err(vec![format!(
                "geometry must be a Polygon or MultiPolygon, not {other}"
            )])
        }
    };
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (p, polygon) in polygons.iter().enumerate() {
        let Some(rings) = polygon.as_array().filter(|r| !r.is_empty()) else {
            problems.push(format!("polygon {p} has no rings"));
            continue;
        };
        let mut parsed = Vec::new();
        for (r, ring) in rings.iter().enumerate() {
            match parse_ring(ring) {
                Ok(line) => parsed.push(line),
                Err(why) => problems.push(format!("polygon {p} ring {r}: {why}")),
            }
        }
        if parsed.len() == rings.len() {
            let mut rings = parsed.into_iter();
            let exterior = rings.next().expect("checked non-empty");
            out.push(Polygon::new(exterior, rings.collect()));
        }
    }
    if problems.is_empty() {
        Ok(MultiPolygon(out))
    } else {
        Err(problems)
    }
}

fn parse_ring(ring: &Value) -> Result<geo::LineString<f64>, String> {
    let points = ring.as_array().ok_or("not an array of positions")?;
    let mut coords = Vec::with_capacity(points.len());
    for point in points {
        let pair = point.as_array().ok_or("a position is not an array")?;
        let (Some(x), Some(y)) = (
            pair.first().and_then(Value::as_f64),
            pair.get(1).and_then(Value::as_f64),
        ) else {
            return Err("a position is not [lon, lat]".into());
        };
        if !crate::grid::coords::in_range(x, y) {
            return Err(format!("position [{x}, {y}] is off the globe"));
        }
        coords.push(Coord { x, y });
    }
    if coords.len() < 4 {
        return Err(format!(
            "{} positions; a ring needs at least 4",
            coords.len()
        ));
    }
    if coords.first() != coords.last() {
        return Err("ring is not closed (first and last positions differ)".into());
    }
    if let Some((a, b)) = self_intersection(&coords) {
        return Err(format!("ring intersects itself (segments {a} and {b})"));
    }
    Ok(geo::LineString(coords))
}

/// The first two non-adjacent edges of a closed ring that touch, if any.
fn self_intersection(coords: &[Coord<f64>]) -> Option<(usize, usize)> {
    let edges: Vec<Line<f64>> = coords.windows(2).map(|w| Line::new(w[0], w[1])).collect();
    let n = edges.len();
    for i in 0..n {
        if edges[i].start == edges[i].end {
            return Some((i, i));
        }
        for j in i + 2..n {
            // The last edge meets the first at the closing point by construction.
            if i == 0 && j == n - 1 {
                continue;
            }
            if edges[i].intersects(&edges[j]) {
                return Some((i, j));
            }
        }
    }
    None
}

fn check_hierarchy(regions: &[Region], problems: &mut Vec<MapProblem>) {
    let mut seen = std::collections::HashMap::new();
    for (i, r) in regions.iter().enumerate() {
        if let Some(first) = seen.insert(r.code.as_str(), i) {
            problems.push(MapProblem {
                feature: i,
                code: Some(r.code.clone()),
                problem: format!("duplicate code (also region #{first} of the valid ones)"),
            });
        }
    }
    for (i, r) in regions.iter().enumerate() {
        if let Some(parent) = &r.parent {
            if !seen.contains_key(parent.as_str()) {
                problems.push(MapProblem {
                    feature: i,
                    code: Some(r.code.clone()),
                    problem: format!("parent region {parent} is not in the map"),
                });
            }
        }
    }
    if !regions.iter().any(|r| r.level == Level::District) {
        problems.push(MapProblem {
            feature: 0,
            code: None,
            problem: "the map has no district".into(),
        });
    }
}

struct Indexed<'a> {
    region: &'a Region,
    envelope: AABB<[f64; 2]>,
}

impl RTreeObject for Indexed<'_> {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// Siblings must not overlap, every child must lie within its parent, and children must
/// cover their parent with no gap. Cells are also checked against every other cell, not
/// only their siblings, since a cell belongs to exactly one community.
fn check_tiling(regions: &[Region], problems: &mut Vec<MapProblem>) {
    let position: std::collections::HashMap<&str, usize> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.code.as_str(), i))
        .collect();
    for level in [Level::Town, Level::Community, Level::Cell] {
        let members: Vec<Indexed> = regions
            .iter()
            .filter(|r| r.level == level)
            .map(|r| {
                let (a, b, c, d) = r.bbox();
                Indexed {
                    region: r,
                    envelope: AABB::from_corners([a, b], [c, d]),
                }
            })
            .collect();
        let tree = RTree::bulk_load(members);
        for item in tree.iter() {
            for other in tree.locate_in_envelope_intersecting(&item.envelope) {
                if other.region.code <= item.region.code {
                    continue;
                }
                let matrix = item.region.shape.relate(&other.region.shape);
                if matrix.is_intersects() && !matrix.is_touches() {
                    problems.push(MapProblem {
                        feature: position[item.region.code.as_str()],
                        code: Some(item.region.code.clone()),
                        problem: format!("{} overlaps {}", item.region.code, other.region.code),
                    });
                }
            }
        }
    }
    let mut child_area: std::collections::HashMap<&str, f64> = Default::default();
    for r in regions {
        let Some(parent_code) = &r.parent else {
            continue;
        };
        let parent = &regions[position[parent_code.as_str()]];
        if !parent.shape.relate(&r.shape).is_covers() {
            problems.push(MapProblem {
                feature: position[r.code.as_str()],
                code: Some(r.code.clone()),
                problem: format!("{} reaches outside its parent {}", r.code, parent.code),
            });
        }
        *child_area.entry(parent_code.as_str()).or_default() += r.shape.unsigned_area();
    }
    for (parent_code, area) in child_area {
        let parent = &regions[position[parent_code]];
        let whole = parent.shape.unsigned_area();
        if (whole - area).abs() > whole * 1e-9 {
            problems.push(MapProblem {
                feature: position[parent_code],
                code: Some(parent_code.to_string()),
                problem: format!(
                    "its {}s leave a gap: they cover {:.4}% of it",
                    match parent.level {
                        Level::District => "town",
                        Level::Town => "communitie",
                        _ => "cell",
                    },
                    area / whole * 100.0
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
        json!({"type":"Polygon","coordinates":[[[x0,y0],[x1,y0],[x1,y1],[x0,y1],[x0,y0]]]})
    }

    fn feature(code: &str, name: &str, geometry: Value) -> Value {
        json!({"type":"Feature","properties":{"code":code,"name":name},"geometry":geometry})
    }

    fn small_map(cells: Vec<Value>) -> String {
        let mut features = vec![
            feature("44060500000000", "南海区", rect(113.0, 23.0, 113.2, 23.1)),
            feature("44060501100000", "桂城街道", rect(113.0, 23.0, 113.2, 23.1)),
            feature("44060501100100", "灯湖社区", rect(113.0, 23.0, 113.2, 23.1)),
        ];
        features.extend(cells);
        json!({"type":"FeatureCollection","features":features}).to_string()
    }

    #[test]
    fn a_tiled_map_passes() {
        let map = small_map(vec![
            feature("44060501100101", "第01网格", rect(113.0, 23.0, 113.1, 23.1)),
            feature("44060501100102", "第02网格", rect(113.1, 23.0, 113.2, 23.1)),
        ]);
        let regions = parse_map(&map).unwrap();
        assert_eq!(regions.len(), 5);
    }

    #[test]
    fn overlap_gap_unclosed_and_bowtie_are_named() {
        let map = small_map(vec![
            feature(
                "44060501100101",
                "第01网格",
                rect(113.0, 23.0, 113.12, 23.1),
            ),
            feature(
                "44060501100102",
                "第02网格",
                rect(113.1, 23.0, 113.19, 23.1),
            ),
        ]);
        let problems = parse_map(&map).unwrap_err();
        let text = serde_json::to_string(&problems).unwrap();
        assert!(
            text.contains("44060501100101 overlaps 44060501100102"),
            "{text}"
        );

        let map = small_map(vec![feature(
            "44060501100101",
            "第01网格",
            rect(113.0, 23.0, 113.19, 23.1),
        )]);
        let text = serde_json::to_string(&parse_map(&map).unwrap_err()).unwrap();
        assert!(text.contains("gap"), "{text}");

        let unclosed = json!({"type":"Polygon","coordinates":[[[113.0,23.0],[113.2,23.0],[113.2,23.1],[113.0,23.1]]]});
        let bowtie = json!({"type":"Polygon","coordinates":[[[113.0,23.0],[113.2,23.1],[113.2,23.0],[113.0,23.1],[113.0,23.0]]]});
        let map = small_map(vec![
            feature("44060501100101", "第01网格", unclosed),
            feature("44060501100102", "第02网格", bowtie),
        ]);
        let problems = parse_map(&map).unwrap_err();
        let text = serde_json::to_string(&problems).unwrap();
        assert!(
            text.contains("44060501100101") && text.contains("not closed"),
            "{text}"
        );
        assert!(
            text.contains("44060501100102") && text.contains("intersects itself"),
            "{text}"
        );
    }

    #[test]
    fn the_demo_map_is_valid() {
        let text = include_str!("../../fixtures/map/nanhai-demo.geojson");
        let regions = parse_map(text).unwrap();
        assert!(regions.iter().filter(|r| r.level == Level::Cell).count() >= 60);
    }
}
