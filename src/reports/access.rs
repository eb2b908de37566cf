//! Who may read a stored report: inspectors their own; admins all; others those located in
//! their region, and a report outside the map by its inspector's region.

use crate::auth::{Principal, Role};
use crate::db::Conn;
use crate::reports::store::{self, ReportRow};

/// Whether `who` may read `row`. `inspector_region` (a query) is called only for a report
/// outside the map, the one case that needs it.
pub(crate) fn may_read<E>(
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

/// [`may_read`], looking the inspector's region up when it is needed.
pub(crate) fn readable_by(
    conn: &mut Conn,
    who: &Principal,
    row: &ReportRow,
) -> diesel::QueryResult<bool> {
    may_read(who, row, || store::inspector_region(conn, row.inspector_id))
}
