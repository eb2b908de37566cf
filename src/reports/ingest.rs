//! Report ingest, the one step that takes a handheld's report in: validate it against its
//! checklist version and the clock, place it on the map, check every licence it saw (each
//! lookup audited with the report as purpose), then store it with the cases its findings
//! open or join, in one transaction. A report id seen before is a retry: the same body
//! answers as the first time, another body is a conflict.

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::audit::store::Lookup;
use crate::auth::Principal;
use crate::cases::rules::{self, LicenceFinding, Spot};
use crate::cases::store::{self as cases, CaseSeed, Dedup};
use crate::checklist::cache::Checklists;
use crate::db::{Conn, Db};
use crate::enterprises::check::{self, Checked};
use crate::grid::index::{MapIndex, Placement};
use crate::licences::model::{LicenceKind, Seen, Verdict};
use crate::region::{Level, RegionCode};
use crate::reports::model::{self, Report};
use crate::reports::store::{self, ReportRow};
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::Device;

/// What a handheld is told of its report.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReportAnswer {
    pub id: String,
    pub received_at: String,
    /// The containing cell (`code`, `name`), or null outside the map.
    #[schema(value_type = Option<Object>)]
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

/// The outcome of an ingest: the answer, and whether the report is new (201) or a retry of
/// a stored one (200).
pub(crate) struct Ingested {
    pub created: bool,
    pub answer: Value,
}

/// What ingest needs of the server.
pub(crate) struct Ingest<'a> {
    pub db: &'a Db,
    pub map: &'a MapIndex,
    pub checklists: &'a Checklists,
}

/// What the write itself decided.
enum Written {
    New(Value),
    /// The id is stored already: nothing was written.
    Seen,
}

