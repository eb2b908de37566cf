//! What a handheld's inspection report is, how it is validated (every problem listed), and
//! the flags a report carries. Pure: no I/O.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::checklist::model::{ChecklistItem, PLACE_KINDS};
use crate::grid::coords::{self, Crs};

/// How far ahead of the server clock a capture time may lie (device clocks drift).
pub(crate) const MAX_CLOCK_AHEAD_US: i64 = 5 * 60 * 1_000_000;
/// A report captured longer than this before it arrived is flagged `late`.
pub(crate) const LATE_AFTER_US: i64 = 72 * 3600 * 1_000_000;
/// A photo whose EXIF position lies farther than this from the report is flagged.
pub(crate) const PHOTO_DISTANCE_M: f64 = 200.0;
/// A photo whose EXIF time lies farther than this from `captured_at` is flagged.
pub(crate) const PHOTO_TIME_US: i64 = 2 * 3600 * 1_000_000;

/// How much one report may carry (documented in docs/security.md and the schemas): a
/// report's findings are checked and stored in one write, so their number is bounded.
pub(crate) mod limits {
    /// Checklist items in one report (a checklist has 202).
    pub const ITEMS: usize = 250;
    /// Licences seen at one place.
    pub const LICENCES: usize = 20;
    /// Photos of the whole report, and of one item.
    pub const PHOTOS: usize = 20;
    pub const ITEM_PHOTOS: usize = 10;
    /// Characters of the report's note, of an item's note, of a place's name and address,
    /// of a code (item, USCC) and of a licence number as read.
    pub const NOTE: usize = 4000;
    pub const ITEM_NOTE: usize = 2000;
    pub const NAME: usize = 200;
    pub const ADDRESS: usize = 300;
    pub const CODE: usize = 32;
    pub const NUMBER: usize = 64;
}

/// The report as a handheld sends it (see schemas/report.schema.json).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportInput {
    /// UUID chosen by the device; retrying with the same id and body is safe.
    #[schema(example = "1f0c6a4e-9b7d-4c1e-8d2a-5b3f7e9a0c11")]
    pub id: String,
    /// RFC 3339 with offset.
    #[schema(example = "2026-11-28T10:15:30+08:00")]
    pub captured_at: String,
    pub location: LocationInput,
    pub place: Option<PlaceInput>,
    #[schema(minimum = 1)]
    pub checklist_version: i32,
    #[serde(default)]
    #[schema(max_items = 250)]
    pub items: Vec<ItemInput>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub licenses_seen: Vec<LicenceSeenInput>,
    /// sha256 (hex) of photos of the whole report.
    #[serde(default)]
    #[schema(max_items = 20, inline, value_type = Vec<crate::web::schema::Sha256Hex>)]
    pub photos: Vec<String>,
    #[schema(max_length = 4000)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocationInput {
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
    /// `wgs84` (default) or `gcj02`.
    pub crs: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlaceInput {
    /// One of the place kinds of the checklist (shop, restaurant, ...).
    pub kind: String,
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 300)]
    pub address: Option<String>,
    /// The unified social credit code of the enterprise at the place, if known.
    #[schema(max_length = 32)]
    pub enterprise_uscc: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemInput {
    #[schema(max_length = 32)]
    pub code: String,
    /// `pass`, `fail` or `na`.
    pub result: String,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    #[serde(default)]
    #[schema(max_items = 10, inline, value_type = Vec<crate::web::schema::Sha256Hex>)]
    pub photos: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LicenceSeenInput {
    /// The number as read off the wall.
    #[schema(min_length = 1, max_length = 64)]
    pub number: String,
    /// The licence kind, when the inspector knows it.
    pub kind: Option<String>,
}

/// One item of a stored report; `photo_required` is fixed at ingest from the checklist
/// version the report used, so flags can be settled later without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub(crate) struct StoredItem {
    pub code: String,
    pub result: String,
    pub note: Option<String>,
    pub photos: Vec<String>,
    pub photo_required: bool,
}

