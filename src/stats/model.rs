//! The statistics' rules: who may ask for which region, the time window of a question, and
//! the formulas that turn the counts the database aggregates into rates and hours. Pure: no
//! I/O, no clock (the caller passes `now`).
//!
//! The formulas are documented once, in docs/statistics.md; the doc comments on
//! [`DepartmentStats`] repeat them for the OpenAPI document. Counting itself is not done
//! here but in SQL (`stats::store`), so that nothing loads every case into memory.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Principal, Role};
use crate::region::RegionCode;

/// Microseconds in an hour.
const HOUR_US: i64 = 3_600_000_000;
/// The window when a question names neither end: the last 30 days.
pub(crate) const DEFAULT_WINDOW_US: i64 = 30 * 24 * HOUR_US;

/// The roles that read statistics.
pub(crate) const READERS: [Role; 3] = [Role::Supervisor, Role::Admin, Role::Dispatcher];

/// Why a question cannot be answered: a bad parameter (400) or a region outside the
/// caller's (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{message}")]
    BadParameter {
        parameter: &'static str,
        message: String,
    },
    #[error("{0}")]
    Forbidden(String),
}

/// The half-open time window `[from, to)` a question is about, microseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: i64,
    pub to: i64,
}

impl Window {
    /// The window of `from`/`to` as given (RFC 3339 with an offset). A missing end defaults
    /// so that the window is the 30 days before `to`, or before `now` when neither is given.
    pub(crate) fn parse(from: Option<&str>, to: Option<&str>, now: i64) -> Result<Window, Refusal> {
        let time = |parameter: &'static str, text: Option<&str>| {
            text.map(|t| {
                crate::clock::parse_rfc3339(t).ok_or_else(|| Refusal::BadParameter {
                    parameter,
                    message: format!("{parameter} must be RFC 3339 with an offset, not {t:?}"),
                })
            })
            .transpose()
        };
        let (from, to) = (time("from", from)?, time("to", to)?);
        let to = to.unwrap_or(now);
        let from = from.unwrap_or(to.saturating_sub(DEFAULT_WINDOW_US));
        if from >= to {
            return Err(Refusal::BadParameter {
                parameter: "from",
                message: "from must be earlier than to".into(),
            });
        }
        Ok(Window { from, to })
    }
}

/// The cases a question covers: those located in an area, or everywhere (an admin who
/// names no region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Coverage {
    Everywhere,
    Area(RegionCode),
}

impl Coverage {
    /// The code prefix of the cells covered (empty for everywhere).
    pub(crate) fn cell_prefix(&self) -> String {
        match self {
            Coverage::Everywhere => String::new(),
            Coverage::Area(area) => area.prefix().to_string(),
        }
    }

    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            Coverage::Everywhere => None,
            Coverage::Area(area) => Some(area.as_str()),
        }
    }
}

/// What `who` may ask about: the region named (which must lie within theirs), or by default
/// their own region. Supervisors, admins and dispatchers only.
pub(crate) fn coverage(who: &Principal, region: Option<&str>) -> Result<Coverage, Refusal> {
    if !READERS.contains(&who.role) {
        return Err(Refusal::Forbidden(format!(
            "a {} may not read statistics; supervisors, admins and dispatchers may",
            who.role.as_str()
        )));
    }
    match region {
        Some(code) => {
            let area = RegionCode::parse(code).map_err(|e| Refusal::BadParameter {
                parameter: "region",
                message: e.to_string(),
            })?;
            if !who.may_see(code) {
                return Err(Refusal::Forbidden(format!(
                    "region {code} lies outside your region"
                )));
            }
            Ok(Coverage::Area(area))
        }
        None if who.role == Role::Admin => Ok(Coverage::Everywhere),
        None => who
            .region
            .clone()
            .map(Coverage::Area)
            .ok_or_else(|| Refusal::Forbidden("your account names no region".into())),
    }
}