impl Ingest<'_> {
    /// Takes in the report `body` of inspector `who`.
    pub(crate) async fn report(
        &self,
        who: &Principal,
        device: &Device,
        body: Value,
    ) -> ApiResult<Ingested> {
        let input: model::ReportInput = serde_json::from_value(body.clone()).map_err(|e| {
            ApiError::invalid(
                "the report does not have the expected shape",
                json!([{"field": "", "problem": e.to_string()}]),
            )
        })?;
        let digest = model::body_digest(&body);
        let checklist = self
            .checklists
            .version(self.db, input.checklist_version)
            .await?;
        let now = crate::clock::now();
        let mut report =
            model::validate(&input, checklist.as_deref(), now).map_err(|problems| {
                ApiError::invalid("the report is invalid", Value::Array(problems))
            })?;
        let checklist = checklist.expect("validated: the version exists");
        let named: Vec<String> = report
            .photo_refs()
            .into_iter()
            .map(|(sha, _)| sha)
            .collect();
        if !named.is_empty() {
            let author = who.clone();
            let refused = self
                .db
                .run(move |conn| Ok(crate::photos::access::not_readable(conn, &author, &named)?))
                .await?;
            if !refused.is_empty() {
                return Err(crate::photos::access::refusal(&refused));
            }
        }
        let entry = self.map.load().locate(report.lon, report.lat).cloned();
        let placement = entry.as_ref().map(|e| e.placement()).unwrap_or_default();
        let cell_view = entry.as_ref().map_or(
            Value::Null,
            |e| json!({"code": e.cell.code, "name": e.cell.name}),
        );
        let checked = self
            .check_licences(who, device, &report, &placement)
            .await?;
        // A report that named no enterprise is linked to the one its licences belong to.
        if report.enterprise_uscc.is_none() {
            report.enterprise_uscc = checked
                .iter()
                .find_map(|c| c.enterprise.as_ref().map(|e| e.uscc.clone()));
        }
        let spot = Spot {
            report_id: report.id.clone(),
            inspector: who.user_id,
            lon: report.lon,
            lat: report.lat,
            routing: routing(&placement, who),
            place: report
                .place_name
                .clone()
                .or_else(|| report.place_address.clone()),
            enterprise_uscc: report.enterprise_uscc.clone(),
        };
        let mut seeds = findings(&report, &checked, &checklist, &spot, now);
        // In lock order: two reports that fail the same items in another order must not
        // each hold the lock the other waits for (PostgreSQL would abort one as a deadlock).
        seeds.sort_by_cached_key(|(seed, dedup)| cases::dedup_key(seed, *dedup));
        let stored = Stored {
            named: named_enterprises(&report, &checked),
            license_checks: checked
                .iter()
                .map(|c| serde_json::to_value(&c.answer).expect("serialisable"))
                .collect(),
            report,
            inspector: who.user_id,
            assigned: who.cells.clone(),
            digest: digest.clone(),
            placement,
            cell_view,
            seeds,
            now,
        };
        let report_id = stored.report.id.clone();
        match self.db.write(move |conn| stored.write(conn)).await? {
            Written::New(answer) => Ok(Ingested {
                created: true,
                answer,
            }),
            Written::Seen => {
                let inspector = who.user_id;
                self.db
                    .run(move |conn| {
                        let existing =
                            store::find(conn, &report_id)?.ok_or_else(ApiError::internal)?;
                        replay(conn, &existing, &digest, inspector)
                    })
                    .await
            }
        }
    }

    /// Checks every licence the report saw against the library, as the check endpoint
    /// does, and traces each lookup with the report as its purpose before anything is
    /// answered. A retry looks again, and is traced again: it did look.
    async fn check_licences(
        &self,
        who: &Principal,
        device: &Device,
        report: &Report,
        placement: &Placement,
    ) -> ApiResult<Vec<Checked>> {
        if report.licenses_seen.is_empty() {
            return Ok(Vec::new());
        }
        let seen = report.licenses_seen.clone();
        let seen_at = Seen {
            at: Some((report.lon, report.lat)),
            cell: placement.cell.clone(),
            name: report.place_name.clone(),
        };
        let viewer = who.clone();
        let checked = self
            .db
            .run(move |conn| {
                let today = check::today();
                seen.iter()
                    .map(|s| {
                        let kind = s.kind.as_deref().and_then(LicenceKind::parse);
                        Ok(check::run(
                            conn, &s.number, kind, &seen_at, &viewer, &today,
                        )?)
                    })
                    .collect::<ApiResult<Vec<_>>>()
            })
            .await?;
        let lookups = checked
            .iter()
            .map(|c| Lookup {
                action: "check",
                resource: format!("licence:{}", c.answer.number),
                query: json!({"number": c.answer.number, "kind": c.answer.kind}),
                result_count: c.enterprise.is_some() as i32,
                purpose: format!("report:{}", report.id),
            })
            .collect();
        crate::audit::log(self.db, who, device, lookups).await?;
        Ok(checked)
    }
}

/// Where a report's cases go: its cell's regions, or for a report outside the map its
/// inspector's own community, town and district.
fn routing(placement: &Placement, who: &Principal) -> Placement {
    let home = who.cells.first().and_then(|c| RegionCode::parse(c).ok());
    let above = |level: Level| {
        home.as_ref()
            .and_then(|h| h.ancestor(level))
            .map(|c| c.to_string())
    };
    Placement {
        cell: placement.cell.clone(),
        community: placement
            .community
            .clone()
            .or_else(|| above(Level::Community)),
        town: placement.town.clone().or_else(|| above(Level::Town)),
        district: placement
            .district
            .clone()
            .or_else(|| above(Level::District)),
    }
}

/// The case each failed item and each refused licence opens or joins.
fn findings(
    report: &Report,
    checked: &[Checked],
    checklist: &crate::checklist::cache::Items,
    spot: &Spot,
    now: i64,
) -> Vec<(CaseSeed, Dedup)> {
    let items = report.failed().filter_map(|item| {
        let entry = checklist.get(&item.code)?;
        Some(rules::item_case(spot, entry, item.note.as_deref(), now))
    });
    let licences = report
        .licenses_seen
        .iter()
        .zip(checked)
        .filter(|(_, c)| c.answer.verdict != Verdict::Valid)
        .map(|(seen, c)| {
            let finding = LicenceFinding {
                number: &c.answer.number,
                as_read: &seen.number,
                verdict: c.answer.verdict,
                also: &c.answer.also,
                reason: c.answer.reason.as_deref(),
                enterprise: c
                    .enterprise
                    .as_ref()
                    .map(|e| (e.uscc.as_str(), e.name.as_str())),
            };
            rules::licence_case(spot, &finding, checklist, now)
        });
    items.chain(licences).collect()
}

