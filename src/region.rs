//! Region codes (CJ/T 213 style) and the one rule of which region covers which code.
//!
//! A code is 14 digits: 6 of the county (GB/T 2260; 440605 is Nanhai), 3 of the town or
//! street (GB/T 10114: first digit 0 for a 街道, 1 for a 镇), 3 of the community, 2 of the
//! cell. A region above cell level pads its code with zeros, so a region's descendants are
//! exactly the codes that start with its prefix: that prefix test is [`RegionCode::covers`],
//! and every scoping decision in the service (users, cells, cases, statistics) goes
//! through it. A [`RegionCode`] can only hold a well-formed code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The levels of the grid map, from the top.
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
pub(crate) enum Level {
    District,
    Town,
    Community,
    Cell,
}

crate::text_column!(Level);

impl Level {
    pub(crate) fn as_str(self) -> &'static str {
        self.into()
    }

    /// How many leading digits of a code name a region of this level.
    pub(crate) fn prefix_len(self) -> usize {
        match self {
            Level::District => 6,
            Level::Town => 9,
            Level::Community => 12,
            Level::Cell => 14,
        }
    }

    pub(crate) fn parent(self) -> Option<Level> {
        match self {
            Level::District => None,
            Level::Town => Some(Level::District),
            Level::Community => Some(Level::Town),
            Level::Cell => Some(Level::Community),
        }
    }
}

/// A well-formed 14-digit region code and the level it names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode {
    code: String,
    level: Level,
}

/// Why a text is not a region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a 14-digit region code")]
pub struct MalformedCode(pub String);

impl RegionCode {
    pub fn parse(text: &str) -> Result<RegionCode, MalformedCode> {
        let level = level_of(text).ok_or_else(|| MalformedCode(text.to_string()))?;
        Ok(RegionCode {
            code: text.to_string(),
            level,
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.code
    }

    pub(crate) fn level(&self) -> Level {
        self.level
    }

    /// The digits every descendant shares (`440605011` for a town).
    pub(crate) fn prefix(&self) -> &str {
        &self.code[..self.level.prefix_len()]
    }

    /// Whether `code` names this region or lies within it. A malformed `code` is covered
    /// by nothing.
    pub(crate) fn covers(&self, code: &str) -> bool {
        code.len() == 14 && code.starts_with(self.prefix())
    }

    /// The region that directly contains this one.
    pub(crate) fn parent(&self) -> Option<RegionCode> {
        self.ancestor(self.level.parent()?)
    }

    /// The region at `level` that contains this one (itself at its own level); None below
    /// its own level.
    pub(crate) fn ancestor(&self, level: Level) -> Option<RegionCode> {
        if level > self.level {
            return None;
        }
        let keep = level.prefix_len();
        Some(RegionCode {
            code: format!("{}{}", &self.code[..keep], "0".repeat(14 - keep)),
            level,
        })
    }
}

/// The level a 14-digit code names, from where its zero padding starts; None for a
/// malformed code (wrong length, not digits, a zero county, or a zero part above a
/// non-zero one).
fn level_of(code: &str) -> Option<Level> {
    if code.len() != 14 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let zero = |range: std::ops::Range<usize>| code[range].bytes().all(|b| b == b'0');
    let parts = [zero(0..6), zero(6..9), zero(9..12), zero(12..14)];
    // The first zero part ends the code; every part after it must be zero too.
    let named = parts.iter().take_while(|z| !**z).count();
    if named == 0 || parts[named..].iter().any(|z| !z) {
        return None;
    }
    Some(match named {
        1 => Level::District,
        2 => Level::Town,
        3 => Level::Community,
        _ => Level::Cell,
    })
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

impl FromStr for RegionCode {
    type Err = MalformedCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegionCode::parse(s)
    }
}

impl AsRef<str> for RegionCode {
    fn as_ref(&self) -> &str {
        &self.code
    }
}

impl Serialize for RegionCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code)
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        RegionCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn codes_name_their_level_parent_and_prefix() {
        assert_eq!(code("44060500000000").level(), Level::District);
        assert_eq!(code("44060501100000").level(), Level::Town);
        assert_eq!(code("44060501100100").level(), Level::Community);
        assert_eq!(code("44060501100101").level(), Level::Cell);
        assert_eq!(code("44060501100000").prefix(), "440605011");
        assert_eq!(
            code("44060501100101").parent(),
            Some(code("44060501100100"))
        );
        assert_eq!(
            code("44060501100000").parent(),
            Some(code("44060500000000"))
        );
        assert_eq!(code("44060500000000").parent(), None);
        assert_eq!(
            code("44060501100102").ancestor(Level::Town),
            Some(code("44060501100000"))
        );
        assert_eq!(code("44060501100000").ancestor(Level::Cell), None);
    }

    #[test]
    fn malformed_codes_cannot_be_built() {
        for bad in [
            "",
            "4406050110010",
            "440605011001011",
            "44060500000101",
            "44060501100001",
            "00000000000000",
            "4406050110010a",
        ] {
            assert!(RegionCode::parse(bad).is_err(), "{bad:?} must not parse");
        }
        assert!(serde_json::from_str::<RegionCode>("\"4406050110010\"").is_err());
    }

    #[test]
    fn a_region_covers_its_descendants_only() {
        let town = code("44060501100000");
        assert!(town.covers("44060501100101"));
        assert!(town.covers("44060501100000"));
        assert!(!town.covers("44060512500101"));
        assert!(!town.covers("4406050110"), "a bare prefix is no code");
        assert!(code("44060501100101").covers("44060501100101"));
        assert!(!code("44060501100101").covers("44060501100102"));
    }
}
