//! Who may see a photo: whoever sent its bytes, an admin, and whoever may read a report or
//! case step that names it, when the author of that report or step sent the bytes too.

use serde_json::{json, Value};

use crate::auth::{Principal, Role};
use crate::db::Conn;
use crate::photos::store::{self, PhotoRow};
use crate::web::error::ApiError;
use crate::{cases, reports};

pub(crate) fn may_see(
    conn: &mut Conn,
    who: &Principal,
    row: &PhotoRow,
) -> diesel::QueryResult<bool> {
    let sha = &row.sha256;
    if who.role == Role::Admin || store::uploaded_by(conn, sha, who.user_id)? {
        return Ok(true);
    }
    // A report or a case step shows a photo only when its author sent the bytes: naming a
    // hash one learnt somewhere, before or after the photo arrived, shows nothing.
    for id in reports::store::reports_naming(conn, sha)? {
        if let Some(report) = reports::store::find(conn, &id)? {
            if any_sent(conn, sha, &[report.inspector_id])?
                && reports::access::readable_by(conn, who, &report)?
            {
                return Ok(true);
            }
        }
    }
    for case in cases::store::with_photo(conn, sha)? {
        let authors = cases::store::photo_named_by(conn, case.id, sha)?;
        if any_sent(conn, sha, &authors)? && cases::store::readable_by(conn, who, &case)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether one of `users` sent the bytes of photo `sha`.
fn any_sent(conn: &mut Conn, sha: &str, users: &[i64]) -> diesel::QueryResult<bool> {
    for &user in users {
        if store::uploaded_by(conn, sha, user)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Of the photos `shas` a report or case step names, those the server has but `who` may
/// not read. Naming a photo makes it readable to the readers of what names it, so one may
/// name only a photo one could read already, or one not uploaded yet (a handheld sends a
/// report before its photos when the link is poor).
pub(crate) fn not_readable(
    conn: &mut Conn,
    who: &Principal,
    shas: &[String],
) -> diesel::QueryResult<Vec<String>> {
    let mut refused = Vec::new();
    for sha in shas {
        if let Some(row) = store::find(conn, sha)? {
            if !may_see(conn, who, &row)? {
                refused.push(sha.clone());
            }
        }
    }
    Ok(refused)
}

/// The 422 for photos named by someone who may not read them.
pub(crate) fn refusal(refused: &[String]) -> ApiError {
    ApiError::invalid(
        "the request names photos its author may not read",
        Value::Array(
            refused
                .iter()
                .map(|sha| json!({"field": "photos", "problem": format!(
                    "photo {sha} was uploaded by someone else; upload it yourself or leave it out")}))
                .collect(),
        ),
    )
}
