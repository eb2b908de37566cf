//! Group commit for SQLite. With `synchronous=FULL` every commit waits for an fsync of the
//! WAL; one commit per request caps ingest at the disk's fsync rate. Instead one writer
//! thread takes every write job that is waiting, runs each in its own savepoint inside one
//! transaction, commits once, and only then answers each job: every acknowledgement still
//! follows a durable commit, and a failing job is undone alone.
//!
//! Rows that are only ever appended (audit records, one per lookup of enterprise or
//! personal data, the commonest write) take a cheaper path: the writer gathers every row
//! waiting and hands them to the append function it was started with, once per batch and
//! without a savepoint (one statement is atomic by itself).
//!
//! PostgreSQL needs none of this: it groups concurrent commits in its WAL writer, so there
//! each job runs in its own transaction on the blocking pool.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use tokio::sync::oneshot;

use diesel::QueryResult;

use crate::db::{Conn, Pool};
use crate::error::{ApiError, ApiResult};

/// At most this many jobs share one commit, so that one batch cannot hold the write lock
/// (and delay readers' checkpoints) for long.
const MAX_BATCH: usize = 256;

trait Job: Send {
    fn run(&mut self, conn: &mut Conn);
    fn finish(self: Box<Self>, committed: Result<(), ApiError>);
}

struct Typed<T, F> {
    work: Option<F>,
    result: Option<ApiResult<T>>,
    reply: oneshot::Sender<ApiResult<T>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Conn) -> ApiResult<T> + Send + 'static,
{
    fn run(&mut self, conn: &mut Conn) {
        if let Some(work) = self.work.take() {
            self.result = Some(conn.write(work));
        }
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

enum Work<R> {
    Job(Box<dyn Job>),
    /// Rows to append, and who waits for them.
    Append(Vec<R>, oneshot::Sender<ApiResult<()>>),
}

/// Writes a batch's appended rows inside its transaction.
pub type AppendFn<R> = fn(&mut Conn, &[R]) -> QueryResult<()>;

/// The handle through which requests hand write jobs (and rows of type `R` to append) to
/// the writer thread.
pub struct GroupCommit<R> {
    queue: mpsc::Sender<Work<R>>,
}

impl<R> Clone for GroupCommit<R> {
    fn clone(&self) -> Self {
        GroupCommit {
            queue: self.queue.clone(),
        }
    }
}

impl<R: Send + 'static> GroupCommit<R> {
    pub fn start(pool: Pool, append: AppendFn<R>) -> GroupCommit<R> {
        let (queue, jobs) = mpsc::channel::<Work<R>>();
        let (kick, kicks) = mpsc::channel::<()>();
        let checkpoints = pool.clone();
        std::thread::Builder::new()
            .name("gridpatrol-writer".into())
            .spawn(move || writer(pool, jobs, append, kick))
            .expect("spawn the writer thread");
        std::thread::Builder::new()
            .name("gridpatrol-checkpoint".into())
            .spawn(move || checkpointer(checkpoints, kicks))
            .expect("spawn the checkpoint thread");
        GroupCommit { queue }
    }

    pub async fn submit<T, F>(&self, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> ApiResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Typed {
            work: Some(work),
            result: None,
            reply,
        });
        self.send(Work::Job(job), answer).await
    }

    /// Appends rows; answers once they are durable.
    pub async fn append(&self, rows: Vec<R>) -> ApiResult<()> {
        let (reply, answer) = oneshot::channel();
        self.send(Work::Append(rows, reply), answer).await
    }

    async fn send<T>(
        &self,
        work: Work<R>,
        answer: oneshot::Receiver<ApiResult<T>>,
    ) -> ApiResult<T> {
        let stopped = || ApiError::unavailable("the writer has stopped");
        self.queue.send(work).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn writer<R>(
    pool: Pool,
    queue: mpsc::Receiver<Work<R>>,
    append: AppendFn<R>,
    kick: mpsc::Sender<()>,
) {
    while let Ok(first) = queue.recv() {
        let mut jobs = Vec::new();
        let mut rows = Vec::new();
        let mut waiting = Vec::new();
        let mut take = |work: Work<R>| match work {
            Work::Job(job) => jobs.push(job),
            Work::Append(more, reply) => {
                rows.extend(more);
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
        let (outcome, appended) = run_batch(&pool, &mut jobs, append, &rows);
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
/// commits do not pay for it: SQLite's automatic checkpoint runs inside the commit that
/// crosses the threshold, which is the writer's (measured: a fifth of its time). PASSIVE
/// never blocks the writer; the connections' own threshold (8000 pages) is the backstop.
/// It runs at most every 200 ms and only after commits, and ends with the writer.
fn checkpointer(pool: Pool, kicks: mpsc::Receiver<()>) {
    use diesel::connection::SimpleConnection;
    while kicks.recv().is_ok() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        while kicks.try_recv().is_ok() {}
        if let Ok(crate::db::Conn::Sqlite(mut c)) = pool.get() {
            if let Err(e) = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                log::warn!("background checkpoint: {e}");
            }
        }
    }
}

/// Runs one batch in one transaction: the appended rows first (if that fails only the
/// appends fail), then each job in its savepoint. Answers the outcome for the jobs and the
/// outcome for the appends.
fn run_batch<R>(
    pool: &Pool,
    batch: &mut [Box<dyn Job>],
    append: AppendFn<R>,
    rows: &[R],
) -> (Result<(), ApiError>, Result<(), ApiError>) {
    let opened = pool.get().map_err(ApiError::from).and_then(|mut conn| {
        conn.begin()?;
        Ok(conn)
    });
    let mut conn = match opened {
        Ok(conn) => conn,
        Err(e) => return (Err(e.clone()), Err(e)),
    };
    let appended = match rows {
        [] => Ok(()),
        _ => append(&mut conn, rows).map_err(|e| {
            log::error!("appending {} rows failed: {e}", rows.len());
            ApiError::unavailable("the database could not append; retry the request")
        }),
    };
    let ran = catch_unwind(AssertUnwindSafe(|| {
        for job in batch.iter_mut() {
            job.run(&mut conn);
        }
    }));
    if ran.is_err() {
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
    let committed = conn.commit().map_err(|e| {
        log::error!(
            "group commit of {} jobs and {} appended rows failed: {e}",
            batch.len(),
            rows.len()
        );
        let _ = conn.rollback();
        ApiError::unavailable("the database could not commit; retry the request")
    });
    let appended = appended.and(committed.clone());
    (committed, appended)
}
