//! Case endpoints: opening a case by hand, the queues, one case with its timeline, claims
//! and every other action of the life cycle.
//!
//! An action is decided on the case as read (`model::apply`) and written with one
//! conditional UPDATE on that version (`store::record`): if someone else changed the case
//! in between, nothing is written and the answer is 409 with the case as it now is. So of
//! any number of racing requests exactly one wins, on either backend and across server
//! processes, without a lock.

use std::collections::{HashMap, HashSet};

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use strum::VariantArray;
use utoipa::{IntoParams, ToSchema};

use crate::auth::store::usernames;
use crate::auth::{Principal, Role};
use crate::cases::model::{self, Action, ActionRequest, Actor, Refusal, Status};
use crate::cases::scope;
use crate::cases::store::{self, After, CaseFilter, CaseRow, CaseSeed, Sort, Step};
use crate::checklist::cache::Checklists;
use crate::checklist::model::{Tier, SEVERITIES};
use crate::clock::{self, rfc3339};
use crate::db::{Conn, Db};
use crate::grid::coords;
use crate::grid::index::{CellIndex, MapIndex};
use crate::web::error::{ApiError, ApiResult, ErrorCode, ErrorEnvelope};
use crate::web::extract::{json_body_error, typed, Body};
use crate::web::geo::{self, FeatureId};
use crate::web::negotiate::{Accept, Format};
use crate::web::paging::{time_param, CursorKey, Page};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct UserRef {
    pub id: i64,
    pub username: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CaseLocation {
    /// WGS-84.
    pub lon: f64,
    pub lat: f64,
}

/// Region codes of the case's location (the cell is null for a case outside the map).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CaseRegion {
    pub cell: Option<String>,
    pub community: String,
    pub town: String,
    pub district: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CaseCounters {
    /// Failed verifications (返工).
    pub reopened: i32,
    /// Sent back by a department (回退).
    pub declined: i32,
    /// Approved extensions (延期).
    pub extended: i32,
    /// Moved up a tier, by a centre or by the system.
    pub escalated: i32,
}

/// A case as it stands, with what the caller may do with it now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CaseView {
    pub id: i64,
    /// `report_item`, `licence_check` or `manual`.
    pub source: String,
    pub item_code: Option<String>,
    pub category: String,
    pub title: String,
    pub description: String,
    pub location: CaseLocation,
    pub region: CaseRegion,
    pub tier: Tier,
    pub department: String,
    pub priority: String,
    #[schema(value_type = String, example = "open")]
    pub status: Status,
    /// The dispatcher who claimed it; kept through dispatch, for a decline to return to.
    pub claimed_by: Option<UserRef>,
    pub due_at: String,
    pub overdue: bool,
    /// The later due time a department asked for, awaiting the centre.
    pub pending_extension: Option<String>,
    pub enterprise_uscc: Option<String>,
    /// For a case rejected as a duplicate: the case it repeats.
    pub duplicate_of: Option<i64>,
    pub counters: CaseCounters,
    /// Send it back as `version` with an action to make the action conditional on it.
    pub version: i32,
    pub opened_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    pub created_by: Option<UserRef>,
    /// The actions the caller may take now.
    #[schema(value_type = Vec<String>, example = json!(["claim", "escalate"]))]
    pub allowed_actions: Vec<Action>,
}

/// One step of a case's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct EventView {
    pub id: i64,
    pub at: String,
    /// Username; null for the system.
    pub actor: Option<String>,
    /// `inspector`, `dispatcher`, `handler`, `admin` or `system`.
    pub actor_role: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub from_tier: Option<String>,
    pub to_tier: String,
    pub department: Option<String>,
    pub note: Option<String>,
    /// sha256 of the photos taken for this step.
    pub photos: Vec<String>,
    #[schema(value_type = Object)]
    pub details: Value,
}

/// A report whose failed item opened or joined the case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct JoinedReport {
    pub id: String,
    pub item_code: String,
    pub captured_at: String,
    pub joined_at: String,
    /// Username of the inspector.
    pub inspector: String,
}

/// A page of cases.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CasePage {
    pub items: Vec<CaseView>,
    /// The cursor of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A case with its whole timeline and the reports that joined it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseView,
    pub timeline: Vec<EventView>,
    pub reports: Vec<JoinedReport>,
}

