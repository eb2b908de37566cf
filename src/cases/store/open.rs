//! Opening cases, and joining a new finding to the active case it repeats.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};
use serde_json::{json, Value};

use crate::cases::store::{append_event, NewEvent};
use crate::checklist::model::Tier;
use crate::db::cached::Sql;
use crate::db::schema::{case_reports, cases};
use crate::db::{self, Conn};
use crate::db_run;

/// Active cases of one item in a box (item, south, north, west, east).
const ACTIVE_NEAR: &str = concat!(
    "SELECT id, lon, lat FROM cases WHERE item_code = ? AND ",
    active_in_sql!(),
    " AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? ORDER BY id"
);

/// Joining radius: a failed item within this distance of an active case of the same item
/// is the same problem seen again.
pub(crate) const JOIN_RADIUS_M: f64 = 30.0;

/// What a new case is made of, from a failed report item or a licence check.
#[derive(Debug, Clone)]
pub struct CaseSeed {
    pub source: &'static str,
    pub item_code: Option<String>,
    pub category: String,
    pub title: String,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    pub cell: Option<String>,
    pub community: String,
    pub town: String,
    pub district: String,
    pub tier: Tier,
    pub department: String,
    pub priority: String,
    pub due_at: i64,
    pub enterprise_uscc: Option<String>,
    /// The report (and the item in it) that found the problem.
    pub report: Option<(String, String)>,
    pub actor: Option<(i64, &'static str)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dedup {
    /// Same checklist item within JOIN_RADIUS_M.
    NearbySameItem,
    /// Same enterprise (licence findings).
    SameEnterprise,
}

/// The key under which openers of one kind of case are serialised: the item, or the
/// enterprise. Callers opening several cases in one transaction take them in key order,
/// so that two transactions never wait for each other's locks.
pub(crate) fn dedup_key(seed: &CaseSeed, dedup: Dedup) -> String {
    match dedup {
        Dedup::NearbySameItem => format!(
            "case-item:{}",
            seed.item_code.as_deref().unwrap_or_default()
        ),
        Dedup::SameEnterprise => format!(
            "case-enterprise:{}",
            seed.enterprise_uscc.as_deref().unwrap_or_default()
        ),
    }
}

/// Serialises concurrent openers of the same kind of case on PostgreSQL, where two
/// transactions could otherwise both find no case to join and both open one (SQLite
/// writers are serialised already), and answers the change sequence number to stamp.
/// On PostgreSQL both are one statement: the lock must come before the search for a case
/// to join (whose snapshot then sees the lock holder's commit), and every statement is a
/// round trip.
fn lock_and_stamp(conn: &mut Conn, key: &str) -> QueryResult<i64> {
    match conn {
        Conn::Pg(c) => Sql::<BigInt>::new(concat!(
            "SELECT ",
            crate::pg_change_seq!(),
            " FROM pg_advisory_xact_lock(hashtext(?))"
        ))
        .bind(key)
        .get_result(&mut **c),
        Conn::Sqlite(_) => db::next_change_seq(conn),
    }
}

/// Opens a case from `seed`, or joins the active case it repeats. Answers the case id and
/// whether it is new. Runs inside the caller's transaction.
pub(crate) fn open_or_join(
    conn: &mut Conn,
    seed: &CaseSeed,
    dedup: Dedup,
    now: i64,
) -> QueryResult<(i64, bool)> {
    let seq = lock_and_stamp(conn, &dedup_key(seed, dedup))?;
    let existing = match dedup {
        Dedup::NearbySameItem => {
            let code = seed.item_code.as_deref().unwrap_or_default();
            // A box a little larger than the radius, then the exact distance.
            let (dlat, dlon) = (0.0004, 0.0005);
            let near: Vec<(i64, f64, f64)> =
                db_run!(conn, |c| Sql::<(BigInt, Double, Double)>::new(ACTIVE_NEAR)
                    .bind(code)
                    .bind(seed.lat - dlat)
                    .bind(seed.lat + dlat)
                    .bind(seed.lon - dlon)
                    .bind(seed.lon + dlon)
                    .load(c))?;
            near.into_iter()
                .map(|(id, lon, lat)| {
                    (
                        id,
                        crate::grid::coords::distance_m(lon, lat, seed.lon, seed.lat),
                    )
                })
                .filter(|(_, d)| *d <= JOIN_RADIUS_M)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(id, _)| id)
        }
        Dedup::SameEnterprise => {
            let uscc = seed.enterprise_uscc.as_deref().unwrap_or_default();
            db_run!(conn, |c| Sql::<BigInt>::new(concat!(
                "SELECT id FROM cases WHERE enterprise_uscc = ? AND source = ? AND ",
                active_in_sql!(),
                " ORDER BY id LIMIT 1"
            ))
            .bind(uscc)
            .bind(seed.source)
            .get_result::<i64>(c)
            .optional())?
        }
    };
    let actor = seed
        .actor
        .map_or((None, "system"), |(id, role)| (Some(id), role));
    match existing {
        // The case may have closed since it was found (a verification that committed in
        // between, on PostgreSQL): then the finding opens a case of its own.
        Some(id) if join(conn, id, seed, seq, actor, now)? => Ok((id, false)),
        _ => Ok((insert_opened(conn, seed, seq, actor, now)?, true)),
    }
}

