//! Statistics through HTTP (issue 5, items 7 and 8): department numbers on hand-made
//! histories checked against hand-computed values (one driven through the action
//! endpoints in real time, one written with the real workflow at chosen times, so that
//! medians, windows and time limits are exact), CSV answers, the cells' GeoJSON, scoping,
//! bad parameters, and the demo cases.

use std::collections::HashMap;

use gridpatrol::cases::model::{self as rules, Action, ActionRequest, Actor};
use gridpatrol::cases::store::{self as case_store, CaseRow, CaseSeed, Step};
use gridpatrol::checklist::model::Tier;
use gridpatrol::clock::{parse_rfc3339, rfc3339};
use gridpatrol::db::{Conn, Pool};
use serde_json::{json, Value};

use crate::both;
use crate::harness::{Backend, TestApp};

both!(
    department_numbers_follow_the_actions,
    department_numbers_on_a_timed_history,
    csv_answers_with_a_header,
    cells_count_the_hot_spots,
    statistics_stay_within_the_callers_region,
    bad_parameters_answer_400,
    the_demo_cases_fill_every_status,
);

const DISTRICT: &str = "44060500000000";
const TOWN: &str = "44060501100000";
const COMMUNITY: &str = "44060501100100";
const CELL: &str = "44060501100101";
/// A point in 灯湖社区第01网格 (桂城街道).
const IN_CELL: (f64, f64) = (113.1203, 23.0183);
/// A point in 大沥镇, cell 44060512500207.
const IN_DALI: (f64, f64) = (113.1397, 23.0304);
const DALI: &str = "44060512500000";
const DALI_CELL: &str = "44060512500207";
const HOUR: i64 = 3_600_000_000;

fn photo(n: u8) -> String {
    format!("{:064x}", u64::from(n) + 0x5747)
}

fn in_hours(hours: f64) -> String {
    rfc3339(gridpatrol::clock::now() + (hours * HOUR as f64) as i64)
}

/// Opens a case by hand as `token` at `at`, at town tier, due at `due_at`.
fn open(app: &TestApp, token: &str, at: (f64, f64), department: &str, due_at: &str) -> i64 {
    let category = match department {
        "fire" => "fire_safety",
        "market" => "market_licence",
        _ => "city_appearance",
    };
    let (status, case) = app.post(
        "/api/v1/cases",
        token,
        &json!({"title": "统计测试", "category": category, "department": department,
                "tier": "town", "lon": at.0, "lat": at.1, "due_at": due_at}),
    );
    assert_eq!(status, 201, "{case}");
    case["id"].as_i64().unwrap()
}

fn step(app: &TestApp, token: &str, id: i64, body: Value) -> Value {
    let (status, case) = app.post(&format!("/api/v1/cases/{id}/actions"), token, &body);
    assert_eq!(status, 200, "{body} → {case}");
    case
}

fn claim(app: &TestApp, token: &str, id: i64) {
    let (status, case) = app.send(
        app.client
            .post(app.url(&format!("/api/v1/cases/{id}/claim")))
            .bearer_auth(token),
    );
    assert_eq!(status, 200, "{case}");
}

fn resolve(app: &TestApp, token: &str, id: i64) {
    step(
        app,
        token,
        id,
        json!({"action": "resolve", "note": "已整改", "photos": [photo(1)]}),
    );
}

fn verify(app: &TestApp, token: &str, id: i64, outcome: &str) {
    step(
        app,
        token,
        id,
        json!({"action": "verify", "outcome": outcome, "photos": [photo(2)]}),
    );
}

/// The departments of a report, by code.
fn by_department(report: &Value) -> HashMap<String, Value> {
    report["departments"]
        .as_array()
        .unwrap_or_else(|| panic!("no departments: {report}"))
        .iter()
        .map(|d| (d["department"].as_str().unwrap().to_string(), d.clone()))
        .collect()
}

/// The counts of a department as (received, closed, closed_on_time, open_overdue,
/// reopened, declined, extended).
fn counts(d: &Value) -> [i64; 7] {
    [
        "received",
        "closed",
        "closed_on_time",
        "open_overdue",
        "reopened",
        "declined",
        "extended",
    ]
    .map(|k| d[k].as_i64().unwrap_or_else(|| panic!("{k} in {d}")))
}

fn rates(d: &Value) -> (Value, Value) {
    (d["closure_rate"].clone(), d["on_time_closure_rate"].clone())
}

/// Hours from the case's first dispatch to `department` to its closing, from its timeline.
fn hours_to_close(app: &TestApp, token: &str, id: i64, department: &str) -> f64 {
    let (_, case) = app.get(&format!("/api/v1/cases/{id}"), token);
    let timeline = case["timeline"].as_array().unwrap();
    let dispatched = timeline
        .iter()
        .find(|e| e["action"] == "dispatch" && e["department"] == department)
        .map(|e| parse_rfc3339(e["at"].as_str().unwrap()).unwrap())
        .unwrap();
    let closed = parse_rfc3339(case["closed_at"].as_str().unwrap()).unwrap();
    (closed - dispatched) as f64 / HOUR as f64
}

