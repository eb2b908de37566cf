//! Group commit for SQLite. With `synchronous=FULL` every commit waits for an fsync of the
//! WAL; one commit per request caps ingest at the disk's fsync rate. Instead one writer
//! thread takes every write job that is waiting, runs them all inside one transaction,
//! commits once, and only then answers each job: every acknowledgement still follows a
//! durable commit.
//!
//! A failing job must be undone alone. Jobs run first without savepoints: a savepoint makes
//! SQLite copy every page a job first touches into a sub-journal, a cost paid on every job,
//! and jobs almost never fail. When one does, the whole batch is rolled back
//! and run again with a savepoint per job, so the failing job is undone alone and the rest
//! commit. Jobs are therefore `Fn`: running one twice from the same database state must do
//! the same thing.
//!
//! Rows that are only ever appended (audit records, one per lookup of enterprise or
//! personal data, the commonest write) take a cheaper path: the writer gathers every row
//! waiting and writes them through their [`Appendable`] type, once per batch and without a
//! savepoint (one statement is atomic by itself).
//!
//! PostgreSQL needs none of this: it groups concurrent commits in its WAL writer, so there
//! each job runs in its own transaction on the blocking pool.

use std::any::{Any, TypeId};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use tokio::sync::oneshot;

use diesel::QueryResult;

use crate::db::{Conn, Pool};
use crate::web::error::{ApiError, ApiResult};

/// At most this many jobs share one commit, so that one batch cannot hold the write lock
/// (and delay readers' checkpoints) for long.
const MAX_BATCH: usize = 256;

/// Rows that are only ever appended, and how a batch of them is written: in one atomic
/// statement (or a few), so that they need no savepoint.
pub(crate) trait Appendable: Sized + Send + 'static {
    fn append(conn: &mut Conn, rows: &[Self]) -> QueryResult<()>;
}

trait Job: Send {
    /// Runs the work, in a savepoint of its own when `alone`; answers whether it succeeded.
    fn run(&mut self, conn: &mut Conn, alone: bool) -> bool;
    fn finish(self: Box<Self>, committed: Result<(), ApiError>);
}

struct Typed<T, F> {
    work: F,
    result: Option<ApiResult<T>>,
    reply: oneshot::Sender<ApiResult<T>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: Fn(&mut Conn) -> ApiResult<T> + Send + 'static,
{
    fn run(&mut self, conn: &mut Conn, alone: bool) -> bool {
        let result = match alone {
            true => conn.write(&self.work),
            false => (self.work)(conn),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), ApiError>) {
        let answer = match committed {
            Ok(()) => self.result.unwrap_or_else(|| Err(ApiError::internal())),
            Err(e) => Err(e),
        };
        // The requester may have gone (client hung up); the write stands all the same.
        let _ = self.reply.send(answer);
    }
}

/// Rows of one [`Appendable`] type waiting in a batch, with their type erased so that the
/// writer knows no domain.
trait Rows: Send {
    fn kind(&self) -> TypeId;
    fn absorb(&mut self, other: Box<dyn Any>);
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    fn write(&self, conn: &mut Conn) -> QueryResult<()>;
    fn count(&self) -> usize;
}

impl<R: Appendable> Rows for Vec<R> {
    fn kind(&self) -> TypeId {
        TypeId::of::<R>()
    }
    fn absorb(&mut self, other: Box<dyn Any>) {
        if let Ok(more) = other.downcast::<Vec<R>>() {
            self.extend(*more);
        }
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
    fn write(&self, conn: &mut Conn) -> QueryResult<()> {
        R::append(conn, self)
    }
    fn count(&self) -> usize {
        self.len()
    }
}

enum Work {
    Job(Box<dyn Job>),
    /// Rows to append, and who waits for them.
    Append(Box<dyn Rows>, oneshot::Sender<ApiResult<()>>),
}

/// The handle through which requests hand write jobs (and rows to append) to the writer
/// thread.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Work>,
}

impl GroupCommit {
    pub(crate) fn start(pool: Pool) -> GroupCommit {
        let (queue, jobs) = mpsc::channel::<Work>();
        let (kick, kicks) = mpsc::channel::<()>();
        let checkpoints = pool.clone();
        std::thread::Builder::new()
            .name("gridpatrol-writer".into())
            .spawn(move || writer(pool, jobs, kick))
            .expect("spawn the writer thread");
        std::thread::Builder::new()
            .name("gridpatrol-checkpoint".into())
            .spawn(move || checkpointer(checkpoints, kicks))
            .expect("spawn the checkpoint thread");
        GroupCommit { queue }
    }

