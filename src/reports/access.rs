//! Who may read a stored report, by the rule `Principal::may_read_report`.

use crate::auth::Principal;
use crate::db::Conn;
use crate::reports::store::{self, ReportRow};

/// Whether `who` may read `row`; `inspector_region` is asked only for a report outside the
/// map.
pub(crate) fn may_read<E>(
    who: &Principal,
    row: &ReportRow,
    inspector_region: impl FnOnce() -> Result<Option<String>, E>,
) -> Result<bool, E> {
    who.may_read_report(row.inspector_id, row.cell_code.as_deref(), inspector_region)
}

/// [`may_read`], looking the inspector's region up when it is needed.
pub(crate) fn readable_by(
    conn: &mut Conn,
    who: &Principal,
    row: &ReportRow,
) -> diesel::QueryResult<bool> {
    may_read(who, row, || store::inspector_region(conn, row.inspector_id))
}