/// What the database counts for one department (see docs/statistics.md for each).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DepartmentCounts {
    pub received: i64,
    pub closed: i64,
    pub closed_on_time: i64,
    /// The median of (closed_at − first dispatch in the window), microseconds.
    pub median_close_us: Option<f64>,
    pub open_overdue: i64,
    pub reopened: i64,
    pub declined: i64,
    pub extended: i64,
}

/// One department's performance over a window. Every count is over the cases located in
/// the region asked about.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct DepartmentStats {
    /// Department code.
    pub department: String,
    pub name: String,
    /// Cases dispatched (派遣, or 改派 after a decline) to the department at least once within
    /// `[from, to)`, counted once per case.
    pub received: i64,
    /// Of the received cases, those closed (核查结案) while with this department, at any
    /// time up to now.
    pub closed: i64,
    /// Of the closed cases, those closed at or before the `due_at` in force when they closed
    /// (an approved 延期 moves it).
    pub closed_on_time: i64,
    /// 按期结案率: closed_on_time / received, rounded to 4 decimals; null when nothing was
    /// received.
    pub on_time_closure_rate: Option<f64>,
    /// 结案率: closed / received, rounded to 4 decimals; null when nothing was received.
    pub closure_rate: Option<f64>,
    /// The median, over the closed cases, of the hours from the case's first dispatch to
    /// the department within the window to its closing; 2 decimals; null when none closed.
    pub median_hours_to_close: Option<f64>,
    /// A snapshot at `as_of`, whatever the window: cases now dispatched to or in progress
    /// at the department and past their due time (marked overdue by the task or not yet).
    pub open_overdue: i64,
    /// 返工: failed verifications of the department's work within the window (events, so a
    /// case failed twice counts twice).
    pub reopened: i64,
    /// 回退: cases the department sent back as not its own within the window (events).
    pub declined: i64,
    /// 延期: extensions approved to the department within the window (events).
    pub extended: i64,
}

/// `numerator / denominator` rounded to 4 decimals; None when the denominator is 0.
pub(crate) fn rate(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| round_to(numerator as f64 / denominator as f64, 4))
}

/// Microseconds as hours, rounded to 2 decimals.
pub(crate) fn hours(micros: f64) -> f64 {
    round_to(micros / HOUR_US as f64, 2)
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Applies the formulas to what the database counted.
pub(crate) fn department_stats(
    department: String,
    name: String,
    c: &DepartmentCounts,
) -> DepartmentStats {
    DepartmentStats {
        department,
        name,
        received: c.received,
        closed: c.closed,
        closed_on_time: c.closed_on_time,
        on_time_closure_rate: rate(c.closed_on_time, c.received),
        closure_rate: rate(c.closed, c.received),
        median_hours_to_close: c.median_close_us.map(hours),
        open_overdue: c.open_overdue,
        reopened: c.reopened,
        declined: c.declined,
        extended: c.extended,
    }
}

/// Every department in `departments` (code, name) order with its statistics, those that
/// counted nothing included; a department the counts name but the list lacks comes last.
pub(crate) fn department_report(
    departments: Vec<(String, String)>,
    mut counts: HashMap<String, DepartmentCounts>,
) -> Vec<DepartmentStats> {
    let mut report: Vec<DepartmentStats> = departments
        .into_iter()
        .map(|(code, name)| {
            let c = counts.remove(&code).unwrap_or_default();
            department_stats(code, name, &c)
        })
        .collect();
    let mut rest: Vec<(String, DepartmentCounts)> = counts.into_iter().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    report.extend(
        rest.into_iter()
            .map(|(code, c)| department_stats(code.clone(), code, &c)),
    );
    report
}

/// The cases of one cell within a window, by category (the hot spots).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CellStats {
    pub code: String,
    pub name: String,
    pub total: i64,
    /// Category code → cases; categories without cases are left out.
    pub by_category: BTreeMap<String, i64>,
}

