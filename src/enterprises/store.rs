//! The stored enterprise library: upserts by USCC, the lookup behind a licence check,
//! search and the enterprise view.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::auth::{Principal, Reach};
use crate::db::schema::{cases, enterprises, licences, report_enterprises, reports};
use crate::db::{self, Conn};
use crate::db_run;
use crate::enterprises::import::{EnterpriseRecord, RowProblem, ORPHAN_LICENCES};
use crate::grid::index::CellIndex;
use crate::licences::model::{Found, LicenceKind};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = enterprises)]
pub(crate) struct EnterpriseRow {
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    pub legal_rep_id_number: String,
    pub phone: String,
    pub address: String,
    pub lon: f64,
    pub lat: f64,
    pub cell_code: Option<String>,
    pub community_code: Option<String>,
    pub town_code: Option<String>,
    pub status: String,
    pub registered_on: String,
    pub place_kind: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = licences)]
pub(crate) struct LicenceRow {
    pub kind: String,
    pub number: String,
    pub valid_from: String,
    pub valid_to: String,
    pub status: String,
}

#[derive(Debug, Default, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub inserted: usize,
    pub updated: usize,
    pub refused: usize,
    pub licences: usize,
    pub problems: Vec<RowProblem>,
}

/// Rows per statement and per transaction: small enough for SQLite's bound-parameter limit
/// and to keep one transaction short, large enough that 300,000 rows take seconds.
const CHUNK: usize = 500;
const CHUNKS_PER_TRANSACTION: usize = 20;

