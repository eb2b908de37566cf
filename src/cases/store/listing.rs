//! The queue and scope listings: every queue is one index seek read in the index's order.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use crate::cases::model::Status;
use crate::cases::scope::{Queue, Scope};
use crate::cases::store::{area_column, CaseRow};
use crate::checklist::model::Tier;
use crate::db::schema::{case_reports, cases, reports};
use crate::db::Conn;
use crate::db_run;

/// The order of a listing; every sort ends on the id so that the order is total and a
/// cursor names one place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    OpenedAt,
    DueAt,
}

/// Everything a listing filters on. When a queue is given, the scope is not applied as
/// well: every queue lies within its owner's scope by construction, and a second,
/// redundant condition would tempt the planner into the wrong index.
#[derive(Debug, Clone)]
pub(crate) struct CaseFilter {
    pub scope: Scope,
    pub queue: Option<Queue>,
    pub status: Option<Status>,
    pub tier: Option<Tier>,
    pub department: Option<String>,
    pub cell: Option<String>,
    pub overdue: Option<bool>,
    /// Opened at or after.
    pub from: Option<i64>,
    /// Opened before.
    pub to: Option<i64>,
}

/// Where a page starts: after the row with this sort value and id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct After {
    pub key: i64,
    pub id: i64,
}

/// The generated queue columns are maintained by the database and only ever filtered on,
/// so they are named here rather than in schema.rs.
macro_rules! queue_is {
    ($column:literal, $value:expr) => {
        diesel::dsl::sql::<Bool>(concat!("cases.", $column, " = "))
            .bind::<Text, _>($value.to_string())
    };
}

/// Restricts a boxed cases query to a region: its code at the region's level.
macro_rules! in_area {
    ($q:expr, $area:expr) => {{
        let area: &crate::region::RegionCode = $area;
        $q.filter(
            diesel::dsl::sql::<Bool>(&format!("cases.{} = ", area_column(area.level())))
                .bind::<Text, _>(area.to_string()),
        )
    }};
}

/// The boxed query of a listing. Boxed queries are per backend, so it is written once here
/// and built inside each arm of db_run! (and, in the tests, explained on SQLite).
macro_rules! listing {
    ($filter:expr, $sort:expr, $descending:expr, $after:expr, $limit:expr) => {{
        let (filter, sort, descending, after, limit): (
            &CaseFilter,
            Sort,
            bool,
            Option<After>,
            i64,
        ) = ($filter, $sort, $descending, $after, $limit);
        let mut q = cases::table.into_boxed();
        match &filter.queue {
            Some(Queue::Centre { code }) => q = q.filter(queue_is!("centre_queue", code)),
            Some(Queue::Department { department, area }) => {
                q = q.filter(queue_is!("department_queue", department));
                q = in_area!(q, area);
            }
            Some(Queue::Verification { cells }) => {
                // A literal, not a bind: it is how the planner knows the partial index
                // cases_to_verify (resolved cases only) applies.
                q = q
                    .filter(diesel::dsl::sql::<Bool>("cases.status = 'resolved'"))
                    .filter(cases::cell_code.eq_any(cells.clone()));
            }
            None => match &filter.scope {
                Scope::Everything => {}
                Scope::Area(area) => q = in_area!(q, area),
                Scope::Department { department, area } => {
                    q = q.filter(cases::department.eq(department.clone()));
                    q = in_area!(q, area);
                }
                Scope::Inspector { user_id, cells } => {
                    q = q.filter(
                        cases::cell_code.eq_any(cells.clone()).or(cases::id.eq_any(
                            case_reports::table
                                .inner_join(reports::table)
                                .filter(reports::inspector_id.eq(*user_id))
                                .select(case_reports::case_id),
                        )),
                    );
                }
                Scope::Nothing => q = q.filter(cases::id.lt(0)),
            },
        }
        if let Some(status) = filter.status {
            q = q.filter(cases::status.eq(status));
        }
        if let Some(tier) = filter.tier {
            q = q.filter(cases::tier.eq(tier));
        }
        if let Some(department) = &filter.department {
            q = q.filter(cases::department.eq(department.clone()));
        }
        if let Some(cell) = &filter.cell {
            q = q.filter(cases::cell_code.eq(cell.clone()));
        }
        if let Some(overdue) = filter.overdue {
            q = q.filter(cases::overdue.eq(overdue));
        }
        if let Some(from) = filter.from {
            q = q.filter(cases::opened_at.ge(from));
        }
        if let Some(to) = filter.to {
            q = q.filter(cases::opened_at.lt(to));
        }
        // The cursor as a range on the sort column (which the index can seek to), then
        // the tie on the id.
        q = match (sort, descending, after) {
            (_, _, None) => q,
            (Sort::OpenedAt, false, Some(a)) => q
                .filter(cases::opened_at.ge(a.key))
                .filter(cases::opened_at.gt(a.key).or(cases::id.gt(a.id))),
            (Sort::OpenedAt, true, Some(a)) => q
                .filter(cases::opened_at.le(a.key))
                .filter(cases::opened_at.lt(a.key).or(cases::id.lt(a.id))),
            (Sort::DueAt, false, Some(a)) => q
                .filter(cases::due_at.ge(a.key))
                .filter(cases::due_at.gt(a.key).or(cases::id.gt(a.id))),
            (Sort::DueAt, true, Some(a)) => q
                .filter(cases::due_at.le(a.key))
                .filter(cases::due_at.lt(a.key).or(cases::id.lt(a.id))),
        };
        macro_rules! by {
            ($column:expr) => {
                match descending {
                    false => q.then_order_by($column.asc()),
                    true => q.then_order_by($column.desc()),
                }
            };
        }
        q = match sort {
            Sort::OpenedAt => by!(cases::opened_at),
            Sort::DueAt => by!(cases::due_at),
        };
        q = by!(cases::id);
        q.limit(limit).select(CaseRow::as_select())
    }};
}

