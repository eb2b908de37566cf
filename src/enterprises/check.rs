//! One licence cross-check: read the number, look it up, judge it. Shared by the check
//! endpoint and by report ingest (each `licenses_seen` entry), so both answer alike.

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::db::Conn;
use crate::enterprises::store::{self, EnterpriseRow, LicenceRow};
use crate::licences::model::{self, LicenceKind, Seen, Verdict};
use crate::licences::numbers;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CheckAnswer {
    /// The number as normalised.
    pub number: String,
    /// The licence kind the number is (or was claimed to be).
    pub kind: Option<LicenceKind>,
    /// The most serious verdict.
    pub verdict: Verdict,
    /// Every other verdict that applies, most serious first.
    pub also: Vec<Verdict>,
    /// The enterprise the number belongs to; null when the library has none.
    #[schema(value_type = Option<Object>)]
    pub enterprise: Option<Value>,
    /// The licence the number is; null when the library has none.
    #[schema(value_type = Option<Object>)]
    pub licence: Option<Value>,
    /// Distance in metres between where the number was seen and the registered location.
    pub distance_m: Option<f64>,
    /// Why the number itself is refused, for malformed numbers.
    pub reason: Option<String>,
}

/// Today's date in the district, as licences store their validity.
pub(crate) fn today() -> String {
    crate::clock::today().format("%Y-%m-%d").to_string()
}

/// The enterprise as shown to a caller: personal data whole, or masked (张*三, 138****5678,
/// ID numbers with 4 visible characters) for roles that need not see it.
pub(crate) fn enterprise_view(e: &EnterpriseRow, whole: bool) -> Value {
    let (rep, phone, id) = if whole {
        (
            e.legal_representative.clone(),
            e.phone.clone(),
            e.legal_rep_id_number.clone(),
        )
    } else {
        (
            numbers::mask_name(&e.legal_representative),
            numbers::mask_phone(&e.phone),
            numbers::mask_resident_id(&e.legal_rep_id_number),
        )
    };
    json!({
        "uscc": e.uscc,
        "name": e.name,
        "legal_representative": rep,
        "legal_rep_id_number": id,
        "phone": phone,
        "address": e.address,
        "lon": e.lon,
        "lat": e.lat,
        "cell": e.cell_code,
        "community": e.community_code,
        "town": e.town_code,
        "status": e.status,
        "registered_on": e.registered_on,
        "place_kind": e.place_kind,
        "personal_data": if whole { "whole" } else { "masked" },
    })
}

pub(crate) fn licence_view(l: &LicenceRow) -> Value {
    json!({
        "kind": l.kind,
        "number": l.number,
        "valid_from": l.valid_from,
        "valid_to": l.valid_to,
        "status": l.status,
    })
}

/// Whether `viewer` sees the personal data of enterprise `e` unmasked.
pub(crate) fn shows_whole(viewer: &Principal, e: &EnterpriseRow) -> bool {
    viewer.sees_personal_data() && store::visible_to(viewer, e.cell_code.as_deref())
}

/// The outcome with the enterprise it found (for case routing and audit).
pub(crate) struct Checked {
    pub answer: CheckAnswer,
    pub enterprise: Option<EnterpriseRow>,
}

/// Checks the number `raw` as read off a wall (claimed to be of kind `claimed`, seen as
/// `seen`) for `viewer`: the verdict whoever asks, the enterprise's personal data whole only
/// for a role that sees it and an enterprise within the viewer's region.
pub(crate) fn run(
    conn: &mut Conn,
    raw: &str,
    claimed: Option<LicenceKind>,
    seen: &Seen,
    viewer: &Principal,
    today: &str,
) -> diesel::QueryResult<Checked> {
    let reading = model::read_number(raw, claimed);
    let found = if reading.lookup_worthy() {
        store::lookup(conn, &reading.number, reading.kind)?
    } else {
        None
    };
    let (verdicts, distance) = model::verdicts(&reading, found.as_ref().map(|f| &f.2), seen, today);
    let (enterprise, licence) = match found {
        Some((e, l, _)) => (Some(e), l),
        None => (None, None),
    };
    Ok(Checked {
        answer: CheckAnswer {
            number: reading.number.clone(),
            kind: reading.kind,
            verdict: verdicts[0],
            also: verdicts[1..].to_vec(),
            enterprise: enterprise
                .as_ref()
                .map(|e| enterprise_view(e, shows_whole(viewer, e))),
            licence: licence.as_ref().map(licence_view),
            distance_m: distance.map(|d| (d * 10.0).round() / 10.0),
            reason: reading.reason.clone(),
        },
        enterprise,
    })
}