/// Every cell of `cells` (code, name) with its counts (cell, category, cases); cells
/// without cases have a total of 0. Counts of cells not in the list (removed from the map
/// since) are dropped: there is no shape to show them on.
pub(crate) fn cell_report(
    cells: Vec<(String, String)>,
    counts: Vec<(String, String, i64)>,
) -> Vec<CellStats> {
    let mut by_cell: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    for (cell, category, n) in counts {
        *by_cell
            .entry(cell)
            .or_default()
            .entry(category)
            .or_default() += n;
    }
    cells
        .into_iter()
        .map(|(code, name)| {
            let by_category = by_cell.remove(&code).unwrap_or_default();
            CellStats {
                total: by_category.values().sum(),
                code,
                name,
                by_category,
            }
        })
        .collect()
}

/// The CSV header of the department statistics, in the order of [`department_row`].
pub(crate) const DEPARTMENT_CSV_HEADER: [&str; 12] = [
    "department",
    "name",
    "received",
    "closed",
    "closed_on_time",
    "on_time_closure_rate",
    "closure_rate",
    "median_hours_to_close",
    "open_overdue",
    "reopened",
    "declined",
    "extended",
];

/// One CSV row of department statistics; an absent rate or median is an empty field.
pub(crate) fn department_row(s: &DepartmentStats) -> Vec<String> {
    let optional = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    vec![
        s.department.clone(),
        s.name.clone(),
        s.received.to_string(),
        s.closed.to_string(),
        s.closed_on_time.to_string(),
        optional(s.on_time_closure_rate),
        optional(s.closure_rate),
        optional(s.median_hours_to_close),
        s.open_overdue.to_string(),
        s.reopened.to_string(),
        s.declined.to_string(),
        s.extended.to_string(),
    ]
}

/// The CSV header of the cell statistics: one row per cell and category.
pub(crate) const CELL_CSV_HEADER: [&str; 4] = ["cell", "name", "category", "cases"];

