//! The demo cases: a few hundred cases over the last 60 days, in every status.
//!
//! They are there so that the demo's queues, statistics and timelines are not empty.
//!
//! Nothing here writes a case by itself: every case is opened with `store::open` by a
//! dispatcher of the centre of its item's tier, and every step is decided by
//! `model::apply` and written by `store::record`, acted by the demo user whose step it is
//! (the centre's dispatchers, the town's handler of the department, an inspector of the
//! cell). The clock is simulated: each case lives forward from its opening, one step after
//! another with delays scaled to its item's time limit, until its next step would fall
//! after now. The time-limit task is simulated too (marking overdue, escalating after the
//! default grace), so that the stored state is what the real task would have left and it
//! finds nothing to catch up on when the server starts. Whatever status a case reached by
//! now is its status: recent cases wait in queues, older ones are closed.
//!
//! Deterministic: one seeded SplitMix64 (`super::rng`), and every time relative to `now`. It
//! must not be used but on a freshly loaded demo district (`crate::demo::load`).

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use strum::VariantArray;

use crate::auth::Role;
use crate::cases::model::{self, tier_up, Action, ActionRequest, Actor, Status};
use crate::cases::store::{self, CaseRow, CaseSeed, Step};
use crate::checklist::model::{ChecklistItem, Tier};
use crate::db::schema::{enterprises, user_cells, users};
use crate::db::Conn;
use crate::db_run;
use crate::grid::index::CellIndex;

use super::rng::Rng;

const SEED: u64 = 0x4e41_4e48_4149; // "NANHAI"
/// How many cases the demo opens.
const CASES: usize = 420;
const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
/// How far back the demo's history reaches.
const HISTORY: i64 = 60 * 24 * HOUR;
/// The escalation grace the time-limit task is simulated with: the default of
/// `GRIDPATROL_ESCALATION_GRACE_SECS`.
const GRACE: i64 = 24 * HOUR;
/// A story that has not ended after this many steps is cut short (it cannot happen with
/// these rules, but a loop must have a bound).
const MAX_STEPS: usize = 48;

/// A demo user as the state machine sees them.
struct Person {
    id: i64,
    role: Role,
    region: Option<String>,
    department: Option<String>,
    cells: Vec<String>,
}

impl Person {
    fn actor(&self) -> Actor {
        Actor::User {
            id: self.id,
            role: self.role,
            region: self
                .region
                .as_deref()
                .and_then(|r| crate::region::RegionCode::parse(r).ok()),
            department: self.department.clone(),
            cells: self.cells.clone(),
        }
    }
}

/// Who acts for whom in the demo district.
struct People {
    all: Vec<Person>,
    by_id: HashMap<i64, usize>,
    /// Dispatchers by their centre's region code.
    centres: HashMap<String, Vec<usize>>,
    /// Handlers by (region code, department).
    handlers: HashMap<(String, String), usize>,
    /// Inspectors by cell.
    inspectors: HashMap<String, Vec<usize>>,
}

impl People {
    fn load(conn: &mut Conn) -> QueryResult<People> {
        type UserColumns = (i64, String, Option<String>, Option<String>);
        let rows: Vec<UserColumns> = db_run!(conn, |c| users::table
            .filter(users::active.eq(true))
            .order(users::id)
            .select((
                users::id,
                users::role,
                users::region_code,
                users::department_code,
            ))
            .load(c))?;
        let assigned: Vec<(i64, String)> = db_run!(conn, |c| user_cells::table
            .order((user_cells::user_id, user_cells::cell_code))
            .select((user_cells::user_id, user_cells::cell_code))
            .load(c))?;
        let mut cells: HashMap<i64, Vec<String>> = HashMap::new();
        for (user, cell) in assigned {
            cells.entry(user).or_default().push(cell);
        }
        let mut people = People {
            all: Vec::new(),
            by_id: HashMap::new(),
            centres: HashMap::new(),
            handlers: HashMap::new(),
            inspectors: HashMap::new(),
        };
        for (id, role, region, department) in rows {
            let Ok(role) = role.parse::<Role>() else {
                continue;
            };
            let i = people.all.len();
            let mine = cells.remove(&id).unwrap_or_default();
            match (role, &region, &department) {
                (Role::Dispatcher, Some(r), _) => {
                    people.centres.entry(r.clone()).or_default().push(i)
                }
                (Role::Handler, Some(r), Some(d)) => {
                    people.handlers.insert((r.clone(), d.clone()), i);
                }
                (Role::Inspector, _, _) => {
                    for cell in &mine {
                        people.inspectors.entry(cell.clone()).or_default().push(i);
                    }
                }
                _ => {}
            }
            people.by_id.insert(id, i);
            people.all.push(Person {
                id,
                role,
                region,
                department,
                cells: mine,
            });
        }
        Ok(people)
    }

