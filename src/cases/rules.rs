//! Which case a finding opens: for a failed checklist item, the item's own category,
//! department, tier and time limit; for a licence verdict, the checklist item, department,
//! tier and category the verdict is routed to. Pure: no I/O.

use std::collections::HashMap;

use crate::cases::store::{CaseSeed, Dedup};
use crate::checklist::model::{ChecklistItem, Tier};
use crate::grid::index::Placement;
use crate::licences::model::Verdict;

const HOUR_US: i64 = 3_600_000_000;

/// Where and by whom a finding was made: a report's position, its routing (the containing
/// regions; for a report outside the map, its inspector's), and what it names.
#[derive(Debug, Clone)]
pub(crate) struct Spot {
    pub report_id: String,
    pub inspector: i64,
    pub lon: f64,
    pub lat: f64,
    pub routing: Placement,
    /// The place's name, else its address.
    pub place: Option<String>,
    pub enterprise_uscc: Option<String>,
}

/// The case of a failed item, joined to an active case of the same item nearby.
pub(crate) fn item_case(
    spot: &Spot,
    item: &ChecklistItem,
    note: Option<&str>,
    now: i64,
) -> (CaseSeed, Dedup) {
    let title = match spot.place.as_deref().filter(|p| !p.is_empty()) {
        Some(place) => format!("{}（{}）", item.title_zh, place),
        None => item.title_zh.clone(),
    };
    let seed = CaseSeed {
        source: "report_item",
        item_code: Some(item.code.clone()),
        category: item.category.clone(),
        title,
        description: note.map_or_else(|| item.title_en.clone(), str::to_string),
        tier: item.tier,
        department: item.department.clone(),
        priority: item.severity.clone(),
        due_at: now + item.time_limit_hours as i64 * HOUR_US,
        enterprise_uscc: spot.enterprise_uscc.clone(),
        report: Some((spot.report_id.clone(), item.code.clone())),
        ..located(spot)
    };
    (seed, Dedup::NearbySameItem)
}

/// Where a licence finding goes: every one is a 证照核查 case of market supervision at the
/// town centre, on the checklist item of its verdict.
pub(crate) struct LicenceRoute {
    pub item_code: &'static str,
    pub department: &'static str,
    pub tier: Tier,
    pub category: &'static str,
}

pub(crate) fn licence_route(verdict: Verdict) -> LicenceRoute {
    let item_code = match verdict {
        Verdict::Malformed | Verdict::BadCheckDigit | Verdict::KindMismatch => "MK-002",
        Verdict::NotFound => "MK-010",
        Verdict::Revoked | Verdict::Cancelled | Verdict::Suspended => "MK-009",
        Verdict::Expired => "MK-003",
        Verdict::LocationMismatch => "MK-007",
        Verdict::NameMismatch => "MK-006",
        Verdict::Valid => "MK-001",
    };
    LicenceRoute {
        item_code,
        department: "market",
        tier: Tier::Town,
        category: "证照核查",
    }
}

/// What a licence check found, as far as its case needs it.
pub(crate) struct LicenceFinding<'a> {
    /// The number as normalised.
    pub number: &'a str,
    /// The number as read off the wall.
    pub as_read: &'a str,
    pub verdict: Verdict,
    pub also: &'a [Verdict],
    pub reason: Option<&'a str>,
    /// The enterprise the number belongs to: its USCC and name.
    pub enterprise: Option<(&'a str, &'a str)>,
}

/// The case of a licence finding that is not `valid`: one per enterprise (joined to its
/// active licence case), or, for a number the library does not know, per place.
pub(crate) fn licence_case(
    spot: &Spot,
    finding: &LicenceFinding,
    checklist: &HashMap<String, ChecklistItem>,
    now: i64,
) -> (CaseSeed, Dedup) {
    let route = licence_route(finding.verdict);
    let item = checklist.get(route.item_code);
    let subject = finding
        .enterprise
        .map(|(_, name)| name.to_string())
        .or_else(|| spot.place.clone())
        .unwrap_or_else(|| finding.as_read.to_string());
    let mut verdicts = vec![finding.verdict.as_str()];
    verdicts.extend(finding.also.iter().map(|v| v.as_str()));
    let seed = CaseSeed {
        source: "licence_check",
        item_code: Some(route.item_code.to_string()),
        category: route.category.into(),
        title: format!(
            "证照核查：{}（{}）",
            item.map_or("证照异常", |i| i.title_zh.as_str()),
            subject
        ),
        description: format!(
            "licence {} read on site: {}{}",
            finding.as_read,
            verdicts.join(", "),
            finding
                .reason
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        tier: route.tier,
        department: route.department.into(),
        priority: item.map_or("high".to_string(), |i| i.severity.clone()),
        due_at: now + item.map_or(72, |i| i.time_limit_hours as i64) * HOUR_US,
        enterprise_uscc: finding.enterprise.map(|(uscc, _)| uscc.to_string()),
        report: Some((
            spot.report_id.clone(),
            format!("licence:{}", finding.number),
        )),
        ..located(spot)
    };
    let dedup = match finding.enterprise {
        Some(_) => Dedup::SameEnterprise,
        None => Dedup::NearbySameItem,
    };
    (seed, dedup)
}

/// The part of a seed every finding of a spot shares.
fn located(spot: &Spot) -> CaseSeed {
    let r = &spot.routing;
    CaseSeed {
        source: "report_item",
        item_code: None,
        category: String::new(),
        title: String::new(),
        description: String::new(),
        lon: spot.lon,
        lat: spot.lat,
        cell: r.cell.clone(),
        community: r.community.clone().unwrap_or_default(),
        town: r.town.clone().unwrap_or_default(),
        district: r.district.clone().unwrap_or_default(),
        tier: Tier::Town,
        department: String::new(),
        priority: String::new(),
        due_at: 0,
        enterprise_uscc: None,
        report: None,
        actor: Some((spot.inspector, "inspector")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spot() -> Spot {
        Spot {
            report_id: "1f0c6a4e-9b7d-4c1e-8d2a-5b3f7e9a0c11".into(),
            inspector: 3,
            lon: 113.1258,
            lat: 23.0153,
            routing: Placement {
                cell: Some("44060501100101".into()),
                community: Some("44060501100100".into()),
                town: Some("44060501100000".into()),
                district: Some("44060500000000".into()),
            },
            place: Some("桂城灯湖便利店".into()),
            enterprise_uscc: None,
        }
    }

    #[test]
    fn a_licence_finding_goes_to_market_supervision_at_the_town() {
        let finding = LicenceFinding {
            number: "91440605MA4UJ0PX2K",
            as_read: "91440605MA4UJ0PX2K",
            verdict: Verdict::Expired,
            also: &[Verdict::LocationMismatch],
            reason: None,
            enterprise: Some(("91440605MA4UJ0PX2K", "佛山市南海区灯湖便利店")),
        };
        let (seed, dedup) = licence_case(&spot(), &finding, &HashMap::new(), 0);
        assert_eq!(dedup, Dedup::SameEnterprise);
        assert_eq!(seed.item_code.as_deref(), Some("MK-003"));
        assert_eq!(
            (seed.department.as_str(), seed.tier),
            ("market", Tier::Town)
        );
        assert_eq!(seed.category, "证照核查");
        assert!(
            seed.title.contains("佛山市南海区灯湖便利店"),
            "{}",
            seed.title
        );
        assert!(seed.description.contains("expired, location_mismatch"));
        assert_eq!(seed.due_at, 72 * HOUR_US);
        assert_eq!(seed.town, "44060501100000");
    }
}
