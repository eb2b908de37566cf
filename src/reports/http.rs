//! Receiving reports from handhelds, and reading them back.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header::ACCEPT;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use crate::audit::store::Lookup;
use crate::audit::Device;
use crate::auth::{Principal, Role};
use crate::cases::store::{self as cases, CaseSeed, Dedup};
use crate::checklist::model::ChecklistItem;
use crate::enterprises::check::Checked;
use crate::enterprises::model::{LicenceKind, Seen, Verdict};
use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::grid::model::{ancestor_at, Level};
use crate::paging::Page;
use crate::reports::model::{self, ReportInput};
use crate::reports::store::{self, Placement, ReportFilter, ReportRow};
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct ReportAnswer {
    pub id: String,
    pub received_at: String,
    /// The containing cell, or null outside the map.
    #[schema(value_type = Object)]
    pub cell: Value,
    /// `outside_assignment`, `outside_map`, `photo_missing`, `photo_location_mismatch`,
    /// `photo_time_mismatch`, `late`.
    pub flags: Vec<String>,
    /// Cases opened or joined by the failed items and licence findings.
    pub cases: Vec<i64>,
    #[schema(value_type = Vec<Object>)]
    pub license_checks: Vec<Value>,
    /// Named photos the server does not have yet.
    pub photos_missing: Vec<String>,
}

