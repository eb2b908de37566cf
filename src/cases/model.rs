//! The case life cycle (立案 → 派遣 → 处理 → 核查结案, GB/T 30428 style): which actions a
//! case allows in its current state, who may take them, what each request must carry, and
//! the complete state each action leads to. Pure: no I/O, no clock (the caller passes
//! `now`), no database.
//!
//! It must not settle races or store anything. The store applies a [`Transition`] with a
//! conditional UPDATE on the case's `version` (so of two racing actions exactly one wins),
//! writes the timeline event, and maps a [`Refusal`] to HTTP: `NotAllowed` → 409 listing
//! the allowed actions, `Forbidden` → 403, `Invalid` → 422.
//!
//! Who acts for whom:
//! - the dispatch centre of the case's tier and region: a dispatcher whose region is the
//!   case's [`CaseFacts::centre_code`], or an admin. A claimed case is acted on by the
//!   dispatcher who holds it (an admin may act regardless);
//! - a handler of the case's department whose region contains the case's location;
//! - a grid inspector of the case's cell, for verification on site;
//! - the system, for time limits (mark overdue, escalate when overdue);
//! - supervisors read only.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use strum::VariantArray;

use crate::auth::model::Role;
use crate::checklist::model::Tier;
use crate::clock::rfc3339;
use crate::region::RegionCode;

/// Where a case stands in its life cycle. `Closed` and `Rejected` are final.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    /// Waiting in the queue of the dispatch centre of its tier and region.
    Open,
    /// Held by one dispatcher of that centre.
    Claimed,
    /// Sent to a department (派遣), not yet taken up.
    Dispatched,
    InProgress,
    /// The department reports it fixed; awaiting the inspector's verification.
    Resolved,
    /// Verified on site (核查结案). Only verification closes.
    Closed,
    /// Voided (注销) or a duplicate of another case.
    Rejected,
}

crate::text_column!(Status);

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        self.into()
    }

    /// Not final: the case still needs someone to act.
    pub(crate) fn is_active(self) -> bool {
        !matches!(self, Status::Closed | Status::Rejected)
    }
}

/// The tier above: community → town → district.
pub(crate) fn tier_up(tier: Tier) -> Option<Tier> {
    match tier {
        Tier::Community => Some(Tier::Town),
        Tier::Town => Some(Tier::District),
        Tier::District => None,
    }
}

/// The tier below: district → town → community.
pub(crate) fn tier_down(tier: Tier) -> Option<Tier> {
    match tier {
        Tier::Community => None,
        Tier::Town => Some(Tier::Community),
        Tier::District => Some(Tier::Town),
    }
}

/// What a user (or the system) asks to do with a case.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    Claim,
    Release,
    /// 派遣, and 改派 after a decline.
    Dispatch,
    Start,
    Resolve,
    /// 核查: `pass` closes, `fail` sends the case back to the department (返工).
    Verify,
    /// 注销.
    Reject,
    Duplicate,
    Escalate,
    Return,
    /// 回退: the department says the case is not theirs.
    Decline,
    /// A request for 延期.
    Extend,
    ApproveExtension,
    RefuseExtension,
    /// System only.
    MarkOverdue,
    /// System only.
    SystemEscalate,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses every action, the system's included: a user who sends `mark_overdue` gets a
    /// 403 from [`apply`], not a parse error that would hide why.
    pub(crate) fn parse(s: &str) -> Option<Action> {
        s.parse().ok()
    }

    fn party(self) -> Party {
        match self {
            Action::Claim
            | Action::Release
            | Action::Dispatch
            | Action::Reject
            | Action::Duplicate
            | Action::Escalate
            | Action::Return
            | Action::ApproveExtension
            | Action::RefuseExtension => Party::Centre,
            Action::Start | Action::Resolve | Action::Decline | Action::Extend => Party::Handler,
            Action::Verify => Party::Inspector,
            Action::MarkOverdue | Action::SystemEscalate => Party::System,
        }
    }
}

/// Who takes an action; fixed per action, whatever the case's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    Centre,
    Handler,
    Inspector,
    System,
}

/// What the rules need to know of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFacts {
    pub status: Status,
    pub tier: Tier,
    /// Region codes (14-digit) of the case's location.
    pub cell_code: Option<String>,
    pub community_code: String,
    pub town_code: String,
    pub district_code: String,
    /// The department the case is (or will by default be) dispatched to.
    pub department: String,
    /// The dispatcher who claimed it; kept through dispatch so a decline can find them.
    pub claimed_by: Option<i64>,
    /// Due time, microseconds since the epoch.
    pub due_at: i64,
    pub overdue: bool,
    /// The later `due_at` a handler asked for, awaiting the centre's decision.
    pub pending_extension: Option<i64>,
}

impl CaseFacts {
    /// The region code of the dispatch centre of the case's current tier.
    pub(crate) fn centre_code(&self) -> &str {
        match self.tier {
            Tier::Community => &self.community_code,
            Tier::Town => &self.town_code,
            Tier::District => &self.district_code,
        }
    }

    /// The most precise code of where the case is.
    fn location_code(&self) -> &str {
        self.cell_code.as_deref().unwrap_or(&self.community_code)
    }
}

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    User {
        id: i64,
        role: Role,
        region: Option<RegionCode>,
        department: Option<String>,
        /// Assigned grid cells (inspectors).
        cells: Vec<String>,
    },
    /// The time-limit task.
    System,
}

/// A requested action with what it carries; which fields matter depends on the action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRequest {
    pub action: Action,
    #[serde(default)]
    pub note: Option<String>,
    /// For dispatch.
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub photos: Vec<String>,
    /// For verify: `pass` or `fail`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// For extend: the requested new due time, microseconds since the epoch.
    #[serde(default)]
    pub due_at: Option<i64>,
    /// For duplicate: the case this one repeats.
    #[serde(default)]
    pub duplicate_of: Option<i64>,
}

impl ActionRequest {
    /// A request that carries nothing but the action (claim, release, start, ...).
    pub fn new(action: Action) -> ActionRequest {
        ActionRequest {
            action,
            note: None,
            department: None,
            photos: Vec::new(),
            outcome: None,
            due_at: None,
            duplicate_of: None,
        }
    }
}

