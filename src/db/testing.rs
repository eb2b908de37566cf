//! What unit tests that need a database share: a fresh, migrated SQLite file in a
//! temporary directory, and SQLite's query plan of a statement.

use diesel::r2d2::{ConnectionManager, PooledConnection};
use diesel::sql_types::{Nullable, Text};
use diesel::sqlite::Sqlite;
use diesel::{QueryableByName, RunQueryDsl, SqliteConnection};

use crate::db::{Conn, Pool};

/// A migrated SQLite database that lives as long as this value.
pub(crate) struct TestDb {
    pub pool: Pool,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub(crate) fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("test.sqlite").display().to_string();
        let pool = Pool::open(&path, 2).expect("open SQLite");
        pool.migrate().expect("migrate");
        TestDb { pool, _dir: dir }
    }

    pub(crate) fn conn(&self) -> Conn {
        self.pool.get().expect("a connection")
    }

    /// A connection as SQLite itself, for plans and raw statements.
    pub(crate) fn sqlite_conn(&self) -> PooledConnection<ConnectionManager<SqliteConnection>> {
        match self.conn() {
            Conn::Sqlite(c) => c,
            Conn::Pg(_) => unreachable!("a SQLite path"),
        }
    }
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// SQLite's plan for `sql` (each `?` bound to NULL), its steps joined by "; ".
pub(crate) fn plan(c: &mut SqliteConnection, sql: &str) -> String {
    let mut explain = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).into_boxed::<Sqlite>();
    for _ in 0..sql.matches('?').count() {
        explain = explain.bind::<Nullable<Text>, _>(None::<String>);
    }
    let lines: Vec<PlanLine> = explain.load(c).expect("explain");
    lines
        .into_iter()
        .map(|l| l.detail)
        .collect::<Vec<_>>()
        .join("; ")
}