/// Urban: A closed on time, B reworked and closed late, D left dispatched past its due
/// time. Fire: C closed on time after a decline by market and 改派, with an approved
/// extension; E in progress. F is voided before dispatch. G is urban's too, but in 大沥.
fn department_numbers_follow_the_actions(b: Backend) {
    let Some(app) = TestApp::spawn_with(b, |c| c.escalation_grace_secs = 24 * 3600) else {
        return;
    };
    let centre = app.login("disp-guicheng-1");
    let urban = app.login("hdl-guicheng-urban");
    let fire = app.login("hdl-guicheng-fire");
    let market = app.login("hdl-guicheng-market");
    let inspector = app.login("insp-denghu-01");
    let later = in_hours(48.0);
    // Due in a few seconds, so that B closes late and D is overdue while dispatched.
    let soon = gridpatrol::clock::now() + 4_000_000;

    let a = open(&app, &centre, IN_CELL, "urban", &later);
    let bb = open(&app, &centre, IN_CELL, "urban", &rfc3339(soon));
    let c = open(&app, &centre, IN_CELL, "fire", &later);
    let d = open(&app, &centre, IN_CELL, "urban", &rfc3339(soon));
    let e = open(&app, &centre, IN_CELL, "fire", &later);
    let f = open(&app, &centre, IN_CELL, "urban", &later);
    for id in [a, bb, c, d, e, f] {
        claim(&app, &centre, id);
    }
    for (id, department) in [
        (a, "urban"),
        (bb, "urban"),
        (c, "market"),
        (d, "urban"),
        (e, "fire"),
    ] {
        step(
            &app,
            &centre,
            id,
            json!({"action": "dispatch", "department": department}),
        );
    }
    step(
        &app,
        &centre,
        f,
        json!({"action": "reject", "note": "查无此事"}),
    );
    for id in [a, bb] {
        step(&app, &urban, id, json!({"action": "start"}));
        resolve(&app, &urban, id);
    }
    verify(&app, &inspector, a, "pass");
    step(
        &app,
        &market,
        c,
        json!({"action": "decline", "note": "不属市场监管职责"}),
    );
    step(
        &app,
        &centre,
        c,
        json!({"action": "dispatch", "department": "fire"}),
    );
    for id in [c, e] {
        step(&app, &fire, id, json!({"action": "start"}));
    }
    step(
        &app,
        &fire,
        c,
        json!({"action": "extend", "due_at": in_hours(96.0)}),
    );
    step(&app, &centre, c, json!({"action": "approve_extension"}));
    resolve(&app, &fire, c);
    verify(&app, &inspector, c, "pass");

    // In 大沥: urban's too, outside 桂城.
    let dali = app.login("disp-dali-1");
    let g = open(&app, &dali, IN_DALI, "urban", &later);
    claim(&app, &dali, g);
    step(
        &app,
        &dali,
        g,
        json!({"action": "dispatch", "department": "urban"}),
    );

    // B and D fall due; the overdue task marks D (and B, still not verified).
    while gridpatrol::clock::now() <= soon + 100_000 {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let pool = Pool::open(&app.database_url, 2).unwrap();
    gridpatrol::cases::sweep::run_once(
        &mut pool.get().unwrap(),
        gridpatrol::clock::now(),
        24 * HOUR,
    )
    .unwrap();
    verify(&app, &inspector, bb, "fail");
    step(&app, &urban, bb, json!({"action": "start"}));
    resolve(&app, &urban, bb);
    verify(&app, &inspector, bb, "pass");

    let (status, report) = app.get("/api/v1/stats/departments", &centre);
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["region"], json!({"code": TOWN, "name": "桂城街道"}));
    let to = parse_rfc3339(report["to"].as_str().unwrap()).unwrap();
    let from = parse_rfc3339(report["from"].as_str().unwrap()).unwrap();
    assert_eq!(to - from, 30 * 24 * HOUR, "the last 30 days by default");
    let all = by_department(&report);
    assert_eq!(all.len(), 16, "every department, those without cases too");
    // received, closed, closed_on_time, open_overdue, reopened, declined, extended
    assert_eq!(counts(&all["urban"]), [3, 2, 1, 1, 1, 0, 0]);
    assert_eq!(rates(&all["urban"]), (json!(0.6667), json!(0.3333)));
    assert_eq!(counts(&all["fire"]), [2, 1, 1, 0, 0, 0, 1]);
    assert_eq!(rates(&all["fire"]), (json!(0.5), json!(0.5)));
    assert_eq!(counts(&all["market"]), [1, 0, 0, 0, 0, 1, 0]);
    assert_eq!(rates(&all["market"]), (json!(0.0), json!(0.0)));
    assert!(all["market"]["median_hours_to_close"].is_null());
    assert_eq!(counts(&all["police"]), [0; 7]);
    assert_eq!(rates(&all["police"]), (Value::Null, Value::Null));
    // The median of two is their mean (real time: a few seconds, so about 0 hours).
    let median = (hours_to_close(&app, &centre, a, "urban")
        + hours_to_close(&app, &centre, bb, "urban"))
        / 2.0;
    let shown = all["urban"]["median_hours_to_close"].as_f64().unwrap();
    assert!((shown - median).abs() <= 0.005, "{shown} vs {median}");
    let shown = all["fire"]["median_hours_to_close"].as_f64().unwrap();
    assert!((shown - hours_to_close(&app, &centre, c, "fire")).abs() <= 0.005);

    // The district sees 大沥's case too; 大沥's centre only its own.
    let (_, district) = app.get("/api/v1/stats/departments", &app.login("sup-district"));
    assert_eq!(district["region"]["code"], DISTRICT);
    assert_eq!(by_department(&district)["urban"]["received"], 4);
    let (_, everywhere) = app.get("/api/v1/stats/departments", &app.login("admin"));
    assert!(everywhere["region"].is_null());
    assert_eq!(by_department(&everywhere)["urban"]["received"], 4);
    let (_, theirs) = app.get("/api/v1/stats/departments", &dali);
    let theirs = by_department(&theirs);
    assert_eq!(counts(&theirs["urban"]), [1, 0, 0, 0, 0, 0, 0]);
    assert_eq!(counts(&theirs["fire"]), [0; 7]);
    // A window that ended before all this counts nothing but the snapshot.
    let (_, before) = app.get(
        &format!(
            "/api/v1/stats/departments?to={}",
            urlencode(&in_hours(-1.0))
        ),
        &centre,
    );
    assert_eq!(
        counts(&by_department(&before)["urban"]),
        [0, 0, 0, 1, 0, 0, 0]
    );
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

/// Writes a history at chosen times with the real workflow (`store::open`,
/// `model::apply`, `store::record`), as the demo does, beside the running server.
struct History {
    pool: Pool,
    t0: i64,
    departments: Vec<String>,
    actors: HashMap<String, Actor>,
}

struct Place {
    at: (f64, f64),
    cell: &'static str,
    community: &'static str,
    town: &'static str,
}

const DENGHU: Place = Place {
    at: IN_CELL,
    cell: CELL,
    community: COMMUNITY,
    town: TOWN,
};
const YANBU: Place = Place {
    at: IN_DALI,
    cell: DALI_CELL,
    community: "44060512500200",
    town: DALI,
};

impl History {
    fn new(app: &TestApp, t0: i64) -> History {
        let pool = Pool::open(&app.database_url, 2).unwrap();
        let mut conn = pool.get().unwrap();
        let departments = gridpatrol::checklist::store::department_codes(&mut conn)
            .unwrap()
            .into_iter()
            .collect();
        History {
            pool,
            t0,
            departments,
            actors: HashMap::new(),
        }
    }

    fn at(&self, hours: f64) -> i64 {
        self.t0 + (hours * HOUR as f64) as i64
    }

    fn actor(&mut self, conn: &mut Conn, username: &str) -> Actor {
        if let Some(a) = self.actors.get(username) {
            return a.clone();
        }
        let user = gridpatrol::auth::store::user_by_name(conn, username)
            .unwrap()
            .unwrap_or_else(|| panic!("no user {username}"));
        let actor = Actor::User {
            id: user.id,
            role: user.role,
            region: user
                .region_code
                .as_deref()
                .map(|r| gridpatrol::region::RegionCode::parse(r).unwrap()),
            department: user.department_code,
            cells: gridpatrol::auth::store::cells_of(conn, user.id).unwrap(),
        };
        self.actors.insert(username.to_string(), actor.clone());
        actor
    }

    /// Opens a case by `by` (a town dispatcher) at `hours` after t0, due `limit` hours on.
    fn open(&mut self, by: &str, place: &Place, department: &str, hours: f64, limit: i64) -> i64 {
        let mut conn = self.pool.get().unwrap();
        let Actor::User { id, .. } = self.actor(&mut conn, by) else {
            unreachable!()
        };
        let at = self.at(hours);
        let seed = CaseSeed {
            source: "manual",
            item_code: None,
            category: match department {
                "fire" => "fire_safety",
                "market" => "market_licence",
                _ => "city_appearance",
            }
            .into(),
            title: "统计测试".into(),
            description: String::new(),
            lon: place.at.0,
            lat: place.at.1,
            cell: Some(place.cell.into()),
            community: place.community.into(),
            town: place.town.into(),
            district: DISTRICT.into(),
            tier: Tier::Town,
            department: department.into(),
            priority: "medium".into(),
            due_at: at + limit * HOUR,
            enterprise_uscc: None,
            report: None,
            actor: Some((id, "dispatcher")),
        };
        conn.write(|conn| case_store::open(conn, &seed, at))
            .unwrap()
    }

    /// Takes `request` on the case by `by` at `hours` after t0, as the action endpoint would.
    fn act(&mut self, id: i64, by: &str, mut request: ActionRequest, hours: f64) {
        let mut conn = self.pool.get().unwrap();
        let actor = self.actor(&mut conn, by);
        let at = self.at(hours);
        if request.action == Action::Resolve {
            request.note = Some("已整改".into());
            request.photos = vec![photo(3)];
        }
        if request.action == Action::Verify {
            request.photos = vec![photo(4)];
        }
        if matches!(request.action, Action::Decline | Action::Reject) {
            request.note = Some("不属本部门".into());
        }
        let known: Vec<&str> = self.departments.iter().map(String::as_str).collect();
        let row: CaseRow = case_store::find(&mut conn, id).unwrap().unwrap();
        let t = rules::apply(&row.facts(), &actor, &request, at, &known)
            .unwrap_or_else(|r| panic!("{:?} on case {id} by {by}: {r}", request.action));
        let Actor::User {
            id: actor_id, role, ..
        } = actor
        else {
            unreachable!()
        };
        let step = Step {
            action: request.action,
            actor_id: Some(actor_id),
            actor_role: role.as_str(),
            note: request.note.clone(),
            photos: request.photos.clone(),
            details: json!({}),
        };
        conn.write(|conn| case_store::record(conn, &row, &t, &step, at))
            .unwrap()
            .expect("nobody else writes");
    }

    fn dispatch(&mut self, id: i64, by: &str, department: &str, hours: f64) {
        let mut request = ActionRequest::new(Action::Dispatch);
        request.department = Some(department.into());
        self.act(id, by, request, hours);
    }

    fn verify(&mut self, id: i64, by: &str, outcome: &str, hours: f64) {
        let mut request = ActionRequest::new(Action::Verify);
        request.outcome = Some(outcome.into());
        self.act(id, by, request, hours);
    }

    /// claim, dispatch, start, resolve and verify (pass) at the given hours.
    fn through(&mut self, id: i64, department: &str, hours: [f64; 5]) {
        let handler = format!("hdl-guicheng-{department}");
        self.act(id, CENTRE, ActionRequest::new(Action::Claim), hours[0]);
        self.dispatch(id, CENTRE, department, hours[1]);
        self.act(id, &handler, ActionRequest::new(Action::Start), hours[2]);
        self.act(id, &handler, ActionRequest::new(Action::Resolve), hours[3]);
        self.verify(id, INSPECTOR, "pass", hours[4]);
    }
}

const CENTRE: &str = "disp-guicheng-1";
const INSPECTOR: &str = "insp-denghu-01";

/// Every number by hand, over the window [t0, t0 + 100 h) twenty days ago:
///
/// urban — U1 dispatched exactly at t0, closed 6 h later, on time. U2 closed 38 h after
/// dispatch, past its 24 h limit. U3 closed 57 h after dispatch, past its first due time
/// but within an approved extension: on time. U4 was dispatched before the window (not
/// received) but failed verification within it (reopened). U5 was dispatched exactly at
/// the window's end (not received). U4, U5 and U6 are dispatched now, long past due: open
/// overdue, a snapshot whatever the window. So: received 4 (U1, U2, U3, U6),
/// closed 3, on time 2, 结案率 0.75, 按期结案率 0.5, median of 6, 38, 57 = 38 h.
///
/// fire — F1 first went to market, which declined it, then to fire, closed 8.5 h after that
/// dispatch; F2 closed 4 h after dispatch. Median of two: 6.25 h. market: received F1,
/// closed nothing, declined 1; M1 in 大沥 counts only where 大沥 is covered.
fn department_numbers_on_a_timed_history(b: Backend) {
    // No overdue task behind our back: the history is written as it would have left it.
    let Some(app) = TestApp::spawn_with(b, |c| c.overdue_check_secs = 3600) else {
        return;
    };
    let t0 = gridpatrol::clock::now() - 20 * 24 * HOUR;
    let mut h = History::new(&app, t0);

    let u1 = h.open(CENTRE, &DENGHU, "urban", -1.0, 48);
    h.through(u1, "urban", [-0.5, 0.0, 2.0, 5.0, 6.0]);
    let u2 = h.open(CENTRE, &DENGHU, "urban", 1.0, 24);
    h.through(u2, "urban", [1.5, 2.0, 3.0, 30.0, 40.0]);
    let u3 = h.open(CENTRE, &DENGHU, "urban", 2.0, 24);
    h.act(u3, CENTRE, ActionRequest::new(Action::Claim), 2.5);
    h.dispatch(u3, CENTRE, "urban", 3.0);
    h.act(
        u3,
        "hdl-guicheng-urban",
        ActionRequest::new(Action::Start),
        4.0,
    );
    let mut extend = ActionRequest::new(Action::Extend);
    extend.due_at = Some(h.at(74.0));
    h.act(u3, "hdl-guicheng-urban", extend, 10.0);
    h.act(
        u3,
        CENTRE,
        ActionRequest::new(Action::ApproveExtension),
        11.0,
    );
    h.act(
        u3,
        "hdl-guicheng-urban",
        ActionRequest::new(Action::Resolve),
        50.0,
    );
    h.verify(u3, INSPECTOR, "pass", 60.0);
    let u4 = h.open(CENTRE, &DENGHU, "urban", -5.0, 48);
    h.act(u4, CENTRE, ActionRequest::new(Action::Claim), -4.5);
    h.dispatch(u4, CENTRE, "urban", -4.0);
    h.act(
        u4,
        "hdl-guicheng-urban",
        ActionRequest::new(Action::Start),
        -3.0,
    );
    h.act(
        u4,
        "hdl-guicheng-urban",
        ActionRequest::new(Action::Resolve),
        1.0,
    );
    h.verify(u4, INSPECTOR, "fail", 2.0);
    let u5 = h.open(CENTRE, &DENGHU, "urban", 99.0, 48);
    h.act(u5, CENTRE, ActionRequest::new(Action::Claim), 99.5);
    h.dispatch(u5, CENTRE, "urban", 100.0);
    let u6 = h.open(CENTRE, &DENGHU, "urban", 90.0, 4);
    h.act(u6, CENTRE, ActionRequest::new(Action::Claim), 90.2);
    h.dispatch(u6, CENTRE, "urban", 90.5);
    // Voided: neither received nor a hot spot.
    let r = h.open(CENTRE, &DENGHU, "urban", 20.0, 24);
    h.act(r, CENTRE, ActionRequest::new(Action::Claim), 20.5);
    h.act(r, CENTRE, ActionRequest::new(Action::Reject), 21.0);

    let f1 = h.open(CENTRE, &DENGHU, "fire", 0.0, 24);
    h.act(f1, CENTRE, ActionRequest::new(Action::Claim), 0.2);
    h.dispatch(f1, CENTRE, "market", 0.5);
    h.act(
        f1,
        "hdl-guicheng-market",
        ActionRequest::new(Action::Decline),
        1.5,
    );
    h.dispatch(f1, CENTRE, "fire", 2.0);
    h.act(
        f1,
        "hdl-guicheng-fire",
        ActionRequest::new(Action::Start),
        3.0,
    );
    h.act(
        f1,
        "hdl-guicheng-fire",
        ActionRequest::new(Action::Resolve),
        8.0,
    );
    h.verify(f1, INSPECTOR, "pass", 10.5);
    let f2 = h.open(CENTRE, &DENGHU, "fire", 10.0, 24);
    h.through(f2, "fire", [10.1, 10.5, 11.0, 13.0, 14.5]);

    let m1 = h.open("disp-dali-1", &YANBU, "market", 5.0, 72);
    h.act(m1, "disp-dali-1", ActionRequest::new(Action::Claim), 5.5);
    h.dispatch(m1, "disp-dali-1", "market", 6.0);
    h.act(
        m1,
        "hdl-dali-market",
        ActionRequest::new(Action::Start),
        7.0,
    );
    h.act(
        m1,
        "hdl-dali-market",
        ActionRequest::new(Action::Resolve),
        9.0,
    );
    let dali_inspector = inspector_of(DALI_CELL);
    h.verify(m1, &dali_inspector, "pass", 12.0);

    let window = format!(
        "from={}&to={}",
        urlencode(&rfc3339(h.at(0.0))),
        urlencode(&rfc3339(h.at(100.0)))
    );
    let centre = app.login(CENTRE);
    let (status, report) = app.get(&format!("/api/v1/stats/departments?{window}"), &centre);
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["from"], rfc3339(t0));
    let all = by_department(&report);
    // received, closed, closed_on_time, open_overdue, reopened, declined, extended
    assert_eq!(counts(&all["urban"]), [4, 3, 2, 3, 1, 0, 1]);
    assert_eq!(rates(&all["urban"]), (json!(0.75), json!(0.5)));
    assert_eq!(all["urban"]["median_hours_to_close"], json!(38.0));
    assert_eq!(counts(&all["fire"]), [2, 2, 2, 0, 0, 0, 0]);
    assert_eq!(rates(&all["fire"]), (json!(1.0), json!(1.0)));
    assert_eq!(all["fire"]["median_hours_to_close"], json!(6.25));
    assert_eq!(counts(&all["market"]), [1, 0, 0, 0, 0, 1, 0]);

    // Everywhere: 大沥's market case joins the cohort, closed 6 h after dispatch, on time.
    let (_, everywhere) = app.get(
        &format!("/api/v1/stats/departments?{window}"),
        &app.login("admin"),
    );
    let everywhere = by_department(&everywhere);
    assert_eq!(counts(&everywhere["market"]), [2, 1, 1, 0, 0, 1, 0]);
    assert_eq!(everywhere["market"]["median_hours_to_close"], json!(6.0));
    assert_eq!(rates(&everywhere["market"]), (json!(0.5), json!(0.5)));
    assert_eq!(everywhere["urban"], all["urban"]);
    // A community within the town: the same cases, all in 灯湖.
    let (_, denghu) = app.get(
        &format!("/api/v1/stats/departments?{window}&region={COMMUNITY}"),
        &centre,
    );
    assert_eq!(by_department(&denghu)["urban"], all["urban"]);
    assert_eq!(denghu["region"]["name"], "灯湖社区");

    // The hot spots of the same window: cases opened within it, the voided one left out.
    // U2, U3, U5, U6 (city_appearance); F1, F2 (fire_safety); U1 and U4 opened before.
    let (status, cells) = app.get(&format!("/api/v1/stats/cells?{window}"), &centre);
    assert_eq!(status, 200, "{cells}");
    let cell = feature(&cells, CELL);
    assert_eq!(cell["total"], 6);
    assert_eq!(
        cell["by_category"],
        json!({"city_appearance": 4, "fire_safety": 2})
    );
    let (_, everywhere) = app.get(
        &format!("/api/v1/stats/cells?{window}"),
        &app.login("admin"),
    );
    assert_eq!(
        feature(&everywhere, DALI_CELL)["by_category"],
        json!({"market_licence": 1})
    );
}