fn user_ref(id: Option<i64>, names: &HashMap<i64, String>) -> Option<UserRef> {
    id.map(|id| UserRef {
        id,
        username: names.get(&id).cloned().unwrap_or_default(),
    })
}

fn view(row: &CaseRow, actor: &Actor, names: &HashMap<i64, String>) -> CaseView {
    CaseView {
        id: row.id,
        source: row.source.clone(),
        item_code: row.item_code.clone(),
        category: row.category.clone(),
        title: row.title.clone(),
        description: row.description.clone(),
        location: CaseLocation {
            lon: row.lon,
            lat: row.lat,
        },
        region: CaseRegion {
            cell: row.cell_code.clone(),
            community: row.community_code.clone(),
            town: row.town_code.clone(),
            district: row.district_code.clone(),
        },
        tier: row.tier,
        department: row.department.clone(),
        priority: row.priority.clone(),
        status: row.status,
        claimed_by: user_ref(row.claimed_by, names),
        due_at: rfc3339(row.due_at),
        overdue: row.overdue,
        pending_extension: row.pending_extension.map(rfc3339),
        enterprise_uscc: row.enterprise_uscc.clone(),
        duplicate_of: row.duplicate_of,
        counters: CaseCounters {
            reopened: row.reopened_count,
            declined: row.declined_count,
            extended: row.extended_count,
            escalated: row.escalated_count,
        },
        version: row.version,
        opened_at: rfc3339(row.opened_at),
        updated_at: rfc3339(row.updated_at),
        closed_at: row.closed_at.map(rfc3339),
        created_by: user_ref(row.created_by, names),
        allowed_actions: model::allowed_actions(&row.facts(), actor),
    }
}

/// The users a case view names.
fn named_users(rows: &[&CaseRow]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.claimed_by, r.created_by])
        .flatten()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Loads a case with everything its detail view shows; 404 when `who` may not read it.
fn detail(conn: &mut Conn, who: &Principal, id: i64) -> ApiResult<CaseDetail> {
    let no_such = || ApiError::not_found(format!("no case {id}"));
    let row = store::find(conn, id)?.ok_or_else(no_such)?;
    if !store::readable_by(conn, who, &row)? {
        // Not 403: whether a case exists outside your scope is not yours to know.
        return Err(no_such());
    }
    let events = store::timeline(conn, id)?;
    let reports = store::joined_reports(conn, id)?;
    let names = usernames(conn, &named_users(&[&row]))?;
    let case = view(&row, &scope::actor(who), &names);
    let timeline = events
        .into_iter()
        .map(|(e, actor)| EventView {
            id: e.id,
            at: rfc3339(e.at),
            actor,
            actor_role: e.actor_role,
            action: e.action,
            from_status: e.from_status,
            to_status: e.to_status,
            from_tier: e.from_tier,
            to_tier: e.to_tier,
            department: e.department,
            note: e.note,
            photos: serde_json::from_str(&e.photos).unwrap_or_default(),
            details: serde_json::from_str(&e.details).unwrap_or(Value::Null),
        })
        .collect();
    let reports = reports
        .into_iter()
        .map(|r| JoinedReport {
            id: r.report_id,
            item_code: r.item_code,
            captured_at: rfc3339(r.captured_at),
            joined_at: rfc3339(r.joined_at),
            inspector: r.inspector,
        })
        .collect();
    Ok(CaseDetail {
        case,
        timeline,
        reports,
    })
}

/// One case with its timeline and the reports that joined it.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = i64, Path, description = "case id")),
    responses((status = 200, body = CaseDetail),
        (status = 404, description = "no such case, or not in your scope", body = ErrorEnvelope),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn read(
    db: web::Data<Db>,
    who: Principal,
    id: web::Path<i64>,
) -> ApiResult<web::Json<CaseDetail>> {
    let id = id.into_inner();
    let found = db.run(move |conn| detail(conn, &who, id)).await?;
    Ok(web::Json(found))
}

/// The optional body of a claim.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClaimBody {
    /// Claim only if the case is still at this version (409 otherwise).
    pub version: Option<i32>,
}