/// Inserts or updates enterprises (by USCC) and their licences (by kind and number). Each
/// enterprise's cell, community and town come from its location. `progress` is told how
/// many records are done after each transaction.
pub fn upsert(
    conn: &mut Conn,
    records: &[EnterpriseRecord],
    cells: &CellIndex,
    mut progress: impl FnMut(usize),
) -> QueryResult<ImportSummary> {
    let mut summary = ImportSummary::default();
    let now = crate::clock::now();
    let (placeholders, real): (Vec<&EnterpriseRecord>, Vec<&EnterpriseRecord>) =
        records.iter().partition(|r| r.status == ORPHAN_LICENCES);
    let mut done = 0;
    for group in real.chunks(CHUNK * CHUNKS_PER_TRANSACTION) {
        // Locating is thousands of point-in-polygon tests: done before `write` so that the
        // write lock (BEGIN IMMEDIATE on SQLite) is held only while statements run. Rows
        // borrow from the records and the index rather than copying them.
        let prepared: Vec<_> = group
            .chunks(CHUNK)
            .map(|chunk| {
                let codes: Vec<&str> = chunk.iter().map(|r| r.uscc.as_str()).collect();
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|r| {
                        let entry = cells.locate(r.lon, r.lat);
                        (
                            enterprises::uscc.eq(r.uscc.as_str()),
                            enterprises::name.eq(r.name.as_str()),
                            enterprises::legal_representative.eq(r.legal_representative.as_str()),
                            enterprises::legal_rep_id_number.eq(r.legal_rep_id_number.as_str()),
                            enterprises::phone.eq(r.phone.as_str()),
                            enterprises::address.eq(r.address.as_str()),
                            enterprises::lon.eq(r.lon),
                            enterprises::lat.eq(r.lat),
                            enterprises::cell_code.eq(entry.map(|e| e.cell.code.as_str())),
                            enterprises::community_code
                                .eq(entry.map(|e| e.community.code.as_str())),
                            enterprises::town_code.eq(entry.map(|e| e.town.code.as_str())),
                            enterprises::status.eq(r.status.as_str()),
                            enterprises::registered_on.eq(r.registered_on.as_str()),
                            enterprises::place_kind.eq(r.place_kind.as_deref()),
                            enterprises::updated_at.eq(now),
                        )
                    })
                    .collect();
                let licence_rows: Vec<&crate::enterprises::import::LicenceRecord> =
                    chunk.iter().flat_map(|r| r.licences.iter()).collect();
                (codes, rows, licence_rows)
            })
            .collect();
        conn.write(|conn| -> QueryResult<()> {
            let seq = db::next_change_seq(conn)?;
            for (codes, rows, licence_rows) in prepared {
                let existing: HashSet<String> = db_run!(conn, |c| enterprises::table
                    .filter(enterprises::uscc.eq_any(&codes))
                    .select(enterprises::uscc)
                    .load::<String>(c))?
                .into_iter()
                .collect();
                summary.updated += existing.len();
                summary.inserted += codes.len() - existing.len();
                // The sequence is known only inside the transaction; a nested tuple still
                // makes one multi-row INSERT per chunk.
                let rows: Vec<_> = rows
                    .into_iter()
                    .map(|row| (row, enterprises::change_seq.eq(seq)))
                    .collect();
                db_run!(conn, |c| diesel::insert_into(enterprises::table)
                    .values(rows)
                    .on_conflict(enterprises::uscc)
                    .do_update()
                    .set((
                        enterprises::name.eq(excluded(enterprises::name)),
                        enterprises::legal_representative
                            .eq(excluded(enterprises::legal_representative)),
                        enterprises::legal_rep_id_number
                            .eq(excluded(enterprises::legal_rep_id_number)),
                        enterprises::phone.eq(excluded(enterprises::phone)),
                        enterprises::address.eq(excluded(enterprises::address)),
                        enterprises::lon.eq(excluded(enterprises::lon)),
                        enterprises::lat.eq(excluded(enterprises::lat)),
                        enterprises::cell_code.eq(excluded(enterprises::cell_code)),
                        enterprises::community_code.eq(excluded(enterprises::community_code)),
                        enterprises::town_code.eq(excluded(enterprises::town_code)),
                        enterprises::status.eq(excluded(enterprises::status)),
                        enterprises::registered_on.eq(excluded(enterprises::registered_on)),
                        enterprises::place_kind.eq(excluded(enterprises::place_kind)),
                        enterprises::updated_at.eq(excluded(enterprises::updated_at)),
                        enterprises::change_seq.eq(excluded(enterprises::change_seq)),
                    ))
                    .execute(c))?;
                summary.licences += upsert_licences(conn, &licence_rows, seq)?;
            }
            Ok(())
        })?;
        done += group.len();
        progress(done);
    }
    // Licences whose enterprise the file did not list: taken when the library has it.
    for p in placeholders {
        let known = db_run!(conn, |c| enterprises::table
            .find(&p.uscc)
            .select(enterprises::uscc)
            .first::<String>(c)
            .optional())?;
        if known.is_some() {
            let rows: Vec<_> = p.licences.iter().collect();
            conn.write(|conn| -> QueryResult<()> {
                let seq = db::next_change_seq(conn)?;
                summary.licences += upsert_licences(conn, &rows, seq)?;
                Ok(())
            })?;
        } else {
            summary.problems.push(RowProblem {
                file: "licences".into(),
                line: 0,
                reason: format!(
                    "{} licence(s) of {} refused: no such enterprise in the file or the library",
                    p.licences.len(),
                    p.uscc
                ),
            });
            summary.refused += p.licences.len();
        }
    }
    Ok(summary)
}

fn upsert_licences(
    conn: &mut Conn,
    list: &[&crate::enterprises::import::LicenceRecord],
    seq: i64,
) -> QueryResult<usize> {
    for chunk in list.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|l| {
                (
                    licences::kind.eq(l.kind.as_str()),
                    licences::number.eq(l.number.as_str()),
                    licences::uscc.eq(l.uscc.as_str()),
                    licences::valid_from.eq(l.valid_from.as_str()),
                    licences::valid_to.eq(l.valid_to.as_str()),
                    licences::status.eq(l.status.as_str()),
                    licences::change_seq.eq(seq),
                )
            })
            .collect();
        db_run!(conn, |c| diesel::insert_into(licences::table)
            .values(rows)
            .on_conflict((licences::kind, licences::number))
            .do_update()
            .set((
                licences::uscc.eq(excluded(licences::uscc)),
                licences::valid_from.eq(excluded(licences::valid_from)),
                licences::valid_to.eq(excluded(licences::valid_to)),
                licences::status.eq(excluded(licences::status)),
                licences::change_seq.eq(excluded(licences::change_seq)),
            ))
            .execute(c))?;
    }
    Ok(list.len())
}