/// The inspector the demo assigns to `cell`.
fn inspector_of(cell: &str) -> String {
    let users: Value = serde_json::from_str(gridpatrol::demo::USERS).unwrap();
    users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| {
            u["role"] == "inspector" && u["cells"].as_array().unwrap().iter().any(|c| c == cell)
        })
        .and_then(|u| u["username"].as_str())
        .unwrap_or_else(|| panic!("no inspector of {cell}"))
        .to_string()
}

/// The properties of the feature of `code`.
fn feature(collection: &Value, code: &str) -> Value {
    collection["features"]
        .as_array()
        .unwrap_or_else(|| panic!("not a collection: {collection}"))
        .iter()
        .find(|f| f["properties"]["code"] == code)
        .map(|f| f["properties"].clone())
        .unwrap_or_else(|| panic!("no feature {code}"))
}

/// GET with `Accept: text/csv`: status, content type and body.
fn get_csv(app: &TestApp, path: &str, token: &str) -> (u16, String, String) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Bytes as sent: `text()` would drop the byte-order mark. Errors stay JSON.
    let bytes = response.bytes().unwrap().to_vec();
    if status == 200 {
        assert!(
            bytes.starts_with("\u{feff}".as_bytes()),
            "CSV starts with a UTF-8 byte-order mark, for Excel"
        );
    }
    let text = String::from_utf8(bytes).unwrap();
    (
        status,
        content_type,
        text.trim_start_matches('\u{feff}').to_string(),
    )
}

fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn csv_answers_with_a_header(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let centre = app.login(CENTRE);
    let a = open(&app, &centre, IN_CELL, "urban", &in_hours(48.0));
    claim(&app, &centre, a);
    step(
        &app,
        &centre,
        a,
        json!({"action": "dispatch", "department": "urban"}),
    );
    open(&app, &centre, IN_CELL, "fire", &in_hours(48.0));

    let (status, content_type, text) = get_csv(&app, "/api/v1/stats/departments", &centre);
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let (header, rows) = parse_csv(&text);
    assert_eq!(
        header,
        [
            "department",
            "name",
            "received",
            "closed",
            "closed_on_time",
            "on_time_closure_rate",
            "closure_rate",
            "median_hours_to_close",
            "open_overdue",
            "reopened",
            "declined",
            "extended"
        ]
    );
    assert_eq!(rows.len(), 16);
    let urban = rows.iter().find(|r| r[0] == "urban").unwrap();
    assert_eq!(urban[1], "南海区城市管理和综合执法局");
    assert_eq!(
        urban[2..],
        ["1", "0", "0", "0", "0", "", "0", "0", "0", "0"]
    );
    let police = rows.iter().find(|r| r[0] == "police").unwrap();
    assert_eq!(police[5..8], ["", "", ""], "no rate without a denominator");
    // The JSON says the same.
    let (_, report) = app.get("/api/v1/stats/departments", &centre);
    assert_eq!(by_department(&report)["urban"]["closure_rate"], json!(0.0));

    let (status, content_type, text) = get_csv(&app, "/api/v1/stats/cells", &centre);
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let (header, rows) = parse_csv(&text);
    assert_eq!(header, ["cell", "name", "category", "cases"]);
    assert_eq!(
        rows.len(),
        2,
        "one row per cell and category with cases: {rows:?}"
    );
    for (row, category) in rows.iter().zip(["city_appearance", "fire_safety"]) {
        assert_eq!(row[0], CELL);
        assert!(row[1].contains("网格"), "{row:?}");
        assert_eq!(row[2..], [category.to_string(), "1".to_string()]);
    }
    // Errors stay JSON whatever was asked for.
    let (status, content_type, text) = get_csv(&app, "/api/v1/stats/cells?from=yesterday", &centre);
    assert_eq!(status, 400, "{text}");
    assert!(content_type.contains("json"), "{content_type}");
}

