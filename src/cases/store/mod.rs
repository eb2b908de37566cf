//! Stored cases and their append-only timeline, split by concern: opening and joining
//! (`open`), recording a decided action (`record`), the queue listings (`listing`) and the
//! overdue sweep's reads (`sweep`); the reads every concern shares are here.
//!
//! It must not decide what a case allows: that is `model::apply`, asked before a
//! transition reaches [`record::record`].

use diesel::prelude::*;

use crate::auth::{Principal, Role};
use crate::cases::model::{CaseFacts, Status};
use crate::checklist::model::Tier;
use crate::db::schema::{case_events, case_photos, case_reports, cases, reports, users};
use crate::db::Conn;
use crate::db_run;
use crate::region::Level;

/// Statuses in which a case is still being worked on (a new finding may join it).
pub(crate) const ACTIVE: [Status; 5] = [
    Status::Open,
    Status::Claimed,
    Status::Dispatched,
    Status::InProgress,
    Status::Resolved,
];

/// `ACTIVE` as SQL, for fixed statement texts (kept prepared, and the same predicate as the
/// partial index `cases_item_active`); a test holds the two spellings together.
macro_rules! active_in_sql {
    () => {
        "status IN ('open', 'claimed', 'dispatched', 'in_progress', 'resolved')"
    };
}

mod listing;
mod open;
mod record;
mod sweep;

pub(crate) use listing::{list, After, CaseFilter, Sort};
pub(crate) use open::{dedup_key, open_or_join, Dedup};
pub use open::{open, CaseSeed};
pub(crate) use record::{append_event, NewEvent};
pub use record::{record, Step};
pub(crate) use sweep::{
    due_unmarked, escalable_groups, overdue_to_escalate, unmarked_groups, SweepCursor,
};

/// The column of `cases` that holds a case's region at `level`: a region's cases are one
/// equality on it, which the region indexes serve (a prefix test would defeat SQLite's).
pub(crate) fn area_column(level: Level) -> &'static str {
    match level {
        Level::District => "district_code",
        Level::Town => "town_code",
        Level::Community => "community_code",
        Level::Cell => "cell_code",
    }
}

/// The cases whose timeline carries a photo (resolution and verification photos).
pub(crate) fn with_photo(conn: &mut Conn, sha: &str) -> QueryResult<Vec<CaseRow>> {
    db_run!(conn, |c| cases::table
        .inner_join(case_photos::table.on(case_photos::case_id.eq(cases::id)))
        .filter(case_photos::sha256.eq(sha))
        .select(CaseRow::as_select())
        .load(c))
}

/// Who named photo `sha` in a step of case `case` (resolution and verification photos).
pub(crate) fn photo_named_by(conn: &mut Conn, case: i64, sha: &str) -> QueryResult<Vec<i64>> {
    let steps: Vec<(Option<i64>, String)> = db_run!(conn, |c| case_events::table
        .filter(case_events::case_id.eq(case))
        .filter(case_events::photos.like(format!("%{sha}%")))
        .select((case_events::actor_id, case_events::photos))
        .load(c))?;
    Ok(steps
        .into_iter()
        .filter(|(_, photos)| {
            serde_json::from_str::<Vec<String>>(photos).is_ok_and(|p| p.iter().any(|x| x == sha))
        })
        .filter_map(|(actor, _)| actor)
        .collect())
}

/// Whether `who` may read the case (and so its photos): the read rule of `scope::may_read`,
/// with an inspector's own joined reports looked up only for inspectors.
pub(crate) fn readable_by(conn: &mut Conn, who: &Principal, row: &CaseRow) -> QueryResult<bool> {
    let joined = who.role == Role::Inspector && joined_by(conn, row.id, who.user_id)?;
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
    pub tier: Tier,
    pub department: String,
    pub priority: String,
    pub status: Status,
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
    pub(crate) fn place(&self) -> crate::cases::scope::Place<'_> {
        crate::cases::scope::Place {
            cell: self.cell_code.as_deref(),
            community: &self.community_code,
            department: &self.department,
        }
    }

    /// What the state machine needs to know of this case.
    pub fn facts(&self) -> CaseFacts {
        CaseFacts {
            status: self.status,
            tier: self.tier,
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

pub(crate) fn exists(conn: &mut Conn, id: i64) -> QueryResult<bool> {
    db_run!(conn, |c| diesel::select(diesel::dsl::exists(
        cases::table.find(id)
    ))
    .get_result(c))
}

/// One entry of a case's timeline, with the actor's username (None for the system).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_events)]
pub(crate) struct EventRow {
    pub id: i64,
    pub at: i64,
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
pub(crate) fn timeline(conn: &mut Conn, case: i64) -> QueryResult<Vec<(EventRow, Option<String>)>> {
    db_run!(conn, |c| case_events::table
        .left_join(users::table.on(case_events::actor_id.eq(users::id.nullable())))
        .filter(case_events::case_id.eq(case))
        .order(case_events::id)
        .select((EventRow::as_select(), users::username.nullable()))
        .load(c))
}

/// A report that joined a case.
#[derive(Debug, Clone, Queryable)]
pub(crate) struct JoinedReportRow {
    pub report_id: String,
    pub item_code: String,
    pub joined_at: i64,
    pub captured_at: i64,
    pub inspector: String,
}

pub(crate) fn joined_reports(conn: &mut Conn, case: i64) -> QueryResult<Vec<JoinedReportRow>> {
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
pub(crate) fn joined_by(conn: &mut Conn, case: i64, inspector: i64) -> QueryResult<bool> {
    db_run!(conn, |c| diesel::select(diesel::dsl::exists(
        case_reports::table
            .inner_join(reports::table)
            .filter(case_reports::case_id.eq(case))
            .filter(reports::inspector_id.eq(inspector))
    ))
    .get_result(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_spelling_of_active_is_active() {
        let quoted: Vec<String> = ACTIVE.iter().map(|s| format!("'{s}'")).collect();
        assert_eq!(
            active_in_sql!(),
            format!("status IN ({})", quoted.join(", "))
        );
    }
}
