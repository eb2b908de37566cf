//! The case life cycle through HTTP (issue 5): the full cycle to closed with its timeline,
//! rework, 回退 and 改派, 延期, tiers, 注销 and duplicates, every disallowed action of every
//! status, scoping, claim races, stale versions, the queues, cases opened by hand, and the
//! overdue task.

use std::sync::Barrier;

use serde_json::{json, Value};

use crate::both;
use crate::harness::{Backend, TestApp};
use crate::reports::shop_report;

both!(
    a_case_runs_its_full_life_cycle_to_closed,
    failed_verification_reopens_and_a_decline_is_redispatched,
    extensions_are_approved_or_refused,
    cases_climb_and_descend_the_tiers,
    rejected_and_duplicate_cases_are_final,
    every_disallowed_action_answers_409_with_the_allowed_list,
    no_one_acts_outside_their_scope,
    exactly_one_of_many_racing_claims_wins,
    racing_actions_of_any_kind_have_one_winner,
    a_stale_version_is_refused_with_the_current_case,
    queues_filter_sort_page_and_speak_geojson,
    dispatchers_open_cases_by_hand,
    the_overdue_task_marks_and_escalates_once,
    the_overdue_sweep_takes_each_case_of_a_backlog_once,
    the_overdue_task_runs_in_the_server,
    resolution_photos_follow_the_case_read_rule,
);

const TOWN: &str = "44060501100000";
const DISTRICT: &str = "44060500000000";
const COMMUNITY: &str = "44060501100100";
const CELL: &str = "44060501100101";
/// In 大沥镇, outside 桂城街道.
const IN_DALI: (f64, f64) = (113.1250, 23.0300);

/// A distinct point in 灯湖社区第01网格 for each `n` below 48, at least 50 m from the others
/// (reports of one item within 30 m join one case).
pub(crate) fn spot(n: usize) -> (f64, f64) {
    assert!(n < 48);
    (
        113.1203 + 0.0005 * (n % 8) as f64,
        23.0183 + 0.0005 * (n / 8) as f64,
    )
}

fn photo(n: u8) -> String {
    format!("{:064x}", u64::from(n) + 0xabc)
}

struct Users {
    inspector: String,
    centre: String,
    centre_2: String,
    fire: String,
    market: String,
    admin: String,
}

fn users(app: &TestApp) -> Users {
    Users {
        inspector: app.login("insp-denghu-01"),
        centre: app.login("disp-guicheng-1"),
        centre_2: app.login("disp-guicheng-2"),
        fire: app.login("hdl-guicheng-fire"),
        market: app.login("hdl-guicheng-market"),
        admin: app.login("admin"),
    }
}

/// Posts a shop report failing FS-001 (fire, town tier) at `at`: the case it opened.
fn report_case(app: &TestApp, inspector: &str, at: (f64, f64)) -> i64 {
    let (status, answer) = app.post("/api/v1/reports", inspector, &shop_report(at, None));
    assert_eq!(status, 201, "{answer}");
    let cases = answer["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "{answer}");
    cases[0].as_i64().unwrap()
}

fn act(app: &TestApp, token: &str, id: i64, body: Value) -> (u16, Value) {
    app.post(&format!("/api/v1/cases/{id}/actions"), token, &body)
}

/// An action that must succeed: the case after it.
/// Takes an action that must succeed. The answer is built from the values the UPDATE wrote,
/// not read back (cases::store::record), so it is compared with a fresh read of the case.
fn step(app: &TestApp, token: &str, id: i64, body: Value) -> Value {
    let (status, case) = act(app, token, id, body.clone());
    assert_eq!(status, 200, "{body} → {case}");
    let (status, reread) = app.get(&format!("/api/v1/cases/{id}"), token);
    if status == 200 {
        for (key, value) in case.as_object().expect("a case is an object") {
            assert_eq!(
                Some(value),
                reread.get(key),
                "{key} answered to {body} differs from a read of the case"
            );
        }
    } else {
        // The action may have taken the case out of the actor's reach.
        assert_eq!(status, 404, "{reread}");
    }
    case
}

fn claim(app: &TestApp, token: &str, id: i64) -> (u16, Value) {
    app.send(
        app.client
            .post(app.url(&format!("/api/v1/cases/{id}/claim")))
            .bearer_auth(token),
    )
}

fn case(app: &TestApp, token: &str, id: i64) -> Value {
    let (status, case) = app.get(&format!("/api/v1/cases/{id}"), token);
    assert_eq!(status, 200, "{case}");
    case
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

fn actions(view: &Value) -> Vec<&str> {
    view["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

fn future(hours: i64) -> String {
    crate::reports::now_rfc3339(hours * 60)
}

/// Opens a case by hand as `token` (a dispatcher) at `at`, at `tier`.
fn manual_case(app: &TestApp, token: &str, at: (f64, f64), tier: &str, hours: i64) -> i64 {
    let (status, case) = app.post(
        "/api/v1/cases",
        token,
        &json!({"title": "人行道井盖缺失", "description": "桂澜路东侧", "category": "city_appearance",
                "department": "urban", "tier": tier, "lon": at.0, "lat": at.1,
                "time_limit_hours": hours, "priority": "high"}),
    );
    assert_eq!(status, 201, "{case}");
    case["id"].as_i64().unwrap()
}

fn a_case_runs_its_full_life_cycle_to_closed(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let id = report_case(&app, &u.inspector, spot(0));

    let opened = case(&app, &u.centre, id);
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["tier"], "town");
    assert_eq!(opened["department"], "fire");
    assert_eq!(opened["source"], "report_item");
    assert_eq!(opened["item_code"], "FS-001");
    assert_eq!(opened["region"]["cell"], CELL);
    assert_eq!(opened["region"]["town"], TOWN);
    assert_eq!(opened["version"], 1);
    assert_eq!(opened["created_by"]["username"], "insp-denghu-01");
    assert!(opened["due_at"].as_str().unwrap().ends_with("+08:00"));
    assert_eq!(
        actions(&opened),
        ["claim", "reject", "duplicate", "escalate", "return"]
    );
    assert_eq!(opened["reports"].as_array().unwrap().len(), 1);
    assert_eq!(opened["reports"][0]["inspector"], "insp-denghu-01");
    assert_eq!(opened["reports"][0]["item_code"], "FS-001");
    // In the town centre's queue, not in the community's.
    let (_, mine) = app.get("/api/v1/cases?queue=mine", &u.centre);
    assert_eq!(ids(&mine), [id]);
    let (_, theirs) = app.get("/api/v1/cases?queue=mine", &app.login("disp-denghu-1"));
    assert_eq!(ids(&theirs), Vec::<i64>::new());

    let (status, claimed) = claim(&app, &u.centre, id);
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["status"], "claimed");
    assert_eq!(claimed["claimed_by"]["username"], "disp-guicheng-1");
    assert_eq!(claimed["version"], 2);
    assert_eq!(
        actions(&claimed),
        [
            "release",
            "dispatch",
            "reject",
            "duplicate",
            "escalate",
            "return"
        ]
    );

    let dispatched = step(
        &app,
        &u.centre,
        id,
        json!({"action": "dispatch", "department": "fire", "note": "请消防条线处理"}),
    );
    assert_eq!(dispatched["status"], "dispatched");
    assert!(actions(&dispatched).is_empty(), "the centre waits now");
    let (_, queue) = app.get("/api/v1/cases?queue=mine", &u.fire);
    assert_eq!(ids(&queue), [id]);
    assert_eq!(actions(&queue["items"][0]), ["start", "decline", "extend"]);
    let (_, queue) = app.get("/api/v1/cases?queue=mine", &u.centre);
    assert_eq!(ids(&queue), Vec::<i64>::new());

    let started = step(&app, &u.fire, id, json!({"action": "start"}));
    assert_eq!(started["status"], "in_progress");
    let resolved = step(
        &app,
        &u.fire,
        id,
        json!({"action": "resolve", "note": "已清理通道，解除锁闭", "photos": [photo(1)]}),
    );
    assert_eq!(resolved["status"], "resolved");
    let (_, queue) = app.get("/api/v1/cases?queue=mine", &u.inspector);
    assert_eq!(ids(&queue), [id]);
    assert_eq!(actions(&queue["items"][0]), ["verify"]);

    let closed = step(
        &app,
        &u.inspector,
        id,
        json!({"action": "verify", "outcome": "pass", "photos": [photo(2)], "note": "现场复核通过"}),
    );
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].as_str().unwrap().ends_with("+08:00"));
    assert_eq!(closed["version"], 6);
    assert!(actions(&closed).is_empty());
    let (_, queue) = app.get("/api/v1/cases?queue=mine", &u.inspector);
    assert_eq!(ids(&queue), Vec::<i64>::new());

    let detail = case(&app, &u.admin, id);
    let timeline = detail["timeline"].as_array().unwrap();
    let expected = [
        ("open", Some("insp-denghu-01"), "inspector", None, "open"),
        (
            "claim",
            Some("disp-guicheng-1"),
            "dispatcher",
            Some("open"),
            "claimed",
        ),
        (
            "dispatch",
            Some("disp-guicheng-1"),
            "dispatcher",
            Some("claimed"),
            "dispatched",
        ),
        (
            "start",
            Some("hdl-guicheng-fire"),
            "handler",
            Some("dispatched"),
            "in_progress",
        ),
        (
            "resolve",
            Some("hdl-guicheng-fire"),
            "handler",
            Some("in_progress"),
            "resolved",
        ),
        (
            "verify",
            Some("insp-denghu-01"),
            "inspector",
            Some("resolved"),
            "closed",
        ),
    ];
    assert_eq!(timeline.len(), expected.len(), "{detail}");
    for (event, (action, actor, role, from, to)) in timeline.iter().zip(expected) {
        assert_eq!(event["action"], action, "{event}");
        assert_eq!(event["actor"].as_str(), actor, "{event}");
        assert_eq!(event["actor_role"], role, "{event}");
        assert_eq!(event["from_status"].as_str(), from, "{event}");
        assert_eq!(event["to_status"], to, "{event}");
        assert_eq!(event["to_tier"], "town", "{event}");
        assert!(event["at"].as_str().unwrap().ends_with("+08:00"));
    }
    assert_eq!(timeline[0]["from_tier"], Value::Null);
    assert_eq!(timeline[1]["from_tier"], "town");
    assert_eq!(timeline[2]["department"], "fire");
    assert_eq!(timeline[2]["note"], "请消防条线处理");
    assert_eq!(timeline[4]["note"], "已清理通道，解除锁闭");
    assert_eq!(timeline[4]["photos"], json!([photo(1)]));
    assert_eq!(timeline[5]["photos"], json!([photo(2)]));
    assert_eq!(timeline[5]["details"]["outcome"], "pass");
    assert_eq!(
        detail["counters"],
        json!({"reopened": 0, "declined": 0, "extended": 0, "escalated": 0})
    );
    assert_eq!(detail["reports"][0]["id"], opened["reports"][0]["id"]);
}