    /// Runs `work` in the next batch; it may run twice (see the module's comment).
    pub(crate) async fn submit<T, F>(&self, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut Conn) -> ApiResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Typed {
            work,
            result: None,
            reply,
        });
        self.send(Work::Job(job), answer).await
    }

    /// Appends rows; answers once they are durable.
    pub(crate) async fn append<R: Appendable>(&self, rows: Vec<R>) -> ApiResult<()> {
        let (reply, answer) = oneshot::channel();
        self.send(Work::Append(Box::new(rows), reply), answer).await
    }

    async fn send<T>(&self, work: Work, answer: oneshot::Receiver<ApiResult<T>>) -> ApiResult<T> {
        let stopped = || ApiError::unavailable("the writer has stopped");
        self.queue.send(work).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn writer(pool: Pool, queue: mpsc::Receiver<Work>, kick: mpsc::Sender<()>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = Vec::new();
        let mut rows: Vec<Box<dyn Rows>> = Vec::new();
        let mut waiting = Vec::new();
        let mut take = |work: Work| match work {
            Work::Job(job) => jobs.push(job),
            Work::Append(more, reply) => {
                match rows.iter_mut().find(|r| r.kind() == more.kind()) {
                    Some(same) => same.absorb(more.into_any()),
                    None => rows.push(more),
                }
                waiting.push(reply);
            }
        };
        take(first);
        for _ in 1..MAX_BATCH {
            match queue.try_recv() {
                Ok(work) => take(work),
                Err(_) => break,
            }
        }
        let (outcome, appended) = run_batch(&pool, &mut jobs, &rows);
        for job in jobs {
            job.finish(outcome.clone());
        }
        for reply in waiting {
            let _ = reply.send(appended.clone());
        }
        let _ = kick.send(());
    }
}

/// Copies the WAL back into the database file in the background, so that the writer's
/// commits pay for little of it. A PASSIVE pass never blocks the writer, but under steady
/// writes it never finishes either: it copies the frames there when it began while newer
/// ones arrive, and the WAL restarts from its beginning only after a checkpoint that left
/// nothing behind. That one is SQLite's automatic checkpoint inside the writer's commit at
/// `wal_autocheckpoint` pages, which then has only the frames since this thread's last
/// pass to copy. So passes are frequent and the threshold small: otherwise that commit
/// copies most of the WAL itself, and the tail of report latency grows with the database
/// (BENCHMARKS.md, fourth session). Passes run only after commits, and end with the writer.
fn checkpointer(pool: Pool, kicks: mpsc::Receiver<()>) {
    use diesel::connection::SimpleConnection;
    while kicks.recv().is_ok() {
        std::thread::sleep(std::time::Duration::from_millis(20));
        while kicks.try_recv().is_ok() {}
        if let Ok(crate::db::Conn::Sqlite(mut c)) = pool.get() {
            if let Err(e) = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                log::warn!("background checkpoint: {e}");
            }
        }
    }
}

