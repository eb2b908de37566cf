//! The time-limit task: every period it marks active cases past their due time as overdue
//! and escalates those overdue for longer than the grace to the next tier, each as a
//! timeline event by the system.
//!
//! Several server processes may run it against one PostgreSQL at once. It takes no lock:
//! every change is the same conditional UPDATE on the case's version that user actions
//! use, so of two processes touching one case exactly one succeeds and the other skips
//! it. Work is done in small transactions, in id order (two processes lock rows in the
//! same order, so they wait for each other but never deadlock), and a user acting on a
//! case in between simply wins.

use std::time::Duration;

use actix_web::web;
use diesel::QueryResult;
use serde_json::json;

use crate::cases::model::{self, Action, ActionRequest, Actor};
use crate::cases::store::{self, CaseRow, Step, SweepCursor};
use crate::db::{Conn, Db};

/// Cases per transaction: short enough not to hold SQLite's write lock (or PostgreSQL's
/// row locks) for long.
const BATCH: i64 = 100;

/// Starts the periodic task on the current actix runtime: a sweep every `period`,
/// escalating what has been overdue for longer than `grace_us`.
pub(crate) fn spawn(db: web::Data<Db>, period: Duration, grace_us: i64) {
    actix_web::rt::spawn(async move {
        loop {
            actix_web::rt::time::sleep(period).await;
            let swept = db
                .run(move |conn| Ok(run_once(conn, crate::clock::now(), grace_us)?))
                .await;
            match swept {
                Ok((0, 0)) => {}
                Ok((marked, escalated)) => {
                    log::info!("time limits: {marked} cases marked overdue, {escalated} escalated")
                }
                Err(e) => log::warn!("time limits: {e}"),
            }
        }
    });
}

/// One sweep at `now`: marks what is past due, then escalates what has been overdue at its
/// tier for longer than `grace_us`. Answers (marked, escalated) by this call; cases another
/// process or a user changed first are skipped, not counted.
pub fn run_once(conn: &mut Conn, now: i64, grace_us: i64) -> QueryResult<(usize, usize)> {
    let mut marked = 0;
    for group in store::unmarked_groups() {
        marked += sweep(conn, Action::MarkOverdue, now, |conn, after| {
            store::due_unmarked(conn, now, group, after, BATCH)
        })?;
    }
    let mut escalated = 0;
    for group in store::escalable_groups() {
        escalated += sweep(conn, Action::SystemEscalate, now, |conn, after| {
            store::overdue_to_escalate(conn, now, grace_us, group, after, BATCH)
        })?;
    }
    Ok((marked, escalated))
}

/// Applies `action` by the system to every candidate of one group, a batch per
/// transaction. Candidates are looked for outside a transaction, so an idle sweep takes no
/// write lock.
fn sweep(
    conn: &mut Conn,
    action: Action,
    now: i64,
    candidates: impl Fn(&mut Conn, SweepCursor) -> QueryResult<Vec<CaseRow>>,
) -> QueryResult<usize> {
    let mut done = 0;
    let mut after: SweepCursor = (i64::MIN, i64::MIN);
    loop {
        let batch = candidates(conn, after)?;
        let Some(last) = batch.last() else {
            return Ok(done);
        };
        after = (last.due_at, last.id);
        let full = batch.len() as i64 == BATCH;
        done += conn.write(|conn| {
            let mut changed = 0;
            for row in &batch {
                if apply_system(conn, row, action, now)?.is_some() {
                    changed += 1;
                }
            }
            Ok::<_, diesel::result::Error>(changed)
        })?;
        if !full {
            return Ok(done);
        }
    }
}

/// Decides and records one system step on `row` as read, at `now`; the case as written, or
/// None when the rules refuse it now or another writer changed the case first. The demo
/// plays the task with it too.
pub(crate) fn apply_system(
    conn: &mut Conn,
    row: &CaseRow,
    action: Action,
    now: i64,
) -> QueryResult<Option<CaseRow>> {
    let Ok(t) = model::apply(
        &row.facts(),
        &Actor::System,
        &ActionRequest::new(action),
        now,
        &[],
    ) else {
        return Ok(None);
    };
    let step = Step {
        action,
        actor_id: None,
        actor_role: "system",
        note: None,
        photos: Vec::new(),
        details: json!({
            "due_at": crate::clock::rfc3339(row.due_at),
            "overdue_minutes": (now - row.due_at) / 60_000_000,
        }),
    };
    store::record(conn, row, &t, &step, now)
}