fn failed_verification_reopens_and_a_decline_is_redispatched(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let id = report_case(&app, &u.inspector, spot(1));
    assert_eq!(claim(&app, &u.centre, id).0, 200);
    step(
        &app,
        &u.centre,
        id,
        json!({"action": "dispatch", "department": "market"}),
    );

    // 回退 needs a reason.
    let (status, refused) = act(&app, &u.market, id, json!({"action": "decline"}));
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"]["details"]
        .to_string()
        .contains("note is required"));
    let declined = step(
        &app,
        &u.market,
        id,
        json!({"action": "decline", "note": "消防通道问题不属市场监管"}),
    );
    assert_eq!(
        declined["status"], "claimed",
        "back to the centre that dispatched it"
    );
    assert_eq!(declined["claimed_by"]["username"], "disp-guicheng-1");
    assert_eq!(declined["counters"]["declined"], 1);
    // A dispatch names a stored department.
    for (department, problem) in [
        ("nobody", "not a known department"),
        (" ", "department is required"),
    ] {
        let (status, refused) = act(
            &app,
            &u.centre,
            id,
            json!({"action": "dispatch", "department": department}),
        );
        assert_eq!(status, 422, "{refused}");
        assert!(
            refused["error"]["details"].to_string().contains(problem),
            "{refused}"
        );
    }
    // 改派.
    step(
        &app,
        &u.centre,
        id,
        json!({"action": "dispatch", "department": "fire"}),
    );
    step(&app, &u.fire, id, json!({"action": "start"}));
    step(
        &app,
        &u.fire,
        id,
        json!({"action": "resolve", "note": "已整改", "photos": [photo(3)]}),
    );

    // 返工: verification needs a photo and an outcome.
    let (status, refused) = act(&app, &u.inspector, id, json!({"action": "verify"}));
    assert_eq!(status, 422);
    let problems = refused["error"]["details"].to_string();
    assert!(
        problems.contains("photo") && problems.contains("outcome"),
        "{problems}"
    );
    let reopened = step(
        &app,
        &u.inspector,
        id,
        json!({"action": "verify", "outcome": "fail", "photos": [photo(4)], "note": "出口仍上锁"}),
    );
    assert_eq!(reopened["status"], "dispatched");
    assert_eq!(reopened["department"], "fire");
    assert_eq!(reopened["counters"]["reopened"], 1);
    assert!(reopened["closed_at"].is_null());
    step(&app, &u.fire, id, json!({"action": "start"}));
    step(
        &app,
        &u.fire,
        id,
        json!({"action": "resolve", "note": "已拆除门锁", "photos": [photo(5)]}),
    );
    let closed = step(
        &app,
        &u.inspector,
        id,
        json!({"action": "verify", "outcome": "pass", "photos": [photo(6)]}),
    );
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        closed["counters"],
        json!({"reopened": 1, "declined": 1, "extended": 0, "escalated": 0})
    );
    let timeline = case(&app, &u.centre, id)["timeline"].clone();
    let steps: Vec<(&str, &str)> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["to_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("open", "open"),
            ("claim", "claimed"),
            ("dispatch", "dispatched"),
            ("decline", "claimed"),
            ("dispatch", "dispatched"),
            ("start", "in_progress"),
            ("resolve", "resolved"),
            ("verify", "dispatched"),
            ("start", "in_progress"),
            ("resolve", "resolved"),
            ("verify", "closed"),
        ]
    );
    assert_eq!(timeline[3]["department"], "market", "who declined");
    assert_eq!(timeline[7]["details"]["outcome"], "fail");
}