/// Every enterprise the report names: its own, and those its licences belong to.
fn named_enterprises(report: &Report, checked: &[Checked]) -> Vec<String> {
    let mut named: Vec<String> = report.enterprise_uscc.iter().cloned().collect();
    named.extend(
        checked
            .iter()
            .filter_map(|c| c.enterprise.as_ref().map(|e| e.uscc.clone())),
    );
    named.sort();
    named.dedup();
    named
}

/// Everything the write needs, decided before it.
struct Stored {
    report: Report,
    inspector: i64,
    assigned: Vec<String>,
    digest: String,
    placement: Placement,
    cell_view: Value,
    license_checks: Vec<Value>,
    named: Vec<String>,
    seeds: Vec<(CaseSeed, Dedup)>,
    now: i64,
}

impl Stored {
    /// The report row (with its photos), its enterprise links and its cases, inside the
    /// caller's transaction. It may run twice (group commit): it reads nothing it wrote.
    fn write(&self, conn: &mut Conn) -> ApiResult<Written> {
        let report = &self.report;
        let refs: Vec<String> = report
            .photo_refs()
            .into_iter()
            .map(|(sha, _)| sha)
            .collect();
        let arrived = store::arrived(conn, &refs)?;
        let flags = model::flags(
            &model::FlagInputs {
                captured_at: report.captured_at,
                received_at: self.now,
                lon: report.lon,
                lat: report.lat,
                cell: self.placement.cell.as_deref(),
                assigned: &self.assigned,
                items: &report.items,
                photos: &report.photos,
            },
            &arrived,
        );
        let mut answer = json!({
            "id": report.id,
            "received_at": crate::clock::rfc3339(self.now),
            "cell": self.cell_view,
            "flags": flags.flags,
            "cases": [],
            "license_checks": self.license_checks,
            "photos_missing": flags.photos_missing,
        });
        // The report row goes in first: cases link to it. A stored id writes nothing.
        let inserted = store::insert(
            conn,
            &store::NewReport {
                report,
                inspector: self.inspector,
                body_sha256: &self.digest,
                received_at: self.now,
                at: &self.placement,
                flags: &flags,
                license_checks: &answer["license_checks"],
                answer: &answer,
            },
        )?;
        if !inserted {
            return Ok(Written::Seen);
        }
        crate::enterprises::store::link_report(conn, &report.id, &self.named)?;
        let mut case_ids = Vec::with_capacity(self.seeds.len());
        for (seed, dedup) in &self.seeds {
            case_ids.push(cases::open_or_join(conn, seed, *dedup, self.now)?.0);
        }
        // Ascending and once each, as a retry reads them back.
        case_ids.sort_unstable();
        case_ids.dedup();
        answer["cases"] = json!(case_ids);
        Ok(Written::New(answer))
    }
}

/// The answer to a report id that is stored already: the first answer for the same body
/// from the same inspector, 409 otherwise.
fn replay(
    conn: &mut Conn,
    existing: &ReportRow,
    digest: &str,
    inspector: i64,
) -> ApiResult<Ingested> {
    if existing.body_sha256 == digest && existing.inspector_id == inspector {
        // The row keeps the first answer but for its cases, which are read back from the
        // links written in the same transaction (sparing the ingest an UPDATE).
        let mut answer = store::stored_answer(existing);
        answer["cases"] = json!(store::case_ids(conn, &existing.id)?);
        Ok(Ingested {
            created: false,
            answer,
        })
    } else {
        Err(ApiError::conflict(format!(
            "report {} exists with a different body; choose a new id for a new report",
            existing.id
        ))
        .with_details(json!({"id": existing.id})))
    }
}