/// Submit an inspection report (inspectors). Idempotent by `id`: the same id with the
/// same body answers 200 with the first answer; another body under that id answers 409.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports", request_body = ReportInput,
    responses((status = 201, body = ReportAnswer), (status = 200, description = "a retry of a stored report", body = ReportAnswer),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
        (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn submit(
    state: web::Data<AppState>,
    who: Principal,
    device: Device,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    who.require(&[Role::Inspector])?;
    let body = body.into_inner();
    let input: ReportInput = serde_json::from_value(body.clone()).map_err(|e| {
        ApiError::invalid(
            "the report does not have the expected shape",
            json!([{"field": "", "problem": e.to_string()}]),
        )
    })?;
    let digest = model::body_digest(&body);
    let checklist = state.checklist_index(input.checklist_version).await?;
    let now = crate::clock::now();
    let report = model::validate(&input, checklist.as_deref(), now)
        .map_err(|problems| ApiError::invalid("the report is invalid", Value::Array(problems)))?;
    let entry = state.cells.load().locate(report.lon, report.lat).cloned();
    // A report outside the map is routed by the inspector's own community.
    let home = who.cells.first().cloned().unwrap_or_default();
    let placement = match &entry {
        Some(e) => Placement {
            cell: Some(e.cell.code.clone()),
            community: Some(e.community.code.clone()),
            town: Some(e.town.code.clone()),
            district: Some(e.district.code.clone()),
        },
        None => Placement::default(),
    };
    let routing = Placement {
        cell: placement.cell.clone(),
        community: placement
            .community
            .clone()
            .or_else(|| Some(ancestor_at(&home, Level::Community))),
        town: placement
            .town
            .clone()
            .or_else(|| Some(ancestor_at(&home, Level::Town))),
        district: placement
            .district
            .clone()
            .or_else(|| Some(ancestor_at(&home, Level::District))),
    };
    let inspector = who.user_id;
    let whole = who.sees_personal_data();
    let cell_view = entry.as_ref().map_or(
        Value::Null,
        |e| json!({"code": e.cell.code, "name": e.cell.name}),
    );
    let checklist = checklist.expect("validated: the version exists");
    let digest_again = digest.clone();
    let report_id = report.id.clone();
    // The inspector's cells came with the token lookup of this request.
    let assigned = who.cells.clone();
    // Every licence seen is checked against the library on the pool, as the check endpoint
    // does, and each lookup is traced with this report as its purpose before anything is
    // answered. A retry looks again, and is traced again: it did look.
    let checked = match report.licenses_seen.is_empty() {
        true => Vec::new(),
        false => {
            let seen = report.licenses_seen.clone();
            let seen_at = Seen {
                at: Some((report.lon, report.lat)),
                cell: placement.cell.clone(),
                name: report.place_name.clone(),
            };
            state
                .db(move |conn| {
                    let today = crate::enterprises::check::today();
                    let mut checked = Vec::with_capacity(seen.len());
                    for s in &seen {
                        let kind = s.kind.as_deref().and_then(LicenceKind::parse);
                        checked.push(crate::enterprises::check::run(
                            conn, &s.number, kind, &seen_at, whole, &today,
                        )?);
                    }
                    Ok(checked)
                })
                .await?
        }
    };
    let lookups: Vec<Lookup> = checked
        .iter()
        .map(|c| Lookup {
            action: "check",
            resource: format!("licence:{}", c.answer.number),
            query: json!({"number": c.answer.number, "kind": c.answer.kind}),
            result_count: c.enterprise.is_some() as i32,
            purpose: format!("report:{}", report.id),
        })
        .collect();
    state.audit(&who, device.0.as_deref(), lookups).await?;
    // A report that named no enterprise is linked to the one its licences belong to.
    let mut report = report;
    if report.enterprise_uscc.is_none() {
        report.enterprise_uscc = checked
            .iter()
            .find_map(|c| c.enterprise.as_ref().map(|e| e.uscc.clone()));
    }
    let mut named: Vec<String> = report.enterprise_uscc.iter().cloned().collect();
    named.extend(
        checked
            .iter()
            .filter_map(|c| c.enterprise.as_ref().map(|e| e.uscc.clone())),
    );
    named.sort();
    named.dedup();
    let license_checks: Vec<Value> = checked
        .iter()
        .map(|c| serde_json::to_value(&c.answer).expect("serialisable"))
        .collect();
    // The cases each failed item and each refused licence open or join.
    let items = report.failed().filter_map(|item| {
        let entry = checklist.get(&item.code)?;
        let seed = case_seed_for_item(&report, item, entry, &routing, inspector, now);
        Some((seed, Dedup::NearbySameItem))
    });
    let licences = report
        .licenses_seen
        .iter()
        .zip(&checked)
        .filter(|(_, c)| c.answer.verdict != Verdict::Valid)
        .map(|(seen, c)| {
            let seed =
                case_seed_for_licence(&report, seen, c, &checklist, &routing, inspector, now);
            match c.enterprise {
                Some(_) => (seed, Dedup::SameEnterprise),
                None => (seed, Dedup::NearbySameItem),
            }
        });
    let mut seeds: Vec<(CaseSeed, Dedup)> = items.chain(licences).collect();
    // In lock order: two reports that fail the same items in another order must not each
    // hold the lock the other waits for (PostgreSQL would abort one as a deadlock).
    seeds.sort_by_cached_key(|(seed, dedup)| cases::dedup_key(seed, *dedup));
    // No look for an earlier copy first: the insert's primary key finds a retry, and the
    // writer (one thread on SQLite) spends its time on new reports only.
    let outcome = state
        .write(move |conn| {
            let refs: Vec<String> = report
                .photo_refs()
                .into_iter()
                .map(|(sha, _)| sha)
                .collect();
            let arrived = crate::photos::store::arrived(conn, &refs)?;
            let flags = model::flags(
                &model::FlagInputs {
                    captured_at: report.captured_at,
                    received_at: now,
                    lon: report.lon,
                    lat: report.lat,
                    cell: placement.cell.as_deref(),
                    assigned: &assigned,
                    items: &report.items,
                    photos: &report.photos,
                },
                &arrived,
            );
            let mut answer = json!({
                "id": report.id,
                "received_at": crate::clock::rfc3339(now),
                "cell": cell_view,
                "flags": flags.flags,
                "cases": [],
                "license_checks": license_checks,
                "photos_missing": flags.photos_missing,
            });
            // The report row goes in first: cases link to it.
            store::insert(
                conn,
                &store::NewReport {
                    report: &report,
                    inspector,
                    body_sha256: &digest,
                    received_at: now,
                    at: &placement,
                    flags: &flags,
                    license_checks: &answer["license_checks"],
                    answer: &answer,
                },
            )?;
            crate::enterprises::store::link_report(conn, &report.id, &named)?;
            let mut case_ids = Vec::with_capacity(seeds.len());
            for (seed, dedup) in &seeds {
                case_ids.push(cases::open_or_join(conn, seed, *dedup, now)?.0);
            }
            // Ascending and once each, as a retry reads them back.
            case_ids.sort_unstable();
            case_ids.dedup();
            answer["cases"] = json!(case_ids);
            Ok((201u16, answer))
        })
        .await;
    let (status, answer) = match outcome {
        Err(e) if is_unique_violation(&e) => {
            // A report with this id is stored already (a retry, or an identical request
            // that won a race): answer as the first time, or 409 for another body.
            state
                .db(move |conn| {
                    let existing = store::find(conn, &report_id)?.ok_or_else(ApiError::internal)?;
                    replay(conn, &existing, &digest_again, inspector)
                })
                .await?
        }
        other => other?,
    };
    Ok(
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("valid status"))
            .json(answer),
    )
}

fn replay(
    conn: &mut crate::db::Conn,
    existing: &ReportRow,
    digest: &str,
    inspector: i64,
) -> ApiResult<(u16, Value)> {
    if existing.body_sha256 == digest && existing.inspector_id == inspector {
        // The row keeps the first answer but for its cases, which are read back from the
        // links written in the same transaction (sparing the ingest an UPDATE).
        let mut answer = store::stored_answer(existing);
        answer["cases"] = json!(store::case_ids(conn, &existing.id)?);
        Ok((200, answer))
    } else {
        Err(ApiError::conflict(format!(
            "report {} exists with a different body; choose a new id for a new report",
            existing.id
        ))
        .with_details(json!({"id": existing.id})))
    }
}

fn is_unique_violation(e: &ApiError) -> bool {
    e.code == "duplicate_key"
}

fn case_seed_for_item(
    report: &model::Report,
    item: &model::StoredItem,
    entry: &ChecklistItem,
    at: &Placement,
    inspector: i64,
    now: i64,
) -> CaseSeed {
    let place = report
        .place_name
        .clone()
        .or_else(|| report.place_address.clone())
        .unwrap_or_default();
    CaseSeed {
        source: "report_item",
        item_code: Some(item.code.clone()),
        category: entry.category.clone(),
        title: if place.is_empty() {
            entry.title_zh.clone()
        } else {
            format!("{}（{}）", entry.title_zh, place)
        },
        description: item.note.clone().unwrap_or_else(|| entry.title_en.clone()),
        lon: report.lon,
        lat: report.lat,
        cell: at.cell.clone(),
        community: at.community.clone().unwrap_or_default(),
        town: at.town.clone().unwrap_or_default(),
        district: at.district.clone().unwrap_or_default(),
        tier: entry.tier,
        department: entry.department.clone(),
        priority: entry.severity.clone(),
        due_at: now + entry.time_limit_hours as i64 * 3_600_000_000,
        enterprise_uscc: report.enterprise_uscc.clone(),
        report: Some((report.id.clone(), item.code.clone())),
        actor: Some((inspector, "inspector")),
    }
}

/// A licence finding becomes a 证照核查 case for market supervision at town tier, on the
/// checklist item the verdict corresponds to.
fn case_seed_for_licence(
    report: &model::Report,
    seen: &model::LicenceSeen,
    checked: &Checked,
    checklist: &HashMap<String, ChecklistItem>,
    at: &Placement,
    inspector: i64,
    now: i64,
) -> CaseSeed {
    let verdict = checked.answer.verdict;
    let item = checklist.get(verdict.checklist_item());
    let subject = checked
        .enterprise
        .as_ref()
        .map(|e| e.name.clone())
        .or_else(|| report.place_name.clone())
        .unwrap_or_else(|| seen.number.clone());
    let mut verdicts = vec![verdict.as_str()];
    verdicts.extend(checked.answer.also.iter().map(|v| v.as_str()));
    CaseSeed {
        source: "licence_check",
        item_code: Some(verdict.checklist_item().to_string()),
        category: "证照核查".into(),
        title: format!(
            "证照核查：{}（{}）",
            item.map_or("证照异常", |i| i.title_zh.as_str()),
            subject
        ),
        description: format!(
            "licence {} read on site: {}{}",
            seen.number,
            verdicts.join(", "),
            checked
                .answer
                .reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        lon: report.lon,
        lat: report.lat,
        cell: at.cell.clone(),
        community: at.community.clone().unwrap_or_default(),
        town: at.town.clone().unwrap_or_default(),
        district: at.district.clone().unwrap_or_default(),
        tier: crate::checklist::model::Tier::Town,
        department: "market".into(),
        priority: item.map_or("high".to_string(), |i| i.severity.clone()),
        due_at: now + item.map_or(72, |i| i.time_limit_hours as i64) * 3_600_000_000,
        enterprise_uscc: checked.enterprise.as_ref().map(|e| e.uscc.clone()),
        report: Some((
            report.id.clone(),
            format!("licence:{}", checked.answer.number),
        )),
        actor: Some((inspector, "inspector")),
    }
}

/// A report as stored, with its current flags, photos and cases.
#[derive(Serialize, ToSchema)]
pub struct ReportView {
    pub id: String,
    pub inspector: String,
    pub captured_at: String,
    pub received_at: String,
    #[schema(value_type = Object)]
    pub location: Value,
    #[schema(value_type = Object)]
    pub cell: Value,
    #[schema(value_type = Object)]
    pub place: Value,
    pub checklist_version: i32,
    pub items: Vec<model::StoredItem>,
    pub licenses_seen: Vec<model::LicenceSeen>,
    #[schema(value_type = Vec<Object>)]
    pub license_checks: Vec<Value>,
    pub photos: Vec<String>,
    pub photos_missing: Vec<String>,
    pub flags: Vec<String>,
    pub cases: Vec<i64>,
    pub note: Option<String>,
}

/// Whether `who` may read a stored report: inspectors their own, others by region.
/// `inspector_region` (a query) is called only for a report outside the map, the one
/// case that needs it.
pub fn may_read<E>(
    who: &Principal,
    row: &ReportRow,
    inspector_region: impl FnOnce() -> Result<Option<String>, E>,
) -> Result<bool, E> {
    Ok(match who.role {
        Role::Inspector => row.inspector_id == who.user_id,
        Role::Admin => true,
        _ => match &row.cell_code {
            Some(cell) => who.may_see(cell),
            None => inspector_region()?.is_some_and(|r| who.may_see(&r)),
        },
    })
}

/// The view of a stored report; `inspector` is its inspector's username.
fn view(
    conn: &mut crate::db::Conn,
    row: &ReportRow,
    assigned: &[String],
    inspector: String,
) -> ApiResult<ReportView> {
    let store::Settled {
        flags: state,
        report_photos: photos,
    } = store::settle_flags(conn, row, assigned)?;
    let cases = store::case_ids(conn, &row.id)?;
    Ok(ReportView {
        id: row.id.clone(),
        inspector,
        captured_at: crate::clock::rfc3339(row.captured_at),
        received_at: crate::clock::rfc3339(row.received_at),
        location: json!({"lon": row.lon, "lat": row.lat, "accuracy_m": row.accuracy_m, "crs": "wgs84", "reported_crs": row.reported_crs}),
        cell: json!({"code": row.cell_code, "community": row.community_code, "town": row.town_code, "district": row.district_code}),
        place: json!({"kind": row.place_kind, "name": row.place_name, "address": row.place_address, "enterprise_uscc": row.enterprise_uscc}),
        checklist_version: row.checklist_version,
        items: row.items(),
        licenses_seen: row.licenses_seen(),
        license_checks: serde_json::from_str(&row.license_checks).unwrap_or_default(),
        photos,
        photos_missing: state.photos_missing,
        flags: state.flags,
        cases,
        note: row.note.clone(),
    })
}

/// One report.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "report UUID")),
    responses((status = 200, body = ReportView), (status = 404, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn read(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<String>,
) -> ApiResult<web::Json<ReportView>> {
    let id = id.into_inner().to_ascii_lowercase();
    state
        .db(move |conn| {
            let row = store::find(conn, &id)?
                .ok_or_else(|| ApiError::not_found(format!("no report {id}")))?;
            // The inspector's cells: the region of a report outside the map, and its flags.
            let assigned = crate::auth::store::cells_of(conn, row.inspector_id)?;
            if !may_read(&who, &row, || {
                Ok::<_, ApiError>(store::region_of(&assigned))
            })? {
                // Not 403: whether a report exists outside your scope is not yours to know.
                return Err(ApiError::not_found(format!("no report {id}")));
            }
            let mut names = crate::auth::store::usernames(conn, &[row.inspector_id])?;
            let inspector = names.remove(&row.inspector_id).unwrap_or_default();
            Ok(web::Json(view(conn, &row, &assigned, inspector)?))
        })
        .await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Username of the inspector.
    pub inspector: Option<String>,
    /// Cell code.
    pub cell: Option<String>,
    /// Captured at or after (RFC 3339).
    pub from: Option<String>,
    /// Captured before (RFC 3339).
    pub to: Option<String>,
    /// Only reports carrying this flag.
    pub flag: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

const FLAGS: [&str; 6] = [
    "outside_assignment",
    "outside_map",
    "photo_missing",
    "photo_location_mismatch",
    "photo_time_mismatch",
    "late",
];

/// Reports in your scope, newest first; GeoJSON with `Accept: application/geo+json`.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "{\"items\":[ReportView],\"next_cursor\"} or a GeoJSON FeatureCollection", body = Object),
        (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    query: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    who.require(&[
        Role::Inspector,
        Role::Dispatcher,
        Role::Supervisor,
        Role::Admin,
        Role::Handler,
    ])?;
    let q = query.into_inner();
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let from = crate::paging::time_param("from", q.from.as_deref())?;
    let to = crate::paging::time_param("to", q.to.as_deref())?;
    if let Some(flag) = &q.flag {
        if !FLAGS.contains(&flag.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown flag {flag:?}; one of {}",
                FLAGS.join(", ")
            )));
        }
    }
    if let Some(cell) = &q.cell {
        if !who.may_see(cell) && who.role != Role::Inspector {
            return Err(ApiError::forbidden(format!(
                "cell {cell} lies outside your region"
            )));
        }
    }
    let after = match &page.after {
        None => None,
        Some(key) => {
            let (t, id) = key
                .split_once('|')
                .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_string())))
                .ok_or_else(|| ApiError::bad_request("cursor is not one this server issued"))?;
            Some((t, id))
        }
    };
    let geo = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/geo+json"));
    let limit = page.limit;
    let (mut rows, views) = state
        .db(move |conn| {
            let mut filter = ReportFilter {
                region_prefix: who.region_prefix(),
                cell: q.cell.clone(),
                from,
                to,
                flag: q.flag.clone(),
                ..Default::default()
            };
            if who.role == Role::Inspector {
                filter.inspector_id = Some(who.user_id);
                filter.region_prefix = String::new();
            }
            if let Some(name) = &q.inspector {
                let id = store::user_id(conn, name)?;
                match (who.role, id) {
                    (Role::Inspector, Some(id)) if id != who.user_id => {
                        return Err(ApiError::forbidden("inspectors see their own reports"))
                    }
                    (_, Some(id)) => filter.inspector_id = Some(id),
                    (_, None) => {
                        return Err(ApiError::bad_request(format!("no inspector {name:?}")))
                    }
                }
            }
            let rows = store::list(conn, &filter, after, limit + 1)?;
            let mut views = HashMap::new();
            // Each inspector's cells and name once per page, not once per report.
            let mut cells = HashMap::new();
            let mut ids: Vec<i64> = rows.iter().map(|r| r.inspector_id).collect();
            ids.sort_unstable();
            ids.dedup();
            let names = crate::auth::store::usernames(conn, &ids)?;
            for row in rows.iter().take(limit as usize) {
                let assigned = store::cells_once(conn, &mut cells, row.inspector_id)?;
                let inspector = names.get(&row.inspector_id).cloned().unwrap_or_default();
                views.insert(row.id.clone(), view(conn, row, assigned, inspector)?);
            }
            Ok((rows, views))
        })
        .await?;
    let next = page.finish(&mut rows, |r| format!("{}|{}", r.captured_at, r.id));
    let mut views = views;
    let items: Vec<ReportView> = rows.iter().filter_map(|r| views.remove(&r.id)).collect();
    if geo {
        let features: Vec<Value> = items
            .iter()
            .map(|v| {
                json!({
                    "type": "Feature",
                    "id": v.id,
                    "geometry": {"type": "Point", "coordinates": [v.location["lon"], v.location["lat"]]},
                    "properties": serde_json::to_value(v).unwrap_or(Value::Null),
                })
            })
            .collect();
        return Ok(HttpResponse::Ok()
            .content_type("application/geo+json")
            .json(
                json!({"type": "FeatureCollection", "features": features, "next_cursor": next}),
            ));
    }
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": next})))
}

impl AppState {
    /// The items of a checklist version by code; versions never change once stored, so
    /// they are cached for the life of the process. None when the version does not exist.
    pub async fn checklist_index(
        &self,
        version: i32,
    ) -> ApiResult<Option<Arc<HashMap<String, ChecklistItem>>>> {
        if let Some(found) = self.checklists.read().expect("not poisoned").get(&version) {
            return Ok(Some(found.clone()));
        }
        let loaded = self
            .db(move |conn| {
                if crate::checklist::store::version(conn, version)?.is_none() {
                    return Ok(None);
                }
                let items = crate::checklist::store::items(conn, version)?;
                Ok(Some(
                    items
                        .into_iter()
                        .map(|i| (i.code.clone(), i))
                        .collect::<HashMap<_, _>>(),
                ))
            })
            .await?;
        Ok(loaded.map(|items| {
            let items = Arc::new(items);
            self.checklists
                .write()
                .expect("not poisoned")
                .insert(version, items.clone());
            items
        }))
    }
}
