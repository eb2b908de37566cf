//! Coordinate systems handhelds report in, and distances between points.
//!
//! Storage is always WGS-84. Handhelds with Chinese map SDKs report GCJ-02, an obfuscated
//! datum offset by a few hundred metres around Foshan; the published forward transform
//! (WGS-84 → GCJ-02) is inverted here by fixed-point iteration to well under a millimetre.
//! No I/O here.

use std::f64::consts::PI;

use crate::web::error::{ApiError, ApiResult};

/// Krasovsky 1940 semi-major axis and eccentricity squared, as in the published transform.
const A: f64 = 6_378_245.0;
#[allow(clippy::excessive_precision)] // kept digit for digit as published
const EE: f64 = 0.006_693_421_622_965_943_23;
/// Mean Earth radius for haversine distances.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Crs {
    Wgs84,
    Gcj02,
}

impl Crs {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
        }
    }
}

impl std::str::FromStr for Crs {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" => Ok(Crs::Wgs84),
            "gcj02" | "gcj-02" => Ok(Crs::Gcj02),
            _ => Err(()),
        }
    }
}

/// Whether a coordinate pair is on the globe at all.
pub(crate) fn in_range(lon: f64, lat: f64) -> bool {
    lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
}

/// The transform leaves points outside China's bounding box untouched.
fn outside_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn shift_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn shift_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS-84 → GCJ-02 (the published forward transform).
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let dlat = shift_lat(lon - 105.0, lat - 35.0);
    let dlon = shift_lon(lon - 105.0, lat - 35.0);
    let radlat = lat / 180.0 * PI;
    let magic = 1.0 - EE * radlat.sin() * radlat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (A / sqrt_magic * radlat.cos() * PI);
    (lon + dlon, lat + dlat)
}

/// GCJ-02 → WGS-84 by iterating the forward transform: the shift changes slowly with
/// position, so each step removes almost all of the remaining error. Ten steps reach
/// 1e-10 degrees (about 10 µm) anywhere in China; the one-step inverse is metres off.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let (mut wlon, mut wlat) = (lon, lat);
    for _ in 0..30 {
        let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
        let (elon, elat) = (lon - glon, lat - glat);
        wlon += elon;
        wlat += elat;
        if elon.abs() < 1e-11 && elat.abs() < 1e-11 {
            break;
        }
    }
    (wlon, wlat)
}

/// Converts a point in `crs` to WGS-84.
pub(crate) fn to_wgs84(crs: Crs, lon: f64, lat: f64) -> (f64, f64) {
    match crs {
        Crs::Wgs84 => (lon, lat),
        Crs::Gcj02 => gcj02_to_wgs84(lon, lat),
    }
}

/// A point as a request gives it (`lon`, `lat`, an optional `crs` name), read into WGS-84;
/// or every problem with it, each naming the request's field (`{field}.crs`, `{field}`),
/// for a 422. The one reading of positions that locate, licence checks, reports and cases
/// share.
pub(crate) fn read_point(
    field: &str,
    lon: f64,
    lat: f64,
    crs: Option<&str>,
) -> Result<(f64, f64), Vec<serde_json::Value>> {
    let name = |suffix: &str| match field {
        "" => suffix.to_string(),
        f => format!("{f}.{suffix}"),
    };
    let mut problems = Vec::new();
    let crs = match crs {
        None => Some(Crs::Wgs84),
        Some(text) => text.parse().ok().or_else(|| {
            problems.push(serde_json::json!({"field": name("crs"),
                "problem": format!("unknown crs {text:?}: wgs84 or gcj02")}));
            None
        }),
    };
    if !in_range(lon, lat) {
        problems.push(
            serde_json::json!({"field": if field.is_empty() { "lon/lat" } else { field },
            "problem": "coordinates out of range: lon within ±180, lat within ±90"}),
        );
    }
    match (crs, problems.is_empty()) {
        (Some(crs), true) => Ok(to_wgs84(crs, lon, lat)),
        _ => Err(problems),
    }
}

/// [`read_point`] for a handler: 422 listing the problems.
pub(crate) fn point_param(lon: f64, lat: f64, crs: Option<&str>) -> ApiResult<(f64, f64)> {
    read_point("", lon, lat, crs).map_err(|problems| {
        ApiError::invalid(
            "the position is invalid",
            serde_json::Value::Array(problems),
        )
    })
}

/// Great-circle distance in metres (haversine).
pub fn distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_shift_near_foshan_is_hundreds_of_metres() {
        let (lon, lat) = (113.14, 23.03);
        let (glon, glat) = wgs84_to_gcj02(lon, lat);
        let d = distance_m(lon, lat, glon, glat);
        assert!((300.0..700.0).contains(&d), "shift {d} m");
    }

    #[test]
    fn inverse_round_trips_below_a_millimetre_over_the_district() {
        let mut worst: f64 = 0.0;
        for i in 0..50 {
            for j in 0..50 {
                let lon = 112.9 + i as f64 * 0.01;
                let lat = 22.8 + j as f64 * 0.01;
                let (glon, glat) = wgs84_to_gcj02(lon, lat);
                let (wlon, wlat) = gcj02_to_wgs84(glon, glat);
                worst = worst.max(distance_m(lon, lat, wlon, wlat));
            }
        }
        assert!(worst < 0.001, "worst round trip error {worst} m");
    }

    #[test]
    fn outside_china_is_untouched() {
        assert_eq!(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85));
        assert_eq!(gcj02_to_wgs84(2.35, 48.85), (2.35, 48.85));
    }

    #[test]
    fn distance_of_one_degree_of_latitude() {
        let d = distance_m(113.0, 23.0, 113.0, 24.0);
        assert!((d - 111_195.0).abs() < 100.0, "{d}");
    }

    #[test]
    fn ranges() {
        assert!(in_range(113.1, 23.0));
        assert!(!in_range(181.0, 0.0));
        assert!(!in_range(0.0, f64::NAN));
    }

    #[test]
    fn points_are_read_with_every_problem_named() {
        assert_eq!(read_point("location", 113.1, 23.0, None), Ok((113.1, 23.0)));
        let problems = read_point("location", 200.0, 23.0, Some("bd09")).unwrap_err();
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0]["field"], "location.crs");
        assert_eq!(problems[1]["field"], "location");
        let (lon, _) = read_point("", 113.1313453, 23.0127731, Some("gcj02")).unwrap();
        assert!((lon - 113.1258).abs() < 0.001);
    }
}