    /// A dispatcher of the centre at `code`.
    fn dispatcher(&self, code: &str, rng: &mut Rng) -> Option<&Person> {
        let list = self.centres.get(code)?;
        Some(&self.all[*rng.unit_pick(list)])
    }

    /// The handler of `department` for a case in `town`: the town's own, else the
    /// district's.
    fn handler(&self, town: &str, district: &str, department: &str) -> Option<&Person> {
        [town, district]
            .iter()
            .find_map(|r| self.handlers.get(&(r.to_string(), department.to_string())))
            .map(|&i| &self.all[i])
    }

    fn inspector(&self, cell: &str, rng: &mut Rng) -> Option<&Person> {
        let list = self.inspectors.get(cell)?;
        Some(&self.all[*rng.unit_pick(list)])
    }

    fn by_id(&self, id: i64) -> Option<&Person> {
        self.by_id.get(&id).map(|&i| &self.all[i])
    }
}

/// Where a problem was found: at an enterprise, or in the street near one.
#[derive(Clone)]
struct Spot {
    lon: f64,
    lat: f64,
    cell: String,
    community: String,
    town: String,
    district: String,
    /// The enterprise's name, or the cell's.
    label: String,
    uscc: Option<String>,
}

struct Enterprise {
    uscc: String,
    name: String,
    kind: String,
    lon: f64,
    lat: f64,
}

fn load_enterprises(conn: &mut Conn) -> QueryResult<Vec<Enterprise>> {
    let rows: Vec<(String, String, Option<String>, f64, f64)> = db_run!(conn, |c| {
        enterprises::table
            .filter(enterprises::status.eq("active"))
            .filter(enterprises::cell_code.is_not_null())
            .order(enterprises::uscc)
            .select((
                enterprises::uscc,
                enterprises::name,
                enterprises::place_kind,
                enterprises::lon,
                enterprises::lat,
            ))
            .load(c)
    })?;
    Ok(rows
        .into_iter()
        .map(|(uscc, name, kind, lon, lat)| Enterprise {
            uscc,
            name,
            kind: kind.unwrap_or_default(),
            lon,
            lat,
        })
        .collect())
}

/// Picks where `item` was found: at a random enterprise when the item applies to its kind
/// of place, else in the street near it (enterprises are where the district is busy, so
/// the hot spots come out where they would).
fn spot_for(
    item: &ChecklistItem,
    firms: &[Enterprise],
    cells: &CellIndex,
    rng: &mut Rng,
) -> Option<Spot> {
    for _ in 0..20 {
        let firm = rng.unit_pick(firms);
        let at_firm = item.applies_to.contains(&firm.kind);
        let (lon, lat) = match at_firm {
            true => (firm.lon, firm.lat),
            false => (
                firm.lon + rng.between(-0.0015, 0.0015),
                firm.lat + rng.between(-0.0015, 0.0015),
            ),
        };
        let Some(entry) = cells.locate(lon, lat) else {
            continue;
        };
        return Some(Spot {
            lon,
            lat,
            cell: entry.cell.code.clone(),
            community: entry.community.code.clone(),
            town: entry.town.code.clone(),
            district: entry.district.code.clone(),
            label: match at_firm {
                true => firm.name.clone(),
                false => format!("{}附近", entry.cell.name),
            },
            uscc: at_firm.then(|| firm.uscc.clone()),
        });
    }
    None
}

/// What departments write when they report a problem fixed.
const RESOLUTIONS: [&str; 4] = [
    "已责令当事人现场整改完毕",
    "已现场处置，隐患消除",
    "已约谈负责人并完成整改",
    "已清理完毕，恢复原状",
];

