//! GeoJSON answers, built with the geojson crate's types: features from WGS-84 points or
//! stored geometries, and a FeatureCollection carrying the next page's cursor as the
//! foreign member `next_cursor`.

use actix_web::HttpResponse;
use geojson::{Feature, FeatureCollection, Geometry, JsonObject, Value as Shape};
use serde::Serialize;
use serde_json::Value;

pub(crate) const MEDIA_TYPE: &str = "application/geo+json";

/// A feature's id: numeric ids stay numbers.
pub(crate) enum FeatureId {
    Text(String),
    Number(i64),
}

impl From<FeatureId> for geojson::feature::Id {
    fn from(id: FeatureId) -> Self {
        match id {
            FeatureId::Text(s) => geojson::feature::Id::String(s),
            FeatureId::Number(n) => geojson::feature::Id::Number(n.into()),
        }
    }
}

/// The properties of a feature: an object's members (anything else is put under `value`).
fn properties(of: impl Serialize) -> JsonObject {
    match serde_json::to_value(of) {
        Ok(Value::Object(map)) => map,
        Ok(other) => JsonObject::from_iter([("value".to_string(), other)]),
        Err(e) => {
            log::error!("feature properties do not serialise: {e}");
            JsonObject::new()
        }
    }
}

/// A feature at a WGS-84 point.
pub(crate) fn point(id: FeatureId, lon: f64, lat: f64, props: impl Serialize) -> Feature {
    Feature {
        id: Some(id.into()),
        geometry: Some(Geometry::new(Shape::Point(vec![lon, lat]))),
        properties: Some(properties(props)),
        ..Feature::default()
    }
}

/// A feature with a geometry stored as GeoJSON text (a null geometry when it does not
/// parse, which only a hand-edited database could cause).
pub(crate) fn stored_shape(id: FeatureId, geometry: &str, props: impl Serialize) -> Feature {
    Feature {
        id: Some(id.into()),
        geometry: geometry.parse::<Geometry>().ok(),
        properties: Some(properties(props)),
        ..Feature::default()
    }
}

/// A page of features as `application/geo+json`, with `next_cursor` (null on the last page).
pub(crate) fn collection(features: Vec<Feature>, next_cursor: Option<String>) -> HttpResponse {
    let cursor = next_cursor.map_or(Value::Null, Value::String);
    collection_with(features, [("next_cursor", cursor)])
}

/// Features as `application/geo+json`, with foreign members beside them.
pub(crate) fn collection_with<'a>(
    features: Vec<Feature>,
    members: impl IntoIterator<Item = (&'a str, Value)>,
) -> HttpResponse {
    let collection = FeatureCollection {
        bbox: None,
        features,
        foreign_members: Some(
            members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        ),
    };
    HttpResponse::Ok().content_type(MEDIA_TYPE).json(collection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collection_carries_its_cursor_as_a_foreign_member() {
        let f = point(
            FeatureId::Number(7),
            113.12,
            23.01,
            serde_json::json!({"title": "占道经营"}),
        );
        let c = FeatureCollection {
            bbox: None,
            features: vec![f],
            foreign_members: Some(JsonObject::from_iter([(
                "next_cursor".to_string(),
                Value::Null,
            )])),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["type"], "FeatureCollection");
        assert_eq!(v["next_cursor"], Value::Null);
        assert_eq!(v["features"][0]["id"], 7);
        assert_eq!(v["features"][0]["geometry"]["coordinates"][0], 113.12);
        assert_eq!(v["features"][0]["properties"]["title"], "占道经营");
    }
}