/// The cases matching `filter`, in `sort` order (`descending` reverses it), after the
/// cursor, at most `limit`.
pub(crate) fn list(
    conn: &mut Conn,
    filter: &CaseFilter,
    sort: Sort,
    descending: bool,
    after: Option<After>,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    db_run!(conn, |c| listing!(filter, sort, descending, after, limit)
        .load(c))
}

#[cfg(test)]
mod tests {
    use diesel::sqlite::{Sqlite, SqliteConnection};

    use super::*;
    use crate::db::testing::{self, TestDb};
    use crate::region::RegionCode;

    /// SQLite's plan for the listing diesel builds from `filter`.
    fn plan(c: &mut SqliteConnection, filter: &CaseFilter, sort: Sort, after: bool) -> String {
        let after = after.then_some(After { key: 1, id: 1 });
        // Descending when paging on, to cover both directions.
        let query = listing!(filter, sort, after.is_some(), after, 101);
        let sql = diesel::debug_query::<Sqlite, _>(&query).to_string();
        let sql = sql.split(" -- binds:").next().unwrap_or_default();
        testing::plan(c, sql)
    }

    fn filter(scope: Scope, queue: Option<Queue>) -> CaseFilter {
        CaseFilter {
            scope,
            queue,
            status: None,
            tier: None,
            department: None,
            cell: None,
            overdue: None,
            from: None,
            to: None,
        }
    }

    #[test]
    fn queues_are_read_in_index_order_on_sqlite() {
        let db = TestDb::sqlite();
        let c = &mut *db.sqlite_conn();
        let town = RegionCode::parse("44060501100000").unwrap();
        let centre = filter(
            Scope::Area(town.clone()),
            Some(Queue::Centre {
                code: town.to_string(),
            }),
        );
        for (sort, index) in [
            (Sort::OpenedAt, "cases_centre_queue "),
            (Sort::DueAt, "cases_centre_queue_due "),
        ] {
            for after in [false, true] {
                let p = plan(c, &centre, sort, after);
                assert!(p.contains(&format!("USING INDEX {index}")), "{p}");
                assert!(!p.contains("TEMP B-TREE"), "{p}");
            }
        }
        let department = filter(
            Scope::Nothing,
            Some(Queue::Department {
                department: "fire".into(),
                area: town.clone(),
            }),
        );
        let p = plan(c, &department, Sort::OpenedAt, true);
        assert!(
            p.contains("USING INDEX cases_department_queue (department_queue=? AND town_code=?"),
            "{p}"
        );
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        let region = filter(Scope::Area(town), None);
        let p = plan(c, &region, Sort::OpenedAt, false);
        assert!(p.contains("USING INDEX cases_town_opened "), "{p}");
        assert!(!p.contains("TEMP B-TREE"), "{p}");
        // An inspector's cases to verify: only resolved cases of their cells are read.
        let verification = filter(
            Scope::Nothing,
            Some(Queue::Verification {
                cells: vec!["44060501100101".into(), "44060501100102".into()],
            }),
        );
        let p = plan(c, &verification, Sort::OpenedAt, false);
        assert!(
            p.contains("USING INDEX cases_to_verify (cell_code=?"),
            "{p}"
        );
    }
}
