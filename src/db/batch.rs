//! Group commit for SQLite. With `synchronous=FULL` every commit waits for an fsync of the
//! WAL; one commit per request caps ingest at the disk's fsync rate. Instead one writer
//! thread takes every write job that is waiting, runs each in its own savepoint inside one
//! transaction, commits once, and only then answers each job: every acknowledgement still
//! follows a durable commit, and a failing job is undone alone.
//!
//! Audit records (one per lookup of enterprise or personal data, the commonest write) take
//! a cheaper path: the writer gathers every record waiting and appends them with one
//! INSERT per batch, without a savepoint (one statement is atomic by itself).
//!
//! PostgreSQL needs none of this: it groups concurrent commits in its WAL writer, so there
//! each job runs in its own transaction on the blocking pool.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::audit::store::{self as audit, NewEntry};
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

/// Audit records to append, and who waits for them.
struct Appends {
    rows: Vec<NewEntry>,
    reply: oneshot::Sender<ApiResult<()>>,
}

enum Work {
    Job(Box<dyn Job>),
    Audit(Appends),
}

/// The handle through which requests hand write jobs to the writer thread.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Work>,
}

impl GroupCommit {
    pub fn start(pool: Pool) -> GroupCommit {
        let (queue, jobs) = mpsc::channel::<Work>();
        let checkpoints = pool.clone();
        std::thread::Builder::new()
            .name("gridpatrol-writer".into())
            .spawn(move || writer(pool, jobs))
            .expect("spawn the writer thread");
        std::thread::Builder::new()
            .name("gridpatrol-checkpoint".into())
            .spawn(move || checkpointer(checkpoints))
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
        self.queue
            .send(Work::Job(job))
            .map_err(|_| ApiError::unavailable("the writer has stopped"))?;
        answer
            .await
            .map_err(|_| ApiError::unavailable("the writer has stopped"))?
    }

    /// Appends audit records; answers once they are durable.
    pub async fn audit(&self, rows: Vec<NewEntry>) -> ApiResult<()> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Work::Audit(Appends { rows, reply }))
            .map_err(|_| ApiError::unavailable("the writer has stopped"))?;
        answer
            .await
            .map_err(|_| ApiError::unavailable("the writer has stopped"))?
    }
}

fn writer(pool: Pool, queue: mpsc::Receiver<Work>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = Vec::new();
        let mut appends = Vec::new();
        let mut take = |work: Work| match work {
            Work::Job(job) => jobs.push(job),
            Work::Audit(a) => appends.push(a),
        };
        take(first);
        let mut taken = 1;
        while taken < MAX_BATCH {
            match queue.try_recv() {
                Ok(work) => take(work),
                Err(_) => break,
            }
            taken += 1;
        }
        let (outcome, appended) = run_batch(&pool, &mut jobs, &appends);
        for job in jobs {
            job.finish(outcome.clone());
        }
        for a in appends {
            let answer = match (&appended, &outcome) {
                (Err(e), _) | (Ok(()), Err(e)) => Err(e.clone()),
                (Ok(()), Ok(())) => Ok(()),
            };
            let _ = a.reply.send(answer);
        }
    }
}

/// Copies the WAL back into the database file in the background, so that the writer's
/// commits do not pay for it: SQLite's automatic checkpoint runs inside the commit that
/// crosses the threshold, which is the writer's (measured: a fifth of its time). PASSIVE
/// never blocks the writer; the connections' own threshold (8000 pages) is the backstop.
fn checkpointer(pool: Pool) {
    use diesel::connection::SimpleConnection;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        if let Ok(crate::db::Conn::Sqlite(mut c)) = pool.get() {
            if let Err(e) = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                log::warn!("background checkpoint: {e}");
            }
        }
    }
}

/// Runs one batch in one transaction: the audit appends first (one statement; if it fails
/// only the appends fail), then each job in its savepoint. Answers the commit's outcome and
/// the appends' own.
fn run_batch(
    pool: &Pool,
    batch: &mut [Box<dyn Job>],
    appends: &[Appends],
) -> (Result<(), ApiError>, Result<(), ApiError>) {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => {
            let e = ApiError::from(e);
            return (Err(e.clone()), Err(e));
        }
    };
    if let Err(e) = conn.begin() {
        let e = ApiError::from(e);
        return (Err(e.clone()), Err(e));
    }
    let appended = if appends.is_empty() {
        Ok(())
    } else {
        let rows: Vec<&NewEntry> = appends.iter().flat_map(|a| a.rows.iter()).collect();
        audit::insert_refs(&mut conn, &rows).map_err(|e| {
            log::error!("appending {} audit records failed: {e}", rows.len());
            ApiError::unavailable("the audit log could not be written; retry the request")
        })
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
            "group commit of {} jobs and {} audit appends failed: {e}",
            batch.len(),
            appends.len()
        );
        let _ = conn.rollback();
        ApiError::unavailable("the database could not commit; retry the request")
    });
    (committed, appended)
}
