//! Database access for both backends: the pool, the connection enum and the migrations.
//!
//! One code path serves SQLite and PostgreSQL in the way Vaultwarden does it: a pool enum,
//! and the `db_run!` macro that expands a block of ordinary diesel code once per backend
//! with the concrete connection type. Transactions wrap `Conn` itself (`Conn::write`), so
//! stores compose inside them. Only where the SQL really differs does a store match on
//! the backend itself.
//!
//! This module must not know any domain: stores live beside their domain.

pub(crate) mod batch;
pub(crate) mod cached;
pub mod schema;
#[cfg(test)]
pub(crate) mod testing;
mod text;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::web::error::ApiResult;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

pub(crate) type SqlitePool = diesel::r2d2::Pool<ConnectionManager<SqliteConnection>>;
pub(crate) type PgPool = diesel::r2d2::Pool<ConnectionManager<PgConnection>>;

#[derive(Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

pub enum Conn {
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    Pg(PooledConnection<ConnectionManager<PgConnection>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Pg,
}

/// PostgreSQL's change sequence number for a row written now (see [`next_change_seq`]), as
/// SQL; a macro so that statements which stamp along with other work build on one spelling.
#[macro_export]
macro_rules! pg_change_seq {
    () => {
        "pg_current_xact_id()::text::bigint"
    };
}

/// Runs a block of diesel code on whichever backend `conn` holds; inside, `$c` is a
/// `&mut SqliteConnection` or `&mut PgConnection`.
#[macro_export]
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite(pooled) => {
                let $c: &mut diesel::SqliteConnection = &mut *pooled;
                $body
            }
            $crate::db::Conn::Pg(pooled) => {
                let $c: &mut diesel::PgConnection = &mut *pooled;
                $body
            }
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "unsupported database URL {0:?}: use postgres://... or a SQLite file path (sqlite://path)"
    )]
    BadUrl(String),
    #[error("could not open the database: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("could not open the database: {0}")]
    Open(String),
    #[error("could not create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

/// Pragmas applied to every SQLite connection. WAL lets readers run beside the writer;
/// synchronous=FULL makes every acknowledged commit survive a power cut; the busy timeout
/// makes concurrent writers wait instead of failing.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // busy_timeout first, so that the pragmas after it wait for a lock instead of
        // failing while other connections of the pool open at the same moment. No mmap:
        // each connection maps the file apart, and the faults of random lookups over a big
        // enterprise library cost more than pread (the licence check was slower with it).
        // The checkpoint threshold is small on purpose: see db::batch::checkpointer.
        conn.batch_execute(
            "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = 2000;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Where a database URL points, decided once from its scheme.
pub(crate) fn backend_of(url: &str) -> Backend {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Backend::Pg
    } else {
        Backend::Sqlite
    }
}

fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

impl Pool {
    pub fn open(url: &str, size: u32) -> Result<Pool, DbError> {
        match backend_of(url) {
            Backend::Pg => {
                let manager = ConnectionManager::<PgConnection>::new(url);
                // No `SELECT 1` on every checkout: it was a round trip per request. A
                // connection PostgreSQL dropped fails its next query instead; diesel marks
                // it broken and r2d2 replaces it, and the client's retry is idempotent.
                let pool = diesel::r2d2::Pool::builder()
                    .max_size(size)
                    .connection_timeout(Duration::from_secs(10))
                    .test_on_check_out(false)
                    .build(manager)?;
                Ok(Pool::Pg(pool))
            }
            Backend::Sqlite => {
                let path = sqlite_path(url);
                if path.is_empty() || path.starts_with("mysql:") {
                    return Err(DbError::BadUrl(url.to_string()));
                }
                if let Some(dir) = std::path::Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| DbError::DataDir(dir.display().to_string(), e))?;
                    }
                }
                // WAL is a property of the file, and turning it on needs the file alone. Done
                // here, before the pool opens its connections side by side; otherwise one of
                // them finds a new file locked by another's switch and r2d2 logs an error.
                let mut first =
                    SqliteConnection::establish(path).map_err(|e| DbError::Open(e.to_string()))?;
                SqlitePragmas
                    .on_acquire(&mut first)
                    .map_err(|e| DbError::Open(e.to_string()))?;
                let manager = ConnectionManager::<SqliteConnection>::new(path);
                let pool = diesel::r2d2::Pool::builder()
                    .max_size(size)
                    .connection_timeout(Duration::from_secs(15))
                    // A file connection cannot drop; the checkout ping was pure cost.
                    .test_on_check_out(false)
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(manager)?;
                Ok(Pool::Sqlite(pool))
            }
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Pg(_) => Backend::Pg,
        }
    }

    pub fn get(&self) -> Result<Conn, diesel::r2d2::PoolError> {
        Ok(match self {
            Pool::Sqlite(p) => Conn::Sqlite(p.get()?),
            Pool::Pg(p) => Conn::Pg(p.get()?),
        })
    }

    /// Applies every pending embedded migration of this backend.
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.get()?;
        let applied = match &mut conn {
            Conn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect()),
            Conn::Pg(c) => c
                .run_pending_migrations(PG_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect()),
        };
        applied.map_err(|e| DbError::Migration(e.to_string()))
    }
}