fn cells_count_the_hot_spots(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let centre = app.login(CENTRE);
    // Two cells of 灯湖 (01 and 05) and one case voided.
    let other = (113.1258667, 23.0153333);
    for (at, department) in [
        (IN_CELL, "fire"),
        (IN_CELL, "fire"),
        (IN_CELL, "urban"),
        (other, "market"),
    ] {
        open(&app, &centre, at, department, &in_hours(24.0));
    }
    let voided = open(&app, &centre, other, "urban", &in_hours(24.0));
    claim(&app, &centre, voided);
    step(
        &app,
        &centre,
        voided,
        json!({"action": "reject", "note": "重复来电"}),
    );

    let response = app
        .client
        .get(app.url("/api/v1/stats/cells"))
        .bearer_auth(&centre)
        .send()
        .unwrap();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/geo+json"
    );
    let (status, cells) = crate::harness::read(response);
    assert_eq!(status, 200, "{cells}");
    assert_eq!(cells["type"], "FeatureCollection");
    assert_eq!(cells["region"]["code"], TOWN);
    let features = cells["features"].as_array().unwrap();
    // Every cell of 桂城, those without cases too, each with its shape.
    let (_, grid) = app.get(
        &format!("/api/v1/grid/cells?region={TOWN}&limit=1000"),
        &centre,
    );
    assert_eq!(features.len(), grid["features"].as_array().unwrap().len());
    assert!(features
        .iter()
        .all(|f| f["geometry"]["type"] == "Polygon" || f["geometry"]["type"] == "MultiPolygon"));
    assert!(features.iter().all(|f| f["properties"]["code"]
        .as_str()
        .unwrap()
        .starts_with("440605011")));
    let one = feature(&cells, CELL);
    assert_eq!(one["total"], 3);
    assert_eq!(
        one["by_category"],
        json!({"city_appearance": 1, "fire_safety": 2})
    );
    assert!(one["name"].as_str().unwrap().contains("网格"));
    let five = feature(&cells, "44060501100105");
    assert_eq!(
        (five["total"].clone(), five["by_category"].clone()),
        (json!(1), json!({"market_licence": 1}))
    );
    let quiet = feature(&cells, "44060501100102");
    assert_eq!(
        (quiet["total"].clone(), quiet["by_category"].clone()),
        (json!(0), json!({}))
    );
    let total: i64 = features
        .iter()
        .map(|f| f["properties"]["total"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 4);

    // Narrowed to the community; an earlier window has nothing.
    let (_, denghu) = app.get(&format!("/api/v1/stats/cells?region={COMMUNITY}"), &centre);
    assert!(denghu["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["properties"]["code"]
            .as_str()
            .unwrap()
            .starts_with("440605011001")));
    let (_, earlier) = app.get(
        &format!("/api/v1/stats/cells?to={}", urlencode(&in_hours(-1.0))),
        &centre,
    );
    assert_eq!(feature(&earlier, CELL)["total"], 0);
    // 大沥's centre sees its own cells, none of 桂城's cases.
    let (_, dali) = app.get("/api/v1/stats/cells", &app.login("disp-dali-1"));
    let dali = dali["features"].as_array().unwrap();
    assert!(!dali.is_empty());
    assert!(dali.iter().all(|f| f["properties"]["code"]
        .as_str()
        .unwrap()
        .starts_with("440605125")
        && f["properties"]["total"] == 0));
}