/// A photo's name as the API carries it (a sha256 in hex); the demo has no files.
fn photo(rng: &mut Rng) -> String {
    (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect()
}

/// How cases reach a centre that opens them by hand.
const CHANNELS: [&str; 5] = [
    "12345市民热线转办",
    "网格员电话报告",
    "市民到场投诉",
    "镇街联合检查发现",
    "上级部门交办",
];

/// What a case will meet on its way; decided when it is opened.
#[derive(Debug, Clone, Copy, Default)]
struct Fate {
    /// The centre voids it (注销) instead of dispatching.
    reject: bool,
    /// It repeats this earlier case.
    duplicate_of: Option<i64>,
    /// First dispatched to the wrong department, which declines it (回退, then 改派).
    wrong_department: bool,
    /// Its first verification fails (返工).
    rework: bool,
    /// The department asks for more time; `Some(true)` if the centre approves (延期).
    extension: Option<bool>,
    /// The centre of its first tier escalates it by hand.
    escalate: bool,
    /// The district centre returns it to the town.
    hand_down: bool,
    /// How long the department takes to resolve, as a share of the time limit.
    pace: f64,
}

/// What happened to one case so far, beyond its row.
#[derive(Debug, Clone, Copy)]
struct Story {
    /// The time of its last event: every next one is later.
    last_at: i64,
    /// The last time it moved between tiers (the task's grace counts from it).
    last_move: Option<i64>,
    /// The department's request for more time was made.
    asked_extension: bool,
    escalated_by_hand: bool,
    handed_down: bool,
    steps: usize,
}

/// What the demo created.
#[derive(Debug, Default, Clone)]
pub(crate) struct Summary {
    cases: usize,
    events: usize,
    by_status: BTreeMap<&'static str, usize>,
    /// Active cases past their due time now.
    overdue: usize,
    /// Cases that failed a verification (返工), were declined (回退), had an extension
    /// approved (延期), or climbed a tier, at least once.
    reopened: usize,
    declined: usize,
    extended: usize,
    escalated: usize,
}

impl Summary {
    /// One line for the demo loader's log.
    pub(crate) fn line(&self) -> String {
        let statuses: Vec<String> = Status::VARIANTS
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.as_str(),
                    self.by_status.get(s.as_str()).unwrap_or(&0)
                )
            })
            .collect();
        format!(
            "cases: {} over the last 60 days ({}; {} overdue now; {} reopened, {} declined, \
             {} extended, {} escalated), {} timeline events",
            self.cases,
            statuses.join(", "),
            self.overdue,
            self.reopened,
            self.declined,
            self.extended,
            self.escalated,
            self.events
        )
    }
}

/// The demo's world: who acts, what there is to find, and where.
struct World<'a> {
    people: People,
    items: Vec<ChecklistItem>,
    departments: Vec<String>,
    department_names: HashMap<String, String>,
    firms: Vec<Enterprise>,
    cells: &'a CellIndex,
}

/// Opens [`CASES`] cases and lives each one forward to `now`, in one transaction.
pub(crate) fn create(conn: &mut Conn, cells: &CellIndex, now: i64) -> QueryResult<Summary> {
    conn.write(|conn| {
        let Some(version) = crate::checklist::store::current_version(conn)? else {
            return Ok(Summary::default());
        };
        let departments = crate::checklist::store::all_departments(conn)?;
        let world = World {
            people: People::load(conn)?,
            items: crate::checklist::store::items(conn, version.version)?,
            departments: departments.iter().map(|d| d.code.clone()).collect(),
            department_names: departments
                .into_iter()
                .map(|d| (d.code, d.name_zh))
                .collect(),
            firms: load_enterprises(conn)?,
            cells,
        };
        if world.items.is_empty() || world.firms.is_empty() {
            return Ok(Summary::default());
        }
        let mut rng = Rng::new(SEED);
        let mut summary = Summary::default();
        // Opening times, oldest first, so that ids follow time. Denser towards now (age ∝
        // u^2.5): the platform is in its first weeks, and the queues need recent cases.
        let mut opened: Vec<i64> = (0..CASES)
            .map(|_| now - (HISTORY as f64 * rng.unit().powf(2.5)) as i64 - 5 * MINUTE)
            .collect();
        opened.sort_unstable();
        // The earlier cases of each community, for duplicates to repeat.
        let mut earlier: HashMap<String, Vec<(i64, usize, Spot)>> = HashMap::new();
        for at in opened {
            live_one(conn, &world, &mut rng, &mut earlier, at, now, &mut summary)?;
        }
        Ok(summary)
    })
}