fn extensions_are_approved_or_refused(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let id = report_case(&app, &u.inspector, spot(2));
    claim(&app, &u.centre, id);
    let dispatched = step(
        &app,
        &u.centre,
        id,
        json!({"action": "dispatch", "department": "fire"}),
    );
    let due = dispatched["due_at"].as_str().unwrap().to_string();

    let (status, refused) = act(
        &app,
        &u.fire,
        id,
        json!({"action": "extend", "due_at": future(-1)}),
    );
    assert_eq!(status, 422, "earlier than the current due time: {refused}");
    let (status, _) = act(
        &app,
        &u.fire,
        id,
        json!({"action": "extend", "due_at": "next week"}),
    );
    assert_eq!(status, 422);
    let asked = step(
        &app,
        &u.fire,
        id,
        json!({"action": "extend", "due_at": future(72), "note": "需协调业主"}),
    );
    assert!(asked["pending_extension"].is_string());
    assert_eq!(
        asked["due_at"],
        due.as_str(),
        "not before the centre approves"
    );
    let (status, refused) = act(
        &app,
        &u.fire,
        id,
        json!({"action": "extend", "due_at": future(96)}),
    );
    assert_eq!(status, 409, "one request at a time: {refused}");
    assert_eq!(refused["error"]["code"], "action_not_allowed");
    // The request waits in the centre's queue.
    let (_, queue) = app.get("/api/v1/cases?queue=mine", &u.centre);
    assert_eq!(ids(&queue), [id]);
    assert_eq!(
        actions(&queue["items"][0]),
        ["approve_extension", "refuse_extension"]
    );
    let approved = step(&app, &u.centre, id, json!({"action": "approve_extension"}));
    assert_eq!(approved["due_at"], asked["pending_extension"]);
    assert!(approved["pending_extension"].is_null());
    assert_eq!(approved["counters"]["extended"], 1);
    let (_, queue) = app.get("/api/v1/cases?queue=mine", &u.centre);
    assert_eq!(ids(&queue), Vec::<i64>::new());

    step(&app, &u.fire, id, json!({"action": "start"}));
    step(
        &app,
        &u.fire,
        id,
        json!({"action": "extend", "due_at": future(200)}),
    );
    let refused = step(
        &app,
        &u.centre_2,
        id,
        json!({"action": "refuse_extension", "note": "不予延期"}),
    );
    assert_eq!(refused["due_at"], approved["due_at"]);
    assert!(refused["pending_extension"].is_null());
    assert_eq!(refused["counters"]["extended"], 1, "only approvals count");
    let (status, none) = act(&app, &u.centre, id, json!({"action": "approve_extension"}));
    assert_eq!(status, 409, "nothing pending: {none}");
    let timeline = case(&app, &u.centre, id)["timeline"].clone();
    let names: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "open",
            "claim",
            "dispatch",
            "extend",
            "approve_extension",
            "start",
            "extend",
            "refuse_extension"
        ]
    );
    assert!(timeline[3]["details"]["requested_due_at"].is_string());
}

