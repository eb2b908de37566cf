//! Stored reports: the idempotent insert, flag settling, reads and lists.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::db::schema::{case_reports, report_photos, reports, users};
use crate::db::Conn;
use crate::db_run;
use crate::reports::model::{self, FlagInputs, FlagState, LicenceSeen, Report, StoredItem};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub struct ReportRow {
    pub id: String,
    pub inspector_id: i64,
    pub body_sha256: String,
    pub captured_at: i64,
    pub received_at: i64,
    pub lon: f64,
    pub lat: f64,
    pub accuracy_m: Option<f64>,
    pub reported_crs: String,
    pub cell_code: Option<String>,
    pub community_code: Option<String>,
    pub town_code: Option<String>,
    pub district_code: Option<String>,
    pub place_kind: Option<String>,
    pub place_name: Option<String>,
    pub place_address: Option<String>,
    pub enterprise_uscc: Option<String>,
    pub checklist_version: i32,
    pub items: String,
    pub failed_count: i32,
    pub licenses_seen: String,
    pub license_checks: String,
    pub note: Option<String>,
    pub flags: String,
    pub answer: String,
}

impl ReportRow {
    pub fn items(&self) -> Vec<StoredItem> {
        serde_json::from_str(&self.items).unwrap_or_default()
    }
    pub fn flags(&self) -> Vec<String> {
        serde_json::from_str(&self.flags).unwrap_or_default()
    }
    pub fn licenses_seen(&self) -> Vec<LicenceSeen> {
        serde_json::from_str(&self.licenses_seen).unwrap_or_default()
    }
}

pub fn find(conn: &mut Conn, id: &str) -> QueryResult<Option<ReportRow>> {
    // By key with get_result, which binds no LIMIT (SQLite re-prepares a bound LIMIT).
    db_run!(conn, |c| reports::table
        .find(id)
        .select(ReportRow::as_select())
        .get_result(c)
        .optional())
}

/// Where a report lies, from the locate index (all None outside the map).
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub cell: Option<String>,
    pub community: Option<String>,
    pub town: Option<String>,
    pub district: Option<String>,
}

/// A report as it is about to be stored.
pub struct NewReport<'a> {
    pub report: &'a Report,
    pub inspector: i64,
    pub body_sha256: &'a str,
    pub received_at: i64,
    pub at: &'a Placement,
    pub flags: &'a FlagState,
    pub license_checks: &'a Value,
    pub answer: &'a Value,
}

/// Inserts a new report with its photo references; the caller holds the transaction.
pub fn insert(conn: &mut Conn, new: &NewReport) -> QueryResult<()> {
    let NewReport {
        report,
        inspector,
        body_sha256,
        received_at,
        at,
        flags,
        license_checks,
        answer,
    } = *new;
    let items = serde_json::to_string(&report.items).expect("items serialise");
    let seen = serde_json::to_string(&report.licenses_seen).expect("licences serialise");
    db_run!(conn, |c| diesel::insert_into(reports::table)
        .values((
            (
                reports::id.eq(&report.id),
                reports::inspector_id.eq(inspector),
                reports::body_sha256.eq(body_sha256),
                reports::captured_at.eq(report.captured_at),
                reports::received_at.eq(received_at),
                reports::lon.eq(report.lon),
                reports::lat.eq(report.lat),
                reports::accuracy_m.eq(report.accuracy_m),
                reports::reported_crs.eq(match report.crs {
                    crate::grid::coords::Crs::Wgs84 => "wgs84",
                    crate::grid::coords::Crs::Gcj02 => "gcj02",
                }),
                reports::cell_code.eq(&at.cell),
                reports::community_code.eq(&at.community),
                reports::town_code.eq(&at.town),
            ),
            (
                reports::district_code.eq(&at.district),
                reports::place_kind.eq(&report.place_kind),
                reports::place_name.eq(&report.place_name),
                reports::place_address.eq(&report.place_address),
                reports::enterprise_uscc.eq(&report.enterprise_uscc),
                reports::checklist_version.eq(report.checklist_version),
                reports::items.eq(&items),
                reports::failed_count.eq(report.failed().count() as i32),
                reports::licenses_seen.eq(&seen),
                reports::license_checks.eq(license_checks.to_string()),
                reports::note.eq(&report.note),
                reports::flags.eq(serde_json::to_string(&flags.flags).expect("flags")),
                reports::answer.eq(answer.to_string()),
            ),
        ))
        .execute(c))?;
    // One prepared single-row INSERT per photo: a multi-row INSERT has a text per row
    // count, which diesel prepares afresh each time, and reports name only a few photos.
    for (sha, item) in report.photo_refs() {
        db_run!(conn, |c| diesel::insert_into(report_photos::table)
            .values((
                report_photos::report_id.eq(&report.id),
                report_photos::sha256.eq(&sha),
                report_photos::item_code.eq(&item),
            ))
            .execute(c))?;
    }
    Ok(())
}

/// The photos a report names at report level.
pub fn report_level_photos(conn: &mut Conn, id: &str) -> QueryResult<Vec<String>> {
    db_run!(conn, |c| report_photos::table
        .filter(report_photos::report_id.eq(id))
        .filter(report_photos::item_code.eq(""))
        .select(report_photos::sha256)
        .order(report_photos::sha256)
        .load(c))
}