/// An action on a case; which fields it needs depends on the action.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionBody {
    /// `claim`, `release`, `dispatch`, `start`, `resolve`, `verify`, `reject`, `duplicate`,
    /// `escalate`, `return`, `decline`, `extend`, `approve_extension`, `refuse_extension`.
    #[schema(example = "dispatch")]
    pub action: String,
    /// Required for resolve (what was done), reject and decline (why).
    #[schema(max_length = 4000)]
    pub note: Option<String>,
    /// For dispatch: the department's code.
    #[schema(max_length = 32)]
    pub department: Option<String>,
    /// sha256 of photos (uploaded apart, to /api/v1/photos): required for resolve and verify.
    #[serde(default)]
    #[schema(max_items = 20, inline, value_type = Vec<crate::web::schema::Sha256Hex>)]
    pub photos: Vec<String>,
    /// For verify: `pass` closes the case, `fail` sends it back to the department.
    pub outcome: Option<String>,
    /// Act only if the case is still at this version (409 with the current case otherwise).
    pub version: Option<i32>,
    /// For extend: the later due time asked for (RFC 3339).
    pub due_at: Option<String>,
    /// For duplicate: the case this one repeats.
    pub duplicate_of: Option<i64>,
}

/// How much a case step or a case opened by hand may carry (docs/security.md).
const STEP_PHOTOS: usize = 20;
const NOTE_CHARS: usize = 4000;
const TITLE_CHARS: usize = 200;
const CODE_CHARS: usize = 64;

