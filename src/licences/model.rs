//! The licence cross-check: given a number read off a shop wall (and, when known, the
//! kind, where it was seen and the name on the sign), and what the library holds for it,
//! which verdicts apply. Pure: the lookup is the caller's.
//!
//! Verdicts are ordered by seriousness; the answer names the most serious and lists the
//! rest, so that an expired licence shown at the wrong address reports both.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::grid::coords::distance_m;
use crate::licences::numbers::{self, NumberError, NumberKind};

/// A licence seen farther than this from the registered address is misplaced.
pub(crate) const LOCATION_TOLERANCE_M: f64 = 300.0;

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
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub(crate) enum Verdict {
    // Declared from most to least serious: the derived order is the ranking.
    Malformed,
    BadCheckDigit,
    NotFound,
    Revoked,
    Cancelled,
    Suspended,
    Expired,
    KindMismatch,
    LocationMismatch,
    NameMismatch,
    Valid,
}

impl Verdict {
    pub(crate) fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Kinds of licence an enterprise holds.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub(crate) enum LicenceKind {
    /// Also read from `uscc`, the number it is printed with.
    #[strum(to_string = "business_licence", serialize = "uscc")]
    BusinessLicence,
    FoodBusiness,
    FoodProduction,
    TobaccoRetail,
    Hygiene,
}

impl LicenceKind {
    pub(crate) fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a kind; `uscc` is taken as the business licence it is printed on.
    pub(crate) fn parse(s: &str) -> Option<LicenceKind> {
        s.parse().ok()
    }

    /// The licence kind a number of this shape is printed on.
    fn of_number(kind: NumberKind) -> LicenceKind {
        match kind {
            NumberKind::Uscc | NumberKind::LegacyRegistration | NumberKind::OrganizationCode => {
                LicenceKind::BusinessLicence
            }
            NumberKind::FoodBusiness => LicenceKind::FoodBusiness,
            NumberKind::FoodProduction => LicenceKind::FoodProduction,
        }
    }

    /// Whether numbers of this kind have a published format we can check.
    fn has_format(self) -> bool {
        matches!(
            self,
            LicenceKind::BusinessLicence | LicenceKind::FoodBusiness | LicenceKind::FoodProduction
        )
    }
}

/// How a number reads before any lookup.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reading {
    /// Normalised (full-width folded, spaces and dashes removed, upper case).
    pub number: String,
    /// The kind the number is (by its shape), or the claimed kind when it has no format.
    pub kind: Option<LicenceKind>,
    /// Verdicts found from the number alone.
    pub verdicts: Vec<Verdict>,
    pub reason: Option<String>,
}

impl Reading {
    /// Whether a lookup makes sense: a malformed or mis-checked number is not looked up.
    pub(crate) fn lookup_worthy(&self) -> bool {
        !self
            .verdicts
            .iter()
            .any(|v| matches!(v, Verdict::Malformed | Verdict::BadCheckDigit))
    }
}

/// Reads a number as presented, with the kind the inspector claims for it (if any).
pub(crate) fn read_number(raw: &str, claimed: Option<LicenceKind>) -> Reading {
    let number = numbers::normalise(raw);
    let shape = numbers::detect_kind(&number);
    let mut reading = Reading {
        number: number.clone(),
        kind: claimed,
        verdicts: Vec::new(),
        reason: None,
    };
    let Some(shape) = shape else {
        // No known shape: fine for kinds without a format (tobacco, hygiene), which are
        // only looked up; a business or food licence number must have one.
        if claimed.is_none_or(|k| k.has_format()) {
            reading.verdicts.push(Verdict::Malformed);
            reading.reason = Some("not the shape of any licence number (USCC, JY, SC ...)".into());
        }
        return reading;
    };
    match numbers::validate(&number, Some(shape)) {
        Ok((_, normalised)) => reading.number = normalised,
        Err(NumberError::BadCheckDigit { expected, found }) => {
            reading.verdicts.push(Verdict::BadCheckDigit);
            reading.reason = Some(format!(
                "check character is {found}, the rule gives {expected}"
            ));
        }
        Err(e) => {
            reading.verdicts.push(Verdict::Malformed);
            reading.reason = Some(e.to_string());
        }
    }
    let actual = LicenceKind::of_number(shape);
    reading.kind = Some(actual);
    if let Some(claimed) = claimed {
        if claimed != actual && reading.lookup_worthy() {
            reading.verdicts.push(Verdict::KindMismatch);
            reading.reason.get_or_insert_with(|| {
                format!(
                    "a {} number presented as a {}",
                    actual.as_str(),
                    claimed.as_str()
                )
            });
        }
    }
    reading
}