/// The complete new state of a case. The booleans mean "increment this counter by one".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub to_status: Status,
    pub to_tier: Tier,
    pub department: String,
    pub claimed_by: Option<i64>,
    pub due_at: i64,
    pub overdue: bool,
    pub pending_extension: Option<i64>,
    /// A failed verification (返工).
    pub reopened: bool,
    /// 回退.
    pub declined: bool,
    /// An approved 延期.
    pub extended: bool,
    /// Moved up a tier, by a dispatcher or by the system.
    pub escalated: bool,
    pub duplicate_of: Option<i64>,
}

impl Transition {
    /// The case as it is, nothing counted: every action starts from here.
    fn unchanged(case: &CaseFacts) -> Transition {
        Transition {
            to_status: case.status,
            to_tier: case.tier,
            department: case.department.clone(),
            claimed_by: case.claimed_by,
            due_at: case.due_at,
            overdue: case.overdue,
            pending_extension: case.pending_extension,
            reopened: false,
            declined: false,
            extended: false,
            escalated: false,
            duplicate_of: None,
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The case's state does not allow it now (409). `allowed` is what this actor may do.
    NotAllowed {
        status: Status,
        allowed: Vec<Action>,
        reason: String,
    },
    /// This actor may not take this action on this case, whatever its state (403).
    Forbidden { reason: String },
    /// The request lacks something or carries a bad value (422); every problem is listed.
    Invalid { problems: Vec<String> },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotAllowed {
                status,
                allowed,
                reason,
            } => {
                let allowed = if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                write!(f, "{reason} (case is {status}; allowed: {allowed})")
            }
            Refusal::Forbidden { reason } => f.write_str(reason),
            Refusal::Invalid { problems } => write!(f, "invalid request: {}", problems.join("; ")),
        }
    }
}

impl std::error::Error for Refusal {}

/// Decides `req` on `case` by `actor` at `now` (microseconds since the epoch): the complete
/// new state to store, or why not.
///
/// The checks run in this order and the first failing stage answers:
/// 1. **Forbidden**: is the actor the party for this action (centre, handler, inspector,
///    system) and within this case's centre, department or cell. Asked first because it
///    does not depend on the case's state: telling an inspector that `dispatch` is "not
///    allowed from open" would suggest it becomes possible later, and a user outside the
///    case's scope learns nothing of its state.
/// 2. **NotAllowed**: does the case's state allow it now: status, tier, pending extension,
///    overdue flag, and who holds a claimed case. A claim held by another dispatcher of the
///    same centre is state, not a lack of right (it ends with a release), so it is a 409
///    naming the holder, as for the losers of a claim race. The state changes as others
///    act, so the answer lists what this actor may do instead.
/// 3. **Invalid**: is the request complete. Last, since there is no point asking for a
///    photo for an action the case does not allow; every problem at once so that a form is
///    fixed in one round trip.
///
/// `known_departments` are the departments a case may be dispatched to.
pub fn apply(
    case: &CaseFacts,
    actor: &Actor,
    req: &ActionRequest,
    now: i64,
    known_departments: &[&str],
) -> Result<Transition, Refusal> {
    let action = req.action;
    check_entitled(case, actor, action).map_err(|reason| Refusal::Forbidden { reason })?;
    let not_allowed = |reason: String| Refusal::NotAllowed {
        status: case.status,
        allowed: allowed_actions(case, actor),
        reason,
    };
    check_state(case, actor, action).map_err(not_allowed)?;
    // The one condition on the clock; allowed_actions has no clock and leaves it here.
    if action == Action::MarkOverdue && !past_due(case.due_at, now) {
        return Err(not_allowed("the case is not yet past its due time".into()));
    }
    let problems = request_problems(case, req, now, known_departments);
    if !problems.is_empty() {
        return Err(Refusal::Invalid { problems });
    }
    Ok(transition(case, actor, req, now))
}

/// What the timeline records of a request beyond note and photos, given the transition it
/// led to: the handlers and the demo record the same.
pub(crate) fn step_details(request: &ActionRequest, t: &Transition) -> Value {
    match request.action {
        Action::Verify => json!({"outcome": request.outcome}),
        Action::Extend => json!({"requested_due_at": request.due_at.map(rfc3339)}),
        Action::ApproveExtension => json!({"due_at": rfc3339(t.due_at)}),
        Action::Duplicate => json!({"duplicate_of": request.duplicate_of}),
        _ => json!({}),
    }
}

/// The actions `actor` may take on `case` now: those for which [`apply`] with a complete
/// request answers neither `NotAllowed` nor `Forbidden`. Used in 409 answers and the case
/// view.
///
/// One exception, for the system only: `mark_overdue` is listed for every active case not
/// yet marked, since whether it is past due is a question of the clock that `apply` asks.
pub(crate) fn allowed_actions(case: &CaseFacts, actor: &Actor) -> Vec<Action> {
    Action::VARIANTS
        .iter()
        .copied()
        .filter(|&action| {
            check_entitled(case, actor, action).is_ok() && check_state(case, actor, action).is_ok()
        })
        .collect()
}

/// Overdue means strictly past the due time, for marking and for approved extensions alike.
fn past_due(due_at: i64, now: i64) -> bool {
    now > due_at
}