/// Turns the body into the state machine's request, listing every problem of its shape.
fn action_request(body: ActionBody) -> ApiResult<(ActionRequest, Option<i32>)> {
    let mut problems = Vec::new();
    if body.photos.len() > STEP_PHOTOS {
        problems.push(json!({"field": "photos", "problem": format!(
            "{} photos; at most {STEP_PHOTOS}", body.photos.len()), "limit": STEP_PHOTOS}));
    }
    for (field, text, max) in [
        ("note", body.note.as_deref(), NOTE_CHARS),
        ("department", body.department.as_deref(), CODE_CHARS),
        ("outcome", body.outcome.as_deref(), CODE_CHARS),
        ("due_at", body.due_at.as_deref(), CODE_CHARS),
    ] {
        let n = text.map_or(0, |t| t.chars().count());
        if n > max {
            problems.push(json!({"field": field, "problem": format!(
                "{n} characters; at most {max}"), "limit": max}));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(
            "the action is too large",
            Value::Array(problems),
        ));
    }
    let action = Action::parse(&body.action);
    if action.is_none() {
        problems.push(json!({"field": "action", "problem": format!(
            "unknown action {:?}; one of {}", body.action,
            Action::VARIANTS.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "))}));
    }
    let due_at = match body.due_at.as_deref() {
        None => None,
        Some(text) => {
            let parsed = clock::parse_rfc3339(text);
            if parsed.is_none() {
                problems
                    .push(json!({"field": "due_at", "problem": "must be RFC 3339 with an offset"}));
            }
            parsed
        }
    };
    let photos: Vec<String> = body
        .photos
        .iter()
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    for p in &photos {
        if p.len() != 64 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            problems.push(json!({"field": "photos", "problem": format!("{p:?} is not a sha256")}));
        }
    }
    match action {
        Some(action) if problems.is_empty() => Ok((
            ActionRequest {
                action,
                note: body.note.map(|n| n.trim().to_string()),
                department: body.department.map(|d| d.trim().to_string()),
                photos,
                outcome: body.outcome,
                due_at,
                duplicate_of: body.duplicate_of,
            },
            body.version,
        )),
        _ => Err(ApiError::invalid(
            "the action is invalid",
            Value::Array(problems),
        )),
    }
}

/// Claim a case for your dispatch centre. Of many racing claims exactly one answers 200;
/// the others answer 409 naming the holder.
#[utoipa::path(post, path = "/api/v1/cases/{id}/claim", tag = "cases",
    params(("id" = i64, Path, description = "case id")),
    request_body(content = Option<ClaimBody>, description = "optional"),
    responses((status = 200, description = "claimed: the case as it now is", body = CaseView),
        (status = 409, description = "claimed by someone else (`details.holder`), not open, or a stale `version` (`details.case` is the current case)", body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn claim(
    db: web::Data<Db>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Bytes,
) -> ApiResult<web::Json<CaseView>> {
    let body: ClaimBody = if body.iter().all(u8::is_ascii_whitespace) {
        ClaimBody::default()
    } else {
        match serde_json::from_slice(&body).map_err(|e| json_body_error(&e))? {
            Value::Null => ClaimBody::default(),
            value => typed(value)?,
        }
    };
    let request = ActionRequest::new(Action::Claim);
    take_action(&db, who, id.into_inner(), request, body.version).await
}

/// Take an action on a case: 409 with the allowed actions when the case's state does not
/// allow it (or with the current case when someone else acted first or `version` is
/// stale), 403 when it is not yours to take, 422 when the request lacks something.
#[utoipa::path(post, path = "/api/v1/cases/{id}/actions", tag = "cases",
    params(("id" = i64, Path, description = "case id")),
    request_body = ActionBody,
    responses((status = 200, description = "the case as it now is", body = CaseView),
        (status = 409, description = "`action_not_allowed` (`details.allowed`, `details.status`), or `version_conflict` (`details.case`)", body = ErrorEnvelope),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn act(
    db: web::Data<Db>,
    who: Principal,
    id: web::Path<i64>,
    body: Body<ActionBody>,
) -> ApiResult<web::Json<CaseView>> {
    let (request, version) = action_request(body.into_inner())?;
    take_action(&db, who, id.into_inner(), request, version).await
}

/// What an action needs read before it is decided.
struct Loaded {
    row: CaseRow,
    names: HashMap<i64, String>,
    /// The department a dispatch names, when it is stored.
    known_department: Option<String>,
    duplicate_exists: bool,
}

/// Reads the case, decides the action on it, and records the outcome conditionally on the
/// version read.
async fn take_action(
    db: &Db,
    who: Principal,
    id: i64,
    request: ActionRequest,
    version: Option<i32>,
) -> ApiResult<web::Json<CaseView>> {
    let actor = scope::actor(&who);
    let reader = who.clone();
    // A dispatch needs only its own department checked, trimmed as the model compares it.
    let dispatch_to = request
        .department
        .as_deref()
        .map(str::trim)
        .filter(|d| request.action == Action::Dispatch && !d.is_empty())
        .map(str::to_string);
    let duplicate_of = request
        .duplicate_of
        .filter(|_| request.action == Action::Duplicate);
    let photos = request.photos.clone();
    let loaded = db
        .run(move |conn| {
            // A case the caller may not read is 404 before anything else is looked at: a
            // refusal, a version conflict or a holder's name would tell that it exists.
            let no_such = || ApiError::not_found(format!("no case {id}"));
            let row = store::find(conn, id)?.ok_or_else(no_such)?;
            if !store::readable_by(conn, &reader, &row)? {
                return Err(no_such());
            }
            // The caller is named from the principal below; ask only for the others.
            let mut ids = named_users(&[&row]);
            ids.retain(|&u| u != reader.user_id);
            let names = usernames(conn, &ids)?;
            let known_department = match dispatch_to {
                Some(code) if crate::checklist::store::department_exists(conn, &code)? => {
                    Some(code)
                }
                _ => None,
            };
            let refused = crate::photos::access::not_readable(conn, &reader, &photos)?;
            if !refused.is_empty() {
                return Err(crate::photos::access::refusal(&refused));
            }
            let duplicate_exists = match duplicate_of {
                Some(other) => other != id && store::exists(conn, other)?,
                None => true,
            };
            Ok(Loaded {
                row,
                names,
                known_department,
                duplicate_exists,
            })
        })
        .await?;
    let Loaded {
        row,
        mut names,
        known_department,
        duplicate_exists,
    } = loaded;
    names.insert(who.user_id, who.username.clone());
    if version.is_some_and(|v| v != row.version) {
        return Err(version_conflict(
            format!(
                "the case has changed: it is at version {}, not {}",
                row.version,
                version.unwrap_or_default()
            ),
            &row,
            &actor,
            &names,
        ));
    }
    let now = clock::now();
    // The model only asks whether the requested department is among the known ones.
    let known = known_department.as_deref();
    let transition = model::apply(&row.facts(), &actor, &request, now, known.as_slice())
        .map_err(|refusal| refused(refusal, request.action, &row, &actor, &names))?;
    if !duplicate_exists {
        return Err(ApiError::invalid(
            "the request is invalid",
            json!([{"field": "duplicate_of", "problem": format!(
                "case {} does not exist or is this case", request.duplicate_of.unwrap_or_default())}]),
        ));
    }
    let step = Step {
        action: request.action,
        actor_id: Some(who.user_id),
        actor_role: who.role.as_str(),
        note: request.note.clone().filter(|n| !n.is_empty()),
        photos: request.photos.clone(),
        details: model::step_details(&request, &transition),
    };
    let before = row.clone();
    let written = db
        .write(move |conn| Ok(store::record(conn, &before, &transition, &step, now)?))
        .await?;
    match written {
        Some(after) => Ok(web::Json(view(&after, &actor, &names))),
        None => {
            // Someone else's change committed between our read and our write; it may have
            // taken the case out of the caller's sight (dispatched to another department).
            let (current, names) = db
                .run(move |conn| {
                    let no_such = || ApiError::not_found(format!("no case {id}"));
                    let current = store::find(conn, id)?.ok_or_else(no_such)?;
                    if !store::readable_by(conn, &who, &current)? {
                        return Err(no_such());
                    }
                    let names = usernames(conn, &named_users(&[&current]))?;
                    Ok((current, names))
                })
                .await?;
            let holder = holder_phrase(&current, &names);
            Err(version_conflict(
                format!(
                    "another change to the case came first{holder}; {} was not taken",
                    request.action
                ),
                &current,
                &actor,
                &names,
            ))
        }
    }
}

/// ", held by <username>" for a claimed case.
fn holder_phrase(row: &CaseRow, names: &HashMap<i64, String>) -> String {
    match (row.status, row.claimed_by) {
        (Status::Claimed, Some(id)) => format!(
            " (held by {})",
            names.get(&id).map_or("an unknown user", String::as_str)
        ),
        _ => String::new(),
    }
}

/// The holder of a claimed case, for 409 details.
fn holder(row: &CaseRow, names: &HashMap<i64, String>) -> Value {
    match row.claimed_by {
        Some(_) if row.status == Status::Claimed => {
            serde_json::to_value(user_ref(row.claimed_by, names)).unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

fn version_conflict(
    message: String,
    row: &CaseRow,
    actor: &Actor,
    names: &HashMap<i64, String>,
) -> ApiError {
    ApiError::new(ErrorCode::VersionConflict, message).with_details(json!({
        "version": row.version,
        "holder": holder(row, names),
        "case": view(row, actor, names),
    }))
}

/// Maps the state machine's refusal to the error envelope: 409, 403 or 422.
fn refused(
    refusal: Refusal,
    action: Action,
    row: &CaseRow,
    actor: &Actor,
    names: &HashMap<i64, String>,
) -> ApiError {
    match refusal {
        Refusal::NotAllowed {
            status,
            allowed,
            reason,
        } => ApiError::new(
            ErrorCode::ActionNotAllowed,
            format!(
                "{action} is not allowed: {reason}{}",
                holder_phrase(row, names)
            ),
        )
        .with_details(json!({
            "status": status,
            "allowed": allowed,
            "holder": holder(row, names),
            "case": view(row, actor, names),
        })),
        Refusal::Forbidden { reason } => {
            ApiError::forbidden(reason).with_details(json!({"action": action}))
        }
        Refusal::Invalid { problems } => ApiError::invalid(
            format!("{action} needs more: {}", problems.join("; ")),
            Value::Array(
                problems
                    .into_iter()
                    .map(|p| json!({"problem": p}))
                    .collect(),
            ),
        ),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseQuery {
    /// `all` (default): every case you may see; `mine`: your queue — a dispatcher's
    /// centre (open, claimed, or awaiting its decision on an extension), a handler's
    /// department in their region (dispatched, in progress), an inspector's cases to
    /// verify (resolved, in their cells).
    #[param(value_type = Option<CaseQueryQueueName>, inline)]
    pub queue: Option<String>,
    /// `open`, `claimed`, `dispatched`, `in_progress`, `resolved`, `closed`, `rejected`.
    #[param(value_type = Option<crate::web::schema::StatusName>, inline)]
    pub status: Option<String>,
    /// `community`, `town`, `district`.
    #[param(value_type = Option<crate::web::schema::TierName>, inline)]
    pub tier: Option<String>,
    /// Department code.
    #[param(max_length = 32)]
    pub department: Option<String>,
    /// Cell code.
    #[param(value_type = Option<crate::web::schema::RegionCodeText>, inline)]
    pub cell: Option<String>,
    pub overdue: Option<bool>,
    /// Opened at or after (RFC 3339).
    #[param(value_type = Option<crate::web::schema::DateTime>, inline)]
    pub from: Option<String>,
    /// Opened before (RFC 3339).
    #[param(value_type = Option<crate::web::schema::DateTime>, inline)]
    pub to: Option<String>,
    /// `opened_at` (default, oldest first), `due_at`, `-opened_at`, `-due_at`.
    #[param(value_type = Option<CaseQuerySortName>, inline)]
    pub sort: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The page key: sort name, sort value, id. The sort is part of it so that a cursor is
/// never applied to another order than the one it came from.
#[derive(Debug, Clone)]
struct CaseCursor {
    sort: String,
    after: After,
}

impl CaseCursor {
    fn of(sort: &str, row: &CaseRow) -> CaseCursor {
        let key = match sort.ends_with("due_at") {
            true => row.due_at,
            false => row.opened_at,
        };
        CaseCursor {
            sort: sort.to_string(),
            after: After { key, id: row.id },
        }
    }
}

impl CursorKey for CaseCursor {
    fn to_key(&self) -> String {
        format!("{}|{}|{}", self.sort, self.after.key, self.after.id)
    }
    fn from_key(key: &str) -> Option<Self> {
        let mut parts = key.split('|');
        let (Some(sort), Some(value), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(CaseCursor {
            sort: sort.to_string(),
            after: After {
                key: value.parse().ok()?,
                id: id.parse().ok()?,
            },
        })
    }
}

/// Cases in your scope or your queue, filtered, sorted and paged:
/// `{"items":[CaseView],"next_cursor"}`, or a GeoJSON FeatureCollection of points with
/// `Accept: application/geo+json`.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseQuery),
    responses((status = 200, description = "a page of cases, or with `Accept: application/geo+json` a FeatureCollection of points whose properties are the cases, with `next_cursor`",
        content((CasePage = "application/json"), (Object = "application/geo+json"))),
        (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    db: web::Data<Db>,
    who: Principal,
    accept: Accept,
    query: web::Query<CaseQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let page = Page::<CaseCursor>::new(q.limit, q.cursor.as_deref())?;
    let bad = |parameter: &str, message: String| {
        ApiError::bad_request(message).with_details(json!({"parameter": parameter}))
    };
    let queue = match q.queue.as_deref() {
        None | Some("all") => None,
        Some("mine") => Some(scope::queue_of(&who).map_err(|why| bad("queue", why))?),
        Some(other) => {
            return Err(bad(
                "queue",
                format!("queue must be all or mine, not {other:?}"),
            ))
        }
    };
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<Status>()
                .map_err(|_| bad("status", format!("unknown status {s:?}")))
        })
        .transpose()?;
    let tier = q
        .tier
        .as_deref()
        .map(|t| {
            t.parse::<Tier>()
                .map_err(|_| bad("tier", format!("unknown tier {t:?}")))
        })
        .transpose()?;
    let from = time_param("from", q.from.as_deref())?;
    let to = time_param("to", q.to.as_deref())?;
    let sort_name = q.sort.clone().unwrap_or_else(|| "opened_at".into());
    let (sort, descending) = match sort_name.as_str() {
        "opened_at" => (Sort::OpenedAt, false),
        "-opened_at" => (Sort::OpenedAt, true),
        "due_at" => (Sort::DueAt, false),
        "-due_at" => (Sort::DueAt, true),
        other => {
            return Err(bad(
                "sort",
                format!("sort must be opened_at, due_at, -opened_at or -due_at, not {other:?}"),
            ))
        }
    };
    if let Some(cell) = &q.cell {
        if who.role != Role::Inspector && !who.may_see(cell) {
            return Err(ApiError::forbidden(format!(
                "cell {cell} lies outside your region"
            )));
        }
    }
    let after = match &page.after {
        Some(cursor) if cursor.sort != sort_name => {
            return Err(
                ApiError::bad_request("cursor is not one this server issued for this sort")
                    .with_details(json!({"parameter": "cursor"})),
            )
        }
        cursor => cursor.as_ref().map(|c| c.after),
    };
    let filter = CaseFilter {
        scope: scope::scope_of(&who),
        queue,
        status,
        tier,
        department: q.department.clone(),
        cell: q.cell.clone(),
        overdue: q.overdue,
        from,
        to,
    };
    let fetch = page.fetch();
    let (mut rows, names) = db
        .run(move |conn| {
            let rows = store::list(conn, &filter, sort, descending, after, fetch)?;
            let names = usernames(conn, &named_users(&rows.iter().collect::<Vec<_>>()))?;
            Ok((rows, names))
        })
        .await?;
    let next = page.finish(&mut rows, |r| CaseCursor::of(&sort_name, r));
    let actor = scope::actor(&who);
    let items: Vec<CaseView> = rows.iter().map(|r| view(r, &actor, &names)).collect();
    if accept.choose(&[Format::Json, Format::GeoJson]) == Format::GeoJson {
        let features = items
            .iter()
            .map(|v| geo::point(FeatureId::Number(v.id), v.location.lon, v.location.lat, v))
            .collect();
        return Ok(geo::collection(features, next));
    }
    Ok(HttpResponse::Ok().json(CasePage {
        items,
        next_cursor: next,
    }))
}

/// A case opened by hand by a dispatcher.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCase {
    #[schema(example = "桂澜路人行道井盖缺失", max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: String,
    /// A category of the current checklist, e.g. `city_appearance`.
    #[schema(example = "city_appearance")]
    pub category: String,
    /// The department it should go to.
    #[schema(example = "urban")]
    pub department: String,
    /// The centre that takes it first; default: your own centre's tier.
    #[schema(value_type = Option<String>, example = "town")]
    pub tier: Option<String>,
    pub lon: f64,
    pub lat: f64,
    /// `wgs84` (default) or `gcj02`.
    pub crs: Option<String>,
    /// Due time (RFC 3339, in the future); or give `time_limit_hours`.
    pub due_at: Option<String>,
    /// Hours from now until due; or give `due_at`.
    pub time_limit_hours: Option<i64>,
    /// `low`, `medium` (default), `high`, `critical`.
    pub priority: Option<String>,
}

/// Open a case by hand (dispatchers, within their region; admins). Located in the grid:
/// 422 outside the map or outside your region.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = NewCase,
    responses((status = 201, body = CaseDetail),
        (status = 422, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 400, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub(crate) async fn open(
    db: web::Data<Db>,
    map: web::Data<MapIndex>,
    checklists: web::Data<Checklists>,
    who: Principal,
    body: Body<NewCase>,
) -> ApiResult<HttpResponse> {
    who.require(&[Role::Dispatcher, Role::Admin])?;
    let (current, departments) = db
        .run(|conn| {
            Ok((
                crate::checklist::store::current_version(conn)?.map(|v| v.version),
                crate::checklist::store::department_codes(conn)?,
            ))
        })
        .await?;
    // A version's items never change, so they come from the per-version cache.
    let categories: HashSet<String> = match current {
        Some(v) => checklists
            .version(&db, v)
            .await?
            .map(|items| items.values().map(|i| i.category.clone()).collect())
            .unwrap_or_default(),
        None => HashSet::new(),
    };
    let known = (categories, departments);
    let now = clock::now();
    let seed = manual_seed(body.into_inner(), &who, &known, &map.load(), now)
        .map_err(|problems| ApiError::invalid("the case is invalid", Value::Array(problems)))?;
    let id = db
        .write(move |conn| Ok(store::open(conn, &seed, now)?))
        .await?;
    let opened = db.run(move |conn| detail(conn, &who, id)).await?;
    Ok(HttpResponse::Created().json(opened))
}

/// The case a dispatcher asked to open, located in the grid; or every problem with the
/// request. `known` holds the current checklist's categories and the departments.
fn manual_seed(
    input: NewCase,
    who: &Principal,
    (categories, departments): &(HashSet<String>, HashSet<String>),
    cells: &CellIndex,
    now: i64,
) -> Result<CaseSeed, Vec<Value>> {
    let mut problems = Vec::new();
    let mut problem =
        |field: &str, text: String| problems.push(json!({"field": field, "problem": text}));
    if input.title.trim().is_empty() {
        problem("title", "must not be empty".into());
    }
    for (field, text, max) in [
        ("title", &input.title, TITLE_CHARS),
        ("description", &input.description, NOTE_CHARS),
    ] {
        let n = text.chars().count();
        if n > max {
            problem(field, format!("{n} characters; at most {max}"));
        }
    }
    if !categories.contains(&input.category) {
        problem("category", format!("unknown category {:?}", input.category));
    }
    if !departments.contains(&input.department) {
        problem(
            "department",
            format!("unknown department {:?}", input.department),
        );
    }
    let own_tier = who.region.as_ref().and_then(|r| Tier::of_level(r.level()));
    let tier = match input.tier.as_deref() {
        Some(t) => t.parse::<Tier>().ok().or_else(|| {
            problem(
                "tier",
                format!("unknown tier {t:?}; community, town or district"),
            );
            None
        }),
        None => own_tier.or_else(|| {
            problem(
                "tier",
                "is required: your account names no centre of a tier".into(),
            );
            None
        }),
    };
    let priority = input.priority.clone().unwrap_or_else(|| "medium".into());
    if !SEVERITIES.contains(&priority.as_str()) {
        problem(
            "priority",
            format!("must be one of {}", SEVERITIES.join(", ")),
        );
    }
    let due_at = match (input.due_at.as_deref(), input.time_limit_hours) {
        (Some(_), Some(_)) => {
            problem("due_at", "give due_at or time_limit_hours, not both".into());
            None
        }
        (None, None) => {
            problem("due_at", "due_at or time_limit_hours is required".into());
            None
        }
        (Some(text), None) => match clock::parse_rfc3339(text) {
            Some(t) if t > now => Some(t),
            Some(_) => {
                problem("due_at", "must be in the future".into());
                None
            }
            None => {
                problem("due_at", "must be RFC 3339 with an offset".into());
                None
            }
        },
        (None, Some(hours)) if (1..=24 * 366).contains(&hours) => Some(now + hours * 3_600_000_000),
        (None, Some(_)) => {
            problem("time_limit_hours", "must be between 1 and 8784".into());
            None
        }
    };
    let mut located = None;
    match coords::read_point("", input.lon, input.lat, input.crs.as_deref()) {
        Err(list) => {
            for p in list {
                let text = p["problem"].as_str().unwrap_or_default().to_string();
                problem(p["field"].as_str().unwrap_or_default(), text);
            }
        }
        Ok((lon, lat)) => match cells.locate(lon, lat) {
            None => problem("lon/lat", "the point lies outside every grid cell".into()),
            Some(entry) if !who.may_see(&entry.cell.code) => problem(
                "lon/lat",
                format!("cell {} lies outside your region", entry.cell.code),
            ),
            Some(entry) => located = Some((lon, lat, entry)),
        },
    }
    let (Some(tier), Some(due_at), Some((lon, lat, entry)), true) =
        (tier, due_at, located, problems.is_empty())
    else {
        return Err(problems);
    };
    Ok(CaseSeed {
        source: "manual",
        item_code: None,
        category: input.category,
        title: input.title.trim().to_string(),
        description: input.description.trim().to_string(),
        lon,
        lat,
        cell: Some(entry.cell.code.clone()),
        community: entry.community.code.clone(),
        town: entry.town.code.clone(),
        district: entry.district.code.clone(),
        tier,
        department: input.department,
        priority,
        due_at,
        enterprise_uscc: None,
        report: None,
        actor: Some((who.user_id, who.role.as_str())),
    })
}

crate::choices!(
    /// The values of `queue`.
    CaseQueryQueueName: ["all", "mine"]
);

crate::choices!(
    /// The values of `sort`.
    CaseQuerySortName: ["opened_at", "due_at", "-opened_at", "-due_at"]
);