/// Opens one case at `opened_at` and lives it forward until its next step would be after
/// `now`.
fn live_one(
    conn: &mut Conn,
    world: &World,
    rng: &mut Rng,
    earlier: &mut HashMap<String, Vec<(i64, usize, Spot)>>,
    opened_at: i64,
    now: i64,
    summary: &mut Summary,
) -> QueryResult<()> {
    let mut item_index = rng.unit_below(world.items.len());
    let Some(mut spot) = spot_for(&world.items[item_index], &world.firms, world.cells, rng) else {
        return Ok(());
    };
    let mut fate = Fate {
        reject: rng.chance(0.05),
        wrong_department: rng.chance(0.08),
        rework: rng.chance(0.10),
        extension: rng.chance(0.10).then(|| rng.chance(0.75)),
        escalate: rng.chance(0.06),
        hand_down: rng.chance(0.3),
        pace: match rng.chance(0.10) {
            true => rng.between(0.8, 1.4),
            false => rng.between(0.15, 0.55),
        },
        duplicate_of: None,
    };
    // A duplicate repeats an earlier case of the community: same item, a few metres off.
    if rng.chance(0.04) {
        if let Some(list) = earlier.get(&spot.community).filter(|l| !l.is_empty()) {
            let (id, item, place) = rng.unit_pick(list).clone();
            item_index = item;
            spot = Spot {
                lon: place.lon + rng.between(-0.00005, 0.00005),
                lat: place.lat + rng.between(-0.00005, 0.00005),
                ..place
            };
            fate.duplicate_of = Some(id);
        }
    }
    let item = &world.items[item_index];
    let limit = i64::from(item.time_limit_hours.max(1)) * HOUR;
    let centre = match item.tier {
        Tier::Community => &spot.community,
        Tier::Town => &spot.town,
        Tier::District => &spot.district,
    };
    let Some(opener) = world.people.dispatcher(centre, rng) else {
        return Ok(());
    };
    let via = rng.unit_pick(&CHANNELS);
    let seed = CaseSeed {
        source: "manual",
        item_code: Some(item.code.clone()),
        category: item.category.clone(),
        title: format!("{}（{}）", item.title_zh, spot.label),
        description: format!("{via}：{}。", item.title_zh),
        lon: spot.lon,
        lat: spot.lat,
        cell: Some(spot.cell.clone()),
        community: spot.community.clone(),
        town: spot.town.clone(),
        district: spot.district.clone(),
        tier: item.tier,
        department: item.department.clone(),
        priority: item.severity.clone(),
        due_at: opened_at + limit,
        enterprise_uscc: spot.uscc.clone(),
        report: None,
        actor: Some((opener.id, "dispatcher")),
    };
    let id = store::open(conn, &seed, opened_at)?;
    summary.cases += 1;
    summary.events += 1;
    earlier
        .entry(spot.community.clone())
        .or_default()
        .push((id, item_index, spot.clone()));
    let Some(mut case) = store::find(conn, id)? else {
        return Ok(());
    };
    let mut story = Story {
        last_at: opened_at,
        last_move: None,
        asked_extension: false,
        escalated_by_hand: false,
        handed_down: false,
        steps: 0,
    };
    let known: Vec<&str> = world.departments.iter().map(String::as_str).collect();
    while story.steps < MAX_STEPS {
        story.steps += 1;
        let Some((actor, request, at)) = next_step(world, rng, &case, &fate, &story, item, limit)
        else {
            break;
        };
        // The time-limit task runs between steps; when it changed the case, the next step
        // is decided anew from what the case now is.
        if keep_time(conn, rng, &mut case, &mut story, at.min(now), summary)? {
            continue;
        }
        if at >= now {
            break;
        }
        let Ok(t) = model::apply(&case.facts(), &actor, &request, at, &known) else {
            break;
        };
        let Actor::User {
            id: actor_id, role, ..
        } = &actor
        else {
            break;
        };
        let step = Step {
            action: request.action,
            actor_id: Some(*actor_id),
            actor_role: role.as_str(),
            note: request.note.clone(),
            photos: request.photos.clone(),
            details: model::step_details(&request, &t),
        };
        let Some(after) = store::record(conn, &case, &t, &step, at)? else {
            break;
        };
        match request.action {
            Action::Escalate => {
                story.escalated_by_hand = true;
                story.last_move = Some(at);
            }
            Action::Return => {
                story.handed_down = true;
                story.last_move = Some(at);
            }
            Action::Extend => story.asked_extension = true,
            _ => {}
        }
        story.last_at = at;
        summary.events += 1;
        case = after;
    }
    keep_time(conn, rng, &mut case, &mut story, now, summary)?;
    *summary.by_status.entry(case.status.as_str()).or_default() += 1;
    summary.overdue += usize::from(case.overdue && case.status.is_active());
    summary.reopened += usize::from(case.reopened_count > 0);
    summary.declined += usize::from(case.declined_count > 0);
    summary.extended += usize::from(case.extended_count > 0);
    summary.escalated += usize::from(case.escalated_count > 0);
    Ok(())
}