/// What the library holds for a number.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub enterprise_status: String,
    pub enterprise_name: String,
    pub lon: f64,
    pub lat: f64,
    pub cell: Option<String>,
    /// The licence row, when the number is one: kind, status, valid_to (YYYY-MM-DD).
    pub licence: Option<(LicenceKind, String, String)>,
}

/// Where and under which name the number was seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    pub at: Option<(f64, f64)>,
    pub cell: Option<String>,
    pub name: Option<String>,
}

/// Every verdict that applies, most serious first (never empty: `valid` when none).
pub(crate) fn verdicts(
    reading: &Reading,
    found: Option<&Found>,
    seen: &Seen,
    today: &str,
) -> (Vec<Verdict>, Option<f64>) {
    let mut out = reading.verdicts.clone();
    let mut distance = None;
    if reading.lookup_worthy() {
        match found {
            None => out.push(Verdict::NotFound),
            Some(f) => {
                match f.enterprise_status.as_str() {
                    "revoked" => out.push(Verdict::Revoked),
                    "cancelled" => out.push(Verdict::Cancelled),
                    "suspended" => out.push(Verdict::Suspended),
                    _ => {}
                }
                // A licence of a closed-down enterprise is void with it: its status says
                // nothing more than the enterprise's own.
                let enterprise_active = f.enterprise_status == "active";
                if let Some((kind, status, valid_to)) = &f.licence {
                    match status.as_str() {
                        _ if !enterprise_active => {}
                        "revoked" => out.push(Verdict::Revoked),
                        "suspended" => out.push(Verdict::Suspended),
                        "expired" => out.push(Verdict::Expired),
                        _ if valid_to.as_str() < today => out.push(Verdict::Expired),
                        _ => {}
                    }
                    if reading.kind.is_some_and(|k| k != *kind) {
                        out.push(Verdict::KindMismatch);
                    }
                }
                if let Some((lon, lat)) = seen.at {
                    let d = distance_m(lon, lat, f.lon, f.lat);
                    distance = Some(d);
                    let other_cell = matches!((&seen.cell, &f.cell), (Some(a), Some(b)) if a != b);
                    if d > LOCATION_TOLERANCE_M || other_cell {
                        out.push(Verdict::LocationMismatch);
                    }
                }
                if let Some(name) = &seen.name {
                    if !names_match(name, &f.enterprise_name) {
                        out.push(Verdict::NameMismatch);
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        out.push(Verdict::Valid);
    }
    (out, distance)
}

/// Whether the name on a sign is the registered name: signs drop the city and district
/// prefix and the 个体工商户 suffix, so the two match when one, so reduced, contains the
/// other.
pub(crate) fn names_match(seen: &str, registered: &str) -> bool {
    let (a, b) = (core_name(seen), core_name(registered));
    !a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a))
}

fn core_name(name: &str) -> String {
    let mut s: String = numbers::normalise(name)
        .chars()
        .filter(|c| !c.is_whitespace() && !"（）()·.,，。、'\"“”‘’".contains(*c))
        .collect::<String>()
        .to_lowercase();
    for suffix in ["个体工商户"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            s = rest.to_string();
        }
    }
    for prefix in ["广东省", "佛山市", "南海区"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const USCC: &str = "91350100M000100Y43";

    fn found(status: &str, licence: Option<(LicenceKind, &str, &str)>) -> Found {
        Found {
            enterprise_status: status.into(),
            enterprise_name: "佛山市南海区桂城灯湖便利店".into(),
            lon: 113.1215,
            lat: 23.0205,
            cell: Some("44060501100101".into()),
            licence: licence.map(|(k, s, v)| (k, s.into(), v.into())),
        }
    }

    fn names(v: &[Verdict]) -> Vec<&'static str> {
        v.iter().map(|v| v.as_str()).collect()
    }

    #[test]
    fn a_valid_licence_where_it_belongs() {
        let r = read_number(" 9135 0100-M000 100Y43 ", None);
        assert_eq!(r.number, USCC);
        let f = found(
            "active",
            Some((LicenceKind::BusinessLicence, "valid", "9999-12-31")),
        );
        let seen = Seen {
            at: Some((113.1216, 23.0206)),
            cell: Some("44060501100101".into()),
            name: Some("灯湖便利店".into()),
        };
        let (v, d) = verdicts(&r, Some(&f), &seen, "2026-11-28");
        assert_eq!(names(&v), vec!["valid"]);
        assert!(d.unwrap() < 20.0);
    }

    #[test]
    fn corrupt_numbers_are_not_looked_up() {
        let r = read_number("91350100M000100Y44", None);
        assert_eq!(names(&r.verdicts), vec!["bad_check_digit"]);
        let (v, _) = verdicts(&r, None, &Seen::default(), "2026-11-28");
        assert_eq!(names(&v), vec!["bad_check_digit"]);
        // O for 0 is malformed, never repaired.
        assert_eq!(
            names(&read_number("9135O100M000100Y43", None).verdicts),
            vec!["malformed"]
        );
        assert_eq!(
            names(&read_number("hello", None).verdicts),
            vec!["malformed"]
        );
        // A tobacco licence has no published format: no verdict from the number alone.
        assert!(
            read_number("440605123456", Some(LicenceKind::TobaccoRetail))
                .verdicts
                .is_empty()
        );
    }

    #[test]
    fn the_most_serious_comes_first_and_the_rest_follow() {
        let r = read_number(USCC, Some(LicenceKind::FoodBusiness));
        assert_eq!(names(&r.verdicts), vec!["kind_mismatch"]);
        let f = found(
            "revoked",
            Some((LicenceKind::BusinessLicence, "revoked", "9999-12-31")),
        );
        let seen = Seen {
            at: Some((113.1300, 23.0205)),
            cell: Some("44060501100102".into()),
            name: Some("顺景五金店".into()),
        };
        let (v, d) = verdicts(&r, Some(&f), &seen, "2026-11-28");
        assert_eq!(
            names(&v),
            vec![
                "revoked",
                "kind_mismatch",
                "location_mismatch",
                "name_mismatch"
            ]
        );
        assert!(d.unwrap() > 800.0);
    }

    #[test]
    fn expiry_by_date_or_status() {
        let r = read_number("JY24406050000012", Some(LicenceKind::FoodBusiness));
        assert!(r.verdicts.is_empty(), "{r:?}");
        let f = found(
            "active",
            Some((LicenceKind::FoodBusiness, "valid", "2026-11-27")),
        );
        assert_eq!(
            names(&verdicts(&r, Some(&f), &Seen::default(), "2026-11-28").0),
            vec!["expired"]
        );
        let f = found(
            "active",
            Some((LicenceKind::FoodBusiness, "valid", "2026-11-28")),
        );
        assert_eq!(
            names(&verdicts(&r, Some(&f), &Seen::default(), "2026-11-28").0),
            vec!["valid"]
        );
        let (v, _) = verdicts(&r, None, &Seen::default(), "2026-11-28");
        assert_eq!(names(&v), vec!["not_found"]);
    }

    #[test]
    fn sign_names() {
        assert!(names_match("灯湖便利店", "佛山市南海区桂城灯湖便利店"));
        assert!(names_match(
            "佛山市南海区大沥黄岐顺景五金店（个体工商户）",
            "佛山市南海区大沥黄岐顺景五金店"
        ));
        assert!(!names_match("和顺铝材厂", "佛山市南海区桂城灯湖便利店"));
    }
}