/// Stage 1: whether this actor is the party for this action on this case.
fn check_entitled(case: &CaseFacts, actor: &Actor, action: Action) -> Result<(), String> {
    let party = action.party();
    let Actor::User {
        id,
        role,
        region,
        department,
        cells,
    } = actor
    else {
        return if party == Party::System {
            Ok(())
        } else {
            Err(format!(
                "the system does not {action} cases; it only marks them overdue and escalates them"
            ))
        };
    };
    if *role == Role::Supervisor {
        return Err("supervisors have read-only access to cases".into());
    }
    match party {
        Party::System => Err(format!("only the system may {action} a case")),
        Party::Centre => match role {
            Role::Admin => Ok(()),
            Role::Dispatcher
                if region.as_ref().map(RegionCode::as_str) == Some(case.centre_code()) =>
            {
                Ok(())
            }
            // The holder keeps their say over the time limit of the case they dispatched,
            // even if their own region has changed since.
            Role::Dispatcher
                if matches!(action, Action::ApproveExtension | Action::RefuseExtension)
                    && case.claimed_by == Some(*id) =>
            {
                Ok(())
            }
            Role::Dispatcher => Err(format!(
                "the case is with the {} centre {}; only its dispatchers may {action} it",
                case.tier.as_str(),
                case.centre_code()
            )),
            _ => Err(format!(
                "only a dispatcher of the case's centre may {action} a case, not a {}",
                role.as_str()
            )),
        },
        Party::Handler => {
            if *role != Role::Handler {
                Err(format!(
                    "only a handler of the case's department may {action} a case, not a {}",
                    role.as_str()
                ))
            } else if department.as_deref() != Some(case.department.as_str()) {
                Err(format!(
                    "the case is with the department {}, not yours",
                    case.department
                ))
            } else if !region
                .as_ref()
                .is_some_and(|r| r.covers(case.location_code()))
            {
                Err("the case lies outside your region".into())
            } else {
                Ok(())
            }
        }
        Party::Inspector => {
            if *role != Role::Inspector {
                Err(format!(
                    "only a grid inspector of the case's cell may {action} a case, not a {}",
                    role.as_str()
                ))
            } else if !case
                .cell_code
                .as_ref()
                .is_some_and(|cell| cells.contains(cell))
            {
                Err("the case lies outside your grid cells".into())
            } else {
                Ok(())
            }
        }
    }
}

/// Stage 2: whether the case's state allows this action now (all but the clock).
fn check_state(case: &CaseFacts, actor: &Actor, action: Action) -> Result<(), String> {
    use Status::*;
    if !case.status.is_active() {
        return Err(format!("a {} case is final", case.status));
    }
    match action {
        Action::Claim => match (case.status, case.claimed_by) {
            (Open, _) => Ok(()),
            (Claimed, Some(holder)) => Err(format!("the case is already claimed by user {holder}")),
            _ => need_status(case, action, &[Open]),
        },
        Action::Release | Action::Dispatch => {
            need_status(case, action, &[Claimed])?;
            holds(case, actor)
        }
        Action::Reject | Action::Duplicate => in_queue(case, actor, action),
        Action::Escalate => {
            in_queue(case, actor, action)?;
            match tier_up(case.tier) {
                Some(_) => Ok(()),
                None => Err("the case is at the district, the top tier".into()),
            }
        }
        Action::Return => {
            in_queue(case, actor, action)?;
            match tier_down(case.tier) {
                Some(_) => Ok(()),
                None => Err("the case is at the community, the bottom tier".into()),
            }
        }
        // Once started, the department has accepted the case: no decline after start.
        Action::Start | Action::Decline => need_status(case, action, &[Dispatched]),
        Action::Resolve => need_status(case, action, &[InProgress]),
        Action::Verify => need_status(case, action, &[Resolved]),
        Action::Extend => {
            need_status(case, action, &[Dispatched, InProgress])?;
            match case.pending_extension {
                None => Ok(()),
                Some(_) => Err("an extension request is already awaiting the centre".into()),
            }
        }
        Action::ApproveExtension | Action::RefuseExtension => {
            need_status(case, action, &[Dispatched, InProgress])?;
            match case.pending_extension {
                Some(_) => Ok(()),
                None => Err("no extension request is pending".into()),
            }
        }
        Action::MarkOverdue => match case.overdue {
            false => Ok(()),
            true => Err("the case is already marked overdue".into()),
        },
        // Resolved cases wait for the inspector, not for a centre or a department: the
        // tier above could not speed them up.
        Action::SystemEscalate => {
            need_status(case, action, &[Open, Claimed, Dispatched, InProgress])?;
            if !case.overdue {
                Err("the case is not overdue".into())
            } else if tier_up(case.tier).is_none() {
                Err("the case is at the district, the top tier".into())
            } else {
                Ok(())
            }
        }
    }
}

fn need_status(case: &CaseFacts, action: Action, wanted: &[Status]) -> Result<(), String> {
    if wanted.contains(&case.status) {
        return Ok(());
    }
    let wanted = wanted
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" or ");
    Err(format!(
        "{action} needs a case that is {wanted}; this one is {}",
        case.status
    ))
}

/// Open, or claimed by this actor: a centre's decisions on a case in its queue.
fn in_queue(case: &CaseFacts, actor: &Actor, action: Action) -> Result<(), String> {
    need_status(case, action, &[Status::Open, Status::Claimed])?;
    match case.status {
        Status::Claimed => holds(case, actor),
        _ => Ok(()),
    }
}

/// Whether the actor holds the claimed case; admins act regardless.
fn holds(case: &CaseFacts, actor: &Actor) -> Result<(), String> {
    match (actor, case.claimed_by) {
        (
            Actor::User {
                role: Role::Admin, ..
            },
            _,
        ) => Ok(()),
        (Actor::User { id, .. }, Some(holder)) if *id == holder => Ok(()),
        (_, Some(holder)) => Err(format!(
            "the case is claimed by user {holder}; only they or an admin may act on it until it \
             is released"
        )),
        (_, None) => Err("the case is claimed by no one; only an admin may act on it".into()),
    }
}

/// Stage 3: everything missing or wrong in the request, for this action.
fn request_problems(
    case: &CaseFacts,
    req: &ActionRequest,
    now: i64,
    known_departments: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    let has_note = req.note.as_deref().is_some_and(|n| !n.trim().is_empty());
    let has_photo = req.photos.iter().any(|p| !p.trim().is_empty());
    let need_note = |problems: &mut Vec<String>, what: &str| {
        if !has_note {
            problems.push(format!("note is required: {what}"));
        }
    };
    match req.action {
        Action::Dispatch => match req.department.as_deref().map(str::trim) {
            None | Some("") => problems.push("department is required".into()),
            Some(d) if !known_departments.contains(&d) => {
                problems.push(format!("department {d:?} is not a known department"))
            }
            Some(_) => {}
        },
        Action::Resolve => {
            need_note(&mut problems, "what was done");
            if !has_photo {
                problems.push("at least one photo of the result is required".into());
            }
        }
        Action::Verify => {
            if !has_photo {
                problems.push("at least one photo taken on site is required".into());
            }
            match req.outcome.as_deref() {
                None => problems.push("outcome is required: pass or fail".into()),
                Some("pass" | "fail") => {}
                Some(other) => {
                    problems.push(format!("outcome must be pass or fail, not {other:?}"))
                }
            }
        }
        Action::Reject => need_note(&mut problems, "why the case is void"),
        Action::Duplicate => match req.duplicate_of {
            None => problems.push("duplicate_of is required: the case this one repeats".into()),
            Some(id) if id <= 0 => problems.push(format!("duplicate_of {id} is not a case id")),
            Some(_) => {}
        },
        Action::Decline => need_note(&mut problems, "why the case is not your department's"),
        Action::Extend => match req.due_at {
            None => problems.push("due_at is required: the new due time asked for".into()),
            Some(due) => {
                if due <= case.due_at {
                    problems.push("due_at must be later than the current due time".into());
                }
                // An extension that ends in the past would leave the case overdue at once.
                if due <= now {
                    problems.push("due_at must be in the future".into());
                }
            }
        },
        Action::Claim
        | Action::Release
        | Action::Start
        | Action::Escalate
        | Action::Return
        | Action::ApproveExtension
        | Action::RefuseExtension
        | Action::MarkOverdue
        | Action::SystemEscalate => {}
    }
    problems
}