/// Runs one batch in one transaction: the appended rows first (if that fails only the
/// appends fail), then the jobs, without savepoints; if a job fails, the batch again with a
/// savepoint per job. Answers the outcome for the jobs and the outcome for the appends.
fn run_batch(
    pool: &Pool,
    batch: &mut [Box<dyn Job>],
    rows: &[Box<dyn Rows>],
) -> (Result<(), ApiError>, Result<(), ApiError>) {
    let opened = pool.get().map_err(ApiError::from).and_then(|mut conn| {
        conn.begin()?;
        Ok(conn)
    });
    let mut conn = match opened {
        Ok(conn) => conn,
        Err(e) => return (Err(e.clone()), Err(e)),
    };
    let mut alone = false;
    let appended = loop {
        let appended = rows.iter().try_for_each(|r| {
            r.write(&mut conn).map_err(|e| {
                log::error!("appending {} rows failed: {e}", r.count());
                ApiError::unavailable("the database could not append; retry the request")
            })
        });
        let ran = catch_unwind(AssertUnwindSafe(|| {
            let mut clean = true;
            for job in batch.iter_mut() {
                if !job.run(&mut conn, alone) {
                    clean = false;
                    if !alone {
                        // Without savepoints the batch runs again anyway.
                        break;
                    }
                }
            }
            clean
        }));
        match ran {
            Err(_) => {
                log::error!(
                    "a write job panicked; its batch of {} is rolled back",
                    batch.len()
                );
                // Unwind every savepoint the panic left open, then the batch itself.
                while conn.in_transaction().unwrap_or(false) {
                    if conn.rollback().is_err() {
                        break;
                    }
                }
                return (Err(ApiError::internal()), Err(ApiError::internal()));
            }
            Ok(false) if !alone => {
                // A job failed with its writes mixed into the batch's: undo them all and run
                // the batch again, each job in its own savepoint.
                if let Err(e) = conn.rollback().and_then(|()| conn.begin()) {
                    log::error!("restarting a batch of {} jobs failed: {e}", batch.len());
                    let _ = conn.rollback();
                    let e =
                        ApiError::unavailable("the database could not write; retry the request");
                    return (Err(e.clone()), Err(e));
                }
                alone = true;
            }
            Ok(_) => break appended,
        }
    };
    let committed = conn.commit().map_err(|e| {
        log::error!(
            "group commit of {} jobs and {} appended rows failed: {e}",
            batch.len(),
            rows.iter().map(|r| r.count()).sum::<usize>()
        );
        let _ = conn.rollback();
        ApiError::unavailable("the database could not commit; retry the request")
    });
    let appended = appended.and(committed.clone());
    (committed, appended)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use diesel::connection::SimpleConnection;
    use diesel::RunQueryDsl;

    use super::*;
    use crate::db::cached::Sql;
    use crate::db::testing::TestDb;

    fn patrol_log() -> TestDb {
        let db = TestDb::sqlite();
        db.sqlite_conn()
            .batch_execute("CREATE TABLE patrol_log (n INTEGER PRIMARY KEY)")
            .unwrap();
        db
    }

    fn log(conn: &mut Conn, n: i64) -> ApiResult<()> {
        crate::db_run!(conn, |c| Sql::<()>::new(
            "INSERT INTO patrol_log (n) VALUES (?)"
        )
        .bind(n)
        .execute(c))?;
        Ok(())
    }

    /// Jobs that fail after writing (by their own refusal, or on a unique key) share a batch
    /// with jobs that succeed: their writes are undone, everyone else's commit, and each
    /// job is answered its own outcome.
    #[test]
    fn a_failing_job_is_undone_alone() {
        let db = patrol_log();
        let pool = db.pool.clone();
        let writer = GroupCommit::start(pool.clone());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        // The first job holds the writer, so that the others queue up and share a batch.
        let first = rt.spawn({
            let writer = writer.clone();
            async move {
                writer
                    .submit(|c| {
                        std::thread::sleep(Duration::from_millis(300));
                        log(c, 0)
                    })
                    .await
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        // Job 7 writes and then refuses; jobs 3 and 103 both write row 3.
        let jobs: Vec<_> = (1..=20)
            .chain([103])
            .map(|n: i64| {
                let writer = writer.clone();
                rt.spawn(async move {
                    let answer = writer
                        .submit(move |c| {
                            log(c, n % 100)?;
                            match n {
                                7 => Err(ApiError::bad_request("refused after writing")),
                                _ => Ok(n),
                            }
                        })
                        .await;
                    (n, answer)
                })
            })
            .collect();
        assert!(rt.block_on(first).unwrap().is_ok());
        let answers: Vec<(i64, ApiResult<i64>)> =
            jobs.into_iter().map(|j| rt.block_on(j).unwrap()).collect();
        for (n, answer) in &answers {
            match n {
                7 => assert!(answer.is_err(), "job 7 refused"),
                3 | 103 => {}
                _ => assert_eq!(answer.as_ref().ok(), Some(n)),
            }
        }
        let threes = answers
            .iter()
            .filter(|(n, a)| n % 100 == 3 && a.is_ok())
            .count();
        assert_eq!(threes, 1, "one of the two writers of row 3 wins");
        let Conn::Sqlite(mut c) = pool.get().unwrap() else {
            unreachable!()
        };
        let stored: Vec<i64> =
            Sql::<diesel::sql_types::BigInt>::new("SELECT n FROM patrol_log ORDER BY n")
                .load(&mut *c)
                .unwrap();
        let expected: Vec<i64> = (0..=20).filter(|&n| n != 7).collect();
        assert_eq!(stored, expected);
    }
}
