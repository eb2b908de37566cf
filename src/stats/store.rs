//! The statistics' queries. Every count is an aggregate (GROUP BY) computed by the
//! database from the cases and their timeline; what comes back is one row per department,
//! or per cell and category, never one per case.
//!
//! The SQL is written out rather than built with diesel's DSL, since it needs common table
//! expressions and window functions (the median) that the DSL does not express. Both
//! backends run the same text: only the placeholders differ (`?` on SQLite, `$n` on
//! PostgreSQL), and `db::cached::Sql` numbers them. It must not apply a formula: rates and rounding
//! are `stats::model`'s.

use std::collections::HashMap;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Untyped};
use diesel::sqlite::Sqlite;

use crate::cases::store::area_column;
use crate::db::cached::{Bind, Sql};
use crate::db::Conn;
use crate::db_run;
use crate::stats::model::{Coverage, DepartmentCounts, Window};

/// Runs `sql` (placeholders written `?`) with `binds` on either backend, reading rows by
/// column name. `Sql` numbers the placeholders for PostgreSQL and keeps each text prepared.
fn run<T>(conn: &mut Conn, sql: &str, binds: &[Bind]) -> QueryResult<Vec<T>>
where
    T: QueryableByName<Sqlite> + QueryableByName<Pg> + 'static,
{
    let query = binds
        .iter()
        .cloned()
        .fold(Sql::<Untyped>::new(sql.to_string()), Sql::bind);
    db_run!(conn, |c| query.load(c))
}

/// The condition that keeps the cases (alias `c`) of the coverage, with its binds: one
/// equality on the case's code at the area's level, which the region indexes serve.
fn area_condition(coverage: &Coverage) -> (String, Vec<Bind>) {
    match coverage {
        Coverage::Everywhere => (String::new(), Vec::new()),
        Coverage::Area(area) => (
            format!(" AND c.{} = ?", area_column(area.level())),
            vec![Bind::Text(area.to_string())],
        ),
    }
}

#[derive(QueryableByName)]
struct CohortRow {
    #[diesel(sql_type = Text)]
    department: String,
    #[diesel(sql_type = BigInt)]
    received: i64,
    #[diesel(sql_type = BigInt)]
    closed: i64,
    #[diesel(sql_type = BigInt)]
    closed_on_time: i64,
    #[diesel(sql_type = Nullable<Double>)]
    median_us: Option<f64>,
}

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = Text)]
    department: String,
    #[diesel(sql_type = BigInt)]
    reopened: i64,
    #[diesel(sql_type = BigInt)]
    declined: i64,
    #[diesel(sql_type = BigInt)]
    extended: i64,
}

#[derive(QueryableByName)]
struct OverdueRow {
    #[diesel(sql_type = Text)]
    department: String,
    #[diesel(sql_type = BigInt)]
    open_overdue: i64,
}

/// The cohort of a window: per department, the cases dispatched to it within the window
/// (once per case, at its first such dispatch).
///
/// `CROSS JOIN` is SQLite's way of fixing the join order (PostgreSQL plans it as any inner
/// join): the timeline's range of dispatches in the window comes first, through the index
/// on (action, at), and each reaches its case by primary key. Left to itself, SQLite
/// would rather walk every case of the region, whatever the window.
const RECEIVED: &str = "\
SELECT e.department AS department, e.case_id AS case_id, MIN(e.at) AS first_at \
FROM case_events e CROSS JOIN cases c \
WHERE c.id = e.case_id AND e.action = 'dispatch' AND e.at >= ? AND e.at < ? \
  AND e.department IS NOT NULL{area} \
GROUP BY e.department, e.case_id";

