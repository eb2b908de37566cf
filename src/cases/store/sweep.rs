//! What the overdue sweep reads: each (status, tier) group of cases in index order.

use diesel::prelude::*;

use crate::cases::model::{Action, Status};
use crate::cases::store::{CaseRow, ACTIVE};
use crate::checklist::model::Tier;
use crate::db::schema::{case_events, cases};
use crate::db::Conn;
use crate::db_run;

/// Statuses the overdue task escalates from: active, and not yet verified.
const ESCALABLE: [Status; 4] = [
    Status::Open,
    Status::Claimed,
    Status::Dispatched,
    Status::InProgress,
];
/// Tiers from which a case can still climb.
const BELOW_TOP: [Tier; 2] = [Tier::Community, Tier::Town];
const TIERS: [Tier; 3] = [Tier::Community, Tier::Town, Tier::District];

/// One group of cases the overdue task walks, and its candidates: the sweep walks each
/// (status, tier) group of `cases_overdue_watch` separately and in index order, by
/// (due_at, id). Across groups, or by id, every batch would sort all the rest: on a
/// large backlog of overdue cases every sweep would be quadratic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WatchGroup {
    pub status: Status,
    pub tier: Tier,
}

/// The groups in which cases become overdue.
pub(crate) fn unmarked_groups() -> impl Iterator<Item = WatchGroup> {
    ACTIVE
        .iter()
        .flat_map(|&status| TIERS.iter().map(move |&tier| WatchGroup { status, tier }))
}

/// The groups from which overdue cases can climb.
pub(crate) fn escalable_groups() -> impl Iterator<Item = WatchGroup> {
    ESCALABLE.iter().flat_map(|&status| {
        BELOW_TOP
            .iter()
            .map(move |&tier| WatchGroup { status, tier })
    })
}

/// Where a sweep has got to in a group: the (due_at, id) of the last case it took.
pub(crate) type SweepCursor = (i64, i64);

/// Cases of `group` past due and not yet marked overdue, by (due_at, id) after `after`.
pub(crate) fn due_unmarked(
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
pub(crate) fn overdue_to_escalate(
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
