//! Group commit for the read model's busiest writes: a new order's row and a
//! workflow's outcome. Under load many requests write at once; each on its own pays a
//! commit that rewrites every page its row touches (the table and each index) into
//! the WAL, and those pages are mostly the same few. One writer task takes whatever is
//! waiting and commits it together, so the shared pages are written once per batch.
//! The disk that holds the read model is usually the one Dapr's state store commits
//! to, so fewer pages here leave daprd's commits faster too.
//!
//! A caller hears back only once its batch is committed (or certainly not): an order
//! is never scheduled on a row that could still vanish. A batch never waits for more
//! work to arrive; it is simply whatever queued while the previous one committed.
//!
//! On PostgreSQL there is no single writer to queue behind: each write runs on the
//! pool at once, in a transaction of its own, with the same answers.

use crate::model::order::{OrderFacts, OrderRow};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Sqlite, SqliteExecutor, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::kernel::error::database_busy;
use crate::model::order::{Finish, InsertError};
use crate::store::db::Db;
use crate::store::read_model;

/// Writes per transaction at most: a batch holds SQLite's write lock this long.
const MAX_BATCH: usize = 64;

/// A handle to the writer task; cloning shares it.
#[derive(Clone)]
pub struct GroupCommit {
    writer: Writer,
    commits: Arc<AtomicU64>,
}

/// Where the writes go.
#[derive(Clone)]
enum Writer {
    /// SQLite: to the writer task, which commits them in batches.
    Queue(mpsc::Sender<Job>),
    /// PostgreSQL: straight to the database, each in a transaction of its own.
    Direct(Db),
}

/// One write and its caller; `result` holds its answer until the batch commits.
enum Job {
    Insert {
        facts: OrderFacts,
        now: i64,
        reply: oneshot::Sender<Result<OrderRow, InsertError>>,
        // Boxed: a row is far larger than anything else a job holds.
        result: Option<Box<Result<OrderRow, InsertError>>>,
    },
    Finish {
        end: Finish,
        reply: oneshot::Sender<Result<bool, sqlx::Error>>,
        result: Option<Result<bool, sqlx::Error>>,
    },
}

impl GroupCommit {
    /// Starts the writer task on `db` (it ends when the last handle is dropped); on
    /// PostgreSQL there is none to start.
    pub fn spawn(db: Db) -> Self {
        let commits = Arc::new(AtomicU64::new(0));
        let writer = match db {
            Db::Sqlite(pool) => {
                let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
                tokio::spawn(run(pool, queue, commits.clone()));
                Writer::Queue(jobs)
            }
            db @ Db::Postgres(_) => Writer::Direct(db),
        };
        Self { writer, commits }
    }