/// Plays the time-limit task up to `until` (exclusive): marks the case overdue a little
/// after its due time, and escalates it once it has been overdue at its tier for longer
/// than the grace, as `timers::run_once` would have on its sweeps. Answers whether it
/// changed the case.
fn keep_time(
    conn: &mut Conn,
    rng: &mut Rng,
    case: &mut CaseRow,
    story: &mut Story,
    until: i64,
    summary: &mut Summary,
) -> QueryResult<bool> {
    let mut changed = false;
    loop {
        // The task sweeps every minute or so.
        let sweep = (rng.between(1.0, 60.0) * SECOND as f64) as i64;
        let (action, at) = if !case.overdue {
            (Action::MarkOverdue, case.due_at + sweep)
        } else {
            let since = story.last_move.unwrap_or(i64::MIN).max(case.due_at);
            (Action::SystemEscalate, since.saturating_add(GRACE + sweep))
        };
        let at = at.max(story.last_at + SECOND);
        if at >= until {
            return Ok(changed);
        }
        // The task's own step, recorded as it records it.
        let Some(after) = crate::cases::sweep::apply_system(conn, case, action, at)? else {
            return Ok(changed);
        };
        if action == Action::SystemEscalate {
            story.last_move = Some(at);
        }
        story.last_at = at;
        summary.events += 1;
        *case = after;
        changed = true;
    }
}