/// Received, closed, closed on time and the median time to close, per department. A case
/// of the cohort is closed for the department when it is closed and was with it at the
/// time (a case closed after 改派 counts for the department that closed it). The median is
/// the mean of the middle one or two durations, picked by row number within the
/// department (portable: SQLite has no percentile function).
fn cohort_sql(area: &str) -> String {
    format!(
        "WITH received AS ({received}), \
         outcomes AS (\
           SELECT r.department AS department, \
             CASE WHEN c.status = 'closed' AND c.department = r.department \
               THEN c.closed_at - r.first_at END AS micros, \
             CASE WHEN c.status = 'closed' AND c.department = r.department \
               AND c.closed_at <= c.due_at THEN 1 ELSE 0 END AS on_time \
           FROM received r CROSS JOIN cases c WHERE c.id = r.case_id), \
         ranked AS (\
           SELECT department, micros, \
             ROW_NUMBER() OVER (PARTITION BY department ORDER BY micros) AS rn, \
             COUNT(*) OVER (PARTITION BY department) AS n \
           FROM outcomes WHERE micros IS NOT NULL), \
         medians AS (\
           SELECT department, AVG(CAST(micros AS DOUBLE PRECISION)) AS median_us \
           FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY department), \
         counts AS (\
           SELECT department, COUNT(*) AS received, COUNT(micros) AS closed, \
             SUM(on_time) AS closed_on_time \
           FROM outcomes GROUP BY department) \
         SELECT counts.department AS department, counts.received AS received, \
           counts.closed AS closed, counts.closed_on_time AS closed_on_time, \
           medians.median_us AS median_us \
         FROM counts LEFT JOIN medians ON medians.department = counts.department",
        received = RECEIVED.replace("{area}", area),
    )
}

/// Failed verifications (返工), declines (回退) and approved extensions (延期) within the
/// window, per department concerned (the one whose work failed, that declined, or that was
/// granted the time).
fn events_sql(area: &str) -> String {
    format!(
        "SELECT e.department AS department, \
           SUM(CASE WHEN e.action = 'verify' AND e.to_status = 'dispatched' \
               THEN 1 ELSE 0 END) AS reopened, \
           SUM(CASE WHEN e.action = 'decline' THEN 1 ELSE 0 END) AS declined, \
           SUM(CASE WHEN e.action = 'approve_extension' THEN 1 ELSE 0 END) AS extended \
         FROM case_events e CROSS JOIN cases c \
         WHERE c.id = e.case_id AND e.action IN ('verify', 'decline', 'approve_extension') \
           AND e.at >= ? AND e.at < ? AND e.department IS NOT NULL{area} \
         GROUP BY e.department"
    )
}

/// Cases now with a department (dispatched or in progress) and past their due time. The
/// generated column `department_queue` is the department exactly while a case is
/// dispatched or in progress (migration 000003), and its index holds only those cases.
fn overdue_sql(area: &str) -> String {
    format!(
        "SELECT c.department_queue AS department, COUNT(*) AS open_overdue FROM cases c \
         WHERE c.department_queue IS NOT NULL AND c.due_at < ?{area} \
         GROUP BY c.department_queue"
    )
}