fn statistics_stay_within_the_callers_region(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let town = app.login(CENTRE);
    let community = app.login("disp-denghu-1");
    for path in ["/api/v1/stats/departments", "/api/v1/stats/cells"] {
        let (status, body) = app.get(path, &town);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["region"]["code"], TOWN);
        for region in [DALI, DISTRICT, "44060512500200"] {
            let (status, body) = app.get(&format!("{path}?region={region}"), &town);
            assert_eq!(status, 403, "{region}: {body}");
            assert_eq!(body["error"]["code"], "forbidden");
        }
        let (status, body) = app.get(&format!("{path}?region={COMMUNITY}"), &town);
        assert_eq!(
            (status, body["region"]["code"].clone()),
            (200, json!(COMMUNITY))
        );
        // A community centre: its community, not the town around it.
        let (_, body) = app.get(path, &community);
        assert_eq!(body["region"]["code"], COMMUNITY);
        assert_eq!(app.get(&format!("{path}?region={TOWN}"), &community).0, 403);
        for reader in ["sup-guicheng", "sup-district", "admin", "disp-district-1"] {
            let (status, body) = app.get(path, &app.login(reader));
            assert_eq!(status, 200, "{reader}: {body}");
        }
        let (_, body) = app.get(&format!("{path}?region={DALI}"), &app.login("admin"));
        assert_eq!(body["region"], json!({"code": DALI, "name": "大沥镇"}));
        for outsider in ["insp-denghu-01", "hdl-guicheng-urban"] {
            let (status, body) = app.get(path, &app.login(outsider));
            assert_eq!(status, 403, "{outsider}: {body}");
        }
        let (status, _) = app.send(app.client.get(app.url(path)));
        assert_eq!(status, 401);
        let (status, _) = app.send(app.client.post(app.url(path)).bearer_auth(&town));
        assert_eq!(status, 405);
    }
    let (_, cells) = app.get("/api/v1/stats/cells", &community);
    assert!(cells["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["properties"]["code"]
            .as_str()
            .unwrap()
            .starts_with("440605011001")));
}