fn cases_climb_and_descend_the_tiers(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let community = app.login("disp-denghu-1");
    let district = app.login("disp-district-1");
    let id = manual_case(&app, &community, spot(3), "community", 24);
    let (_, queue) = app.get("/api/v1/cases?queue=mine", &community);
    assert_eq!(ids(&queue), [id]);

    let (status, refused) = act(&app, &community, id, json!({"action": "return"}));
    assert_eq!(status, 409, "the community is the bottom tier: {refused}");
    let up = step(
        &app,
        &community,
        id,
        json!({"action": "escalate", "note": "需街道协调"}),
    );
    assert_eq!(
        (up["status"].as_str(), up["tier"].as_str()),
        (Some("open"), Some("town"))
    );
    // The community centre has let go of it.
    let (status, _) = claim(&app, &community, id);
    assert_eq!(status, 403);
    let (_, queue) = app.get("/api/v1/cases?queue=mine", &community);
    assert_eq!(ids(&queue), Vec::<i64>::new());
    let (_, queue) = app.get("/api/v1/cases?queue=mine", &u.centre);
    assert_eq!(ids(&queue), [id]);

    claim(&app, &u.centre, id);
    let up = step(&app, &u.centre, id, json!({"action": "escalate"}));
    assert_eq!(
        (up["tier"].as_str(), up["claimed_by"].is_null()),
        (Some("district"), true)
    );
    let (status, refused) = act(&app, &district, id, json!({"action": "escalate"}));
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["error"]["details"]["allowed"],
        json!(["claim", "reject", "duplicate", "return"])
    );
    let down = step(
        &app,
        &district,
        id,
        json!({"action": "return", "note": "由街道处理"}),
    );
    assert_eq!(down["tier"], "town");
    claim(&app, &u.centre_2, id);
    let down = step(&app, &u.centre_2, id, json!({"action": "return"}));
    assert_eq!(
        (down["tier"].as_str(), down["status"].as_str()),
        (Some("community"), Some("open"))
    );
    assert_eq!(down["counters"]["escalated"], 2);
    let tiers: Vec<(String, String, String)> = case(&app, &u.admin, id)["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["from_tier"].as_str().unwrap_or("-").to_string(),
                e["to_tier"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let t = |a: &str, f: &str, to: &str| (a.to_string(), f.to_string(), to.to_string());
    assert_eq!(
        tiers,
        [
            t("open", "-", "community"),
            t("escalate", "community", "town"),
            t("claim", "town", "town"),
            t("escalate", "town", "district"),
            t("return", "district", "town"),
            t("claim", "town", "town"),
            t("return", "town", "community"),
        ]
    );
}

fn rejected_and_duplicate_cases_are_final(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let first = report_case(&app, &u.inspector, spot(4));
    let second = report_case(&app, &u.inspector, spot(5));
    let void = report_case(&app, &u.inspector, spot(6));

    claim(&app, &u.centre, void);
    let (status, refused) = act(&app, &u.centre, void, json!({"action": "reject"}));
    assert_eq!(status, 422, "注销 needs a reason: {refused}");
    let rejected = step(
        &app,
        &u.centre,
        void,
        json!({"action": "reject", "note": "现场无此商铺"}),
    );
    assert_eq!(rejected["status"], "rejected");
    assert!(rejected["closed_at"].is_null(), "rejected is not closed");

    for (other, why) in [(999_999, "no such case"), (second, "itself")] {
        let (status, refused) = act(
            &app,
            &u.centre,
            second,
            json!({"action": "duplicate", "duplicate_of": other}),
        );
        assert_eq!(status, 422, "{why}: {refused}");
    }
    let duplicate = step(
        &app,
        &u.centre,
        second,
        json!({"action": "duplicate", "duplicate_of": first}),
    );
    assert_eq!(duplicate["status"], "rejected");
    assert_eq!(duplicate["duplicate_of"], first);
    let detail = case(&app, &u.centre, second);
    assert_eq!(detail["timeline"][1]["details"]["duplicate_of"], first);

    for id in [void, second] {
        for action in ["claim", "release", "escalate", "reject"] {
            let (status, refused) =
                act(&app, &u.centre, id, json!({"action": action, "note": "x"}));
            assert_eq!(status, 409, "{action} on a final case: {refused}");
            assert_eq!(refused["error"]["details"]["allowed"], json!([]));
        }
    }
    // Neither waits in any queue.
    let (_, queue) = app.get("/api/v1/cases?queue=mine", &u.centre);
    assert_eq!(ids(&queue), [first]);
}

/// Every action with everything it could need.
fn complete(action: &str, other_case: i64) -> Value {
    json!({"action": action, "note": "seen to", "department": "fire", "photos": [photo(9)],
           "outcome": "pass", "due_at": future(500), "duplicate_of": other_case})
}

fn every_disallowed_action_answers_409_with_the_allowed_list(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let statuses = [
        "open",
        "claimed",
        "dispatched",
        "in_progress",
        "resolved",
        "closed",
        "rejected",
    ];
    // One case per status, walked there through the API.
    let spare = report_case(&app, &u.inspector, spot(7));
    let mut cases = Vec::new();
    for (n, status) in statuses.iter().enumerate() {
        let id = report_case(&app, &u.inspector, spot(8 + n));
        let path: &[(&str, Value)] = match *status {
            "open" => &[],
            "claimed" => &[("c", json!({"action": "claim"}))],
            "dispatched" => &[
                ("c", json!({"action": "claim"})),
                ("c", json!({"action": "dispatch", "department": "fire"})),
            ],
            "in_progress" => &[
                ("c", json!({"action": "claim"})),
                ("c", json!({"action": "dispatch", "department": "fire"})),
                ("h", json!({"action": "start"})),
            ],
            "resolved" | "closed" => &[
                ("c", json!({"action": "claim"})),
                ("c", json!({"action": "dispatch", "department": "fire"})),
                ("h", json!({"action": "start"})),
                (
                    "h",
                    json!({"action": "resolve", "note": "done", "photos": [photo(1)]}),
                ),
            ],
            _ => &[("c", json!({"action": "reject", "note": "void"}))],
        };
        for (who, body) in path {
            let token = if *who == "c" { &u.centre } else { &u.fire };
            step(&app, token, id, body.clone());
        }
        if *status == "closed" {
            step(
                &app,
                &u.inspector,
                id,
                json!({"action": "verify", "outcome": "pass", "photos": [photo(2)]}),
            );
        }
        assert_eq!(case(&app, &u.admin, id)["status"], *status);
        cases.push((*status, id));
    }
    let centre_actions = [
        "claim",
        "release",
        "dispatch",
        "reject",
        "duplicate",
        "escalate",
        "return",
        "approve_extension",
        "refuse_extension",
    ];
    let handler_actions = ["start", "resolve", "decline", "extend"];
    let all: Vec<&str> = centre_actions
        .iter()
        .chain(&handler_actions)
        .chain(&["verify", "mark_overdue", "system_escalate"])
        .copied()
        .collect();
    assert_eq!(all.len(), 16);
    let mut refusals = 0;
    for (status, id) in &cases {
        // What each party may do in this status, by the rules of issue 5.
        let (centre_may, handler_may, inspector_may): (&[&str], &[&str], &[&str]) = match *status {
            "open" => (
                &["claim", "reject", "duplicate", "escalate", "return"],
                &[],
                &[],
            ),
            "claimed" => (
                &[
                    "release",
                    "dispatch",
                    "reject",
                    "duplicate",
                    "escalate",
                    "return",
                ],
                &[],
                &[],
            ),
            "dispatched" => (&[], &["start", "decline", "extend"], &[]),
            "in_progress" => (&[], &["resolve", "extend"], &[]),
            "resolved" => (&[], &[], &["verify"]),
            _ => (&[], &[], &[]),
        };
        for (token, may) in [
            (&u.centre, centre_may),
            (&u.fire, handler_may),
            (&u.inspector, inspector_may),
        ] {
            let shown = case(&app, token, *id);
            assert_eq!(actions(&shown), may, "{status}: {shown}");
        }
        for action in &all {
            let (token, may) = if centre_actions.contains(action) {
                (&u.centre, centre_may)
            } else if handler_actions.contains(action) {
                (&u.fire, handler_may)
            } else {
                (&u.inspector, inspector_may)
            };
            if may.contains(action) {
                continue;
            }
            let (code, answer) = act(&app, token, *id, complete(action, spare));
            if action.starts_with("mark_") || action.starts_with("system_") {
                assert_eq!(code, 403, "{action} is the system's: {answer}");
                continue;
            }
            assert_eq!(code, 409, "{action} on a {status} case: {answer}");
            let error = &answer["error"];
            assert_eq!(error["code"], "action_not_allowed");
            assert_eq!(error["details"]["status"], *status);
            assert_eq!(
                error["details"]["allowed"],
                json!(may),
                "{action} on {status}"
            );
            assert_eq!(error["details"]["case"]["id"], *id);
            refusals += 1;
        }
        // Nothing changed.
        assert_eq!(case(&app, &u.admin, *id)["status"], *status);
    }
    // 14 user actions in each of 7 statuses, less the 17 allowed ones.
    assert_eq!(refusals, 7 * 14 - 17, "every refusal was asked");
}

fn no_one_acts_outside_their_scope(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let id = report_case(&app, &u.inspector, spot(0));
    let other_town = app.login("disp-dali-1");
    let community = app.login("disp-denghu-1");
    let district = app.login("disp-district-1");
    let supervisor = app.login("sup-guicheng");

    // Another town's centre does not even see it.
    assert_eq!(app.get(&format!("/api/v1/cases/{id}"), &other_town).0, 404);
    assert_eq!(claim(&app, &other_town, id).0, 404);
    let (_, all) = app.get("/api/v1/cases", &other_town);
    assert_eq!(ids(&all), Vec::<i64>::new());
    // The community and district centres see it but it is not theirs to act on.
    for token in [&community, &district] {
        assert_eq!(case(&app, token, id)["allowed_actions"], json!([]));
        let (status, refused) = claim(&app, token, id);
        assert_eq!(status, 403, "{refused}");
        assert_eq!(act(&app, token, id, json!({"action": "escalate"})).0, 403);
    }
    // Supervisors read only.
    assert_eq!(ids(&app.get("/api/v1/cases", &supervisor).1), [id]);
    assert_eq!(claim(&app, &supervisor, id).0, 403);
    // Handlers act on their department's cases only; another department's case is not
    // theirs to read, so acting on it is 404 like reading it: nothing of it leaks.
    assert_eq!(act(&app, &u.fire, id, json!({"action": "start"})).0, 409);
    assert_eq!(act(&app, &u.market, id, json!({"action": "start"})).0, 404);
    assert_eq!(app.get(&format!("/api/v1/cases/{id}"), &u.market).0, 404);

    claim(&app, &u.centre, id);
    // A claim is the holder's: the other dispatcher of the same centre learns who holds it.
    let (status, refused) = act(
        &app,
        &u.centre_2,
        id,
        json!({"action": "dispatch", "department": "fire"}),
    );
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["error"]["details"]["holder"]["username"],
        "disp-guicheng-1"
    );
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("disp-guicheng-1"));
    step(
        &app,
        &u.centre,
        id,
        json!({"action": "dispatch", "department": "fire"}),
    );

    let (status, refused) = act(&app, &u.market, id, json!({"action": "start"}));
    assert_eq!(status, 404, "another department: {refused}");
    let dali_fire = app.login("hdl-dali-fire");
    assert_eq!(act(&app, &dali_fire, id, json!({"action": "start"})).0, 404);
    assert_eq!(
        ids(&app.get("/api/v1/cases?queue=mine", &dali_fire).1),
        Vec::<i64>::new()
    );
    // A district handler of the department covers every town.
    let district_fire = app.login("hdl-district-fire");
    assert_eq!(
        ids(&app.get("/api/v1/cases?queue=mine", &district_fire).1),
        [id]
    );
    step(&app, &u.fire, id, json!({"action": "start"}));
    step(
        &app,
        &u.fire,
        id,
        json!({"action": "resolve", "note": "done", "photos": [photo(1)]}),
    );
    // Only an inspector of the case's cell verifies; another inspector, of the same community
    // or not, does not see the case at all.
    let neighbour = app.login("insp-denghu-02");
    let verify = json!({"action": "verify", "outcome": "pass", "photos": [photo(2)]});
    assert_eq!(act(&app, &neighbour, id, verify.clone()).0, 404);
    assert_eq!(app.get(&format!("/api/v1/cases/{id}"), &neighbour).0, 404);
    let stranger = app.login("insp-huangqi-01");
    assert_eq!(act(&app, &stranger, id, verify.clone()).0, 404);
    // Admins may act for a centre, never for a department or an inspector.
    assert_eq!(act(&app, &u.admin, id, verify.clone()).0, 403);
    assert_eq!(
        act(&app, &u.admin, id, json!({"action": "mark_overdue"})).0,
        403
    );
    assert_eq!(act(&app, &u.inspector, id, verify).0, 200);
    // Unknown cases and malformed ids.
    assert_eq!(app.get("/api/v1/cases/424242", &u.admin).0, 404);
    assert_eq!(app.get("/api/v1/cases/abc", &u.admin).0, 400);
    assert_eq!(
        act(&app, &u.admin, 424242, json!({"action": "claim"})).0,
        404
    );
    let (status, bad) = act(&app, &u.centre, id, json!({"action": "teleport"}));
    assert_eq!(status, 422, "{bad}");
    assert_eq!(
        app.send(
            app.client
                .post(app.url(&format!("/api/v1/cases/{id}/claim")))
        )
        .0,
        401
    );
    let (status, _) = app.send(
        app.client
            .delete(app.url(&format!("/api/v1/cases/{id}")))
            .bearer_auth(&u.admin),
    );
    assert_eq!(status, 405);
}