impl Conn {
    /// Which backend this connection talks to.
    #[cfg(test)]
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Pg(_) => Backend::Pg,
        }
    }

    /// Runs `f` in a write transaction: committed when `f` returns Ok, rolled back
    /// otherwise. At top level on SQLite it begins IMMEDIATE, taking the write lock up
    /// front: a deferred transaction that reads and then writes can fail with SQLITE_BUSY
    /// halfway, where the busy timeout no longer helps. Inside another transaction (a
    /// group-commit batch, or a store calling a store) it is a savepoint, so that one
    /// failed piece of work is undone without touching the rest. Stores inside `f` keep
    /// taking `&mut Conn`, so they compose without knowing which backend runs them.
    pub fn write<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let nested = self.in_transaction()?;
        match (&mut *self, nested) {
            (Conn::Sqlite(c), false) => {
                AnsiTransactionManager::begin_transaction_sql(&mut **c, "BEGIN IMMEDIATE")?
            }
            (Conn::Sqlite(c), true) => AnsiTransactionManager::begin_transaction(&mut **c)?,
            (Conn::Pg(c), _) => AnsiTransactionManager::begin_transaction(&mut **c)?,
        }
        let outcome = f(self);
        let finish = match (&outcome, &mut *self) {
            (Ok(_), Conn::Sqlite(c)) => AnsiTransactionManager::commit_transaction(&mut **c),
            (Ok(_), Conn::Pg(c)) => AnsiTransactionManager::commit_transaction(&mut **c),
            (Err(_), Conn::Sqlite(c)) => AnsiTransactionManager::rollback_transaction(&mut **c),
            (Err(_), Conn::Pg(c)) => AnsiTransactionManager::rollback_transaction(&mut **c),
        };
        match (outcome, finish) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(commit_error)) => {
                // diesel leaves the transaction open when COMMIT fails; end it so that the
                // pooled connection is clean for the next user.
                if self.in_transaction().unwrap_or(false) {
                    let _ = self.rollback();
                }
                Err(commit_error.into())
            }
            (Err(e), _) => Err(e),
        }
    }

    /// Whether a transaction (or savepoint) is open on this connection.
    pub(crate) fn in_transaction(&mut self) -> QueryResult<bool> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let depth =
            match self {
                Conn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(&mut **c)
                    .transaction_depth(),
                Conn::Pg(c) => AnsiTransactionManager::transaction_manager_status_mut(&mut **c)
                    .transaction_depth(),
            }?;
        Ok(depth.is_some())
    }

    /// Rolls back the innermost open transaction or savepoint.
    pub(crate) fn rollback(&mut self) -> QueryResult<()> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        match self {
            Conn::Sqlite(c) => AnsiTransactionManager::rollback_transaction(&mut **c),
            Conn::Pg(c) => AnsiTransactionManager::rollback_transaction(&mut **c),
        }
    }

    /// Opens a top-level write transaction by hand (the group-commit writer does; stores
    /// use `write`).
    pub(crate) fn begin(&mut self) -> QueryResult<()> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        match self {
            Conn::Sqlite(c) => {
                AnsiTransactionManager::begin_transaction_sql(&mut **c, "BEGIN IMMEDIATE")
            }
            Conn::Pg(c) => AnsiTransactionManager::begin_transaction(&mut **c),
        }
    }

    pub(crate) fn commit(&mut self) -> QueryResult<()> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        match self {
            Conn::Sqlite(c) => AnsiTransactionManager::commit_transaction(&mut **c),
            Conn::Pg(c) => AnsiTransactionManager::commit_transaction(&mut **c),
        }
    }
}

/// The database as the service uses it: the pool for reads, and the way writes are made
/// durable (group commit on SQLite, a transaction of their own on PostgreSQL). Cloning it
/// clones handles, never data.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// The group-commit writer; SQLite only (see `batch`).
    writer: Option<batch::GroupCommit>,
}

