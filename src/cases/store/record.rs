//! Recording a decided action: one conditional UPDATE on the version the decision was made
//! on (so of two racing writers exactly one wins), and the step appended to the timeline.

use diesel::prelude::*;
use serde_json::Value;

use crate::cases::model::{Action, Status, Transition};
use crate::cases::store::CaseRow;
use crate::db::cached::Sql;
use crate::db::schema::{case_events, case_photos};
use crate::db::{self, Conn};
use crate::db_run;

pub(crate) struct NewEvent<'a> {
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
pub(crate) fn append_event(conn: &mut Conn, e: &NewEvent) -> QueryResult<()> {
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
        status: t.to_status,
        tier: t.to_tier,
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
            from_status: Some(before.status.as_str()),
            to_status: t.to_status.as_str(),
            from_tier: Some(before.tier.as_str()),
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