/// A validated report, in WGS-84.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub id: String,
    pub captured_at: i64,
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
    pub crs: Crs,
    pub place_kind: Option<String>,
    pub place_name: Option<String>,
    pub place_address: Option<String>,
    pub enterprise_uscc: Option<String>,
    pub checklist_version: i32,
    pub items: Vec<StoredItem>,
    pub licenses_seen: Vec<LicenceSeen>,
    pub photos: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub(crate) struct LicenceSeen {
    pub number: String,
    pub kind: Option<String>,
}

impl Report {
    pub(crate) fn failed(&self) -> impl Iterator<Item = &StoredItem> {
        self.items.iter().filter(|i| i.result == "fail")
    }

    /// Every photo the report names, each once, with the item that names it ("" for the
    /// report itself).
    pub(crate) fn photo_refs(&self) -> Vec<(String, String)> {
        let mut refs: Vec<(String, String)> = self
            .photos
            .iter()
            .map(|p| (p.clone(), String::new()))
            .chain(
                self.items
                    .iter()
                    .flat_map(|i| i.photos.iter().map(|p| (p.clone(), i.code.clone()))),
            )
            .collect();
        refs.sort();
        refs.dedup();
        refs
    }
}

pub(crate) fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A digest of the request body that does not depend on key order or whitespace, so that
/// a retry serialised differently by the device still counts as the same body.
pub(crate) fn body_digest(body: &Value) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String((*k).clone()).to_string());
                    out.push(':');
                    canonical(&map[*k], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    canonical(body, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn problem(field: impl Into<String>, what: impl Into<String>) -> Value {
    json!({"field": field.into(), "problem": what.into()})
}

/// Every count and length of `input` over its limit (see [`limits`]).
fn bounds(input: &ReportInput) -> Vec<Value> {
    let mut problems = Vec::new();
    let mut count = |field: &str, n: usize, max: usize| {
        if n > max {
            problems.push(json!({"field": field, "problem": format!("{n} entries; at most {max}"), "limit": max}));
        }
    };
    count("items", input.items.len(), limits::ITEMS);
    count("licenses_seen", input.licenses_seen.len(), limits::LICENCES);
    count("photos", input.photos.len(), limits::PHOTOS);
    for (i, item) in input.items.iter().enumerate() {
        count(
            &format!("items[{i}].photos"),
            item.photos.len(),
            limits::ITEM_PHOTOS,
        );
    }
    let mut length = |field: String, text: Option<&str>, max: usize| {
        let n = text.map_or(0, |t| t.chars().count());
        if n > max {
            problems.push(json!({"field": field, "problem": format!("{n} characters; at most {max}"), "limit": max}));
        }
    };
    length("note".into(), input.note.as_deref(), limits::NOTE);
    if let Some(place) = &input.place {
        length("place.kind".into(), Some(&place.kind), limits::CODE);
        length("place.name".into(), place.name.as_deref(), limits::NAME);
        length(
            "place.address".into(),
            place.address.as_deref(),
            limits::ADDRESS,
        );
        length(
            "place.enterprise_uscc".into(),
            place.enterprise_uscc.as_deref(),
            limits::CODE,
        );
    }
    for (i, item) in input.items.iter().enumerate().take(limits::ITEMS) {
        length(format!("items[{i}].code"), Some(&item.code), limits::CODE);
        length(
            format!("items[{i}].note"),
            item.note.as_deref(),
            limits::ITEM_NOTE,
        );
    }
    for (i, seen) in input
        .licenses_seen
        .iter()
        .enumerate()
        .take(limits::LICENCES)
    {
        length(
            format!("licenses_seen[{i}].number"),
            Some(&seen.number),
            limits::NUMBER,
        );
    }
    problems
}

/// Validates a report against the checklist version it names (None when that version does
/// not exist) and the server clock; answers the report or every problem found.
pub(crate) fn validate(
    input: &ReportInput,
    checklist: Option<&HashMap<String, ChecklistItem>>,
    now: i64,
) -> Result<Report, Vec<Value>> {
    let mut problems = bounds(input);
    if !problems.is_empty() {
        // Too much to look at item by item: say so and nothing more.
        return Err(problems);
    }
    let id = match uuid::Uuid::parse_str(&input.id) {
        Ok(u) => u.hyphenated().to_string(),
        Err(_) => {
            problems.push(problem("id", "must be a UUID"));
            String::new()
        }
    };
    let captured_at = match crate::clock::parse_rfc3339(&input.captured_at) {
        Some(t) if t > now + MAX_CLOCK_AHEAD_US => {
            problems.push(problem(
                "captured_at",
                "lies more than 5 minutes ahead of the server clock",
            ));
            t
        }
        Some(t) => t,
        None => {
            problems.push(problem(
                "captured_at",
                "must be an RFC 3339 time with offset, e.g. 2026-11-28T10:15:30+08:00",
            ));
            0
        }
    };
    let loc = &input.location;
    let crs = match loc.crs.as_deref() {
        None => Crs::Wgs84,
        Some(name) => name.parse().unwrap_or_else(|_| {
            problems.push(problem(
                "location.crs",
                format!("unknown crs {name:?}: wgs84 or gcj02"),
            ));
            Crs::Wgs84
        }),
    };
    if !coords::in_range(loc.lon, loc.lat) {
        problems.push(problem(
            "location",
            "coordinates out of range: lon within ±180, lat within ±90",
        ));
    }
    if let Some(a) = loc.accuracy_m {
        if !(a.is_finite() && a >= 0.0) {
            problems.push(problem(
                "location.accuracy_m",
                "must be a non-negative number",
            ));
        }
    }
    let (lon, lat) = if coords::in_range(loc.lon, loc.lat) {
        coords::to_wgs84(crs, loc.lon, loc.lat)
    } else {
        (loc.lon, loc.lat)
    };
    let place_kind = input.place.as_ref().map(|p| p.kind.clone());
    if let Some(kind) = &place_kind {
        if !PLACE_KINDS.contains(&kind.as_str()) {
            problems.push(problem(
                "place.kind",
                format!(
                    "unknown place kind {kind:?}; one of {}",
                    PLACE_KINDS.join(", ")
                ),
            ));
        }
    }
    if checklist.is_none() {
        problems.push(problem(
            "checklist_version",
            format!(
                "checklist version {} does not exist",
                input.checklist_version
            ),
        ));
    }
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(input.items.len());
    for (i, item) in input.items.iter().enumerate() {
        let field = format!("items[{i}]");
        if !seen.insert(item.code.as_str()) {
            problems.push(problem(&field, format!("item {} appears twice", item.code)));
        }
        if !["pass", "fail", "na"].contains(&item.result.as_str()) {
            problems.push(problem(
                format!("{field}.result"),
                format!("{:?} is not pass, fail or na", item.result),
            ));
        }
        let entry = checklist.and_then(|c| c.get(&item.code));
        match (checklist, entry) {
            (Some(_), None) => problems.push(problem(
                format!("{field}.code"),
                format!(
                    "unknown item code {} in checklist version {}",
                    item.code, input.checklist_version
                ),
            )),
            (_, Some(entry)) => {
                if let Some(kind) = &place_kind {
                    if PLACE_KINDS.contains(&kind.as_str()) && !entry.applies_to.contains(kind) {
                        problems.push(problem(
                            format!("{field}.code"),
                            format!("item {} does not apply to a {kind}", item.code),
                        ));
                    }
                }
            }
            _ => {}
        }
        for (j, p) in item.photos.iter().enumerate() {
            if !is_sha256(p) {
                problems.push(problem(
                    format!("{field}.photos[{j}]"),
                    "not a sha256 in hex (64 characters)",
                ));
            }
        }
        items.push(StoredItem {
            code: item.code.clone(),
            result: item.result.clone(),
            note: item.note.clone(),
            photos: item.photos.iter().map(|p| p.to_ascii_lowercase()).collect(),
            photo_required: entry.is_some_and(|e| e.photo_required),
        });
    }
    for (j, p) in input.photos.iter().enumerate() {
        if !is_sha256(p) {
            problems.push(problem(
                format!("photos[{j}]"),
                "not a sha256 in hex (64 characters)",
            ));
        }
    }
    for (j, l) in input.licenses_seen.iter().enumerate() {
        if l.number.trim().is_empty() {
            problems.push(problem(format!("licenses_seen[{j}].number"), "is empty"));
        }
        if let Some(kind) = &l.kind {
            if !LICENCE_KINDS.contains(&kind.as_str()) {
                problems.push(problem(
                    format!("licenses_seen[{j}].kind"),
                    format!(
                        "unknown licence kind {kind:?}; one of {}",
                        LICENCE_KINDS.join(", ")
                    ),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let place = input.place.as_ref();
    Ok(Report {
        id,
        captured_at,
        lon,
        lat,
        accuracy_m: loc.accuracy_m,
        crs,
        place_kind,
        place_name: place.and_then(|p| p.name.clone()),
        place_address: place.and_then(|p| p.address.clone()),
        enterprise_uscc: place.and_then(|p| p.enterprise_uscc.clone()),
        checklist_version: input.checklist_version,
        items,
        licenses_seen: input
            .licenses_seen
            .iter()
            .map(|l| LicenceSeen {
                number: l.number.clone(),
                kind: l.kind.clone(),
            })
            .collect(),
        photos: input
            .photos
            .iter()
            .map(|p| p.to_ascii_lowercase())
            .collect(),
        note: input.note.clone(),
    })
}

/// Licence kinds an inspector may name.
pub(crate) const LICENCE_KINDS: [&str; 5] = [
    "business_licence",
    "food_business",
    "food_production",
    "tobacco_retail",
    "hygiene",
];

/// What the server knows of a stored photo, for the flags.
#[derive(Debug, Clone)]
pub(crate) struct PhotoFacts {
    pub taken_at: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// The state of a report's flags given the photos that have arrived.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FlagState {
    pub flags: Vec<String>,
    pub photos_missing: Vec<String>,
}

/// Everything a flag depends on, as stored with the report.
pub(crate) struct FlagInputs<'a> {
    pub captured_at: i64,
    pub received_at: i64,
    pub lon: f64,
    pub lat: f64,
    pub cell: Option<&'a str>,
    pub assigned: &'a [String],
    pub items: &'a [StoredItem],
    pub photos: &'a [String],
}

/// Computes the flags at ingest, in a fixed order.
pub(crate) fn flags(r: &FlagInputs, arrived: &HashMap<String, PhotoFacts>) -> FlagState {
    let mut placed = Vec::new();
    match r.cell {
        None => placed.push("outside_map"),
        Some(cell) if !r.assigned.iter().any(|c| c == cell) => placed.push("outside_assignment"),
        _ => {}
    }
    let late = r.received_at - r.captured_at > LATE_AFTER_US;
    compose(&placed, late, &r.evidence(), arrived)
}

/// The flags of a stored report once more photos have arrived. What was decided at ingest
/// (where it lay, whose cell that was then, how late it came) stays as stored, so that
/// history does not change with today's assignment; only the photo flags are settled.
pub(crate) fn resettle(
    stored: &[String],
    evidence: &Evidence,
    arrived: &HashMap<String, PhotoFacts>,
) -> FlagState {
    let placed: Vec<&str> = ["outside_map", "outside_assignment"]
        .into_iter()
        .filter(|f| stored.iter().any(|s| s == f))
        .collect();
    let late = stored.iter().any(|s| s == "late");
    compose(&placed, late, evidence, arrived)
}

/// What the photo flags depend on.
pub(crate) struct Evidence<'a> {
    pub captured_at: i64,
    pub lon: f64,
    pub lat: f64,
    pub items: &'a [StoredItem],
    pub photos: &'a [String],
}

impl FlagInputs<'_> {
    fn evidence(&self) -> Evidence<'_> {
        Evidence {
            captured_at: self.captured_at,
            lon: self.lon,
            lat: self.lat,
            items: self.items,
            photos: self.photos,
        }
    }
}

/// The flags in their fixed order: placement, photos, lateness.
fn compose(
    placed: &[&str],
    late: bool,
    r: &Evidence,
    arrived: &HashMap<String, PhotoFacts>,
) -> FlagState {
    let mut flags: Vec<&str> = placed.to_vec();
    let missing_photo = r.items.iter().any(|i| {
        i.result == "fail" && i.photo_required && !i.photos.iter().any(|p| arrived.contains_key(p))
    });
    if missing_photo {
        flags.push("photo_missing");
    }
    let mut far = false;
    let mut off_time = false;
    for photo in arrived.values() {
        if let (Some(lon), Some(lat)) = (photo.lon, photo.lat) {
            far |= coords::distance_m(lon, lat, r.lon, r.lat) > PHOTO_DISTANCE_M;
        }
        if let Some(t) = photo.taken_at {
            off_time |= (t - r.captured_at).abs() > PHOTO_TIME_US;
        }
    }
    if far {
        flags.push("photo_location_mismatch");
    }
    if off_time {
        flags.push("photo_time_mismatch");
    }
    if late {
        flags.push("late");
    }
    let mut named: Vec<&String> = r
        .photos
        .iter()
        .chain(r.items.iter().flat_map(|i| i.photos.iter()))
        .collect();
    named.sort();
    named.dedup();
    FlagState {
        flags: flags.into_iter().map(str::to_string).collect(),
        photos_missing: named
            .into_iter()
            .filter(|p| !arrived.contains_key(*p))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, result: &str, photos: &[&str], required: bool) -> StoredItem {
        StoredItem {
            code: code.into(),
            result: result.into(),
            note: None,
            photos: photos.iter().map(|p| p.to_string()).collect(),
            photo_required: required,
        }
    }

    #[test]
    fn digest_ignores_key_order_and_spacing() {
        let a: Value = serde_json::from_str(r#"{"a":1,"b":{"c":[1,2],"d":"x"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{ "b": {"d":"x", "c":[1, 2]}, "a": 1 }"#).unwrap();
        let c: Value = serde_json::from_str(r#"{"a":1,"b":{"c":[2,1],"d":"x"}}"#).unwrap();
        assert_eq!(body_digest(&a), body_digest(&b));
        assert_ne!(body_digest(&a), body_digest(&c));
    }

    #[test]
    fn flags_settle_as_photos_arrive() {
        let p = "a".repeat(64);
        let items = vec![item("FS-001", "fail", &[&p], true)];
        let assigned = vec!["44060501100101".to_string()];
        let inputs = FlagInputs {
            captured_at: 0,
            received_at: 1,
            lon: 113.12,
            lat: 23.01,
            cell: Some("44060501100102"),
            assigned: &assigned,
            items: &items,
            photos: &[],
        };
        let before = flags(&inputs, &HashMap::new());
        assert_eq!(before.flags, vec!["outside_assignment", "photo_missing"]);
        assert_eq!(before.photos_missing, vec![p.clone()]);
        let mut arrived = HashMap::new();
        arrived.insert(
            p.clone(),
            PhotoFacts {
                taken_at: Some(3 * 3600 * 1_000_000),
                lon: Some(113.13),
                lat: Some(23.01),
            },
        );
        let after = flags(&inputs, &arrived);
        assert_eq!(
            after.flags,
            vec![
                "outside_assignment",
                "photo_location_mismatch",
                "photo_time_mismatch"
            ]
        );
        assert!(after.photos_missing.is_empty());
    }

    #[test]
    fn late_and_outside_map() {
        let inputs = FlagInputs {
            captured_at: 0,
            received_at: LATE_AFTER_US + 1,
            lon: 0.0,
            lat: 0.0,
            cell: None,
            assigned: &[],
            items: &[],
            photos: &[],
        };
        assert_eq!(
            flags(&inputs, &HashMap::new()).flags,
            vec!["outside_map", "late"]
        );
    }
}