/// Whether an `Accept` header asks for CSV.
#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000_000;

    fn principal(role: Role, region: Option<&str>) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            role,
            region: region.map(|r| RegionCode::parse(r).unwrap()),
            department: None,
            cells: Vec::new(),
            token_hash: String::new(),
        }
    }

    #[test]
    fn rates_round_to_four_decimals_and_are_null_without_a_denominator() {
        assert_eq!(rate(2, 3), Some(0.6667));
        assert_eq!(rate(1, 8), Some(0.125));
        assert_eq!(rate(0, 5), Some(0.0));
        assert_eq!(rate(3, 3), Some(1.0));
        assert_eq!(rate(0, 0), None);
        assert_eq!(hours(5_400_000_000.0), 1.5);
        assert_eq!(hours(1_000_000_000.0), 0.28);
    }

    #[test]
    fn formulas_follow_the_counts() {
        let counts = DepartmentCounts {
            received: 4,
            closed: 3,
            closed_on_time: 1,
            median_close_us: Some(2.0 * 3_600_000_000.0),
            open_overdue: 2,
            reopened: 1,
            declined: 1,
            extended: 0,
        };
        let s = department_stats("fire".into(), "消防".into(), &counts);
        assert_eq!(s.closure_rate, Some(0.75));
        assert_eq!(s.on_time_closure_rate, Some(0.25));
        assert_eq!(s.median_hours_to_close, Some(2.0));
        let none = department_stats("x".into(), "x".into(), &DepartmentCounts::default());
        assert_eq!(
            (none.closure_rate, none.median_hours_to_close),
            (None, None)
        );
        assert_eq!(
            department_row(&none)[5..8],
            ["".to_string(), "".to_string(), "".to_string()]
        );
        assert_eq!(department_row(&s).len(), DEPARTMENT_CSV_HEADER.len());
    }

    #[test]
    fn the_window_defaults_to_thirty_days_and_must_not_be_empty() {
        let w = Window::parse(None, None, NOW).unwrap();
        assert_eq!((w.from, w.to), (NOW - DEFAULT_WINDOW_US, NOW));
        let to = "2026-11-28T00:00:00+08:00";
        let t = crate::clock::parse_rfc3339(to).unwrap();
        let w = Window::parse(None, Some(to), NOW).unwrap();
        assert_eq!((w.from, w.to), (t - DEFAULT_WINDOW_US, t));
        let w = Window::parse(Some(to), None, NOW).unwrap();
        assert_eq!((w.from, w.to), (t, NOW));
        for (from, to) in [
            (Some(to), Some(to)),
            (Some("2026-11-29T00:00:00+08:00"), Some(to)),
        ] {
            let e = Window::parse(from, to, NOW).unwrap_err();
            assert!(
                matches!(
                    e,
                    Refusal::BadParameter {
                        parameter: "from",
                        ..
                    }
                ),
                "{e:?}"
            );
        }
        let e = Window::parse(Some("yesterday"), None, NOW).unwrap_err();
        assert!(matches!(
            e,
            Refusal::BadParameter {
                parameter: "from",
                ..
            }
        ));
        let e = Window::parse(None, Some("2026-11-28T00:00:00"), NOW).unwrap_err();
        assert!(matches!(
            e,
            Refusal::BadParameter {
                parameter: "to",
                ..
            }
        ));
    }

    #[test]
    fn coverage_stays_within_the_callers_region() {
        let town = principal(Role::Dispatcher, Some("44060501100000"));
        assert_eq!(
            coverage(&town, None).unwrap().code(),
            Some("44060501100000")
        );
        let community = coverage(&town, Some("44060501100100")).unwrap();
        assert_eq!(community.cell_prefix(), "440605011001");
        assert!(matches!(
            coverage(&town, Some("44060512500000")),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            coverage(&town, Some("44060500000000")),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            coverage(&town, Some("4406")),
            Err(Refusal::BadParameter {
                parameter: "region",
                ..
            })
        ));
        let admin = principal(Role::Admin, None);
        assert_eq!(coverage(&admin, None), Ok(Coverage::Everywhere));
        assert_eq!(Coverage::Everywhere.cell_prefix(), "");
        for role in [Role::Inspector, Role::Handler] {
            assert!(matches!(
                coverage(&principal(role, Some("44060501100000")), None),
                Err(Refusal::Forbidden(_))
            ));
        }
        assert!(matches!(
            coverage(&principal(Role::Supervisor, None), None),
            Err(Refusal::Forbidden(_))
        ));
    }

    #[test]
    fn every_department_and_cell_is_listed_zeros_included() {
        let mut counts = HashMap::new();
        counts.insert(
            "market".to_string(),
            DepartmentCounts {
                received: 2,
                closed: 1,
                ..Default::default()
            },
        );
        counts.insert("zz".to_string(), DepartmentCounts::default());
        let report = department_report(
            vec![
                ("fire".into(), "消防".into()),
                ("market".into(), "市场".into()),
            ],
            counts,
        );
        let codes: Vec<&str> = report.iter().map(|d| d.department.as_str()).collect();
        assert_eq!(codes, ["fire", "market", "zz"]);
        assert_eq!((report[0].received, report[0].closure_rate), (0, None));
        assert_eq!(report[1].closure_rate, Some(0.5));

        let cells = cell_report(
            vec![("c1".into(), "一".into()), ("c2".into(), "二".into())],
            vec![
                ("c1".into(), "fire_safety".into(), 2),
                ("c1".into(), "other".into(), 1),
                ("gone".into(), "other".into(), 5),
            ],
        );
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[0].total, 3);
        assert_eq!(cells[0].by_category["fire_safety"], 2);
        assert_eq!((cells[1].total, cells[1].by_category.len()), (0, 0));
    }
}
