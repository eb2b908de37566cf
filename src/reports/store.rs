//! Stored reports: the idempotent insert, flag settling, reads and lists.

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::db::cached::Sql;
use crate::db::schema::{case_reports, photos, report_photos, reports, users};
use crate::db::Conn;
use crate::db_run;
use crate::grid::index::Placement;
use crate::reports::model::{
    self, Evidence, FlagState, LicenceSeen, PhotoFacts, Report, StoredItem,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub(crate) struct ReportRow {
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
    pub licenses_seen: String,
    pub license_checks: String,
    pub note: Option<String>,
    pub flags: String,
    pub answer: String,
}

impl ReportRow {
    pub(crate) fn items(&self) -> Vec<StoredItem> {
        serde_json::from_str(&self.items).unwrap_or_default()
    }
    pub(crate) fn licenses_seen(&self) -> Vec<LicenceSeen> {
        serde_json::from_str(&self.licenses_seen).unwrap_or_default()
    }
}

pub(crate) fn find(conn: &mut Conn, id: &str) -> QueryResult<Option<ReportRow>> {
    // By key with get_result, which binds no LIMIT (SQLite re-prepares a bound LIMIT).
    db_run!(conn, |c| reports::table
        .find(id)
        .select(ReportRow::as_select())
        .get_result(c)
        .optional())
}

/// A report as it is about to be stored.
pub(crate) struct NewReport<'a> {
    pub report: &'a Report,
    pub inspector: i64,
    pub body_sha256: &'a str,
    pub received_at: i64,
    pub at: &'a Placement,
    pub flags: &'a FlagState,
    pub license_checks: &'a Value,
    pub answer: &'a Value,
}

/// The INSERT of a new report, its columns in the order [`insert`] binds them (a macro, so
/// that both backends' fixed texts are built from it at compile time).
macro_rules! report_insert {
    () => {
        "INSERT INTO reports (id, inspector_id, body_sha256, captured_at, received_at, lon, \
         lat, accuracy_m, reported_crs, cell_code, community_code, town_code, district_code, \
         place_kind, place_name, place_address, enterprise_uscc, checklist_version, items, \
         failed_count, licenses_seen, license_checks, note, flags, answer) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO NOTHING"
    };
}

/// Inserts a new report with its photo references; the caller holds the transaction.
/// Answers false, having written nothing, when a report with this id is stored already (a
/// retry, or an identical request that won a race).
pub(crate) fn insert(conn: &mut Conn, new: &NewReport) -> QueryResult<bool> {
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
    let json = |v: Result<String, serde_json::Error>| v.expect("stored JSON serialises");
    let row = |text: &'static str| {
        Sql::<diesel::sql_types::BigInt>::new(text)
            .bind(report.id.as_str())
            .bind(inspector)
            .bind(body_sha256)
            .bind(report.captured_at)
            .bind(received_at)
            .bind(report.lon)
            .bind(report.lat)
            .bind(report.accuracy_m)
            .bind(report.crs.as_str())
            .bind(at.cell.clone())
            .bind(at.community.clone())
            .bind(at.town.clone())
            .bind(at.district.clone())
            .bind(report.place_kind.clone())
            .bind(report.place_name.clone())
            .bind(report.place_address.clone())
            .bind(report.enterprise_uscc.clone())
            .bind(report.checklist_version)
            .bind(json(serde_json::to_string(&report.items)))
            .bind(report.failed().count() as i32)
            .bind(json(serde_json::to_string(&report.licenses_seen)))
            .bind(license_checks.to_string())
            .bind(report.note.clone())
            .bind(json(serde_json::to_string(&flags.flags)))
            .bind(answer.to_string())
    };
    let photos = report.photo_refs();
    match conn {
        // One statement with its photo rows (a data-modifying CTE): each statement is a
        // round trip, and a fixed text (the rows travel as JSON) stays prepared.
        Conn::Pg(c) => {
            let rows: Vec<Value> = photos
                .iter()
                .map(|(sha, item)| json!({"sha256": sha, "item_code": item}))
                .collect();
            let inserted: i64 = row(concat!(
                "WITH r AS (",
                report_insert!(),
                " RETURNING id), p AS (INSERT INTO report_photos (report_id, sha256, item_code) \
                 SELECT r.id, p.sha256, p.item_code FROM r, \
                 json_to_recordset(?::json) AS p(sha256 text, item_code text)) \
                 SELECT COUNT(*) FROM r"
            ))
            .bind(Value::Array(rows).to_string())
            .get_result(&mut **c)?;
            Ok(inserted == 1)
        }
        // In-process: a prepared single-row INSERT per photo (a multi-row INSERT's text
        // changes with its row count, and reports name only a few photos).
        Conn::Sqlite(c) => {
            if row(report_insert!()).execute(&mut **c)? == 0 {
                return Ok(false);
            }
            for (sha, item) in &photos {
                diesel::insert_into(report_photos::table)
                    .values((
                        report_photos::report_id.eq(&report.id),
                        report_photos::sha256.eq(sha),
                        report_photos::item_code.eq(item),
                    ))
                    .execute(&mut **c)?;
            }
            Ok(true)
        }
    }
}

