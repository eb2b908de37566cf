//! Stored cases and their append-only timeline: opening and joining, the conditional
//! UPDATE that applies a state-machine transition (exactly one of two racing writers
//! wins), reads, and the queue listings.
//!
//! It must not decide what a case allows: that is `model::apply`, asked before a
//! transition reaches [`record`].

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Text};
use serde_json::{json, Value};

use crate::cases::model::{Action, CaseFacts, Status, Transition};
use crate::cases::scope::{Queue, Scope};
use crate::checklist::model::Tier;
use crate::db::cached::Sql;
use crate::db::schema::{case_events, case_photos, case_reports, cases, reports, users};
use crate::db::{self, Conn};
use crate::db_run;
use crate::grid::model::Level;

/// Statuses in which a case is still being worked on (a new finding may join it).
pub const ACTIVE: [&str; 5] = ["open", "claimed", "dispatched", "in_progress", "resolved"];

/// `ACTIVE` as SQL, for fixed statement texts (kept prepared, and the same predicate as the
/// partial index `cases_item_active`); a test holds the two spellings together.
macro_rules! active_in_sql {
    () => {
        "status IN ('open', 'claimed', 'dispatched', 'in_progress', 'resolved')"
    };
}

/// Active cases of one item in a box (item, south, north, west, east).
const ACTIVE_NEAR: &str = concat!(
    "SELECT id, lon, lat FROM cases WHERE item_code = ? AND ",
    active_in_sql!(),
    " AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? ORDER BY id"
);

/// Joining radius: a failed item within this distance of an active case of the same item
/// is the same problem seen again.
pub const JOIN_RADIUS_M: f64 = 30.0;

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
pub enum Dedup {
    /// Same checklist item within JOIN_RADIUS_M.
    NearbySameItem,
    /// Same enterprise (licence findings).
    SameEnterprise,
}