/// The next step of a case as its people would take it, and when: the actor, the request
/// and its time. None when the case's story is over (final, or nobody to act).
fn next_step(
    world: &World,
    rng: &mut Rng,
    case: &CaseRow,
    fate: &Fate,
    story: &Story,
    item: &ChecklistItem,
    limit: i64,
) -> Option<(Actor, ActionRequest, i64)> {
    // Once escalated, a case is pressed (督办): everyone moves faster.
    let urgency = if case.escalated_count > 0 { 0.3 } else { 1.0 };
    let after = |share_lo: f64, share_hi: f64, rng: &mut Rng| {
        let d = (limit as f64 * rng.between(share_lo, share_hi) * urgency) as i64;
        story.last_at + d.max(2 * MINUTE)
    };
    let centre = case.facts().centre_code().to_string();
    let holder = || case.claimed_by.and_then(|id| world.people.by_id(id));
    let handler = || {
        world
            .people
            .handler(&case.town_code, &case.district_code, &case.department)
    };
    let note = |text: &str| Some(text.to_string());
    let mut request = ActionRequest::new(Action::Claim);
    let status = case.status;
    let (actor, at) = match status {
        Status::Open => {
            let dispatcher = world.people.dispatcher(&centre, rng)?;
            let first_tier = case.tier == item.tier;
            if fate.escalate
                && first_tier
                && !story.escalated_by_hand
                && tier_up(case.tier).is_some()
            {
                request.action = Action::Escalate;
                request.note = note("超出本级处置能力，提请上级调度");
            } else if fate.hand_down
                && case.tier == Tier::District
                && !story.handed_down
                && case.escalated_count == 0
            {
                request.action = Action::Return;
                request.note = note("属镇街职责，退回镇街处置");
            }
            (dispatcher.actor(), after(0.01, 0.08, rng))
        }
        Status::Claimed => {
            let holder = holder()?;
            if fate.reject && case.declined_count == 0 {
                request.action = Action::Reject;
                request.note = note("经核实，现场无此问题，予以注销");
            } else if let Some(original) = fate.duplicate_of {
                request.action = Action::Duplicate;
                request.duplicate_of = Some(original);
                request.note = note("与已立案件重复");
            } else {
                request.action = Action::Dispatch;
                let wrong = fate.wrong_department && case.declined_count == 0;
                let department = match wrong {
                    true => world
                        .departments
                        .iter()
                        .filter(|d| **d != item.department)
                        .nth(rng.unit_below(world.departments.len() - 1))
                        .cloned()
                        .unwrap_or_else(|| item.department.clone()),
                    false => item.department.clone(),
                };
                request.note = Some(format!(
                    "请{}按时限处置",
                    world
                        .department_names
                        .get(&department)
                        .map_or(department.as_str(), String::as_str)
                ));
                request.department = Some(department);
            }
            (holder.actor(), after(0.02, 0.12, rng))
        }
        Status::Dispatched | Status::InProgress if case.pending_extension.is_some() => {
            let decider = holder().or_else(|| world.people.dispatcher(&centre, rng))?;
            if fate.extension == Some(true) {
                request.action = Action::ApproveExtension;
                request.note = note("同意延期");
            } else {
                request.action = Action::RefuseExtension;
                request.note = note("不同意延期，请按原时限办结");
            }
            let d = rng.between(1.0, 8.0) * HOUR as f64 * urgency;
            (decider.actor(), story.last_at + d as i64)
        }
        Status::Dispatched => {
            let handler = handler()?;
            if case.department != item.department {
                request.action = Action::Decline;
                request.note = Some(format!(
                    "经核查不属本部门职责，建议改派{}",
                    world
                        .department_names
                        .get(&item.department)
                        .map_or(item.department.as_str(), String::as_str)
                ));
                (handler.actor(), after(0.02, 0.1, rng))
            } else {
                request.action = Action::Start;
                (handler.actor(), after(0.03, 0.15, rng))
            }
        }
        Status::InProgress => {
            let handler = handler()?;
            if fate.extension.is_some() && !story.asked_extension {
                let at = after(0.1, 0.4, rng);
                request.action = Action::Extend;
                request.note = note("需协调产权单位整改，申请延期");
                request.due_at =
                    Some(case.due_at.max(at) + (limit as f64 * rng.between(0.5, 1.0)) as i64);
                (handler.actor(), at)
            } else {
                request.action = Action::Resolve;
                request.note = note(rng.unit_pick::<&str>(&RESOLUTIONS));
                request.photos = vec![photo(rng)];
                // A second resolution, after a failed verification, is quicker.
                let pace = if case.reopened_count > 0 {
                    0.3
                } else {
                    fate.pace
                };
                (handler.actor(), after(pace * 0.8, pace * 1.2, rng))
            }
        }
        Status::Resolved => {
            let inspector = world.people.inspector(case.cell_code.as_deref()?, rng)?;
            request.action = Action::Verify;
            request.photos = vec![photo(rng)];
            let fail = fate.rework && case.reopened_count == 0;
            request.outcome = Some(if fail { "fail" } else { "pass" }.into());
            request.note = match fail {
                true => note("复查发现问题仍未整改到位"),
                false => note("现场核查，已整改到位"),
            };
            let d = (limit as f64 * rng.between(0.05, 0.4))
                .clamp(30.0 * MINUTE as f64, 30.0 * HOUR as f64);
            (inspector.actor(), story.last_at + d as i64)
        }
        Status::Closed | Status::Rejected => return None,
    };
    Some((actor, request, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_is_named_like_a_sha256() {
        let name = photo(&mut Rng::new(SEED));
        assert_eq!(name.len(), 64);
        assert!(name.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    /// The demo district without its cases, then its cases as of `now`: the summary line and
    /// every stored case, timeline event and photo link, one string each.
    fn demo_cases_at(now: i64) -> (String, Vec<String>) {
        use crate::cases::store::EventRow;
        use crate::db::schema::{case_events, case_photos, cases};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.sqlite").display().to_string();
        let pool = crate::db::Pool::open(&path, 1).unwrap();
        pool.migrate().unwrap();
        let mut conn = pool.get().unwrap();
        crate::demo::load(&mut conn, 64, false).unwrap();
        let cells = crate::grid::store::load_index(&mut conn).unwrap();
        let summary = create(&mut conn, &cells, now).unwrap();
        let case_rows: Vec<CaseRow> = db_run!(&mut conn, |c| cases::table
            .order(cases::id)
            .select(CaseRow::as_select())
            .load(c))
        .unwrap();
        let events: Vec<(i64, EventRow)> = db_run!(&mut conn, |c| case_events::table
            .order(case_events::id)
            .select((case_events::case_id, EventRow::as_select()))
            .load(c))
        .unwrap();
        let photos: Vec<(String, i64)> = db_run!(&mut conn, |c| case_photos::table
            .order((case_photos::case_id, case_photos::sha256))
            .select((case_photos::sha256, case_photos::case_id))
            .load(c))
        .unwrap();
        let rows = (case_rows.iter().map(|r| format!("{r:?}")))
            .chain(events.iter().map(|e| format!("{e:?}")))
            .chain(photos.iter().map(|p| format!("{p:?}")))
            .collect();
        (summary.line(), rows)
    }

    /// The demo's history is a function of `now` alone: two fresh districts given the same
    /// `now` hold the same cases, timelines and photo links, column for column.
    #[test]
    fn the_demo_cases_are_the_same_for_the_same_now() {
        let now = crate::clock::parse_rfc3339("2026-11-28T09:30:00+08:00").unwrap();
        let (line, rows) = demo_cases_at(now);
        let (again_line, again) = demo_cases_at(now);
        assert_eq!(line, again_line);
        assert!(rows.len() > CASES, "{} rows", rows.len());
        for (a, b) in rows.iter().zip(&again) {
            assert_eq!(a, b);
        }
        assert_eq!(rows.len(), again.len());
    }

    /// The demo district with its cases, on SQLite: every status present, the queues and the
    /// task consistent with the cases, every timeline in order.
    #[test]
    fn the_demo_cases_cover_every_status_consistently() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.sqlite").display().to_string();
        let pool = crate::db::Pool::open(&path, 1).unwrap();
        pool.migrate().unwrap();
        let mut conn = pool.get().unwrap();
        let started = std::time::Instant::now();
        let lines = crate::demo::load(&mut conn, 64, true).unwrap();
        eprintln!("demo loaded in {:?}: {lines:?}", started.elapsed());
        assert!(lines.iter().any(|l| l.starts_with("cases: ")), "{lines:?}");
        use crate::db::schema::cases;
        let statuses: Vec<(String, i64)> = db_run!(&mut conn, |c| cases::table
            .group_by(cases::status)
            .select((cases::status, diesel::dsl::count_star()))
            .load(c))
        .unwrap();
        let statuses: HashMap<String, i64> = statuses.into_iter().collect();
        eprintln!("{statuses:?}");
        for &status in Status::VARIANTS {
            assert!(
                statuses.get(status.as_str()).copied().unwrap_or(0) >= 5,
                "{status}: {statuses:?}"
            );
        }
        let total: i64 = statuses.values().sum();
        assert_eq!(total, CASES as i64);
        let now = crate::clock::now();
        // The task finds nothing to escalate: the demo played it already. (It may mark a
        // case that fell due within the last minute, as its own sweep would have soon.)
        let (marked, escalated) = crate::cases::sweep::run_once(&mut conn, now, GRACE).unwrap();
        assert_eq!(escalated, 0);
        assert!(marked <= 2, "{marked} cases left unmarked");
        // Every timeline runs forward in time, from its opening to the case as it is.
        let rows: Vec<(i64, i64, String, Option<String>, String)> = db_run!(&mut conn, |c| {
            crate::db::schema::case_events::table
                .order((
                    crate::db::schema::case_events::case_id,
                    crate::db::schema::case_events::id,
                ))
                .select((
                    crate::db::schema::case_events::case_id,
                    crate::db::schema::case_events::at,
                    crate::db::schema::case_events::action,
                    crate::db::schema::case_events::from_status,
                    crate::db::schema::case_events::to_status,
                ))
                .load(c)
        })
        .unwrap();
        let mut last: Option<(i64, i64, String)> = None;
        for (case, at, action, from, to) in rows {
            match &last {
                Some((c, t, status)) if *c == case => {
                    assert!(at > *t, "case {case}: {action} at {at} after {t}");
                    assert_eq!(from.as_deref(), Some(status.as_str()), "case {case}");
                }
                _ => assert_eq!(action, "open", "case {case} starts with its opening"),
            }
            assert!(at < now + 1, "case {case}: {action} in the future");
            last = Some((case, at, to));
        }
    }
}
