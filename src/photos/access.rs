//! Who may see a photo: its uploader, an admin, and whoever may read a report that names it
//! or a case whose timeline carries it (resolution and verification photos).

use crate::auth::{Principal, Role};
use crate::db::Conn;
use crate::photos::store::PhotoRow;
use crate::{cases, reports};

pub(crate) fn may_see(
    conn: &mut Conn,
    who: &Principal,
    row: &PhotoRow,
) -> diesel::QueryResult<bool> {
    if row.uploader_id == who.user_id || who.role == Role::Admin {
        return Ok(true);
    }
    for id in reports::store::reports_naming(conn, &row.sha256)? {
        if let Some(report) = reports::store::find(conn, &id)? {
            if reports::access::readable_by(conn, who, &report)? {
                return Ok(true);
            }
        }
    }
    for case in cases::store::with_photo(conn, &row.sha256)? {
        if cases::store::readable_by(conn, who, &case)? {
            return Ok(true);
        }
    }
    Ok(false)
}