impl Db {
    /// Wraps an opened, migrated pool; on SQLite this starts the writer thread.
    pub(crate) fn new(pool: Pool) -> Db {
        let writer = match pool.backend() {
            Backend::Sqlite => Some(batch::GroupCommit::start(pool.clone())),
            Backend::Pg => None,
        };
        Db { pool, writer }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(crate) fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Runs blocking database work on actix's blocking pool, never on the executor.
    pub(crate) async fn run<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut Conn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await?
    }

    /// Runs a read of a few pages by unique key. On SQLite, with a connection idle, it runs
    /// right here on the worker: handing it to the blocking pool and back costs two thread
    /// switches, more than the read itself. Anything longer, and every PostgreSQL round
    /// trip, goes to the pool.
    pub(crate) async fn quick_read<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce(&mut Conn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        if let Pool::Sqlite(pool) = &self.pool {
            if let Some(idle) = pool.try_get() {
                return work(&mut Conn::Sqlite(idle));
            }
        }
        self.run(work).await
    }

    /// Runs one unit of write work in its own transaction (part of a group commit on
    /// SQLite, where it may run twice: see `batch`), answering only after it is durable.
    pub(crate) async fn write<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: Fn(&mut Conn) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.submit(work).await,
            None => self.run(move |conn| conn.write(work)).await,
        }
    }

    /// Appends rows that are only ever appended; answers once they are durable. On SQLite
    /// the writer appends every waiting row of a batch in one statement; on PostgreSQL one
    /// INSERT, atomic without a transaction.
    pub(crate) async fn append<R: batch::Appendable>(&self, rows: Vec<R>) -> ApiResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        match &self.writer {
            Some(writer) => writer.append(rows).await,
            None => self.run(move |conn| Ok(R::append(conn, &rows)?)).await,
        }
    }
}

/// Stamps a change to a row that handhelds sync; must run inside the write transaction of
/// that row. See docs/sync.md: a pull reads `change_seq >= cursor AND change_seq <
/// sync_watermark()`, and neither backend can let it skip a row that commits late.
///
/// SQLite: the next value of the one-row `sync_counter`. Writers are serialised, so
///   sequence order is commit order.
/// PostgreSQL: the id of the writing transaction (`pg_current_xact_id()`). Ids are not in
///   commit order, so the watermark is the oldest transaction still running: every id below
///   it is settled. No lock is taken, so concurrent writers do not queue behind a counter.
pub(crate) fn next_change_seq(conn: &mut Conn) -> QueryResult<i64> {
    use diesel::sql_types::BigInt;
    match conn {
        Conn::Sqlite(c) => cached::Sql::<BigInt>::new(
            "UPDATE sync_counter SET value = value + 1 WHERE id = 1 RETURNING value",
        )
        .get_result(&mut **c),
        Conn::Pg(c) => cached::Sql::<BigInt>::new(concat!("SELECT ", crate::pg_change_seq!()))
            .get_result(&mut **c),
    }
}

/// The exclusive upper bound of change sequence numbers a pull may hand out now: every row
/// stamped below it has committed or never will.
pub fn sync_watermark(conn: &mut Conn) -> QueryResult<i64> {
    use diesel::sql_types::BigInt;
    match conn {
        Conn::Sqlite(c) => {
            use schema::sync_counter::dsl::*;
            Ok(sync_counter.select(value).first::<i64>(&mut **c)? + 1)
        }
        Conn::Pg(c) => diesel::select(diesel::dsl::sql::<BigInt>(
            "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        ))
        .get_result(&mut **c),
    }
}

/// Reads a value of the small key/value settings table.
pub(crate) fn setting(conn: &mut Conn, name: &str) -> QueryResult<Option<String>> {
    use schema::settings::dsl::*;
    db_run!(conn, |c| settings
        .filter(key.eq(name))
        .select(value)
        .first(c)
        .optional())
}

/// Writes a setting (insert or replace).
pub(crate) fn set_setting(conn: &mut Conn, name: &str, new_value: &str) -> QueryResult<()> {
    use schema::settings::dsl::*;
    db_run!(conn, |c| diesel::insert_into(settings)
        .values((key.eq(name), value.eq(new_value)))
        .on_conflict(key)
        .do_update()
        .set(value.eq(new_value))
        .execute(c))?;
    Ok(())
}

/// Answers whether the database responds (for /readyz).
pub(crate) fn ping(conn: &mut Conn) -> QueryResult<()> {
    db_run!(conn, |c| c.batch_execute("SELECT 1"))
}