fn bad_parameters_answer_400(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let token = app.login("sup-district");
    let t = urlencode("2026-11-28T00:00:00+08:00");
    let earlier = urlencode("2026-11-01T00:00:00+08:00");
    for path in ["/api/v1/stats/departments", "/api/v1/stats/cells"] {
        for (query, parameter) in [
            (format!("from={t}&to={t}"), Some("from")),
            (format!("from={t}&to={earlier}"), Some("from")),
            ("from=yesterday".to_string(), Some("from")),
            ("to=2026-11-28T00:00:00".to_string(), Some("to")),
            ("region=4406".to_string(), Some("region")),
            ("region=44060500000000x".to_string(), Some("region")),
            ("sort=name".to_string(), None),
        ] {
            let (status, body) = app.get(&format!("{path}?{query}"), &token);
            assert_eq!(status, 400, "{path}?{query}: {body}");
            if let Some(parameter) = parameter {
                assert_eq!(body["error"]["details"]["parameter"], parameter, "{body}");
            }
        }
        let (status, body) = app.get(&format!("{path}?from={earlier}&to={t}"), &token);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["from"], "2026-11-01T00:00:00+08:00");
        assert_eq!(body["to"], "2026-11-28T00:00:00+08:00");
    }
}

/// The demo with its cases: every status in the lists and in someone's queue, statistics
/// that are not empty, and every timeline in order.
fn the_demo_cases_fill_every_status(b: Backend) {
    let Some(app) = TestApp::spawn_with(b, |c| {
        c.demo_cases = true;
        // The grace the demo's history was played with.
        c.escalation_grace_secs = 24 * 3600;
    }) else {
        return;
    };
    let admin = app.login("admin");
    let users: Value = serde_json::from_str(gridpatrol::demo::USERS).unwrap();
    let users = users["users"].as_array().unwrap();
    let user = |pick: &dyn Fn(&Value) -> bool| -> String {
        users
            .iter()
            .find(|u| pick(u))
            .and_then(|u| u["username"].as_str())
            .unwrap()
            .to_string()
    };
    let (status, all) = app.get("/api/v1/cases?limit=1000", &admin);
    assert_eq!(status, 200, "{all}");
    let cases = all["items"].as_array().unwrap();
    assert!(cases.len() >= 300, "a few hundred cases: {}", cases.len());
    let now = gridpatrol::clock::now();
    let oldest = cases
        .iter()
        .map(|c| parse_rfc3339(c["opened_at"].as_str().unwrap()).unwrap())
        .min()
        .unwrap();
    assert!(now - oldest > 40 * 24 * HOUR && now - oldest <= 61 * 24 * HOUR);
    let mut by_status: HashMap<&str, Vec<&Value>> = HashMap::new();
    for c in cases {
        by_status
            .entry(c["status"].as_str().unwrap())
            .or_default()
            .push(c);
    }
    for status in [
        "open",
        "claimed",
        "dispatched",
        "in_progress",
        "resolved",
        "closed",
        "rejected",
    ] {
        let n = by_status.get(status).map_or(0, Vec::len);
        assert!(n >= 3, "{status}: {n}");
    }
    for counter in ["reopened", "declined", "extended", "escalated"] {
        assert!(
            cases
                .iter()
                .any(|c| c["counters"][counter].as_i64() > Some(0)),
            "no case {counter}"
        );
    }
    assert!(cases
        .iter()
        .any(|c| c["overdue"] == true && c["status"] != "closed" && c["status"] != "rejected"));
    let towns: std::collections::HashSet<&str> = cases
        .iter()
        .map(|c| c["region"]["town"].as_str().unwrap())
        .collect();
    assert_eq!(towns.len(), 3, "every town: {towns:?}");

    // Each waiting case is in the queue of whoever must act: the centre of its tier, the
    // handler of its department in its town, an inspector of its cell.
    let centre_of = |c: &Value| {
        let region = &c["region"];
        match c["tier"].as_str().unwrap() {
            "community" => region["community"].clone(),
            "town" => region["town"].clone(),
            _ => region["district"].clone(),
        }
    };
    let waiting = [
        (by_status["open"][0], {
            let code = centre_of(by_status["open"][0]);
            user(&|u| u["role"] == "dispatcher" && u["region"] == code)
        }),
        (by_status["dispatched"][0], {
            let c = by_status["dispatched"][0];
            user(&|u| {
                u["role"] == "handler"
                    && u["department"] == c["department"]
                    && u["region"] == c["region"]["town"]
            })
        }),
        (by_status["resolved"][0], {
            let cell = by_status["resolved"][0]["region"]["cell"].clone();
            user(&|u| u["role"] == "inspector" && u["cells"].as_array().unwrap().contains(&cell))
        }),
    ];
    for (case, username) in waiting {
        let (status, queue) = app.get("/api/v1/cases?queue=mine&limit=1000", &app.login(&username));
        assert_eq!(status, 200, "{queue}");
        assert!(
            queue["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == case["id"]),
            "case {} not in {username}'s queue",
            case["id"]
        );
    }
    let claimed = by_status["claimed"][0];
    assert!(claimed["claimed_by"]["username"]
        .as_str()
        .unwrap()
        .starts_with("disp-"));

    // Timelines: from the opening on, each step later than the one before, each from the
    // status the one before led to, ending in the case's status; actors as the roles say.
    for case in cases.iter().step_by(5) {
        let (_, detail) = app.get(&format!("/api/v1/cases/{}", case["id"]), &admin);
        let timeline = detail["timeline"].as_array().unwrap();
        assert_eq!(timeline[0]["action"], "open", "{detail}");
        assert_eq!(timeline[0]["actor_role"], "dispatcher");
        let mut last: Option<(i64, &Value)> = None;
        for event in timeline {
            let at = parse_rfc3339(event["at"].as_str().unwrap()).unwrap();
            assert!(at <= now, "{event}");
            if let Some((before, status)) = last {
                assert!(
                    at > before,
                    "case {}: {event} not after {before}",
                    case["id"]
                );
                assert_eq!(&event["from_status"], status, "case {}", case["id"]);
            }
            let role = event["actor_role"].as_str().unwrap();
            let expected = match event["action"].as_str().unwrap() {
                "start" | "resolve" | "decline" | "extend" => "handler",
                "verify" => "inspector",
                "mark_overdue" | "system_escalate" => "system",
                _ => "dispatcher",
            };
            assert_eq!(role, expected, "{event}");
            last = Some((at, &event["to_status"]));
        }
        assert_eq!(last.unwrap().1, &detail["status"]);
    }

    // The statistics have something to show.
    let (status, report) = app.get(
        &format!(
            "/api/v1/stats/departments?from={}",
            urlencode(&in_hours(-61.0 * 24.0))
        ),
        &admin,
    );
    assert_eq!(status, 200, "{report}");
    let departments = report["departments"].as_array().unwrap();
    let sum = |key: &str| -> i64 { departments.iter().map(|d| d[key].as_i64().unwrap()).sum() };
    assert!(sum("received") >= 250, "{report}");
    assert!(
        sum("closed") >= 150 && sum("closed_on_time") > 0,
        "{report}"
    );
    assert!(
        sum("closed_on_time") < sum("closed"),
        "some close late: {report}"
    );
    for key in ["reopened", "declined", "extended"] {
        assert!(sum(key) > 0, "{key}: {report}");
    }
    let (_, cells) = app.get(
        &format!(
            "/api/v1/stats/cells?from={}",
            urlencode(&in_hours(-61.0 * 24.0))
        ),
        &admin,
    );
    let total: i64 = cells["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["total"].as_i64().unwrap())
        .sum();
    let not_rejected = cases.iter().filter(|c| c["status"] != "rejected").count();
    assert_eq!(total, not_rejected as i64);
}

/// Both endpoints are in the OpenAPI document, with their CSV form and every formula.
#[test]
fn the_openapi_document_describes_the_statistics() {
    let doc: Value = serde_json::from_str(&gridpatrol::startup::openapi_json()).unwrap();
    for path in ["/api/v1/stats/departments", "/api/v1/stats/cells"] {
        let ok = &doc["paths"][path]["get"]["responses"]["200"]["content"];
        assert!(ok["text/csv"].is_object(), "{path}: {ok}");
        for status in ["400", "403"] {
            assert!(doc["paths"][path]["get"]["responses"][status].is_object());
        }
    }
    let fields = &doc["components"]["schemas"]["DepartmentStats"]["properties"];
    for (field, says) in [
        (
            "on_time_closure_rate",
            "按期结案率: closed_on_time / received",
        ),
        ("closure_rate", "结案率: closed / received"),
        ("median_hours_to_close", "median"),
        ("open_overdue", "snapshot"),
        ("reopened", "返工"),
        ("declined", "回退"),
        ("extended", "延期"),
    ] {
        let text = fields[field]["description"].as_str().unwrap_or_default();
        assert!(text.contains(says), "{field}: {text}");
    }
}