pub(crate) fn find(conn: &mut Conn, uscc: &str) -> QueryResult<Option<EnterpriseRow>> {
    // By key with get_result, which binds no LIMIT (SQLite re-prepares a bound LIMIT).
    db_run!(conn, |c| enterprises::table
        .find(uscc)
        .select(EnterpriseRow::as_select())
        .get_result(c)
        .optional())
}

pub(crate) fn licences_of(conn: &mut Conn, uscc: &str) -> QueryResult<Vec<LicenceRow>> {
    db_run!(conn, |c| licences::table
        .filter(licences::uscc.eq(uscc))
        .order((licences::kind, licences::number))
        .select(LicenceRow::as_select())
        .load(c))
}

/// What the library holds for a normalised number: the licence of that number (of the
/// claimed kind when there are several) and its enterprise, or the enterprise whose USCC
/// it is.
pub(crate) fn lookup(
    conn: &mut Conn,
    number: &str,
    kind: Option<LicenceKind>,
) -> QueryResult<Option<(EnterpriseRow, Option<LicenceRow>, Found)>> {
    // One joined statement for the hot path; no LIMIT (a bound one defeats SQLite's
    // statement cache) since a number has at most a few licences.
    let mut pairs: Vec<(LicenceRow, EnterpriseRow)> = db_run!(conn, |c| licences::table
        .inner_join(enterprises::table)
        .filter(licences::number.eq(number))
        .select((LicenceRow::as_select(), EnterpriseRow::as_select()))
        .load(c))?;
    let (enterprise, licence) = if pairs.is_empty() {
        // A USCC with no licence rows is still the enterprise's own number.
        match find(conn, number)? {
            Some(e) => (e, None),
            None => return Ok(None),
        }
    } else {
        let claimed = kind.map(LicenceKind::as_str);
        let at = pairs
            .iter()
            .position(|(l, _)| Some(l.kind.as_str()) == claimed)
            .unwrap_or(0);
        let (l, e) = pairs.swap_remove(at);
        (e, Some(l))
    };
    let found = Found {
        enterprise_status: enterprise.status.clone(),
        enterprise_name: enterprise.name.clone(),
        lon: enterprise.lon,
        lat: enterprise.lat,
        cell: enterprise.cell_code.clone(),
        licence: licence.as_ref().and_then(|l| {
            LicenceKind::parse(&l.kind).map(|k| (k, l.status.clone(), l.valid_to.clone()))
        }),
    };
    Ok(Some((enterprise, licence, found)))
}

