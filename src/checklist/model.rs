//! The inspection checklist's rules: what an item is, the tiers and place kinds, and the
//! validation of an imported checklist file. Pure: no I/O.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The tier of dispatch centre that handles a case by default.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Tier {
    Community,
    Town,
    District,
}

crate::text_column!(Tier);

impl Tier {
    pub(crate) fn as_str(self) -> &'static str {
        self.into()
    }

    /// The tier of the centre of a region at `level`; none for a cell.
    pub(crate) fn of_level(level: crate::region::Level) -> Option<Tier> {
        use crate::region::Level;
        match level {
            Level::District => Some(Tier::District),
            Level::Town => Some(Tier::Town),
            Level::Community => Some(Tier::Community),
            Level::Cell => None,
        }
    }
}

pub(crate) const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// The kinds of place an item can apply to; a report names one of them.
pub(crate) const PLACE_KINDS: [&str; 14] = [
    "shop",
    "restaurant",
    "market",
    "factory",
    "workshop",
    "warehouse",
    "rental_house",
    "residential_building",
    "construction_site",
    "street",
    "public_venue",
    "school_area",
    "waterway",
    "vacant_land",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub(crate) struct ChecklistItem {
    /// Stable code, e.g. `FS-001`; the same code in a later version means the same check.
    #[schema(example = "FS-001")]
    pub code: String,
    #[schema(example = "fire_safety")]
    pub category: String,
    #[schema(example = "消防安全")]
    pub category_zh: String,
    pub title_zh: String,
    pub title_en: String,
    /// Code of the responsible department.
    #[schema(example = "fire")]
    pub department: String,
    pub tier: Tier,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub time_limit_hours: i32,
    /// Whether a failed check needs a photo.
    pub photo_required: bool,
    /// Place kinds the item applies to.
    pub applies_to: Vec<String>,
}

/// A validated checklist, ready to store.
#[derive(Debug, Clone)]
pub(crate) struct Checklist {
    pub name: String,
    pub items: Vec<ChecklistItem>,
}

impl Checklist {
    /// A digest of the content: importing the same content again creates no new version.
    pub(crate) fn digest(&self) -> String {
        let canonical = serde_json::to_vec(&(&self.name, &self.items)).expect("serialisable");
        hex::encode(Sha256::digest(canonical))
    }
}

/// Parses and validates a checklist file against the known department codes, listing
/// every problem with the item it is about.
pub(crate) fn parse_checklist(
    text: &str,
    departments: &HashSet<String>,
) -> Result<Checklist, Vec<String>> {
    let doc: Value = serde_json::from_str(text).map_err(|e| vec![format!("not JSON: {e}")])?;
    let Some(items) = doc.get("items").and_then(Value::as_array) else {
        return Err(vec!["missing array \"items\"".into()]);
    };
    let name = doc
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("checklist")
        .to_string();
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    let mut codes = HashSet::new();
    for (i, raw) in items.iter().enumerate() {
        let code = raw.get("code").and_then(Value::as_str).unwrap_or("?");
        let mut say = |p: String| problems.push(format!("item #{i} ({code}): {p}"));
        let text = |key: &str, say: &mut dyn FnMut(String)| -> String {
            match raw.get(key).and_then(Value::as_str).map(str::trim) {
                Some(s) if !s.is_empty() => s.to_string(),
                _ => {
                    say(format!("missing field {key}"));
                    String::new()
                }
            }
        };
        let code = text("code", &mut say);
        let category = text("category", &mut say);
        let category_zh = text("category_zh", &mut say);
        let title_zh = text("title_zh", &mut say);
        let title_en = text("title_en", &mut say);
        let department = text("department", &mut say);
        let tier_text = text("tier", &mut say);
        let severity = text("severity", &mut say);
        if !code.is_empty() && (code.len() > 32 || code.contains(char::is_whitespace)) {
            say(format!(
                "code {code:?} must be at most 32 characters without spaces"
            ));
        }
        if !code.is_empty() && !codes.insert(code.clone()) {
            say(format!("duplicate code {code}"));
        }
        if !department.is_empty() && !departments.contains(&department) {
            say(format!("unknown department {department:?}"));
        }
        let tier = tier_text.parse::<Tier>().ok();
        if tier.is_none() && !tier_text.is_empty() {
            say(format!(
                "unknown tier {tier_text:?} (community, town or district)"
            ));
        }
        if !severity.is_empty() && !SEVERITIES.contains(&severity.as_str()) {
            say(format!(
                "unknown severity {severity:?} ({})",
                SEVERITIES.join(", ")
            ));
        }
        let hours = match raw.get("time_limit_hours").and_then(Value::as_i64) {
            Some(h) if (1..=8760).contains(&h) => h as i32,
            Some(h) => {
                say(format!("time_limit_hours {h} must be between 1 and 8760"));
                0
            }
            None => {
                say("missing field time_limit_hours".into());
                0
            }
        };
        let photo_required = match raw.get("photo_required").and_then(Value::as_bool) {
            Some(b) => b,
            None => {
                say("missing field photo_required (true or false)".into());
                false
            }
        };
        let applies_to: Vec<String> = match raw.get("applies_to").and_then(Value::as_array) {
            Some(kinds) if !kinds.is_empty() => kinds
                .iter()
                .filter_map(|k| match k.as_str() {
                    Some(k) if PLACE_KINDS.contains(&k) => Some(k.to_string()),
                    _ => {
                        say(format!("unknown place kind {k} in applies_to"));
                        None
                    }
                })
                .collect(),
            _ => {
                say("missing field applies_to (a non-empty list of place kinds)".into());
                Vec::new()
            }
        };
        if let Some(tier) = tier {
            parsed.push(ChecklistItem {
                code,
                category,
                category_zh,
                title_zh,
                title_en,
                department,
                tier,
                severity,
                time_limit_hours: hours,
                photo_required,
                applies_to,
            });
        }
    }
    if items.is_empty() {
        problems.push("the checklist has no items".into());
    }
    if problems.is_empty() {
        Ok(Checklist {
            name,
            items: parsed,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn departments() -> HashSet<String> {
        let doc: Value =
            serde_json::from_str(include_str!("../../fixtures/departments.json")).unwrap();
        doc["departments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn the_fixture_has_exactly_202_valid_items() {
        let list = parse_checklist(
            include_str!("../../fixtures/checklist.json"),
            &departments(),
        )
        .unwrap();
        assert_eq!(list.items.len(), 202);
    }

    #[test]
    fn every_bad_item_is_named() {
        let text = r#"{"items":[
          {"code":"FS-001","category":"fire_safety","category_zh":"消防安全","title_zh":"a","title_en":"a","department":"fire","tier":"town","severity":"high","time_limit_hours":24,"photo_required":true,"applies_to":["shop"]},
          {"code":"FS-001","category":"fire_safety","category_zh":"消防安全","title_zh":"b","title_en":"b","department":"fire","tier":"town","severity":"high","time_limit_hours":24,"photo_required":true,"applies_to":["shop"]},
          {"code":"FS-003","category":"fire_safety","category_zh":"消防安全","title_zh":"c","title_en":"c","department":"tobacco","tier":"province","severity":"high","time_limit_hours":24,"photo_required":true,"applies_to":["moon"]},
          {"code":"FS-004","category":"fire_safety","category_zh":"消防安全","title_en":"d","department":"fire","tier":"town","severity":"high","time_limit_hours":24,"photo_required":true,"applies_to":["shop"]}
        ]}"#;
        let problems = parse_checklist(text, &departments())
            .unwrap_err()
            .join("\n");
        assert!(
            problems.contains("item #1 (FS-001): duplicate code FS-001"),
            "{problems}"
        );
        assert!(
            problems.contains("item #2 (FS-003): unknown department \"tobacco\""),
            "{problems}"
        );
        assert!(
            problems.contains("item #2 (FS-003): unknown tier \"province\""),
            "{problems}"
        );
        assert!(
            problems.contains("unknown place kind \"moon\""),
            "{problems}"
        );
        assert!(
            problems.contains("item #3 (FS-004): missing field title_zh"),
            "{problems}"
        );
    }
}