/// Opens a case from `seed` without looking for one to join (a case opened by hand).
/// Runs inside the caller's transaction.
pub fn open(conn: &mut Conn, seed: &CaseSeed, now: i64) -> QueryResult<i64> {
    let seq = db::next_change_seq(conn)?;
    let actor = seed
        .actor
        .map_or((None, "system"), |(id, role)| (Some(id), role));
    insert_opened(conn, seed, seq, actor, now)
}

/// Who opened or joined: a user and their role, or the system.
type Actor = (Option<i64>, &'static str);

/// The `report_joined` event's details.
fn joined_details(seed: &CaseSeed) -> Value {
    json!({"report_id": seed.report.as_ref().map(|r| &r.0), "item_code": seed.item_code})
}

/// The `open` event's details.
fn opened_details(seed: &CaseSeed) -> Value {
    json!({"source": seed.source, "report_id": seed.report.as_ref().map(|r| &r.0), "item_code": seed.item_code})
}

/// Adds the finding of `seed` to case `id` if it is still active: a new version, the report
/// link and a `report_joined` event. Answers whether it joined.
fn join(
    conn: &mut Conn,
    id: i64,
    seed: &CaseSeed,
    seq: i64,
    (actor_id, actor_role): Actor,
    now: i64,
) -> QueryResult<bool> {
    if let Conn::Pg(c) = conn {
        // One statement (data-modifying CTEs): each statement is a round trip.
        let (report, item) = report_link(seed);
        // The status condition is checked again on the row as it is now (PostgreSQL re-reads
        // a row a concurrent transaction changed), not as the search saw it.
        let joined = Sql::<BigInt>::new(concat!(
            "WITH u AS (UPDATE cases SET version = version + 1, updated_at = ?, change_seq = ? \
             WHERE id = ? AND ",
            active_in_sql!(),
            " RETURNING id, status, tier), \
             l AS (INSERT INTO case_reports (case_id, report_id, item_code, joined_at) \
             SELECT id, ?, ?, ? FROM u WHERE ? ON CONFLICT DO NOTHING), \
             e AS (INSERT INTO case_events (case_id, at, actor_id, actor_role, action, \
             from_status, to_status, from_tier, to_tier, department, note, photos, details) \
             SELECT id, ?, ?, ?, 'report_joined', status, status, tier, tier, NULL, NULL, '[]', ? \
             FROM u) \
             SELECT id FROM u",
        ))
        .bind(now)
        .bind(seq)
        .bind(id)
        .bind(report)
        .bind(item)
        .bind(now)
        .bind(seed.report.is_some())
        .bind(now)
        .bind(actor_id)
        .bind(actor_role)
        .bind(joined_details(seed).to_string())
        .get_result::<i64>(&mut **c)
        .optional()?;
        return Ok(joined.is_some());
    }
    let updated: Option<(String, String)> = db_run!(conn, |c| Sql::<(Text, Text)>::new(concat!(
        "UPDATE cases SET version = version + 1, updated_at = ?, change_seq = ? \
         WHERE id = ? AND ",
        active_in_sql!(),
        " RETURNING status, tier"
    ))
    .bind(now)
    .bind(seq)
    .bind(id)
    .get_result(c)
    .optional())?;
    let Some((status, tier)) = updated else {
        return Ok(false);
    };
    if let Some((report, item)) = &seed.report {
        link_report(conn, id, report, item, now)?;
    }
    append_event(
        conn,
        &NewEvent {
            case_id: id,
            at: now,
            actor_id,
            actor_role,
            action: "report_joined",
            from_status: Some(&status),
            to_status: &status,
            from_tier: Some(&tier),
            to_tier: &tier,
            department: None,
            note: None,
            photos: &[],
            details: joined_details(seed),
        },
    )?;
    Ok(true)
}

/// The report and item a seed links its case to ("" when it came from none; the link is
/// then skipped).
fn report_link(seed: &CaseSeed) -> (&str, &str) {
    seed.report
        .as_ref()
        .map_or(("", ""), |(r, i)| (r.as_str(), i.as_str()))
}

/// Inserts a new open case with its report link and its first timeline event.
fn insert_opened(
    conn: &mut Conn,
    seed: &CaseSeed,
    seq: i64,
    (actor_id, actor_role): Actor,
    now: i64,
) -> QueryResult<i64> {
    if let Conn::Pg(c) = conn {
        // One statement (data-modifying CTEs): each statement is a round trip.
        let (report, item) = report_link(seed);
        return Sql::<BigInt>::new(
            "WITH c AS (INSERT INTO cases (source, item_code, category, title, description, \
             lon, lat, cell_code, community_code, town_code, district_code, tier, department, \
             priority, status, due_at, enterprise_uscc, opened_at, updated_at, created_by, \
             change_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?) \
             RETURNING id), \
             l AS (INSERT INTO case_reports (case_id, report_id, item_code, joined_at) \
             SELECT id, ?, ?, ? FROM c WHERE ? ON CONFLICT DO NOTHING), \
             e AS (INSERT INTO case_events (case_id, at, actor_id, actor_role, action, \
             from_status, to_status, from_tier, to_tier, department, note, photos, details) \
             SELECT id, ?, ?, ?, 'open', NULL, 'open', NULL, ?, ?, NULL, '[]', ? FROM c) \
             SELECT id FROM c",
        )
        .bind(seed.source)
        .bind(seed.item_code.clone())
        .bind(seed.category.as_str())
        .bind(seed.title.as_str())
        .bind(seed.description.as_str())
        .bind(seed.lon)
        .bind(seed.lat)
        .bind(seed.cell.clone())
        .bind(seed.community.as_str())
        .bind(seed.town.as_str())
        .bind(seed.district.as_str())
        .bind(seed.tier.as_str())
        .bind(seed.department.as_str())
        .bind(seed.priority.as_str())
        .bind(seed.due_at)
        .bind(seed.enterprise_uscc.clone())
        .bind(now)
        .bind(now)
        .bind(actor_id)
        .bind(seq)
        .bind(report)
        .bind(item)
        .bind(now)
        .bind(seed.report.is_some())
        .bind(now)
        .bind(actor_id)
        .bind(actor_role)
        .bind(seed.tier.as_str())
        .bind(seed.department.as_str())
        .bind(opened_details(seed).to_string())
        .get_result(&mut **c);
    }
    let id: i64 = db_run!(conn, |c| diesel::insert_into(cases::table)
        .values((
            (
                cases::source.eq(seed.source),
                cases::item_code.eq(&seed.item_code),
                cases::category.eq(&seed.category),
                cases::title.eq(&seed.title),
                cases::description.eq(&seed.description),
                cases::lon.eq(seed.lon),
                cases::lat.eq(seed.lat),
                cases::cell_code.eq(&seed.cell),
                cases::community_code.eq(&seed.community),
                cases::town_code.eq(&seed.town),
                cases::district_code.eq(&seed.district),
                cases::tier.eq(seed.tier.as_str()),
            ),
            (
                cases::department.eq(&seed.department),
                cases::priority.eq(&seed.priority),
                cases::status.eq("open"),
                cases::due_at.eq(seed.due_at),
                cases::enterprise_uscc.eq(&seed.enterprise_uscc),
                cases::opened_at.eq(now),
                cases::updated_at.eq(now),
                cases::created_by.eq(actor_id),
                cases::change_seq.eq(seq),
            ),
        ))
        .returning(cases::id)
        .get_result(c))?;
    if let Some((report, item)) = &seed.report {
        link_report(conn, id, report, item, now)?;
    }
    append_event(
        conn,
        &NewEvent {
            case_id: id,
            at: now,
            actor_id,
            actor_role,
            action: "open",
            from_status: None,
            to_status: "open",
            from_tier: None,
            to_tier: seed.tier.as_str(),
            department: Some(&seed.department),
            note: None,
            photos: &[],
            details: opened_details(seed),
        },
    )?;
    Ok(id)
}

fn link_report(conn: &mut Conn, case: i64, report: &str, item: &str, now: i64) -> QueryResult<()> {
    db_run!(conn, |c| diesel::insert_into(case_reports::table)
        .values((
            case_reports::case_id.eq(case),
            case_reports::report_id.eq(report),
            case_reports::item_code.eq(item),
            case_reports::joined_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{plan, TestDb};

    #[test]
    fn the_join_lookup_uses_the_partial_index_on_sqlite() {
        let db = TestDb::sqlite();
        let p = plan(&mut db.sqlite_conn(), ACTIVE_NEAR);
        assert!(p.contains("USING INDEX cases_item_active"), "{p}");
    }
}