/// Whether `who` may see an enterprise in `cell`. Enterprises outside every cell belong to
/// no region, so only callers who reach everything see them. `search` applies the same rule
/// in SQL, through the caller's region prefix.
pub(crate) fn visible_to(who: &Principal, cell: Option<&str>) -> bool {
    match cell {
        Some(cell) => who.may_see(cell),
        None => who.reach() == Reach::Everything,
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Search {
    /// Code prefix of the caller's region; enterprises outside every cell are shown only
    /// to callers without a region restriction.
    pub region_prefix: String,
    /// A name fragment or a USCC prefix.
    pub q: Option<String>,
    pub cell: Option<String>,
    /// `(lon, lat, radius_m)` in WGS-84.
    pub near: Option<(f64, f64, f64)>,
    pub status: Option<String>,
}

/// Up to `limit` enterprises matching `s`, by USCC after `after`.
pub(crate) fn search(
    conn: &mut Conn,
    s: &Search,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<EnterpriseRow>> {
    // SQL narrows a `near` search to the circle's bounding box; the exact radius is
    // applied here, so one batch may yield too few rows and the next starts after it.
    let bbox = s.near.map(|(lon, lat, r)| {
        let dlat = r / 111_000.0;
        let dlon = r / (111_000.0 * lat.to_radians().cos().max(0.01));
        (lon - dlon, lat - dlat, lon + dlon, lat + dlat)
    });
    // A square holds 4/π of its circle: fetch a third more so one batch usually does.
    let batch = if s.near.is_some() {
        limit + limit / 3 + 1
    } else {
        limit
    };
    macro_rules! filtered {
        ($after:expr) => {{
            let mut q = enterprises::table.into_boxed();
            if !s.region_prefix.is_empty() {
                q = q.filter(enterprises::cell_code.like(format!("{}%", s.region_prefix)));
            }
            if let Some(text) = &s.q {
                let code = crate::licences::numbers::normalise(text);
                q = q.filter(
                    enterprises::name
                        .like(format!("%{}%", text.replace('%', "").replace('_', "")))
                        .or(enterprises::uscc.like(format!("{}%", code.replace('%', "")))),
                );
            }
            if let Some(cell) = &s.cell {
                q = q.filter(enterprises::cell_code.eq(cell.clone()));
            }
            if let Some((w, so, e, n)) = bbox {
                q = q
                    .filter(enterprises::lon.between(w, e))
                    .filter(enterprises::lat.between(so, n));
            }
            if let Some(status) = &s.status {
                q = q.filter(enterprises::status.eq(status.clone()));
            }
            if let Some(after) = $after {
                q = q.filter(enterprises::uscc.gt(after.to_string()));
            }
            q.order(enterprises::uscc)
                .limit(batch)
                .select(EnterpriseRow::as_select())
        }};
    }
    let Some((lon, lat, r)) = s.near else {
        return db_run!(conn, |c| filtered!(after).load(c));
    };
    let mut kept = Vec::new();
    let mut after = after.map(str::to_string);
    loop {
        let rows: Vec<EnterpriseRow> = db_run!(conn, |c| filtered!(after.as_deref()).load(c))?;
        let exhausted = (rows.len() as i64) < batch;
        after = rows.last().map(|e| e.uscc.clone());
        kept.extend(
            rows.into_iter()
                .filter(|e| crate::grid::coords::distance_m(lon, lat, e.lon, e.lat) <= r),
        );
        if kept.len() as i64 >= limit || exhausted {
            kept.truncate(limit as usize);
            return Ok(kept);
        }
    }
}

/// Records that a report names enterprises (by its place or the licences seen there).
pub(crate) fn link_report(conn: &mut Conn, report: &str, usccs: &[String]) -> QueryResult<()> {
    // Row by row: a report names one or two enterprises, and a single-row INSERT stays
    // prepared where a multi-row one does not.
    for uscc in usccs {
        db_run!(conn, |c| diesel::insert_into(report_enterprises::table)
            .values((
                report_enterprises::report_id.eq(report),
                report_enterprises::uscc.eq(uscc),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// A report that named an enterprise: id, captured at, cell, inspector.
pub(crate) type NamingReport = (String, i64, Option<String>, i64);

/// Reports that named the enterprise, newest first (at most 100).
pub(crate) fn reports_naming(conn: &mut Conn, uscc: &str) -> QueryResult<Vec<NamingReport>> {
    db_run!(conn, |c| reports::table
        .filter(
            reports::id.eq_any(
                report_enterprises::table
                    .filter(report_enterprises::uscc.eq(uscc))
                    .select(report_enterprises::report_id),
            ),
        )
        .order(reports::captured_at.desc())
        .limit(100)
        .select((
            reports::id,
            reports::captured_at,
            reports::cell_code,
            reports::inspector_id,
        ))
        .load(c))
}

/// A case about an enterprise, with where it lies and whose it is (for the read rule).
#[derive(Debug, Clone, Queryable)]
pub(crate) struct CaseAbout {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub opened_at: i64,
    pub cell_code: Option<String>,
    pub community_code: String,
    pub department: String,
}

/// Cases about the enterprise, newest first (at most 100).
pub(crate) fn cases_about(conn: &mut Conn, uscc: &str) -> QueryResult<Vec<CaseAbout>> {
    db_run!(conn, |c| cases::table
        .filter(cases::enterprise_uscc.eq(uscc))
        .order(cases::id.desc())
        .limit(100)
        .select((
            cases::id,
            cases::title,
            cases::status,
            cases::opened_at,
            cases::cell_code,
            cases::community_code,
            cases::department,
        ))
        .load(c))
}