/// The flags of a report as settled, and the photos it names at report level.
pub struct Settled {
    pub flags: FlagState,
    pub report_photos: Vec<String>,
}

/// The region a report outside the map belongs to: its inspector's first cell.
pub fn inspector_region(conn: &mut Conn, inspector: i64) -> QueryResult<Option<String>> {
    Ok(region_of(&crate::auth::store::cells_of(conn, inspector)?))
}

/// [`inspector_region`] from cells already read.
pub fn region_of(cells: &[String]) -> Option<String> {
    cells.first().cloned()
}

/// An inspector's cells, read on first use and kept in `seen`, so that settling many
/// reports reads each inspector's cells once.
pub fn cells_once<'a>(
    conn: &mut Conn,
    seen: &'a mut HashMap<i64, Vec<String>>,
    inspector: i64,
) -> QueryResult<&'a [String]> {
    Ok(match seen.entry(inspector) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(e) => e.insert(crate::auth::store::cells_of(conn, inspector)?),
    })
}

/// Recomputes a stored report's flags from the photos that have arrived, stores them if
/// they changed, and answers them with the photos still missing (and the report-level
/// photos it had to read anyway, so that a view does not read them again). `assigned` is
/// the inspector's cells, passed in so that callers settling many reports read them once.
pub fn settle_flags(conn: &mut Conn, row: &ReportRow, assigned: &[String]) -> QueryResult<Settled> {
    let items = row.items();
    let photos = report_level_photos(conn, &row.id)?;
    let mut named: Vec<String> = photos
        .iter()
        .chain(items.iter().flat_map(|i| i.photos.iter()))
        .cloned()
        .collect();
    named.sort();
    named.dedup();
    let arrived = crate::photos::store::arrived(conn, &named)?;
    let state = model::flags(
        &FlagInputs {
            captured_at: row.captured_at,
            received_at: row.received_at,
            lon: row.lon,
            lat: row.lat,
            cell: row.cell_code.as_deref(),
            assigned,
            items: &items,
            photos: &photos,
        },
        &arrived,
    );
    let text = serde_json::to_string(&state.flags).expect("flags");
    if text != row.flags {
        db_run!(conn, |c| diesel::update(reports::table.find(&row.id))
            .set(reports::flags.eq(&text))
            .execute(c))?;
    }
    Ok(Settled {
        flags: state,
        report_photos: photos,
    })
}

pub fn case_ids(conn: &mut Conn, report: &str) -> QueryResult<Vec<i64>> {
    db_run!(conn, |c| case_reports::table
        .filter(case_reports::report_id.eq(report))
        .select(case_reports::case_id)
        .distinct()
        .order(case_reports::case_id)
        .load(c))
}

#[derive(Debug, Default, Clone)]
pub struct ReportFilter {
    /// Code prefix every listed report's cell must start with ("" for all).
    pub region_prefix: String,
    /// Only this inspector's reports (an inspector's own view).
    pub inspector_id: Option<i64>,
    pub cell: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub flag: Option<String>,
}

/// Reports matching `filter`, newest capture first, after the cursor key
/// `(captured_at, id)`.
pub fn list(
    conn: &mut Conn,
    filter: &ReportFilter,
    after: Option<(i64, String)>,
    limit: i64,
) -> QueryResult<Vec<ReportRow>> {
    let region = format!("{}%", filter.region_prefix);
    // Boxed queries are per backend, so the filters are written once in a macro and the
    // query built inside each arm of db_run!.
    macro_rules! filtered {
        () => {{
            let mut q = reports::table.into_boxed();
            if !filter.region_prefix.is_empty() {
                // A report outside the map has no cell; it belongs to its inspector's region.
                q = q.filter(
                    reports::cell_code
                        .like(region.clone())
                        .or(reports::cell_code.is_null().and(
                            reports::inspector_id.eq_any(
                                users::table
                                    .filter(users::region_code.like(region.clone()))
                                    .select(users::id),
                            ),
                        )),
                );
            }
            if let Some(id) = filter.inspector_id {
                q = q.filter(reports::inspector_id.eq(id));
            }
            if let Some(cell) = &filter.cell {
                q = q.filter(reports::cell_code.eq(cell.clone()));
            }
            if let Some(from) = filter.from {
                q = q.filter(reports::captured_at.ge(from));
            }
            if let Some(to) = filter.to {
                q = q.filter(reports::captured_at.lt(to));
            }
            if let Some(flag) = &filter.flag {
                q = q.filter(reports::flags.like(format!("%\"{flag}\"%")));
            }
            if let Some((t, id)) = &after {
                q = q.filter(
                    reports::captured_at
                        .lt(*t)
                        .or(reports::captured_at.eq(*t).and(reports::id.lt(id.clone()))),
                );
            }
            q.order((reports::captured_at.desc(), reports::id.desc()))
                .limit(limit)
                .select(ReportRow::as_select())
        }};
    }
    db_run!(conn, |c| filtered!().load(c))
}

pub fn user_id(conn: &mut Conn, username: &str) -> QueryResult<Option<i64>> {
    db_run!(conn, |c| users::table
        .filter(users::username.eq(username))
        .select(users::id)
        .first(c)
        .optional())
}

/// The answer of a stored report, as first given.
pub fn stored_answer(row: &ReportRow) -> Value {
    serde_json::from_str(&row.answer).unwrap_or_else(|_| json!({"id": row.id}))
}