/// The key under which openers of one kind of case are serialised: the item, or the
/// enterprise. Callers opening several cases in one transaction take them in key order,
/// so that two transactions never wait for each other's locks.
pub fn dedup_key(seed: &CaseSeed, dedup: Dedup) -> String {
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
pub fn open_or_join(
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
        Some(id) => {
            join(conn, id, seed, seq, actor, now)?;
            Ok((id, false))
        }
        None => Ok((insert_opened(conn, seed, seq, actor, now)?, true)),
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

/// Adds the finding of `seed` to active case `id`: a new version, the report link and a
/// `report_joined` event.
fn join(
    conn: &mut Conn,
    id: i64,
    seed: &CaseSeed,
    seq: i64,
    (actor_id, actor_role): Actor,
    now: i64,
) -> QueryResult<()> {
    if let Conn::Pg(c) = conn {
        // One statement (data-modifying CTEs): each statement is a round trip.
        let (report, item) = report_link(seed);
        Sql::<BigInt>::new(
            "WITH u AS (UPDATE cases SET version = version + 1, updated_at = ?, change_seq = ? \
             WHERE id = ? RETURNING id, status, tier), \
             l AS (INSERT INTO case_reports (case_id, report_id, item_code, joined_at) \
             SELECT id, ?, ?, ? FROM u WHERE ? ON CONFLICT DO NOTHING), \
             e AS (INSERT INTO case_events (case_id, at, actor_id, actor_role, action, \
             from_status, to_status, from_tier, to_tier, department, note, photos, details) \
             SELECT id, ?, ?, ?, 'report_joined', status, status, tier, tier, NULL, NULL, '[]', ? \
             FROM u) \
             SELECT id FROM u",
        )
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
        .get_result::<i64>(&mut **c)?;
        return Ok(());
    }
    let (status, tier): (String, String) = db_run!(conn, |c| Sql::<(Text, Text)>::new(
        "UPDATE cases SET version = version + 1, updated_at = ?, change_seq = ? \
         WHERE id = ? RETURNING status, tier"
    )
    .bind(now)
    .bind(seq)
    .bind(id)
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
    )
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

pub struct NewEvent<'a> {
    pub case_id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: &'a str,
    pub from_tier: Option<&'a str>,
    pub to_tier: &'a str,
    pub department: Option<&'a str>,
    pub note: Option<&'a str>,
    pub photos: &'a [String],
    pub details: Value,
}

/// Appends to a case's timeline, and links the step's photos to the case. There is no
/// update or delete of events anywhere.
pub fn append_event(conn: &mut Conn, e: &NewEvent) -> QueryResult<()> {
    db_run!(conn, |c| diesel::insert_into(case_events::table)
        .values((
            case_events::case_id.eq(e.case_id),
            case_events::at.eq(e.at),
            case_events::actor_id.eq(e.actor_id),
            case_events::actor_role.eq(e.actor_role),
            case_events::action.eq(e.action),
            case_events::from_status.eq(e.from_status),
            case_events::to_status.eq(e.to_status),
            case_events::from_tier.eq(e.from_tier),
            case_events::to_tier.eq(e.to_tier),
            case_events::department.eq(e.department),
            case_events::note.eq(e.note),
            case_events::photos.eq(serde_json::to_string(e.photos).expect("photos")),
            case_events::details.eq(e.details.to_string()),
        ))
        .execute(c))?;
    // Row by row: a step names a photo or two, and a single-row INSERT stays prepared.
    for sha in e.photos {
        db_run!(conn, |c| diesel::insert_into(case_photos::table)
            .values((
                case_photos::sha256.eq(sha),
                case_photos::case_id.eq(e.case_id)
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Whether `who` may see a photo because it is attached to a step of a case they may read
/// (resolution and verification photos).
pub fn photo_visible_through_case(
    conn: &mut Conn,
    who: &crate::auth::Principal,
    sha: &str,
) -> QueryResult<bool> {
    let rows: Vec<CaseRow> = db_run!(conn, |c| cases::table
        .inner_join(case_photos::table.on(case_photos::case_id.eq(cases::id)))
        .filter(case_photos::sha256.eq(sha))
        .select(CaseRow::as_select())
        .load(c))?;
    for row in &rows {
        if readable_by(conn, who, row)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `who` may read the case (and so its photos): the read rule of `scope::may_read`,
/// with an inspector's own joined reports looked up only for inspectors.
pub fn readable_by(
    conn: &mut Conn,
    who: &crate::auth::Principal,
    row: &CaseRow,
) -> QueryResult<bool> {
    let joined = who.role == crate::auth::Role::Inspector && joined_by(conn, row.id, who.user_id)?;
    Ok(crate::cases::scope::may_read(who, row.place(), joined))
}

/// A stored case, every column.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cases)]
pub struct CaseRow {
    pub id: i64,
    pub source: String,
    pub item_code: Option<String>,
    pub category: String,
    pub title: String,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    pub cell_code: Option<String>,
    pub community_code: String,
    pub town_code: String,
    pub district_code: String,
    pub tier: String,
    pub department: String,
    pub priority: String,
    pub status: String,
    pub claimed_by: Option<i64>,
    pub due_at: i64,
    pub overdue: bool,
    pub pending_extension: Option<i64>,
    pub enterprise_uscc: Option<String>,
    pub duplicate_of: Option<i64>,
    pub reopened_count: i32,
    pub declined_count: i32,
    pub extended_count: i32,
    pub escalated_count: i32,
    pub version: i32,
    pub opened_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub created_by: Option<i64>,
    pub change_seq: i64,
}

impl CaseRow {
    /// Where the case lies and who handles it, as the scoping rules see it.
    pub fn place(&self) -> crate::cases::scope::Place<'_> {
        crate::cases::scope::Place {
            cell: self.cell_code.as_deref(),
            community: &self.community_code,
            department: &self.department,
        }
    }

    /// The stored status. Only this module writes the column; should a row ever hold
    /// something else, it is treated as final, so that no one acts on it.
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Rejected)
    }

    /// The stored tier (a CHECK constraint keeps it to the three).
    pub fn tier(&self) -> Tier {
        Tier::parse(&self.tier).unwrap_or(Tier::District)
    }

    /// What the state machine needs to know of this case.
    pub fn facts(&self) -> CaseFacts {
        CaseFacts {
            status: self.status(),
            tier: self.tier(),
            cell_code: self.cell_code.clone(),
            community_code: self.community_code.clone(),
            town_code: self.town_code.clone(),
            district_code: self.district_code.clone(),
            department: self.department.clone(),
            claimed_by: self.claimed_by,
            due_at: self.due_at,
            overdue: self.overdue,
            pending_extension: self.pending_extension,
        }
    }
}

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<CaseRow>> {
    // By key without LIMIT: SQLite re-prepares a statement whose LIMIT is bound.
    db_run!(conn, |c| cases::table
        .find(id)
        .select(CaseRow::as_select())
        .get_result(c)
        .optional())
}

pub fn exists(conn: &mut Conn, id: i64) -> QueryResult<bool> {
    db_run!(conn, |c| diesel::select(diesel::dsl::exists(
        cases::table.find(id)
    ))
    .get_result(c))
}

/// What a step on the timeline records besides the transition itself.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    /// None for the system.
    pub actor_id: Option<i64>,
    pub actor_role: &'static str,
    pub note: Option<String>,
    pub photos: Vec<String>,
    pub details: Value,
}

/// Applies `t`, decided on `before`, with one conditional UPDATE on the version `before`
/// was read at, and appends the step to the timeline, inside the caller's transaction.
/// None when the case has changed since `before` was read: someone else's action won, and
/// nothing is written. A loser may have taken a change sequence number; gaps are harmless
/// (docs/sync.md).
pub fn record(
    conn: &mut Conn,
    before: &CaseRow,
    t: &Transition,
    step: &Step,
    now: i64,
) -> QueryResult<Option<CaseRow>> {
    let seq = db::next_change_seq(conn)?;
    let closed_at = match t.to_status {
        Status::Closed => Some(now),
        _ => before.closed_at,
    };
    // Counters and the duplicate link only ever grow or get set, never reset.
    let bump = |moved: bool| i32::from(moved);
    let duplicate_of = t.duplicate_of.or(before.duplicate_of);
    // One conditional UPDATE of fixed text (kept prepared).
    let updated = db_run!(conn, |c| Sql::<()>::new(
        "UPDATE cases SET version = version + 1, change_seq = ?, updated_at = ?, status = ?, \
         tier = ?, department = ?, claimed_by = ?, due_at = ?, overdue = ?, \
         pending_extension = ?, duplicate_of = ?, reopened_count = reopened_count + ?, \
         declined_count = declined_count + ?, extended_count = extended_count + ?, \
         escalated_count = escalated_count + ?, closed_at = ? WHERE id = ? AND version = ?"
    )
    .bind(seq)
    .bind(now)
    .bind(t.to_status.as_str())
    .bind(t.to_tier.as_str())
    .bind(t.department.as_str())
    .bind(t.claimed_by)
    .bind(t.due_at)
    .bind(t.overdue)
    .bind(t.pending_extension)
    .bind(duplicate_of)
    .bind(bump(t.reopened))
    .bind(bump(t.declined))
    .bind(bump(t.extended))
    .bind(bump(t.escalated))
    .bind(closed_at)
    .bind(before.id)
    .bind(before.version)
    .execute(c))?;
    if updated == 0 {
        return Ok(None);
    }
    // The row is what the UPDATE wrote: `before` at its version, with the SET applied.
    let after = CaseRow {
        version: before.version + 1,
        change_seq: seq,
        updated_at: now,
        status: t.to_status.as_str().to_string(),
        tier: t.to_tier.as_str().to_string(),
        department: t.department.clone(),
        claimed_by: t.claimed_by,
        due_at: t.due_at,
        overdue: t.overdue,
        pending_extension: t.pending_extension,
        duplicate_of,
        reopened_count: before.reopened_count + bump(t.reopened),
        declined_count: before.declined_count + bump(t.declined),
        extended_count: before.extended_count + bump(t.extended),
        escalated_count: before.escalated_count + bump(t.escalated),
        closed_at,
        ..before.clone()
    };
    append_event(
        conn,
        &NewEvent {
            case_id: before.id,
            at: now,
            actor_id: step.actor_id,
            actor_role: step.actor_role,
            action: step.action.as_str(),
            from_status: Some(&before.status),
            to_status: t.to_status.as_str(),
            from_tier: Some(&before.tier),
            to_tier: t.to_tier.as_str(),
            // The department concerned after the step: the one dispatched to, or the one
            // that declined, started, resolved, asked for time or failed verification.
            department: Some(&t.department),
            note: step.note.as_deref(),
            photos: &step.photos,
            details: step.details.clone(),
        },
    )?;
    Ok(Some(after))
}

/// One entry of a case's timeline, with the actor's username (None for the system).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_events)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub from_tier: Option<String>,
    pub to_tier: String,
    pub department: Option<String>,
    pub note: Option<String>,
    pub photos: String,
    pub details: String,
}

/// The whole timeline of a case, oldest first.
pub fn timeline(conn: &mut Conn, case: i64) -> QueryResult<Vec<(EventRow, Option<String>)>> {
    db_run!(conn, |c| case_events::table
        .left_join(users::table.on(case_events::actor_id.eq(users::id.nullable())))
        .filter(case_events::case_id.eq(case))
        .order(case_events::id)
        .select((EventRow::as_select(), users::username.nullable()))
        .load(c))
}

/// A report that joined a case.
#[derive(Debug, Clone, Queryable)]
pub struct JoinedReportRow {
    pub report_id: String,
    pub item_code: String,
    pub joined_at: i64,
    pub captured_at: i64,
    pub inspector: String,
}

pub fn joined_reports(conn: &mut Conn, case: i64) -> QueryResult<Vec<JoinedReportRow>> {
    db_run!(conn, |c| case_reports::table
        .inner_join(reports::table)
        .inner_join(users::table.on(users::id.eq(reports::inspector_id)))
        .filter(case_reports::case_id.eq(case))
        .order((case_reports::joined_at, case_reports::report_id))
        .select((
            case_reports::report_id,
            case_reports::item_code,
            case_reports::joined_at,
            reports::captured_at,
            users::username,
        ))
        .load(c))
}

/// Whether a report of `inspector` joined the case.
pub fn joined_by(conn: &mut Conn, case: i64, inspector: i64) -> QueryResult<bool> {
    db_run!(conn, |c| diesel::select(diesel::dsl::exists(
        case_reports::table
            .inner_join(reports::table)
            .filter(case_reports::case_id.eq(case))
            .filter(reports::inspector_id.eq(inspector))
    ))
    .get_result(c))
}

/// The order of a listing; every sort ends on the id so that the order is total and a
/// cursor names one place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    OpenedAt,
    DueAt,
}

/// Everything a listing filters on. When a queue is given, the scope is not applied as
/// well: every queue lies within its owner's scope by construction, and a second,
/// redundant condition would tempt the planner into the wrong index.
#[derive(Debug, Clone)]
pub struct CaseFilter {
    pub scope: Scope,
    pub queue: Option<Queue>,
    pub status: Option<Status>,
    pub tier: Option<Tier>,
    pub department: Option<String>,
    pub cell: Option<String>,
    pub overdue: Option<bool>,
    /// Opened at or after.
    pub from: Option<i64>,
    /// Opened before.
    pub to: Option<i64>,
}

/// Where a page starts: after the row with this sort value and id.
#[derive(Debug, Clone, Copy)]
pub struct After {
    pub key: i64,
    pub id: i64,
}

/// The generated queue columns are maintained by the database and only ever filtered on,
/// so they are named here rather than in schema.rs.
macro_rules! queue_is {
    ($column:literal, $value:expr) => {
        diesel::dsl::sql::<Bool>(concat!("cases.", $column, " = "))
            .bind::<Text, _>($value.to_string())
    };
}

/// Restricts a boxed cases query to a region (see `scope::Area`).
macro_rules! in_area {
    ($q:expr, $area:expr) => {{
        let code = $area.code.clone();
        match $area.level {
            Level::District => $q.filter(cases::district_code.eq(code)),
            Level::Town => $q.filter(cases::town_code.eq(code)),
            Level::Community => $q.filter(cases::community_code.eq(code)),
            Level::Cell => $q.filter(cases::cell_code.eq(code)),
        }
    }};
}

/// The boxed query of a listing. Boxed queries are per backend, so it is written once here
/// and built inside each arm of db_run! (and, in the tests, explained on SQLite).
macro_rules! listing {
    ($filter:expr, $sort:expr, $descending:expr, $after:expr, $limit:expr) => {{
        let (filter, sort, descending, after, limit): (
            &CaseFilter,
            Sort,
            bool,
            Option<After>,
            i64,
        ) = ($filter, $sort, $descending, $after, $limit);
        let mut q = cases::table.into_boxed();
        match &filter.queue {
            Some(Queue::Centre { code }) => q = q.filter(queue_is!("centre_queue", code)),
            Some(Queue::Department { department, area }) => {
                q = q.filter(queue_is!("department_queue", department));
                q = in_area!(q, area);
            }
            Some(Queue::Verification { cells }) => {
                // A literal, not a bind: it is how the planner knows the partial index
                // cases_to_verify (resolved cases only) applies.
                q = q
                    .filter(diesel::dsl::sql::<Bool>("cases.status = 'resolved'"))
                    .filter(cases::cell_code.eq_any(cells.clone()));
            }
            None => match &filter.scope {
                Scope::Everything => {}
                Scope::Area(area) => q = in_area!(q, area),
                Scope::Department { department, area } => {
                    q = q.filter(cases::department.eq(department.clone()));
                    q = in_area!(q, area);
                }
                Scope::Inspector { user_id, cells } => {
                    q = q.filter(
                        cases::cell_code.eq_any(cells.clone()).or(cases::id.eq_any(
                            case_reports::table
                                .inner_join(reports::table)
                                .filter(reports::inspector_id.eq(*user_id))
                                .select(case_reports::case_id),
                        )),
                    );
                }
                Scope::Nothing => q = q.filter(cases::id.lt(0)),
            },
        }
        if let Some(status) = filter.status {
            q = q.filter(cases::status.eq(status.as_str()));
        }
        if let Some(tier) = filter.tier {
            q = q.filter(cases::tier.eq(tier.as_str()));
        }
        if let Some(department) = &filter.department {
            q = q.filter(cases::department.eq(department.clone()));
        }
        if let Some(cell) = &filter.cell {
            q = q.filter(cases::cell_code.eq(cell.clone()));
        }
        if let Some(overdue) = filter.overdue {
            q = q.filter(cases::overdue.eq(overdue));
        }
        if let Some(from) = filter.from {
            q = q.filter(cases::opened_at.ge(from));
        }
        if let Some(to) = filter.to {
            q = q.filter(cases::opened_at.lt(to));
        }
        // The cursor as a range on the sort column (which the index can seek to), then
        // the tie on the id.
        q = match (sort, descending, after) {
            (_, _, None) => q,
            (Sort::OpenedAt, false, Some(a)) => q
                .filter(cases::opened_at.ge(a.key))
                .filter(cases::opened_at.gt(a.key).or(cases::id.gt(a.id))),
            (Sort::OpenedAt, true, Some(a)) => q
                .filter(cases::opened_at.le(a.key))
                .filter(cases::opened_at.lt(a.key).or(cases::id.lt(a.id))),
            (Sort::DueAt, false, Some(a)) => q
                .filter(cases::due_at.ge(a.key))
                .filter(cases::due_at.gt(a.key).or(cases::id.gt(a.id))),
            (Sort::DueAt, true, Some(a)) => q
                .filter(cases::due_at.le(a.key))
                .filter(cases::due_at.lt(a.key).or(cases::id.lt(a.id))),
        };
        macro_rules! by {
            ($column:expr) => {
                match descending {
                    false => q.then_order_by($column.asc()),
                    true => q.then_order_by($column.desc()),
                }
            };
        }
        q = match sort {
            Sort::OpenedAt => by!(cases::opened_at),
            Sort::DueAt => by!(cases::due_at),
        };
        q = by!(cases::id);
        q.limit(limit).select(CaseRow::as_select())
    }};
}

/// The cases matching `filter`, in `sort` order (`descending` reverses it), after the
/// cursor, at most `limit`.
pub fn list(
    conn: &mut Conn,
    filter: &CaseFilter,
    sort: Sort,
    descending: bool,
    after: Option<After>,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    db_run!(conn, |c| listing!(filter, sort, descending, after, limit)
        .load(c))
}

/// Statuses the overdue task watches: active, and not yet verified.
const ESCALABLE: [&str; 4] = ["open", "claimed", "dispatched", "in_progress"];
/// Tiers from which a case can still climb.
const BELOW_TOP: [&str; 2] = ["community", "town"];
const TIERS: [&str; 3] = ["community", "town", "district"];

/// One group of cases the overdue task walks, and its candidates: the sweep walks each
/// (status, tier) group of `cases_overdue_watch` separately and in index order, by
/// (due_at, id). Across groups, or by id, every batch would sort all the rest: on a
/// backlog of 100,000 overdue cases the first sweep took minutes.
#[derive(Debug, Clone, Copy)]
pub struct WatchGroup {
    pub status: &'static str,
    pub tier: &'static str,
}

/// The groups in which cases become overdue.
pub fn unmarked_groups() -> impl Iterator<Item = WatchGroup> {
    ACTIVE
        .iter()
        .flat_map(|&status| TIERS.iter().map(move |&tier| WatchGroup { status, tier }))
}

/// The groups from which overdue cases can climb.
pub fn escalable_groups() -> impl Iterator<Item = WatchGroup> {
    ESCALABLE.iter().flat_map(|&status| {
        BELOW_TOP
            .iter()
            .map(move |&tier| WatchGroup { status, tier })
    })
}

/// Where a sweep has got to in a group: the (due_at, id) of the last case it took.
pub type SweepCursor = (i64, i64);

/// Cases of `group` past due and not yet marked overdue, by (due_at, id) after `after`.
pub fn due_unmarked(
    conn: &mut Conn,
    now: i64,
    group: WatchGroup,
    after: SweepCursor,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    db_run!(conn, |c| cases::table
        .filter(cases::overdue.eq(false))
        .filter(cases::status.eq(group.status))
        .filter(cases::tier.eq(group.tier))
        .filter(cases::due_at.lt(now))
        // `due_at >= d` bounds the index range; the OR only settles ties on due_at.
        .filter(cases::due_at.ge(after.0))
        .filter(cases::due_at.gt(after.0).or(cases::id.gt(after.1)),)
        .order((cases::due_at, cases::id))
        .limit(limit)
        .select(CaseRow::as_select())
        .load(c))
}

/// Overdue cases of `group` that may climb a tier, by (due_at, id) after `after`: past
/// due by more than `grace_us`, and at their current tier for longer than `grace_us` too
/// (so that the tier above, having just received one, gets its own grace instead of
/// passing it straight on).
pub fn overdue_to_escalate(
    conn: &mut Conn,
    now: i64,
    grace_us: i64,
    group: WatchGroup,
    after: SweepCursor,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    let cutoff = now.saturating_sub(grace_us);
    let tier_moves = [
        Action::Escalate.as_str(),
        Action::SystemEscalate.as_str(),
        Action::Return.as_str(),
    ];
    db_run!(conn, |c| cases::table
        .filter(cases::overdue.eq(true))
        .filter(cases::status.eq(group.status))
        .filter(cases::tier.eq(group.tier))
        .filter(cases::due_at.lt(cutoff))
        .filter(cases::due_at.ge(after.0))
        .filter(cases::due_at.gt(after.0).or(cases::id.gt(after.1)),)
        .filter(diesel::dsl::not(diesel::dsl::exists(
            case_events::table
                .filter(case_events::case_id.eq(cases::id))
                .filter(case_events::action.eq_any(tier_moves))
                .filter(case_events::at.ge(cutoff))
        )))
        .order((cases::due_at, cases::id))
        .limit(limit)
        .select(CaseRow::as_select())
        .load(c))
}

#[cfg(test)]
mod tests {
    use diesel::sqlite::{Sqlite, SqliteConnection};

    use super::*;
    use crate::cases::scope::Area;

    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    /// SQLite's plan for the listing diesel builds from `filter`.
    fn plan(c: &mut SqliteConnection, filter: &CaseFilter, sort: Sort, after: bool) -> String {
        let after = after.then_some(After { key: 1, id: 1 });
        // Descending when paging on, to cover both directions.
        let query = listing!(filter, sort, after.is_some(), after, 101);
        let sql = diesel::debug_query::<Sqlite, _>(&query).to_string();
        let sql = sql.split(" -- binds:").next().unwrap_or_default();
        let mut explain =
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).into_boxed::<Sqlite>();
        for _ in 0..sql.matches('?').count() {
            explain = explain.bind::<diesel::sql_types::Nullable<Text>, _>(None::<String>);
        }
        let lines: Vec<PlanLine> = explain.load(c).expect("explain");
        let lines: Vec<String> = lines.into_iter().map(|l| l.detail).collect();
        lines.join("; ")
    }

    fn filter(scope: Scope, queue: Option<Queue>) -> CaseFilter {
        CaseFilter {
            scope,
            queue,
            status: None,
            tier: None,
            department: None,
            cell: None,
            overdue: None,
            from: None,
            to: None,
        }
    }

    #[test]
    fn the_sql_spelling_of_active_is_active() {
        let quoted: Vec<String> = ACTIVE.iter().map(|s| format!("'{s}'")).collect();
        assert_eq!(
            active_in_sql!(),
            format!("status IN ({})", quoted.join(", "))
        );
    }

    /// Joining a failed item to a case nearby reads only active cases of that item, through
    /// the partial index, whatever else the table holds.
    #[test]
    fn the_join_lookup_uses_the_partial_index_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.sqlite").display().to_string();
        let pool = db::Pool::open(&path, 1).unwrap();
        pool.migrate().unwrap();
        let mut conn = pool.get().unwrap();
        let Conn::Sqlite(c) = &mut conn else {
            unreachable!("a SQLite path")
        };
        let lines: Vec<PlanLine> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {ACTIVE_NEAR}"))
            .bind::<Text, _>("FS-001")
            .bind::<Double, _>(23.0)
            .bind::<Double, _>(23.1)
            .bind::<Double, _>(113.1)
            .bind::<Double, _>(113.2)
            .load(c)
            .unwrap();
        let p: Vec<String> = lines.into_iter().map(|l| l.detail).collect();
        assert!(
            p.iter()
                .any(|l| l.contains("USING INDEX cases_item_active")),
            "{p:?}"
        );
    }

    /// The queues must stay fast with 100,000 open cases: each is one index seek, read in
    /// the index's order, with no sort of the whole queue.
    #[test]
    fn queues_are_read_in_index_order_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.sqlite").display().to_string();
        let pool = db::Pool::open(&path, 1).unwrap();
        pool.migrate().unwrap();
        let mut conn = pool.get().unwrap();
        let Conn::Sqlite(c) = &mut conn else {
            unreachable!("a SQLite path")
        };
        let town = Area::of("44060501100000").unwrap();
        let centre = filter(
            Scope::Area(town.clone()),
            Some(Queue::Centre {
                code: town.code.clone(),
            }),
        );
        for (sort, index) in [
            (Sort::OpenedAt, "cases_centre_queue "),
            (Sort::DueAt, "cases_centre_queue_due "),
        ] {
            for after in [false, true] {
                let p = plan(c, &centre, sort, after);
                assert!(p.contains(&format!("USING INDEX {index}")), "{p}");
                assert!(!p.contains("TEMP B-TREE"), "{p}");
            }
        }
        let department = filter(
            Scope::Nothing,
            Some(Queue::Department {
                department: "fire".into(),
                area: town.clone(),
            }),
        );
        let p = plan(c, &department, Sort::OpenedAt, true);
        assert!(
            p.contains("USING INDEX cases_department_queue (department_queue=? AND town_code=?"),
            "{p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        let region = filter(Scope::Area(town), None);
        let p = plan(c, &region, Sort::OpenedAt, false);
        assert!(p.contains("USING INDEX cases_town_opened "), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        // An inspector's cases to verify: only resolved cases of their cells are read.
        let verification = filter(
            Scope::Nothing,
            Some(Queue::Verification {
                cells: vec!["44060501100101".into(), "44060501100102".into()],
            }),
        );
        let p = plan(c, &verification, Sort::OpenedAt, false);
        assert!(
            p.contains("USING INDEX cases_to_verify (cell_code=?"),
            "{p}"
        );
    }
}