/// The photos a report names at report level.
pub(crate) fn report_level_photos(conn: &mut Conn, id: &str) -> QueryResult<Vec<String>> {
    db_run!(conn, |c| report_photos::table
        .filter(report_photos::report_id.eq(id))
        .filter(report_photos::item_code.eq(""))
        .select(report_photos::sha256)
        .order(report_photos::sha256)
        .load(c))
}

/// The flags of a report as settled, and the photos it names at report level.
pub(crate) struct Settled {
    pub flags: FlagState,
    pub report_photos: Vec<String>,
}

/// The region a report outside the map belongs to: its inspector's first cell.
pub(crate) fn inspector_region(conn: &mut Conn, inspector: i64) -> QueryResult<Option<String>> {
    Ok(region_of(&crate::auth::store::cells_of(conn, inspector)?))
}

/// [`inspector_region`] from cells already read.
pub(crate) fn region_of(cells: &[String]) -> Option<String> {
    cells.first().cloned()
}

/// Settles the flags of every report waiting for a photo that has just arrived; answers
/// how many reports it looked at.
pub(crate) fn settle_reports_naming(conn: &mut Conn, sha: &str) -> QueryResult<usize> {
    let mut settled = 0;
    for id in reports_naming(conn, sha)? {
        if let Some(report) = find(conn, &id)? {
            settle_flags(conn, &report)?;
            settled += 1;
        }
    }
    Ok(settled)
}

/// A stored report's flags as the photos that have arrived settle them, with the photos
/// still missing (and the report-level photos it had to read anyway, so that a view does
/// not read them again). Reads only: a view shows this, photo arrival stores it.
pub(crate) fn current_flags(conn: &mut Conn, row: &ReportRow) -> QueryResult<Settled> {
    let items = row.items();
    let photos = report_level_photos(conn, &row.id)?;
    let mut named: Vec<String> = photos
        .iter()
        .chain(items.iter().flat_map(|i| i.photos.iter()))
        .cloned()
        .collect();
    named.sort();
    named.dedup();
    let arrived = arrived(conn, &named)?;
    let stored: Vec<String> = serde_json::from_str(&row.flags).unwrap_or_default();
    let state = model::resettle(
        &stored,
        &Evidence {
            captured_at: row.captured_at,
            lon: row.lon,
            lat: row.lat,
            items: &items,
            photos: &photos,
        },
        &arrived,
    );
    Ok(Settled {
        flags: state,
        report_photos: photos,
    })
}

/// Stores a report's flags as [`current_flags`] settles them, when they changed.
pub(crate) fn settle_flags(conn: &mut Conn, row: &ReportRow) -> QueryResult<()> {
    let settled = current_flags(conn, row)?;
    let text = serde_json::to_string(&settled.flags.flags).expect("flags");
    if text != row.flags {
        db_run!(conn, |c| diesel::update(reports::table.find(&row.id))
            .set(reports::flags.eq(&text))
            .execute(c))?;
    }
    Ok(())
}

pub(crate) fn case_ids(conn: &mut Conn, report: &str) -> QueryResult<Vec<i64>> {
    db_run!(conn, |c| case_reports::table
        .filter(case_reports::report_id.eq(report))
        .select(case_reports::case_id)
        .distinct()
        .order(case_reports::case_id)
        .load(c))
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ReportFilter {
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
pub(crate) fn list(
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

pub(crate) fn user_id(conn: &mut Conn, username: &str) -> QueryResult<Option<i64>> {
    db_run!(conn, |c| users::table
        .filter(users::username.eq(username))
        .select(users::id)
        .first(c)
        .optional())
}

/// The answer of a stored report, as first given.
pub(crate) fn stored_answer(row: &ReportRow) -> Value {
    serde_json::from_str(&row.answer).unwrap_or_else(|_| json!({"id": row.id}))
}

/// The facts of those of `shas` that have arrived (the photos' own table, read here so that
/// reports need nothing of the photo store).
pub(crate) fn arrived(
    conn: &mut Conn,
    shas: &[String],
) -> QueryResult<std::collections::HashMap<String, PhotoFacts>> {
    if shas.is_empty() {
        return Ok(Default::default());
    }
    type Row = (String, Option<i64>, Option<f64>, Option<f64>);
    let rows: Vec<Row> = db_run!(conn, |c| photos::table
        .filter(photos::sha256.eq_any(shas))
        .select((
            photos::sha256,
            photos::exif_taken_at,
            photos::exif_lon,
            photos::exif_lat
        ))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(sha, taken_at, lon, lat)| (sha, PhotoFacts { taken_at, lon, lat }))
        .collect())
}

/// The reports that name a photo.
pub(crate) fn reports_naming(conn: &mut Conn, sha: &str) -> QueryResult<Vec<String>> {
    db_run!(conn, |c| report_photos::table
        .filter(report_photos::sha256.eq(sha))
        .select(report_photos::report_id)
        .distinct()
        .load(c))
}
