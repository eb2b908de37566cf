//! Stored cases and their append-only timeline.

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::checklist::model::Tier;
use crate::db::schema::{case_events, case_reports, cases};
use crate::db::{self, Conn};
use crate::db_run;

/// Statuses in which a case is still being worked on (a new finding may join it).
pub const ACTIVE: [&str; 5] = ["open", "claimed", "dispatched", "in_progress", "resolved"];

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

/// Serialises concurrent openers of the same kind of case on PostgreSQL, where two
/// transactions could otherwise both find no case to join and both open one. SQLite
/// writers are serialised already.
fn lock_dedup_key(conn: &mut Conn, key: &str) -> QueryResult<()> {
    if let Conn::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(&mut **c)?;
    }
    Ok(())
}

/// Opens a case from `seed`, or joins the active case it repeats. Answers the case id and
/// whether it is new. Runs inside the caller's transaction.
pub fn open_or_join(
    conn: &mut Conn,
    seed: &CaseSeed,
    dedup: Dedup,
    now: i64,
) -> QueryResult<(i64, bool)> {
    let existing = match dedup {
        Dedup::NearbySameItem => {
            let code = seed.item_code.clone().unwrap_or_default();
            lock_dedup_key(conn, &format!("case-item:{code}"))?;
            // A box a little larger than the radius, then the exact distance.
            let (dlat, dlon) = (0.0004, 0.0005);
            let near: Vec<(i64, f64, f64)> = db_run!(conn, |c| cases::table
                .filter(cases::item_code.eq(&code))
                .filter(cases::status.eq_any(ACTIVE))
                .filter(cases::lat.between(seed.lat - dlat, seed.lat + dlat))
                .filter(cases::lon.between(seed.lon - dlon, seed.lon + dlon))
                .order(cases::id)
                .select((cases::id, cases::lon, cases::lat))
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
            let uscc = seed.enterprise_uscc.clone().unwrap_or_default();
            lock_dedup_key(conn, &format!("case-enterprise:{uscc}"))?;
            db_run!(conn, |c| cases::table
                .filter(cases::enterprise_uscc.eq(&uscc))
                .filter(cases::source.eq(seed.source))
                .filter(cases::status.eq_any(ACTIVE))
                .order(cases::id)
                .select(cases::id)
                .first::<i64>(c)
                .optional())?
        }
    };
    let seq = db::next_change_seq(conn)?;
    let (actor_id, actor_role) = seed
        .actor
        .map_or((None, "system"), |(id, role)| (Some(id), role));
    if let Some(id) = existing {
        let (status, tier): (String, String) =
            db_run!(conn, |c| diesel::update(cases::table.find(id))
                .set((
                    cases::version.eq(cases::version + 1),
                    cases::updated_at.eq(now),
                    cases::change_seq.eq(seq),
                ))
                .returning((cases::status, cases::tier))
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
                details: json!({"report_id": seed.report.as_ref().map(|r| &r.0), "item_code": seed.item_code}),
            },
        )?;
        return Ok((id, false));
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
            details: json!({"source": seed.source, "report_id": seed.report.as_ref().map(|r| &r.0), "item_code": seed.item_code}),
        },
    )?;
    Ok((id, true))
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

/// Appends to a case's timeline. There is no update or delete of events anywhere.
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
    Ok(())
}

/// Whether `who` may see a photo because it is attached to an event of a case in their
/// region (resolution and verification photos).
pub fn photo_visible_through_case(
    conn: &mut Conn,
    who: &crate::auth::Principal,
    sha: &str,
) -> QueryResult<bool> {
    let pattern = format!("%{sha}%");
    let places: Vec<(Option<String>, String)> = db_run!(conn, |c| cases::table
        .filter(
            cases::id.eq_any(
                case_events::table
                    .filter(case_events::photos.like(&pattern))
                    .select(case_events::case_id),
            ),
        )
        .select((cases::cell_code, cases::community_code))
        .load(c))?;
    Ok(places
        .iter()
        .any(|(cell, community)| who.may_see(cell.as_deref().unwrap_or(community))))
}