/// What the database counts for each department that has anything to count within the
/// coverage; a department missing from the answer counted nothing.
pub(crate) fn department_counts(
    conn: &mut Conn,
    coverage: &Coverage,
    window: Window,
    now: i64,
) -> QueryResult<HashMap<String, DepartmentCounts>> {
    let (area, area_binds) = area_condition(coverage);
    let with_window = |mut binds: Vec<Bind>| {
        binds.insert(0, Bind::I64(window.from));
        binds.insert(1, Bind::I64(window.to));
        binds
    };
    let mut out: HashMap<String, DepartmentCounts> = HashMap::new();
    let cohort: Vec<CohortRow> = run(conn, &cohort_sql(&area), &with_window(area_binds.clone()))?;
    for r in cohort {
        let entry = out.entry(r.department).or_default();
        entry.received = r.received;
        entry.closed = r.closed;
        entry.closed_on_time = r.closed_on_time;
        entry.median_close_us = r.median_us;
    }
    let events: Vec<EventRow> = run(conn, &events_sql(&area), &with_window(area_binds.clone()))?;
    for r in events {
        let entry = out.entry(r.department).or_default();
        entry.reopened = r.reopened;
        entry.declined = r.declined;
        entry.extended = r.extended;
    }
    let mut binds = vec![Bind::I64(now)];
    binds.extend(area_binds);
    let overdue: Vec<OverdueRow> = run(conn, &overdue_sql(&area), &binds)?;
    for r in overdue {
        out.entry(r.department).or_default().open_overdue = r.open_overdue;
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct CellCategoryRow {
    #[diesel(sql_type = Text)]
    cell: String,
    #[diesel(sql_type = Text)]
    category: String,
    #[diesel(sql_type = BigInt)]
    cases: i64,
}

/// Cases opened within the window, located in a cell, and not rejected (注销 or
/// duplicates are no problem found on the ground), per cell and category.
fn cells_sql(area: &str) -> String {
    format!(
        "SELECT c.cell_code AS cell, c.category AS category, COUNT(*) AS cases FROM cases c \
         WHERE c.opened_at >= ? AND c.opened_at < ? AND c.status <> 'rejected' \
           AND c.cell_code IS NOT NULL{area} \
         GROUP BY c.cell_code, c.category"
    )
}

/// Case counts by cell and category, within the coverage and the window.
pub(crate) fn cell_category_counts(
    conn: &mut Conn,
    coverage: &Coverage,
    window: Window,
) -> QueryResult<Vec<(String, String, i64)>> {
    let (area, area_binds) = area_condition(coverage);
    let mut binds = vec![Bind::I64(window.from), Bind::I64(window.to)];
    binds.extend(area_binds);
    let rows: Vec<CellCategoryRow> = run(conn, &cells_sql(&area), &binds)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.cell, r.category, r.cases))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;
    use crate::db::testing::{plan, TestDb};
    use crate::region::RegionCode;

    /// The statistics stay fast with 100,000 cases because no query reads a whole table:
    /// each starts from a range of an index (the dispatches, verifications, ... of the
    /// window on the timeline; the region and opening time of cases) and reaches cases by
    /// primary key. `statistics_of_100000_cases` below times them on such a database.
    #[test]
    fn no_statistic_scans_a_whole_table_on_sqlite() {
        let db = TestDb::sqlite();
        let c = &mut *db.sqlite_conn();
        let town = Coverage::Area(RegionCode::parse("44060501100000").unwrap());
        let (area, _) = area_condition(&town);
        for sql in [
            cohort_sql(&area),
            events_sql(&area),
            overdue_sql(&area),
            cells_sql(&area),
        ] {
            let p = plan(c, &sql);
            for step in p.split("; ") {
                for table in ["c", "e", "cases", "case_events"] {
                    assert!(
                        !step.starts_with(&format!("SCAN {table} "))
                            && step != format!("SCAN {table}"),
                        "a full scan of {table}: {p}\n{sql}"
                    );
                }
            }
        }
        // The timeline is entered by action and window, never walked case by case.
        for sql in [cohort_sql(&area), events_sql(&area)] {
            let p = plan(c, &sql);
            assert!(
                p.contains(
                    "SEARCH e USING INDEX case_events_action_at (action=? AND at>? AND at<?)"
                ),
                "{p}"
            );
        }
    }

    /// Fills `conn` with `n` cases over the year before `end`, each with the timeline of a
    /// case claimed, dispatched, started, resolved and (mostly) closed: about 6n events.
    fn fill(conn: &mut Conn, n: i64, end: i64) {
        let year: i64 = 365 * 24 * 3_600_000_000;
        let hour: i64 = 3_600_000_000;
        let script = format!(
            "INSERT INTO departments (code, name_zh, name_en, change_seq) \
               SELECT 'dept' || CAST(k AS TEXT), 'd', 'd', 0 FROM \
               (WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k < 15) \
                SELECT k FROM s) AS ks; \
             INSERT INTO cases (source, category, title, description, lon, lat, cell_code, \
               community_code, town_code, district_code, tier, department, priority, status, \
               due_at, opened_at, updated_at, closed_at, change_seq) \
             SELECT 'manual', 'cat' || CAST(n % 12 AS TEXT), 't', '', 113.1, 23.0, \
               town || '00' || CAST((n / 3) % 3 + 1 AS TEXT) || '0' || CAST((n / 9) % 9 + 1 AS TEXT), \
               town || '00' || CAST((n / 3) % 3 + 1 AS TEXT) || '00', town || '00000', \
               '44060500000000', 'town', 'dept' || CAST(n % 16 AS TEXT), 'medium', \
               CASE WHEN n % 10 < 8 THEN 'closed' WHEN n % 10 = 8 THEN 'in_progress' \
                    ELSE 'dispatched' END, \
               t + 72 * {hour}, t, t, \
               CASE WHEN n % 10 < 8 THEN t + (6 + n % 100) * {hour} END, 0 \
             FROM (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) \
                   SELECT n, {start} + CAST(n AS BIGINT) * {step} AS t, \
                     CASE n % 3 WHEN 0 THEN '440605011' WHEN 1 THEN '440605125' \
                       ELSE '440605126' END AS town FROM s) AS g; \
             INSERT INTO case_events (case_id, at, actor_role, action, from_status, to_status, \
               from_tier, to_tier, department, photos, details) \
             SELECT c.id, c.opened_at + a.k * {hour}, 'dispatcher', a.action, NULL, a.action, \
               'town', 'town', c.department, '[]', '{{}}' \
             FROM cases c CROSS JOIN (SELECT 0 AS k, 'open' AS action UNION ALL \
               SELECT 1, 'claim' UNION ALL SELECT 2, 'dispatch' UNION ALL SELECT 3, 'start' \
               UNION ALL SELECT 5, 'resolve') AS a; \
             INSERT INTO case_events (case_id, at, actor_role, action, from_status, to_status, \
               from_tier, to_tier, department, photos, details) \
             SELECT id, closed_at, 'inspector', 'verify', 'resolved', 'closed', 'town', 'town', \
               department, '[]', '{{}}' FROM cases WHERE closed_at IS NOT NULL;",
            start = end - year,
            step = year / n,
        );
        crate::db_run!(conn, |c| {
            diesel::connection::SimpleConnection::batch_execute(c, &script)
        })
        .expect("fill");
        crate::db_run!(conn, |c| {
            diesel::connection::SimpleConnection::batch_execute(c, "ANALYZE")
        })
        .expect("analyze");
    }

    /// Times the statistics on 100,000 cases (about 600,000 timeline events), on SQLite and,
    /// when GRIDPATROL_TEST_PG_URL is set, on PostgreSQL. Not a timed test: it prints, so
    /// that a change that makes them slow is seen. Run with
    /// `cargo test --release --lib statistics_of_100000_cases -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn statistics_of_100000_cases() {
        let end = crate::clock::now();
        let dir = tempfile::tempdir().unwrap();
        let mut urls = vec![dir.path().join("big.sqlite").display().to_string()];
        let mut cleanup = None;
        if let Ok(admin) = std::env::var("GRIDPATROL_TEST_PG_URL") {
            let name = format!("gp_stats_{}", uuid::Uuid::new_v4().simple());
            let mut c = diesel::PgConnection::establish(&admin).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .unwrap();
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            urls.push(format!("{base}/{name}"));
            cleanup = Some((admin.clone(), name));
        }
        for url in &urls {
            let pool = db::Pool::open(url, 2).unwrap();
            pool.migrate().unwrap();
            let mut conn = pool.get().unwrap();
            let started = std::time::Instant::now();
            fill(&mut conn, 100_000, end);
            eprintln!("{:?}: filled in {:?}", conn.backend(), started.elapsed());
            let day = 24 * 3_600_000_000;
            let town = Coverage::Area(RegionCode::parse("44060501100000").unwrap());
            let community = Coverage::Area(RegionCode::parse("44060501100100").unwrap());
            for (what, coverage) in [
                ("everywhere", &Coverage::Everywhere),
                ("a town", &town),
                ("a community", &community),
            ] {
                for days in [30, 365] {
                    let window = Window {
                        from: end - days * day,
                        to: end,
                    };
                    let t = std::time::Instant::now();
                    let counts = department_counts(&mut conn, coverage, window, end).unwrap();
                    let received: i64 = counts.values().map(|c| c.received).sum();
                    let departments = t.elapsed();
                    let (area, binds) = area_condition(coverage);
                    let mut parts = Vec::new();
                    for (name, sql, windowed) in [
                        ("cohort", cohort_sql(&area), true),
                        ("events", events_sql(&area), true),
                        ("overdue", overdue_sql(&area), false),
                    ] {
                        let mut all = match windowed {
                            true => vec![Bind::I64(window.from), Bind::I64(window.to)],
                            false => vec![Bind::I64(end)],
                        };
                        all.extend(binds.clone());
                        let t = std::time::Instant::now();
                        match name {
                            "cohort" => run::<CohortRow>(&mut conn, &sql, &all).map(|_| ()),
                            "events" => run::<EventRow>(&mut conn, &sql, &all).map(|_| ()),
                            _ => run::<OverdueRow>(&mut conn, &sql, &all).map(|_| ()),
                        }
                        .unwrap();
                        parts.push(format!("{name} {:?}", t.elapsed()));
                    }
                    eprintln!("  parts: {}", parts.join(", "));
                    let t = std::time::Instant::now();
                    let cells = cell_category_counts(&mut conn, coverage, window).unwrap();
                    eprintln!(
                        "{:?} {what}, {days} days: departments {departments:?} ({received} \
                         received), cells {:?} ({} rows)",
                        conn.backend(),
                        t.elapsed(),
                        cells.len()
                    );
                }
            }
        }
        if let Some((admin, name)) = cleanup {
            let mut c = diesel::PgConnection::establish(&admin).unwrap();
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c);
        }
    }
}