/// The new state, once every check has passed.
fn transition(case: &CaseFacts, actor: &Actor, req: &ActionRequest, now: i64) -> Transition {
    let mut t = Transition::unchanged(case);
    // Moving to another centre's queue: nobody there holds it yet.
    let requeue = |t: &mut Transition, tier: Option<Tier>| {
        t.to_status = Status::Open;
        t.to_tier = tier.unwrap_or(case.tier);
        t.claimed_by = None;
        // The request was the department's; the new centre starts over.
        t.pending_extension = None;
    };
    match req.action {
        Action::Claim => {
            t.to_status = Status::Claimed;
            t.claimed_by = match actor {
                Actor::User { id, .. } => Some(*id),
                Actor::System => None,
            };
        }
        Action::Release => {
            t.to_status = Status::Open;
            t.claimed_by = None;
        }
        Action::Dispatch => {
            t.to_status = Status::Dispatched;
            t.department = req
                .department
                .as_deref()
                .unwrap_or_default()
                .trim()
                .to_string();
        }
        Action::Start => t.to_status = Status::InProgress,
        Action::Resolve => {
            t.to_status = Status::Resolved;
            // Done is done: a time limit no longer needs extending.
            t.pending_extension = None;
        }
        Action::Verify => {
            if req.outcome.as_deref() == Some("pass") {
                t.to_status = Status::Closed;
            } else {
                t.to_status = Status::Dispatched;
                t.reopened = true;
            }
        }
        Action::Reject => t.to_status = Status::Rejected,
        Action::Duplicate => {
            t.to_status = Status::Rejected;
            t.duplicate_of = req.duplicate_of;
        }
        Action::Escalate => {
            requeue(&mut t, tier_up(case.tier));
            t.escalated = true;
        }
        Action::Return => requeue(&mut t, tier_down(case.tier)),
        Action::Decline => {
            // Back to the dispatcher who claimed it, for 改派. Should no one hold it (not
            // reachable through these rules), back to the centre's queue rather than a
            // claim only an admin could act on.
            t.to_status = match case.claimed_by {
                Some(_) => Status::Claimed,
                None => Status::Open,
            };
            t.declined = true;
            // The department that asked for more time has just said it is not theirs.
            t.pending_extension = None;
        }
        Action::Extend => t.pending_extension = req.due_at,
        Action::ApproveExtension => {
            t.due_at = case.pending_extension.unwrap_or(case.due_at);
            t.overdue = past_due(t.due_at, now);
            t.pending_extension = None;
            t.extended = true;
        }
        Action::RefuseExtension => t.pending_extension = None,
        Action::MarkOverdue => t.overdue = true,
        Action::SystemEscalate => {
            requeue(&mut t, tier_up(case.tier));
            t.escalated = true;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISTRICT: &str = "44060500000000";
    const TOWN: &str = "44060501100000";
    const COMMUNITY: &str = "44060501100100";
    const CELL: &str = "44060501100101";
    const OTHER_TOWN: &str = "44060501200000";
    const OTHER_COMMUNITY: &str = "44060501200100";
    const OTHER_CELL: &str = "44060501100102";
    const DEPT: &str = "urban_management";
    const DEPTS: &[&str] = &["urban_management", "fire", "market_supervision"];

    const HOLDER: i64 = 7;
    const DUE: i64 = 1_000_000;

    fn case(status: Status, tier: Tier) -> CaseFacts {
        CaseFacts {
            status,
            tier,
            cell_code: Some(CELL.into()),
            community_code: COMMUNITY.into(),
            town_code: TOWN.into(),
            district_code: DISTRICT.into(),
            department: DEPT.into(),
            claimed_by: (status != Status::Open).then_some(HOLDER),
            due_at: DUE,
            overdue: false,
            pending_extension: None,
        }
    }

    fn user(id: i64, role: Role, region: Option<&str>, dept: Option<&str>) -> Actor {
        Actor::User {
            id,
            role,
            region: region.map(|r| RegionCode::parse(r).unwrap()),
            department: dept.map(Into::into),
            cells: Vec::new(),
        }
    }

    fn dispatcher(id: i64, region: &str) -> Actor {
        user(id, Role::Dispatcher, Some(region), None)
    }

    fn handler(dept: &str, region: &str) -> Actor {
        user(20, Role::Handler, Some(region), Some(dept))
    }

    fn inspector(cell: &str) -> Actor {
        Actor::User {
            id: 30,
            role: Role::Inspector,
            region: None,
            department: None,
            cells: vec![cell.into()],
        }
    }

    fn supervisor() -> Actor {
        user(40, Role::Supervisor, Some(TOWN), None)
    }

    fn admin() -> Actor {
        user(1, Role::Admin, None, None)
    }

    /// A request carrying everything any action could need, all valid.
    fn complete(action: Action) -> ActionRequest {
        ActionRequest {
            action,
            note: Some("seen to".into()),
            department: Some("fire".into()),
            photos: vec!["sha256:ab".into()],
            outcome: Some("pass".into()),
            due_at: Some(i64::MAX / 2),
            duplicate_of: Some(99),
        }
    }

    fn with(action: Action, edit: impl FnOnce(&mut ActionRequest)) -> ActionRequest {
        let mut req = ActionRequest::new(action);
        edit(&mut req);
        req
    }

    /// What the store does with a transition.
    fn stored(case: &CaseFacts, t: &Transition) -> CaseFacts {
        CaseFacts {
            status: t.to_status,
            tier: t.to_tier,
            department: t.department.clone(),
            claimed_by: t.claimed_by,
            due_at: t.due_at,
            overdue: t.overdue,
            pending_extension: t.pending_extension,
            ..case.clone()
        }
    }

    /// Applies and stores, or panics with the refusal.
    fn act(
        case: &CaseFacts,
        actor: &Actor,
        req: ActionRequest,
        now: i64,
    ) -> (CaseFacts, Transition) {
        let t = apply(case, actor, &req, now, DEPTS)
            .unwrap_or_else(|r| panic!("{} refused: {r}", req.action));
        (stored(case, &t), t)
    }

    fn refusal(case: &CaseFacts, actor: &Actor, req: ActionRequest) -> Refusal {
        apply(case, actor, &req, DUE - 1, DEPTS).expect_err("should be refused")
    }

    fn is_forbidden(r: &Refusal) -> bool {
        matches!(r, Refusal::Forbidden { .. })
    }

    fn is_not_allowed(r: &Refusal) -> bool {
        matches!(r, Refusal::NotAllowed { .. })
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for &status in Status::VARIANTS {
            assert_eq!(status.as_str().parse::<Status>().ok(), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        for &action in Action::VARIANTS {
            assert_eq!(Action::parse(action.as_str()), Some(action));
            assert_eq!(
                serde_json::to_value(action).unwrap(),
                serde_json::json!(action.as_str())
            );
        }
        assert_eq!(
            Action::parse("approve_extension"),
            Some(Action::ApproveExtension)
        );
        assert_eq!(Action::parse("mark_overdue"), Some(Action::MarkOverdue));
        assert_eq!(Action::parse("Claim"), None);
        assert_eq!(
            "in_progress".parse::<Status>().ok(),
            Some(Status::InProgress)
        );
        assert!(Status::VARIANTS
            .iter()
            .all(|s| s.is_active() != matches!(s, Status::Closed | Status::Rejected)));
    }

    #[test]
    fn a_request_parses_with_only_its_action() {
        let req: ActionRequest = serde_json::from_str(r#"{"action":"claim"}"#).unwrap();
        assert_eq!(req, ActionRequest::new(Action::Claim));
    }

    #[test]
    fn tiers_step_up_and_down() {
        assert_eq!(tier_up(Tier::Community), Some(Tier::Town));
        assert_eq!(tier_up(Tier::Town), Some(Tier::District));
        assert_eq!(tier_up(Tier::District), None);
        assert_eq!(tier_down(Tier::District), Some(Tier::Town));
        assert_eq!(tier_down(Tier::Town), Some(Tier::Community));
        assert_eq!(tier_down(Tier::Community), None);
    }

    #[test]
    fn full_life_cycle_closes_on_a_passed_verification() {
        let now = DUE - 10;
        let centre = dispatcher(HOLDER, TOWN);
        let c = case(Status::Open, Tier::Town);
        assert_eq!(c.centre_code(), TOWN);

        let (c, t) = act(&c, &centre, ActionRequest::new(Action::Claim), now);
        assert_eq!((t.to_status, t.claimed_by), (Status::Claimed, Some(HOLDER)));

        let req = with(Action::Dispatch, |r| r.department = Some("fire".into()));
        let (c, t) = act(&c, &centre, req, now);
        assert_eq!(t.to_status, Status::Dispatched);
        assert_eq!(t.department, "fire");
        assert_eq!(
            t.claimed_by,
            Some(HOLDER),
            "the claim is kept for a decline"
        );

        let fire = handler("fire", TOWN);
        let (c, t) = act(&c, &fire, ActionRequest::new(Action::Start), now);
        assert_eq!(t.to_status, Status::InProgress);

        let req = with(Action::Resolve, |r| {
            r.note = Some("extinguisher replaced".into());
            r.photos = vec!["sha256:01".into()];
        });
        let (c, t) = act(&c, &fire, req, now);
        assert_eq!(t.to_status, Status::Resolved);

        let req = with(Action::Verify, |r| {
            r.outcome = Some("pass".into());
            r.photos = vec!["sha256:02".into()];
        });
        let (c, t) = act(&c, &inspector(CELL), req, now);
        assert_eq!(t.to_status, Status::Closed);
        assert!(!(t.reopened || t.declined || t.extended || t.escalated));
        assert_eq!(t.to_tier, Tier::Town);

        for actor in [centre, fire, inspector(CELL), admin(), Actor::System] {
            assert!(allowed_actions(&c, &actor).is_empty());
        }
    }

    #[test]
    fn failed_verification_goes_back_to_the_department_as_reopened() {
        let c = case(Status::Resolved, Tier::Community);
        let req = with(Action::Verify, |r| {
            r.outcome = Some("fail".into());
            r.photos = vec!["sha256:03".into()];
        });
        let (c, t) = act(&c, &inspector(CELL), req, DUE - 1);
        assert_eq!(t.to_status, Status::Dispatched);
        assert!(t.reopened);
        assert_eq!(t.department, DEPT);
        assert!(allowed_actions(&c, &handler(DEPT, TOWN)).contains(&Action::Start));
    }

    #[test]
    fn verification_needs_a_photo_and_a_known_outcome() {
        let c = case(Status::Resolved, Tier::Community);
        let r = refusal(&c, &inspector(CELL), ActionRequest::new(Action::Verify));
        let Refusal::Invalid { problems } = r else {
            panic!("{r:?}")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        let req = with(Action::Verify, |r| {
            r.outcome = Some("maybe".into());
            r.photos = vec!["sha256:04".into()];
        });
        let r = refusal(&c, &inspector(CELL), req);
        assert!(r.to_string().contains("pass or fail"), "{r}");
    }

    #[test]
    fn resolve_lists_every_missing_part() {
        let c = case(Status::InProgress, Tier::Town);
        let req = with(Action::Resolve, |r| {
            r.note = Some("   ".into());
            r.photos = vec![" ".into()];
        });
        let r = refusal(&c, &handler(DEPT, TOWN), req);
        let Refusal::Invalid { problems } = r else {
            panic!("{r:?}")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn decline_returns_to_the_claiming_centre_for_redispatch() {
        let now = DUE - 1;
        let c = case(Status::Dispatched, Tier::Town);
        let wrong = handler(DEPT, TOWN);
        let r = refusal(&c, &wrong, ActionRequest::new(Action::Decline));
        assert!(matches!(r, Refusal::Invalid { .. }), "a reason is required");

        let req = with(Action::Decline, |r| r.note = Some("a fire hazard".into()));
        let (c, t) = act(&c, &wrong, req, now);
        assert_eq!((t.to_status, t.claimed_by), (Status::Claimed, Some(HOLDER)));
        assert!(t.declined);

        // Only the holder re-dispatches (改派); the handler has no more say.
        assert!(allowed_actions(&c, &wrong).is_empty());
        let r = refusal(&c, &dispatcher(8, TOWN), complete(Action::Dispatch));
        assert!(
            is_not_allowed(&r) && r.to_string().contains("user 7"),
            "{r}"
        );
        let req = with(Action::Dispatch, |r| r.department = Some("fire".into()));
        let (c, t) = act(&c, &dispatcher(HOLDER, TOWN), req, now);
        assert_eq!(
            (t.to_status, t.department.as_str()),
            (Status::Dispatched, "fire")
        );
        assert!(!t.declined);
        assert!(allowed_actions(&c, &handler("fire", TOWN)).contains(&Action::Start));
    }

    #[test]
    fn decline_is_too_late_once_started() {
        let c = case(Status::InProgress, Tier::Town);
        let r = refusal(&c, &handler(DEPT, TOWN), complete(Action::Decline));
        assert!(is_not_allowed(&r), "{r:?}");
    }

    #[test]
    fn dispatch_needs_a_known_department() {
        let c = case(Status::Claimed, Tier::Town);
        let centre = dispatcher(HOLDER, TOWN);
        for department in [None, Some(""), Some("police")] {
            let req = with(Action::Dispatch, |r| {
                r.department = department.map(Into::into)
            });
            let r = refusal(&c, &centre, req);
            assert!(matches!(r, Refusal::Invalid { .. }), "{r:?}");
        }
    }

    #[test]
    fn extension_approved_moves_the_due_time() {
        let c = case(Status::InProgress, Tier::Town);
        let h = handler(DEPT, TOWN);
        let later = DUE + 3_600_000_000;

        let req = with(Action::Extend, |r| r.due_at = Some(later));
        let (c, t) = act(&c, &h, req, DUE - 1);
        assert_eq!(
            (t.to_status, t.pending_extension),
            (Status::InProgress, Some(later))
        );
        assert!(!t.extended, "counted when approved, not when asked");

        // One request at a time.
        let r = refusal(&c, &h, complete(Action::Extend));
        assert!(is_not_allowed(&r), "{r:?}");
        // Not the handler's to decide.
        assert!(is_forbidden(&refusal(
            &c,
            &h,
            complete(Action::ApproveExtension)
        )));

        // Any dispatcher of the centre decides, the case having already passed its old due time.
        let (c, t) = act(
            &c,
            &dispatcher(8, TOWN),
            ActionRequest::new(Action::ApproveExtension),
            DUE + 5,
        );
        assert_eq!((t.due_at, t.pending_extension), (later, None));
        assert!(t.extended && !t.overdue);
        assert_eq!(c.status, Status::InProgress);
        assert!(allowed_actions(&c, &h).contains(&Action::Extend));
    }

    #[test]
    fn approving_an_extension_that_has_itself_passed_leaves_the_case_overdue() {
        let mut c = case(Status::Dispatched, Tier::Town);
        c.overdue = true;
        c.pending_extension = Some(DUE + 10);
        let (_, t) = act(
            &c,
            &admin(),
            ActionRequest::new(Action::ApproveExtension),
            DUE + 20,
        );
        assert!(t.overdue && t.extended);
        let (_, t) = act(
            &c,
            &admin(),
            ActionRequest::new(Action::ApproveExtension),
            DUE + 5,
        );
        assert!(!t.overdue);
    }

    #[test]
    fn extension_refused_keeps_the_due_time() {
        let mut c = case(Status::Dispatched, Tier::Town);
        c.pending_extension = Some(DUE + 100);
        let (c, t) = act(
            &c,
            &dispatcher(HOLDER, TOWN),
            ActionRequest::new(Action::RefuseExtension),
            DUE - 1,
        );
        assert_eq!(
            (t.due_at, t.pending_extension, t.extended),
            (DUE, None, false)
        );
        assert!(allowed_actions(&c, &dispatcher(HOLDER, TOWN)).is_empty());
        let r = refusal(
            &c,
            &dispatcher(HOLDER, TOWN),
            ActionRequest::new(Action::RefuseExtension),
        );
        assert!(is_not_allowed(&r), "nothing pending: {r:?}");
    }

    #[test]
    fn extension_must_ask_for_a_later_time() {
        let c = case(Status::Dispatched, Tier::Town);
        let h = handler(DEPT, TOWN);
        let r = refusal(&c, &h, ActionRequest::new(Action::Extend));
        assert!(matches!(r, Refusal::Invalid { .. }), "{r:?}");
        let req = with(Action::Extend, |r| r.due_at = Some(DUE));
        let r = refusal(&c, &h, req);
        assert!(matches!(r, Refusal::Invalid { .. }), "{r:?}");
        // Later than the old due time, but already past.
        let req = with(Action::Extend, |r| r.due_at = Some(DUE + 10));
        let r = apply(&c, &h, &req, DUE + 20, DEPTS).unwrap_err();
        assert!(matches!(r, Refusal::Invalid { .. }), "{r:?}");
    }

    #[test]
    fn escalate_climbs_to_the_district_and_no_further() {
        let now = DUE - 1;
        let c = case(Status::Open, Tier::Community);
        let (c, t) = act(
            &c,
            &dispatcher(3, COMMUNITY),
            ActionRequest::new(Action::Escalate),
            now,
        );
        assert_eq!(
            (t.to_status, t.to_tier, t.claimed_by),
            (Status::Open, Tier::Town, None)
        );
        assert!(t.escalated);
        // The community centre has let go of it.
        let r = refusal(
            &c,
            &dispatcher(3, COMMUNITY),
            ActionRequest::new(Action::Claim),
        );
        assert!(is_forbidden(&r), "{r:?}");

        let (c, _) = act(
            &c,
            &dispatcher(HOLDER, TOWN),
            ActionRequest::new(Action::Claim),
            now,
        );
        let (c, t) = act(
            &c,
            &dispatcher(HOLDER, TOWN),
            ActionRequest::new(Action::Escalate),
            now,
        );
        assert_eq!(
            (t.to_status, t.to_tier, t.claimed_by),
            (Status::Open, Tier::District, None)
        );
        assert_eq!(c.centre_code(), DISTRICT);

        let r = refusal(
            &c,
            &dispatcher(5, DISTRICT),
            ActionRequest::new(Action::Escalate),
        );
        assert!(is_not_allowed(&r), "{r:?}");
        let Refusal::NotAllowed { allowed, .. } = r else {
            unreachable!()
        };
        assert!(allowed.contains(&Action::Claim) && allowed.contains(&Action::Return));
    }

    #[test]
    fn return_descends_to_the_community_and_no_further() {
        let now = DUE - 1;
        let c = case(Status::Open, Tier::District);
        let (c, t) = act(
            &c,
            &dispatcher(5, DISTRICT),
            ActionRequest::new(Action::Return),
            now,
        );
        assert_eq!((t.to_status, t.to_tier), (Status::Open, Tier::Town));
        assert!(!t.escalated);
        let (c, _) = act(
            &c,
            &dispatcher(HOLDER, TOWN),
            ActionRequest::new(Action::Claim),
            now,
        );
        let (c, t) = act(
            &c,
            &dispatcher(HOLDER, TOWN),
            ActionRequest::new(Action::Return),
            now,
        );
        assert_eq!(
            (t.to_status, t.to_tier, t.claimed_by),
            (Status::Open, Tier::Community, None)
        );
        let r = refusal(
            &c,
            &dispatcher(3, COMMUNITY),
            ActionRequest::new(Action::Return),
        );
        assert!(is_not_allowed(&r), "{r:?}");
    }

    #[test]
    fn reject_needs_a_reason_and_duplicate_a_case() {
        let centre = dispatcher(HOLDER, TOWN);
        let c = case(Status::Claimed, Tier::Town);
        let r = refusal(&c, &centre, ActionRequest::new(Action::Reject));
        assert!(matches!(r, Refusal::Invalid { .. }), "{r:?}");
        let req = with(Action::Reject, |r| r.note = Some("no such shop".into()));
        let (rejected, t) = act(&c, &centre, req, DUE - 1);
        assert_eq!((t.to_status, t.duplicate_of), (Status::Rejected, None));
        assert!(allowed_actions(&rejected, &centre).is_empty());

        let c = case(Status::Open, Tier::Town);
        let r = refusal(&c, &centre, ActionRequest::new(Action::Duplicate));
        assert!(matches!(r, Refusal::Invalid { .. }), "{r:?}");
        let req = with(Action::Duplicate, |r| r.duplicate_of = Some(41));
        let (_, t) = act(&c, &centre, req, DUE - 1);
        assert_eq!((t.to_status, t.duplicate_of), (Status::Rejected, Some(41)));
    }

    #[test]
    fn a_claim_race_loser_learns_who_holds_the_case() {
        let c = case(Status::Claimed, Tier::Town);
        let r = refusal(&c, &dispatcher(8, TOWN), ActionRequest::new(Action::Claim));
        let Refusal::NotAllowed {
            status,
            allowed,
            reason,
        } = &r
        else {
            panic!("{r:?}")
        };
        assert_eq!(*status, Status::Claimed);
        assert!(allowed.is_empty());
        assert!(reason.contains("user 7"), "{reason}");
        assert!(r.to_string().contains("allowed: none"), "{r}");
        // An admin may act on a claim it does not hold, but not claim it again.
        assert!(allowed_actions(&c, &admin()).contains(&Action::Dispatch));
        assert!(is_not_allowed(&refusal(
            &c,
            &admin(),
            ActionRequest::new(Action::Claim)
        )));
    }

    #[test]
    fn nobody_acts_outside_their_scope() {
        let now = DUE - 1;
        let queued = case(Status::Open, Tier::Town);
        for action in [
            Action::Claim,
            Action::Reject,
            Action::Escalate,
            Action::Return,
        ] {
            let r = apply(
                &queued,
                &dispatcher(9, OTHER_TOWN),
                &complete(action),
                now,
                DEPTS,
            );
            assert!(is_forbidden(&r.unwrap_err()), "{action} by another town");
            // Nor do the community or district centres act on a town's case.
            for region in [COMMUNITY, DISTRICT] {
                let r = apply(
                    &queued,
                    &dispatcher(9, region),
                    &complete(action),
                    now,
                    DEPTS,
                );
                assert!(is_forbidden(&r.unwrap_err()), "{action} by {region}");
            }
        }
        let dispatched = case(Status::Dispatched, Tier::Town);
        for action in [Action::Start, Action::Decline, Action::Extend] {
            for h in [
                handler("fire", TOWN),
                handler(DEPT, OTHER_TOWN),
                handler(DEPT, OTHER_COMMUNITY),
                user(20, Role::Handler, None, Some(DEPT)),
            ] {
                let r = apply(&dispatched, &h, &complete(action), now, DEPTS).unwrap_err();
                assert!(is_forbidden(&r), "{action} by {h:?}: {r:?}");
            }
            // A handler of the district covers every town.
            assert!(apply(
                &dispatched,
                &handler(DEPT, DISTRICT),
                &complete(action),
                now,
                DEPTS
            )
            .is_ok());
        }
        let resolved = case(Status::Resolved, Tier::Town);
        let r = refusal(&resolved, &inspector(OTHER_CELL), complete(Action::Verify));
        assert!(is_forbidden(&r), "{r:?}");
        let mut cellless = resolved.clone();
        cellless.cell_code = None;
        assert!(is_forbidden(&refusal(
            &cellless,
            &inspector(CELL),
            complete(Action::Verify)
        )));
    }

    #[test]
    fn the_wrong_party_is_forbidden_whatever_the_status() {
        // Forbidden is asked before the state: an inspector is told they may never dispatch,
        // not that dispatch is impossible from open.
        let c = case(Status::Open, Tier::Town);
        assert!(is_forbidden(&refusal(
            &c,
            &inspector(CELL),
            complete(Action::Dispatch)
        )));
        assert!(is_forbidden(&refusal(
            &c,
            &supervisor(),
            complete(Action::Claim)
        )));
        assert!(is_forbidden(&refusal(
            &c,
            &admin(),
            complete(Action::Verify)
        )));
        assert!(is_forbidden(&refusal(
            &c,
            &admin(),
            complete(Action::Start)
        )));
        assert!(is_forbidden(&refusal(
            &c,
            &Actor::System,
            complete(Action::Claim)
        )));
        let closed = case(Status::Closed, Tier::Town);
        let r = refusal(
            &closed,
            &dispatcher(HOLDER, TOWN),
            complete(Action::MarkOverdue),
        );
        assert!(r.to_string().contains("only the system"), "{r}");
    }

    #[test]
    fn the_system_marks_overdue_only_after_the_due_time() {
        let c = case(Status::Dispatched, Tier::Town);
        let req = ActionRequest::new(Action::MarkOverdue);
        let r = apply(&c, &Actor::System, &req, DUE, DEPTS).unwrap_err();
        assert!(
            is_not_allowed(&r),
            "not past due at the due time itself: {r:?}"
        );
        let (c, t) = act(&c, &Actor::System, req.clone(), DUE + 1);
        assert_eq!((t.to_status, t.overdue), (Status::Dispatched, true));
        let r = apply(&c, &Actor::System, &req, DUE + 2, DEPTS).unwrap_err();
        assert!(is_not_allowed(&r), "marked once: {r:?}");
    }

    #[test]
    fn the_system_escalates_overdue_cases_up_to_the_district() {
        let mut c = case(Status::InProgress, Tier::Community);
        c.overdue = true;
        c.pending_extension = Some(DUE + 50);
        let req = ActionRequest::new(Action::SystemEscalate);
        let (c, t) = act(&c, &Actor::System, req.clone(), DUE + 1);
        assert_eq!(
            (t.to_status, t.to_tier, t.claimed_by),
            (Status::Open, Tier::Town, None)
        );
        assert!(t.escalated && t.overdue);
        assert_eq!((t.department.as_str(), t.pending_extension), (DEPT, None));
        let (c, t) = act(&c, &Actor::System, req.clone(), DUE + 2);
        assert_eq!(t.to_tier, Tier::District);
        assert!(is_not_allowed(
            &apply(&c, &Actor::System, &req, DUE + 3, DEPTS).unwrap_err()
        ));

        let mut waiting = case(Status::Resolved, Tier::Town);
        waiting.overdue = true;
        assert!(is_not_allowed(
            &apply(&waiting, &Actor::System, &req, DUE + 1, DEPTS).unwrap_err()
        ));
        let not_overdue = case(Status::Open, Tier::Town);
        assert!(is_not_allowed(
            &apply(&not_overdue, &Actor::System, &req, DUE + 1, DEPTS).unwrap_err()
        ));
    }

    /// The allowed actions of some actors, pinned, so the consistency table below cannot
    /// pass by both sides being wrong.
    #[test]
    fn allowed_actions_of_each_party() {
        use Action::*;
        let open = case(Status::Open, Tier::Town);
        assert_eq!(
            allowed_actions(&open, &dispatcher(8, TOWN)),
            [Claim, Reject, Duplicate, Escalate, Return]
        );
        let claimed = case(Status::Claimed, Tier::Community);
        assert_eq!(
            allowed_actions(&claimed, &dispatcher(HOLDER, COMMUNITY)),
            [Release, Dispatch, Reject, Duplicate, Escalate]
        );
        assert!(allowed_actions(&claimed, &dispatcher(8, COMMUNITY)).is_empty());
        let dispatched = case(Status::Dispatched, Tier::Town);
        assert_eq!(
            allowed_actions(&dispatched, &handler(DEPT, TOWN)),
            [Start, Decline, Extend]
        );
        assert_eq!(allowed_actions(&dispatched, &Actor::System), [MarkOverdue]);
        assert!(allowed_actions(&dispatched, &dispatcher(HOLDER, TOWN)).is_empty());
        let resolved = case(Status::Resolved, Tier::Town);
        assert_eq!(allowed_actions(&resolved, &inspector(CELL)), [Verify]);
        for &status in Status::VARIANTS {
            assert!(allowed_actions(&case(status, Tier::Town), &supervisor()).is_empty());
        }
    }

    /// Every status × every action × every party, over the facts that decide: apply with a
    /// complete request succeeds exactly when allowed_actions lists the action, and a
    /// NotAllowed carries that same list.
    #[test]
    fn apply_agrees_with_allowed_actions_everywhere() {
        let now = DUE + 1; // past due, so that mark_overdue's clock condition holds
        for &status in Status::VARIANTS {
            for tier in [Tier::Community, Tier::Town, Tier::District] {
                for pending in [None, Some(DUE + 100)] {
                    for overdue in [false, true] {
                        let c = CaseFacts {
                            pending_extension: pending,
                            overdue,
                            ..case(status, tier)
                        };
                        let actors = [
                            dispatcher(HOLDER, c.centre_code()),
                            dispatcher(8, c.centre_code()),
                            handler(DEPT, TOWN),
                            inspector(CELL),
                            supervisor(),
                            admin(),
                            Actor::System,
                        ];
                        for actor in &actors {
                            let allowed = allowed_actions(&c, actor);
                            if !status.is_active() || *actor == supervisor() {
                                assert!(allowed.is_empty(), "{c:?} {actor:?}: {allowed:?}");
                            }
                            for &action in Action::VARIANTS {
                                let result = apply(&c, actor, &complete(action), now, DEPTS);
                                assert_eq!(
                                    result.is_ok(),
                                    allowed.contains(&action),
                                    "{action} on {c:?} by {actor:?}: {result:?}"
                                );
                                if let Err(Refusal::NotAllowed {
                                    allowed: listed, ..
                                }) = &result
                                {
                                    assert_eq!(listed, &allowed);
                                }
                                if let Ok(t) = &result {
                                    // Counters move only with their own actions.
                                    // complete() verifies with "pass".
                                    assert!(!t.reopened);
                                    assert_eq!(t.declined, action == Action::Decline);
                                    assert_eq!(t.extended, action == Action::ApproveExtension);
                                    assert_eq!(
                                        t.escalated,
                                        matches!(action, Action::Escalate | Action::SystemEscalate)
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