    /// How many transactions have committed so far: shared ones on SQLite, one per
    /// write that succeeded on PostgreSQL.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Counts a write committed on its own (PostgreSQL).
    fn committed<T, E>(&self, result: Result<T, E>) -> Result<T, E> {
        if result.is_ok() {
            self.commits.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// [`read_model::insert_submitted`], committed with whatever else is waiting.
    pub async fn insert_submitted(
        &self,
        facts: OrderFacts,
        now: i64,
    ) -> Result<OrderRow, InsertError> {
        let jobs = match &self.writer {
            Writer::Queue(jobs) => jobs,
            Writer::Direct(db) => {
                return self.committed(read_model::insert_submitted(db, &facts, now).await);
            }
        };
        let (reply, answer) = oneshot::channel();
        let job = Job::Insert {
            facts,
            now,
            reply,
            result: None,
        };
        jobs.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// [`read_model::finish`], committed with whatever else is waiting.
    pub async fn finish(&self, end: Finish) -> Result<bool, sqlx::Error> {
        let jobs = match &self.writer {
            Writer::Queue(jobs) => jobs,
            Writer::Direct(db) => {
                let finished = read_model::finish(
                    db,
                    &end.instance_id,
                    end.status,
                    end.decided_by.as_deref(),
                    end.decided_at,
                    end.failure.as_deref(),
                    end.now,
                )
                .await;
                return self.committed(finished);
            }
        };
        let (reply, answer) = oneshot::channel();
        let job = Job::Finish {
            end,
            reply,
            result: None,
        };
        jobs.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The writer task is gone (the runtime is shutting down): nothing was written.
fn stopped() -> sqlx::Error {
    sqlx::Error::PoolClosed
}

impl Job {
    /// Runs the write on `db`; its answer waits in the job.
    async fn run(&mut self, db: impl SqliteExecutor<'_>) {
        match self {
            Job::Insert {
                facts, now, result, ..
            } => {
                *result = Some(Box::new(
                    store_sqlite::orders::insert_submitted(db, facts, *now).await,
                ));
            }
            Job::Finish { end, result, .. } => {
                *result = Some(store_sqlite::orders::finish_row(db, end).await);
            }
        }
    }

    /// How the write just run went, for the transaction it ran in.
    fn went(&self) -> Went {
        let error = match self {
            Job::Insert { result, .. } => match result.as_deref() {
                // A repeated order id fails only its own statement.
                Some(Ok(_) | Err(InsertError::Duplicate)) | None => return Went::Fine,
                Some(Err(InsertError::Db(e))) => e,
            },
            Job::Finish { result, .. } => match result {
                Some(Ok(_)) | None => return Went::Fine,
                Some(Err(e)) => e,
            },
        };
        if database_busy(error) {
            Went::Busy
        } else {
            Went::Failed
        }
    }

    /// Forgets an answer that came from a transaction which was rolled back.
    fn forget(&mut self) {
        match self {
            Job::Insert { result, .. } => *result = None,
            Job::Finish { result, .. } => *result = None,
        }
    }

    /// Tells the caller its answer; a job with none could not get at the database
    /// (see [`busy`]). A caller that stopped waiting has nothing to hear: what was
    /// written stands.
    fn answer(self) {
        match self {
            Job::Insert { reply, result, .. } => {
                let _ = reply.send(result.map_or_else(|| Err(busy().into()), |r| *r));
            }
            Job::Finish {
                end, reply, result, ..
            } => {
                let result = result.unwrap_or_else(|| Err(busy()));
                if matches!(result, Ok(true)) {
                    crate::kernel::metrics::order_finished(end.status);
                }
                let _ = reply.send(result);
            }
        }
    }
}

enum Went {
    Fine,
    /// The database is held by someone else: so would any other write of the batch be.
    Busy,
    /// This write failed in a way that may have ended the transaction around it.
    Failed,
}

/// What the writes of a batch that could not get at the database are told: the same
/// as a request that found no free connection in time (a 503 "busy, try again").
fn busy() -> sqlx::Error {
    sqlx::Error::PoolTimedOut
}

/// How a batch's transaction ended.
enum Ended {
    Committed,
    /// The write at this index failed on its own; the transaction was rolled back.
    JobFailed(usize),
    /// The database was held by someone else past the wait; rolled back.
    Busy,
    /// The transaction could not begin or commit: rolled back, the connection suspect.
    Failed(sqlx::Error),
}

async fn run(db: SqlitePool, mut queue: mpsc::Receiver<Job>, commits: Arc<AtomicU64>) {
    // One connection of the pool for as long as it works: its page cache stays warm,
    // since its own commits do not invalidate it.
    let mut connection: Option<PoolConnection<Sqlite>> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Requests that are already running get one turn to add their writes: no
        // waiting on a clock, only on work that is ready.
        tokio::task::yield_now().await;
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut jobs = std::mem::take(&mut batch);
        while !jobs.is_empty() {
            let mut held = match connection.take() {
                Some(c) => c,
                None => match db.acquire().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "read-model writer: no connection");
                        jobs.into_iter().for_each(Job::answer);
                        break;
                    }
                },
            };
            match commit_together(&mut held, &mut jobs).await {
                Ended::Committed => {
                    commits.fetch_add(1, Ordering::Relaxed);
                    crate::kernel::metrics::write_batch(jobs.len());
                    jobs.drain(..).for_each(Job::answer);
                }
                Ended::JobFailed(i) => {
                    // Its own error is its answer; the others were rolled back with it
                    // and go again, in a transaction of their own.
                    jobs.remove(i).answer();
                    jobs.iter_mut().for_each(Job::forget);
                }
                Ended::Busy => {
                    // Every write of the batch would wait for the same lock: each is
                    // told to try again, none was written.
                    let failed = jobs.iter().position(|j| matches!(j.went(), Went::Busy));
                    for (n, mut job) in jobs.drain(..).enumerate() {
                        if Some(n) != failed {
                            job.forget();
                        }
                        job.answer();
                    }
                }
                Ended::Failed(e) => {
                    tracing::warn!(error = %e, "read-model writer: a shared transaction failed; writing one by one");
                    for mut job in jobs.drain(..) {
                        job.run(&db).await;
                        job.answer();
                    }
                    continue;
                }
            }
            connection = Some(held);
        }
    }
}

/// Runs `jobs` in one transaction on `connection`.
async fn commit_together(connection: &mut PoolConnection<Sqlite>, jobs: &mut [Job]) -> Ended {
    let mut tx = match connection.begin().await {
        Ok(tx) => tx,
        Err(e) => return Ended::Failed(e),
    };
    for (i, job) in jobs.iter_mut().enumerate() {
        job.run(&mut *tx).await;
        // Dropping `tx` on the way out rolls back whatever of it is left.
        match job.went() {
            Went::Fine => {}
            Went::Busy => return Ended::Busy,
            Went::Failed => return Ended::JobFailed(i),
        }
    }
    match tx.commit().await {
        Ok(()) => Ended::Committed,
        Err(e) if database_busy(&e) => {
            jobs.iter_mut().for_each(Job::forget);
            Ended::Busy
        }
        Err(e) => Ended::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use domain::{Cents, OrderStatus};

    use super::*;

    fn facts(id: &str, quantity: i64) -> OrderFacts {
        OrderFacts {
            instance_id: format!("po-{id}"),
            order_id: id.into(),
            product: "Desk".into(),
            quantity,
            unit_cost: Cents(1_000),
            requested_by: Some("alice".into()),
        }
    }

    fn end(id: &str) -> Finish {
        Finish {
            instance_id: format!("po-{id}"),
            status: OrderStatus::AutoApproved,
            decided_by: None,
            decided_at: Some(2),
            failure: None,
            now: 2,
        }
    }

    async fn status(db: &Db, id: &str) -> Option<OrderStatus> {
        read_model::get(db, &format!("po-{id}"))
            .await
            .expect("read")
            .map(|row| row.status)
    }

    #[tokio::test]
    async fn writes_waiting_together_share_one_commit_and_each_hears_its_own_answer() {
        let (db, _dir) = crate::store::db::temporary().await.expect("db");
        let writes = GroupCommit::spawn(db.clone());
        writes
            .insert_submitted(facts("1", 1), 1)
            .await
            .expect("first");
        assert_eq!(writes.commits(), 1);

        // Queued before the writer runs (this test's runtime has one thread): one batch.
        let (a, duplicate, b, finished) = tokio::join!(
            writes.insert_submitted(facts("2", 1), 1),
            writes.insert_submitted(facts("1", 1), 1),
            writes.insert_submitted(facts("3", 1), 1),
            writes.finish(end("1")),
        );
        assert_eq!(a.expect("second").status, OrderStatus::Submitted);
        assert!(matches!(duplicate, Err(InsertError::Duplicate)));
        assert_eq!(b.expect("third").instance_id, "po-3");
        assert!(
            finished.expect("finish"),
            "the first order took its outcome"
        );
        // On PostgreSQL each write commits on its own; the duplicate never does.
        let expected = if db.sqlite().is_some() { 2 } else { 4 };
        assert_eq!(
            writes.commits(),
            expected,
            "four writes: one transaction on SQLite"
        );
        assert_eq!(status(&db, "1").await, Some(OrderStatus::AutoApproved));
        assert_eq!(status(&db, "3").await, Some(OrderStatus::Submitted));

        // An outcome is taken once: a second finish changes nothing, and says so.
        assert!(!writes.finish(end("1")).await.expect("again"));
    }

    #[tokio::test]
    async fn a_write_that_fails_the_batch_fails_alone() {
        let (db, _dir) = crate::store::db::temporary().await.expect("db");
        let writes = GroupCommit::spawn(db.clone());
        // A quantity the table's CHECK refuses fails in a way that may end a
        // transaction: it hears its own error, and the others go again together.
        let (a, bad, b) = tokio::join!(
            writes.insert_submitted(facts("1", 1), 1),
            writes.insert_submitted(facts("2", 0), 1),
            writes.insert_submitted(facts("3", 1), 1),
        );
        assert!(a.is_ok() && b.is_ok(), "the good writes land: {a:?} {b:?}");
        assert!(
            matches!(&bad, Err(InsertError::Db(e)) if !database_busy(e)),
            "{bad:?}"
        );
        let expected = if db.sqlite().is_some() { 1 } else { 2 };
        assert_eq!(
            writes.commits(),
            expected,
            "the two good ones (together on SQLite)"
        );
        assert_eq!(status(&db, "1").await, Some(OrderStatus::Submitted));
        assert_eq!(status(&db, "2").await, None, "nothing of the bad write");
        assert_eq!(status(&db, "3").await, Some(OrderStatus::Submitted));
    }

    #[tokio::test]
    async fn a_database_held_by_another_writer_is_busy_for_the_whole_batch() {
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
        use sqlx::ConnectOptions;
        if std::env::var(crate::store::db::TEST_POSTGRES).is_ok_and(|s| !s.is_empty()) {
            eprintln!(
                "skipped on PostgreSQL: SQLite's single writer lock (BEGIN EXCLUSIVE); \
                 PostgreSQL writes are not batched"
            );
            return;
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("held.db"))
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::from_millis(100));
        let pool = SqlitePoolOptions::new()
            .connect_with(options.clone())
            .await
            .expect("pool");
        crate::store::db::MIGRATOR
            .run(&pool)
            .await
            .expect("migrated");
        let db = Db::Sqlite(pool);
        let writes = GroupCommit::spawn(db.clone());
        writes
            .insert_submitted(facts("1", 1), 1)
            .await
            .expect("before the lock");

        let mut holder = options.connect().await.expect("another writer");
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut holder)
            .await
            .expect("the lock");
        let (a, b, c) = tokio::join!(
            writes.insert_submitted(facts("2", 1), 1),
            writes.finish(end("1")),
            writes.insert_submitted(facts("3", 1), 1),
        );
        assert!(
            matches!(&a, Err(InsertError::Db(e)) if database_busy(e)),
            "{a:?}"
        );
        assert!(matches!(&b, Err(e) if database_busy(e)), "{b:?}");
        assert!(
            matches!(&c, Err(InsertError::Db(e)) if database_busy(e)),
            "{c:?}"
        );
        sqlx::query("ROLLBACK")
            .execute(&mut holder)
            .await
            .expect("released");
        assert_eq!(status(&db, "1").await, Some(OrderStatus::Submitted));
        assert_eq!(status(&db, "2").await, None);

        // Once the lock is gone the writer carries on.
        assert!(writes.finish(end("1")).await.expect("after the lock"));
        assert_eq!(status(&db, "1").await, Some(OrderStatus::AutoApproved));
    }
}
