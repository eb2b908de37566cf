//! The append-only audit log: who looked up enterprise or personal data, when, from which
//! device, what they asked, how many records came back, and why (the Nanhai rule: leave a
//! trace of every query). Records are written in the same transaction as nothing else, but
//! before the answer leaves: an answer is never given without its trace. Nothing updates
//! or deletes a record; the database refuses it too (triggers in the migration).

pub(crate) mod http;
pub(crate) mod store;

use crate::auth::Principal;
use crate::db::Db;
use crate::web::error::ApiResult;
use crate::web::extract::Device;

/// Writes the trace of lookups to the audit log; answers once it is durable, so that no
/// answer leaves without its trace.
pub(crate) async fn log(
    db: &Db,
    who: &Principal,
    device: &Device,
    lookups: Vec<store::Lookup>,
) -> ApiResult<()> {
    db.append(store::entries(who, device.0.as_deref(), lookups))
        .await
}