fn exactly_one_of_many_racing_claims_wins(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let tokens = [
        ("disp-guicheng-1", u.centre.clone()),
        ("disp-guicheng-2", u.centre_2.clone()),
        ("admin", u.admin.clone()),
    ];
    for round in 0..2 {
        let id = report_case(&app, &u.inspector, spot(20 + round));
        let racers = 36;
        let barrier = Barrier::new(racers);
        let answers: Vec<(&str, u16, Value)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..racers)
                .map(|n| {
                    let (name, token) = &tokens[n % tokens.len()];
                    let (app, barrier) = (&app, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        let (status, body) = claim(app, token, id);
                        (*name, status, body)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<_> = answers.iter().filter(|(_, s, _)| *s == 200).collect();
        assert_eq!(winners.len(), 1, "{answers:?}");
        let (winner, _, won) = winners[0];
        assert_eq!(won["claimed_by"]["username"], *winner);
        for (name, status, body) in &answers {
            if *status == 200 {
                continue;
            }
            assert_eq!(*status, 409, "{name}: {body}");
            assert_eq!(
                body["error"]["details"]["holder"]["username"], *winner,
                "{body}"
            );
            assert!(
                body["error"]["message"].as_str().unwrap().contains(winner),
                "{body}"
            );
        }
        let detail = case(&app, &u.admin, id);
        assert_eq!(detail["version"], 2, "one change only");
        let claims = detail["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "claim")
            .count();
        assert_eq!(claims, 1);
    }
}

/// Runs `racers` requests at once, each `bodies[n % len]` as its token: their answers.
fn race(app: &TestApp, id: i64, racers: usize, bodies: &[(&String, Value)]) -> Vec<(u16, Value)> {
    let barrier = Barrier::new(racers);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..racers)
            .map(|n| {
                let (token, body) = &bodies[n % bodies.len()];
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    act(app, token, id, body.clone())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn racing_actions_of_any_kind_have_one_winner(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let district_fire = app.login("hdl-district-fire");
    // Pairs of actions each of which rules the other out: whichever lands first, the other
    // finds the case changed (409), never both applied.
    let id = report_case(&app, &u.inspector, spot(22));
    claim(&app, &u.centre, id);
    let centre_race = [
        (
            &u.centre,
            json!({"action": "dispatch", "department": "fire"}),
        ),
        (&u.admin, json!({"action": "reject", "note": "void"})),
    ];
    let second = report_case(&app, &u.inspector, spot(23));
    claim(&app, &u.centre, second);
    step(
        &app,
        &u.centre,
        second,
        json!({"action": "dispatch", "department": "fire"}),
    );
    let handler_race = [
        (&u.fire, json!({"action": "start"})),
        (
            &district_fire,
            json!({"action": "decline", "note": "not ours"}),
        ),
    ];
    for (case_id, bodies) in [(id, &centre_race), (second, &handler_race)] {
        let answers = race(&app, case_id, 32, bodies);
        let won: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
        assert_eq!(won.len(), 1, "{answers:?}");
        for (status, body) in &answers {
            assert!(*status == 200 || *status == 409, "{body}");
            if *status == 409 {
                let code = body["error"]["code"].as_str().unwrap();
                assert!(
                    code == "version_conflict" || code == "action_not_allowed",
                    "{body}"
                );
                assert_eq!(
                    body["error"]["details"]["case"]["version"],
                    won[0].1["version"]
                );
            }
        }
        let detail = case(&app, &u.admin, case_id);
        let events = detail["timeline"].as_array().unwrap().len();
        assert_eq!(
            detail["version"].as_i64().unwrap() as usize,
            events,
            "one event per change"
        );
        assert_eq!(detail["status"], won[0].1["status"]);
    }
}

fn a_stale_version_is_refused_with_the_current_case(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let id = report_case(&app, &u.inspector, spot(23));
    let seen = case(&app, &u.centre, id);
    assert_eq!(seen["version"], 1);
    // The other dispatcher claims and releases: the case is open again, but changed.
    assert_eq!(claim(&app, &u.centre_2, id).0, 200);
    step(&app, &u.centre_2, id, json!({"action": "release"}));
    let (status, stale) = app.post(
        &format!("/api/v1/cases/{id}/claim"),
        &u.centre,
        &json!({"version": 1}),
    );
    assert_eq!(status, 409, "{stale}");
    assert_eq!(stale["error"]["code"], "version_conflict");
    assert_eq!(stale["error"]["details"]["version"], 3);
    assert_eq!(stale["error"]["details"]["case"]["status"], "open");
    let (status, _) = app.post(
        &format!("/api/v1/cases/{id}/claim"),
        &u.centre,
        &json!({"version": 3}),
    );
    assert_eq!(status, 200);
    let (status, stale) = act(
        &app,
        &u.centre,
        id,
        json!({"action": "dispatch", "department": "fire", "version": 3}),
    );
    assert_eq!(status, 409, "{stale}");
    assert_eq!(stale["error"]["details"]["case"]["status"], "claimed");
    assert_eq!(
        step(
            &app,
            &u.centre,
            id,
            json!({"action": "dispatch", "department": "fire", "version": 4})
        )["version"],
        5
    );
    // A malformed claim body is refused, not taken as no body.
    let (status, _) = app.send(
        app.client
            .post(app.url(&format!("/api/v1/cases/{id}/claim")))
            .bearer_auth(&u.centre)
            .header("content-type", "application/json")
            .body("{\"version\":"),
    );
    assert_eq!(status, 400);
    let (status, _) = app.post(
        &format!("/api/v1/cases/{id}/claim"),
        &u.centre,
        &json!({"versio": 5}),
    );
    assert_eq!(status, 422);
    let (status, _) = act(
        &app,
        &u.centre,
        id,
        json!({"action": "dispatch", "department": "nobody"}),
    );
    assert_eq!(status, 409, "dispatched already");
}

fn queues_filter_sort_page_and_speak_geojson(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let made: Vec<i64> = (0..5)
        .map(|n| report_case(&app, &u.inspector, spot(30 + n)))
        .collect();
    // A town case by hand, due sooner than the others.
    let soon = manual_case(&app, &u.centre, spot(40), "town", 2);
    let mut everything = made.clone();
    everything.push(soon);

    let (status, mine) = app.get("/api/v1/cases?queue=mine", &u.centre);
    assert_eq!(status, 200, "{mine}");
    assert_eq!(ids(&mine), everything, "oldest first");
    assert!(mine["next_cursor"].is_null());
    let (_, newest) = app.get("/api/v1/cases?queue=mine&sort=-opened_at", &u.centre);
    assert_eq!(
        ids(&newest),
        everything.iter().rev().copied().collect::<Vec<_>>()
    );
    let (_, by_due) = app.get("/api/v1/cases?queue=mine&sort=due_at", &u.centre);
    assert_eq!(ids(&by_due)[0], soon);

    // Paging: every case once, in order, whatever the page size.
    for sort in ["opened_at", "-due_at"] {
        let (_, whole) = app.get(&format!("/api/v1/cases?queue=mine&sort={sort}"), &u.centre);
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/cases?queue=mine&sort={sort}&limit=4");
        loop {
            let (status, page) = app.get(&path, &u.centre);
            assert_eq!(status, 200, "{page}");
            seen.extend(ids(&page));
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    path = format!("/api/v1/cases?queue=mine&sort={sort}&limit=4&cursor={cursor}")
                }
                None => break,
            }
        }
        assert_eq!(seen, ids(&whole), "{sort}");
    }
    let (_, first) = app.get("/api/v1/cases?limit=2", &u.centre);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (status, _) = app.get(
        &format!("/api/v1/cases?limit=2&sort=due_at&cursor={cursor}"),
        &u.centre,
    );
    assert_eq!(status, 400, "a cursor belongs to its sort");

    // Filters.
    claim(&app, &u.centre, made[0]);
    step(
        &app,
        &u.centre,
        made[0],
        json!({"action": "dispatch", "department": "fire"}),
    );
    claim(&app, &u.centre_2, made[1]);
    let (_, open) = app.get("/api/v1/cases?queue=mine&status=open", &u.centre);
    assert_eq!(ids(&open), [made[2], made[3], made[4], soon]);
    let (_, claimed) = app.get("/api/v1/cases?status=claimed", &u.centre);
    assert_eq!(ids(&claimed), [made[1]]);
    let (_, mine) = app.get("/api/v1/cases?queue=mine", &u.centre);
    assert!(
        !ids(&mine).contains(&made[0]),
        "dispatched: the department's now"
    );
    let (_, urban) = app.get("/api/v1/cases?department=urban", &u.centre);
    assert_eq!(ids(&urban), [soon]);
    let (_, at_cell) = app.get(
        &format!("/api/v1/cases?cell={CELL}&tier=town&overdue=false"),
        &u.centre,
    );
    assert_eq!(ids(&at_cell), everything);
    let (_, overdue) = app.get("/api/v1/cases?overdue=true", &u.centre);
    assert_eq!(ids(&overdue), Vec::<i64>::new());
    let (_, district_tier) = app.get("/api/v1/cases?tier=district", &u.centre);
    assert_eq!(ids(&district_tier), Vec::<i64>::new());
    let opened_at = case(&app, &u.centre, made[2])["opened_at"]
        .as_str()
        .unwrap()
        .to_string();
    let encoded = opened_at.replace('+', "%2B");
    let (_, since) = app.get(&format!("/api/v1/cases?from={encoded}"), &u.centre);
    assert_eq!(ids(&since), [made[2], made[3], made[4], soon]);
    let (_, before) = app.get(&format!("/api/v1/cases?to={encoded}"), &u.centre);
    assert_eq!(ids(&before), [made[0], made[1]]);
    let (_, handler) = app.get("/api/v1/cases?queue=mine", &u.fire);
    assert_eq!(ids(&handler), [made[0]]);
    let (_, handler_all) = app.get("/api/v1/cases", &u.fire);
    assert_eq!(ids(&handler_all), made, "the fire cases of the town");
    let (_, inspector_all) = app.get("/api/v1/cases", &u.inspector);
    assert_eq!(
        ids(&inspector_all),
        everything,
        "cases in the inspector's cells"
    );

    for bad in [
        "queue=theirs",
        "status=lost",
        "tier=province",
        "sort=title",
        "from=yesterday",
        "overdue=maybe",
        "limit=0",
        "cursor=!!",
        "colour=red",
    ] {
        let (status, body) = app.get(&format!("/api/v1/cases?{bad}"), &u.centre);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = app.get("/api/v1/cases?queue=mine", &app.login("sup-guicheng"));
    assert_eq!(status, 400, "a supervisor has no queue");
    let (status, _) = app.get("/api/v1/cases?cell=44060512500101", &u.centre);
    assert_eq!(status, 403);

    let response = app
        .client
        .get(app.url("/api/v1/cases?queue=mine&limit=2"))
        .bearer_auth(&u.centre)
        .header("accept", "application/geo+json")
        .send()
        .unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("geo+json"));
    let geo: Value = response.json().unwrap();
    assert_eq!(geo["type"], "FeatureCollection");
    let features = geo["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    assert_eq!(features[0]["geometry"]["type"], "Point");
    let (lon, lat) = spot(31);
    assert_eq!(features[0]["geometry"]["coordinates"], json!([lon, lat]));
    assert_eq!(features[0]["properties"]["status"], "claimed");
    assert!(geo["next_cursor"].is_string());
}

fn dispatchers_open_cases_by_hand(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let (glon, glat) = gridpatrol::grid::coords::wgs84_to_gcj02(spot(0).0, spot(0).1);
    let body = json!({"title": "人行道井盖缺失", "category": "city_appearance", "department": "urban",
                      "lon": glon, "lat": glat, "crs": "gcj02", "due_at": future(48)});
    let (status, opened) = app.post("/api/v1/cases", &u.centre, &body);
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["source"], "manual");
    assert_eq!(
        opened["tier"], "town",
        "the dispatcher's own tier by default"
    );
    assert_eq!(opened["priority"], "medium");
    assert_eq!(opened["region"]["cell"], CELL);
    assert_eq!(opened["region"]["community"], COMMUNITY);
    assert_eq!(opened["region"]["district"], DISTRICT);
    let lon = opened["location"]["lon"].as_f64().unwrap();
    assert!((lon - spot(0).0).abs() < 1e-6, "stored in WGS-84: {opened}");
    assert_eq!(opened["created_by"]["username"], "disp-guicheng-1");
    assert_eq!(opened["timeline"][0]["action"], "open");
    assert_eq!(opened["timeline"][0]["actor"], "disp-guicheng-1");
    assert_eq!(opened["timeline"][0]["actor_role"], "dispatcher");
    assert_eq!(opened["timeline"][0]["details"]["source"], "manual");
    assert_eq!(opened["reports"], json!([]));
    assert_eq!(
        actions(&opened),
        ["claim", "reject", "duplicate", "escalate", "return"]
    );

    let outside = |at: (f64, f64)| {
        json!({"title": "t", "category": "city_appearance", "department": "urban",
               "lon": at.0, "lat": at.1, "time_limit_hours": 24})
    };
    for (at, why) in [
        (crate::reports::OFF_MAP, "outside every grid cell"),
        (IN_DALI, "outside your region"),
    ] {
        let (status, refused) = app.post("/api/v1/cases", &u.centre, &outside(at));
        assert_eq!(status, 422, "{refused}");
        assert!(
            refused["error"]["details"].to_string().contains(why),
            "{refused}"
        );
    }
    let (status, refused) = app.post(
        "/api/v1/cases",
        &u.centre,
        &json!({"title": " ", "category": "weather", "department": "nobody", "tier": "province",
                "lon": spot(0).0, "lat": spot(0).1, "due_at": future(-1), "priority": "urgent"}),
    );
    assert_eq!(status, 422);
    let text = refused["error"]["details"].to_string();
    for field in [
        "title",
        "category",
        "department",
        "tier",
        "due_at",
        "priority",
    ] {
        assert!(
            text.contains(&format!("\"field\":\"{field}\"")),
            "{field} missing from {text}"
        );
    }
    let (status, _) = app.post(
        "/api/v1/cases",
        &u.centre,
        &json!({"title": "t", "category": "other", "department": "urban", "lon": spot(0).0,
                "lat": spot(0).1, "due_at": future(5), "time_limit_hours": 5}),
    );
    assert_eq!(status, 422, "due_at or time_limit_hours, not both");
    assert_eq!(
        app.post("/api/v1/cases", &u.inspector, &outside(spot(0))).0,
        403
    );
    assert_eq!(app.post("/api/v1/cases", &u.fire, &outside(spot(0))).0, 403);
    // An admin opens anywhere, naming the tier.
    let mut anywhere = outside(IN_DALI);
    anywhere["tier"] = json!("district");
    let (status, opened) = app.post("/api/v1/cases", &u.admin, &anywhere);
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["tier"], "district");
}

/// Opens the test's database beside its server, as a second process would.
fn database(app: &TestApp) -> gridpatrol::db::Pool {
    gridpatrol::db::Pool::open(&app.database_url, 4).expect("open the test database")
}

fn run_once(pool: &gridpatrol::db::Pool, now: i64, grace_us: i64) -> (usize, usize) {
    let mut conn = pool.get().unwrap();
    gridpatrol::cases::sweep::run_once(&mut conn, now, grace_us).expect("sweep")
}

/// The sweep walks each status and tier by (due_at, id), 100 cases a batch: a backlog with
/// 250 cases due at one instant (ties across batches) and cases of other statuses and tiers
/// is marked, then escalated, each case once.
fn the_overdue_sweep_takes_each_case_of_a_backlog_once(b: Backend) {
    use gridpatrol::cases::store::{self, CaseSeed};
    use gridpatrol::checklist::model::Tier;
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let pool = database(&app);
    let hour = 3_600_000_000;
    let now = gridpatrol::clock::now();
    let seed = |i: usize| CaseSeed {
        source: "manual",
        item_code: Some("FS-001".into()),
        category: "消防安全".into(),
        title: format!("疏散通道堵塞（积压第{i}件）"),
        description: "二楼疏散通道堆放纸箱".into(),
        lon: spot(i % 48).0,
        lat: spot(i % 48).1,
        cell: Some(CELL.into()),
        community: COMMUNITY.into(),
        town: TOWN.into(),
        district: DISTRICT.into(),
        tier: if i.is_multiple_of(7) {
            Tier::Community
        } else {
            Tier::Town
        },
        department: "fire".into(),
        priority: "normal".into(),
        // 250 at one instant, the rest a minute apart after it.
        due_at: now + hour + 60_000_000 * i.saturating_sub(249) as i64,
        enterprise_uscc: None,
        report: None,
        actor: None,
    };
    let backlog = 320;
    let mut conn = pool.get().unwrap();
    let mut ids = Vec::new();
    for i in 0..backlog {
        ids.push(
            conn.write(|c| store::open(c, &seed(i), now))
                .expect("open a case"),
        );
    }
    // A few are claimed: another status, the same sweep.
    for &id in ids.iter().step_by(10) {
        let (status, _) = app.post(&format!("/api/v1/cases/{id}/claim"), &u.centre, &json!({}));
        assert!(status == 200 || status == 403, "claim {id}: {status}");
    }
    let at = now + 3 * hour;
    assert_eq!(run_once(&pool, at, 100 * hour), (backlog, 0));
    assert_eq!(run_once(&pool, at, 100 * hour), (0, 0), "each marked once");
    let grace = hour / 2;
    assert_eq!(run_once(&pool, at, grace), (0, backlog));
    for &id in ids.iter().step_by(37) {
        let view = case(&app, &u.admin, id);
        let system: Vec<&str> = view["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["actor_role"] == "system")
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        // Opened by the system here too (no actor in the seed).
        assert_eq!(
            system,
            ["open", "mark_overdue", "system_escalate"],
            "case {id}"
        );
    }
}

fn the_overdue_task_marks_and_escalates_once(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let community = app.login("disp-denghu-1");
    let pool = database(&app);
    let hour = 3_600_000_000;
    let grace = 6 * hour;
    let town_case = manual_case(&app, &u.centre, spot(0), "town", 1);
    let community_case = manual_case(&app, &community, spot(1), "community", 1);
    let later_case = manual_case(&app, &u.centre, spot(2), "town", 24);
    let now = gridpatrol::clock::now();

    assert_eq!(run_once(&pool, now, grace), (0, 0), "nothing is due yet");
    // Two hours on: two cases are past due, neither long enough to escalate.
    assert_eq!(run_once(&pool, now + 2 * hour, grace), (2, 0));
    assert_eq!(
        run_once(&pool, now + 2 * hour, grace),
        (0, 0),
        "marked once"
    );
    let marked = case(&app, &u.centre, town_case);
    assert_eq!(
        (marked["overdue"].as_bool(), marked["status"].as_str()),
        (Some(true), Some("open"))
    );
    assert!(!case(&app, &u.centre, later_case)["overdue"]
        .as_bool()
        .unwrap());
    let (_, overdue) = app.get("/api/v1/cases?overdue=true", &u.centre);
    assert_eq!(ids(&overdue), [town_case, community_case]);

    // Past the grace, two sweeps at once: each case climbs one tier, once.
    let at = now + 8 * hour;
    let pools = [database(&app), database(&app)];
    let barrier = Barrier::new(2);
    let swept: Vec<(usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = pools
            .iter()
            .map(|pool| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    run_once(pool, at, grace)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(swept.iter().map(|s| s.1).sum::<usize>(), 2, "{swept:?}");
    let climbed = case(&app, &u.admin, community_case);
    assert_eq!(
        (climbed["tier"].as_str(), climbed["status"].as_str()),
        (Some("town"), Some("open"))
    );
    assert_eq!(climbed["counters"]["escalated"], 1);
    let top = case(&app, &u.admin, town_case);
    assert_eq!(top["tier"], "district");
    let timeline = top["timeline"].as_array().unwrap();
    let system: Vec<(&str, &str, &str)> = timeline
        .iter()
        .filter(|e| e["actor_role"] == "system")
        .map(|e| {
            assert!(e["actor"].is_null());
            (
                e["action"].as_str().unwrap(),
                e["from_tier"].as_str().unwrap(),
                e["to_tier"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        system,
        [
            ("mark_overdue", "town", "town"),
            ("system_escalate", "town", "district")
        ]
    );
    // The town, having just received the community's case, gets its own grace...
    assert_eq!(run_once(&pool, at + hour, grace), (0, 0));
    // ...and after it the case climbs again; the district is the top.
    assert_eq!(run_once(&pool, at + grace + hour, grace), (0, 1));
    assert_eq!(case(&app, &u.admin, community_case)["tier"], "district");
    // The last case falls due long after: marked, and being overdue far beyond the grace,
    // escalated in the same sweep.
    assert_eq!(run_once(&pool, now + 68 * hour, grace), (1, 1));
    assert_eq!(case(&app, &u.admin, later_case)["tier"], "district");
    // A claim taken meanwhile wins over the task; the task skips what it lost.
    let (status, _) = claim(&app, &app.login("disp-district-1"), town_case);
    assert_eq!(status, 200);
    assert_eq!(
        case(&app, &u.admin, town_case)["version"].as_i64(),
        Some(top["version"].as_i64().unwrap() + 1)
    );
}

fn the_overdue_task_runs_in_the_server(b: Backend) {
    let Some(app) = TestApp::spawn_with(b, |c| {
        c.overdue_check_secs = 1;
        c.escalation_grace_secs = 1;
    }) else {
        return;
    };
    let u = users(&app);
    let id = report_case(&app, &u.inspector, spot(0));
    // Time passes: the case fell due an hour ago.
    let past = gridpatrol::clock::now() - 3_600_000_000;
    let pool = database(&app);
    let mut conn = pool.get().unwrap();
    gridpatrol::db_run!(&mut conn, |c| {
        use diesel::prelude::*;
        use gridpatrol::db::schema::cases;
        diesel::update(cases::table.find(id))
            .set(cases::due_at.eq(past))
            .execute(c)
            .unwrap()
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let escalated = loop {
        let seen = case(&app, &u.admin, id);
        if seen["tier"] == "district" {
            break seen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not escalated: {seen}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(escalated["overdue"], true);
    assert_eq!(escalated["status"], "open");
    let system: Vec<&str> = escalated["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_role"] == "system")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(system, ["mark_overdue", "system_escalate"]);
}

/// A photo attached to a case step is shown to whoever may read the case, and to no one
/// else: not to a handler of another department of the same town.
fn resolution_photos_follow_the_case_read_rule(b: Backend) {
    let Some(app) = TestApp::spawn(b) else { return };
    let u = users(&app);
    let id = report_case(&app, &u.inspector, spot(3));
    claim(&app, &u.centre, id);
    step(
        &app,
        &u.centre,
        id,
        json!({"action": "dispatch", "department": "fire"}),
    );
    step(&app, &u.fire, id, json!({"action": "start"}));
    let bytes = crate::photo_fixtures::jpeg(64, 48, 7);
    let (status, _) = crate::reports::put_photo(&app, &u.fire, &bytes, "image/jpeg");
    assert_eq!(status, 201);
    let sha = crate::reports::sha(&bytes);
    step(
        &app,
        &u.fire,
        id,
        json!({"action": "resolve", "note": "灭火器已更换", "photos": [sha]}),
    );
    let path = format!("/api/v1/photos/{sha}");
    let readers = |when: &str| {
        for (who, token, expected) in [
            ("the centre", &u.centre, 200),
            ("the inspector of the cell", &u.inspector, 200),
            ("the market handler", &u.market, 404),
            ("a centre of another town", &app.login("disp-dali-1"), 404),
        ] {
            let status = app
                .client
                .get(app.url(&path))
                .bearer_auth(token)
                .send()
                .unwrap()
                .status()
                .as_u16();
            assert_eq!(status, expected, "{who}, {when}");
        }
    };
    readers("as resolved");
    // Migration 000007 fills case_photos from the timelines written before it: undo it and
    // apply it again over this case.
    let pool = database(&app);
    let mut conn = pool.get().unwrap();
    redo_migrations_from(&mut conn, "2026-11-28-000007");
    readers("after the link table was rebuilt from the timeline");
}

/// Reverts every migration from `version` on and applies them again.
fn redo_migrations_from(conn: &mut gridpatrol::db::Conn, version: &str) {
    use diesel_migrations::MigrationHarness;
    use gridpatrol::db::{Conn, PG_MIGRATIONS, SQLITE_MIGRATIONS};
    // diesel may store the version with or without its dashes.
    let digits = |v: &str| v.chars().filter(char::is_ascii_digit).collect::<String>();
    let first = digits(version);
    macro_rules! redo {
        ($c:expr, $migrations:expr) => {{
            while $c
                .applied_migrations()
                .unwrap()
                .iter()
                .any(|v| digits(&v.to_string()) >= first)
            {
                $c.revert_last_migration($migrations).unwrap();
            }
            $c.run_pending_migrations($migrations).unwrap();
        }};
    }
    match conn {
        Conn::Sqlite(c) => redo!(c, SQLITE_MIGRATIONS),
        Conn::Pg(c) => redo!(c, PG_MIGRATIONS),
    }
}
