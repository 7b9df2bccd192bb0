//! The database behind the read model, accounts and the audit trail: one SQLite file
//! (WAL, a small pool) by default, or PostgreSQL when `DATABASE_URL` says
//! `postgres://` (several replicas share it). Each has its own migrations, embedded in
//! the binary, and each query module holds both dialects side by side: SQLite's are
//! checked at compile time, PostgreSQL's by the test suite run on PostgreSQL.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// The read model's database; cloning shares the pool.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Every SQLite migration under `migrations/`, applied at start-up. Landed ones are
/// never edited (`scripts/check-migrations.sh`).
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The same for PostgreSQL, under `migrations/postgres/`.
pub static PG_MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// How long one statement may run on PostgreSQL before the server gives up on it, and
/// how long a caller waits for a connection (SQLite's busy timeout is the same 10 s).
const DEADLINE: Duration = Duration::from_secs(10);

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The newest migration this build has for `url`'s database (what a database it
/// migrated is at).
pub fn newest_migration(url: &str) -> Option<i64> {
    let migrator = if is_postgres(url) {
        &PG_MIGRATOR
    } else {
        &MIGRATOR
    };
    migrator.iter().map(|m| m.version).max()
}

/// The file behind a SQLite URL (`sqlite://data/approvals.db?mode=rwc`); `None` for
/// one that names none (`sqlite::memory:`, another database).
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Opens (creating if needed) the SQLite database behind `url`.
pub async fn connect(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(DEADLINE)
        .foreign_keys(true)
        // Each connection keeps its own page cache (2 MiB by default) on its own thread;
        // the kernel already caches the file, so a small one per connection is enough.
        .pragma("cache_size", "-512")
        // Prepared statements kept per connection (sqlx keeps 100 by default): the hot
        // paths use a few dozen, and each kept one holds SQLite's compiled program.
        .statement_cache_capacity(32);
    // SQLite runs one writer at a time; four connections keep two cores busy.
    SqlitePoolOptions::new()
        .max_connections(4)
        .min_connections(1)
        .connect_with(options)
        .await
}

/// Connects to the PostgreSQL database behind `url`, every statement under
/// [`DEADLINE`].
pub async fn connect_postgres(url: &str) -> Result<PgPool, sqlx::Error> {
    let timeout = format!("{}", DEADLINE.as_millis());
    let options = PgConnectOptions::from_str(url)?
        .application_name("approvals")
        .options([("statement_timeout", timeout.as_str())]);
    PgPoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        .acquire_timeout(DEADLINE)
        .connect_with(options)
        .await
}

/// Opens the database and brings its schema up to date.
pub async fn open(url: &str) -> Result<Db, OpenError> {
    if is_postgres(url) {
        let db = connect_postgres(url).await?;
        PG_MIGRATOR.run(&db).await?;
        return Ok(Db::Postgres(db));
    }
    ensure_sqlite_dir(url);
    let db = connect(url).await?;
    MIGRATOR.run(&db).await?;
    Ok(Db::Sqlite(db))
}

impl Db {
    /// Which database this is, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection (shutdown).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// Whether the database answers (the readiness probe).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            Db::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        }
    }

    /// The SQLite pool, for code that runs on SQLite alone (its tests).
    #[cfg(any(test, feature = "testing"))]
    pub fn sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Db::Sqlite(pool) => Some(pool),
            Db::Postgres(_) => None,
        }
    }
}

/// Tests' own statements, on whichever database the test runs (both rounds of
/// `make test`): what the store's functions do not read or write (a row aged by hand,
/// a value checked as the table holds it). Written to read alike on both databases:
/// parameters are `$1`…, which SQLite numbers as PostgreSQL does.
#[cfg(any(test, feature = "testing"))]
impl Db {
    /// Runs `sql` with `args` bound in turn; how many rows it changed.
    pub async fn execute_for_test<A>(&self, sql: &str, args: &[A]) -> Result<u64, sqlx::Error>
    where
        A: for<'q> sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        A: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
        A: Clone + Send + 'static,
    {
        let done = match self {
            Db::Sqlite(pool) => {
                let mut q = sqlx::query(sql);
                for a in args {
                    q = q.bind(a.clone());
                }
                q.execute(pool).await?.rows_affected()
            }
            Db::Postgres(pool) => {
                let mut q = sqlx::query(sql);
                for a in args {
                    q = q.bind(a.clone());
                }
                q.execute(pool).await?.rows_affected()
            }
        };
        Ok(done)
    }

    /// The rows `sql` reads, as `T`.
    pub async fn fetch_for_test<T>(&self, sql: &str) -> Result<Vec<T>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
        T: Send + Unpin,
    {
        match self {
            Db::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await,
            Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
        }
    }

    /// The first column of each row `sql` reads, as `T`.
    pub async fn scalars_for_test<T>(&self, sql: &str) -> Result<Vec<T>, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
        T: Send + Unpin,
    {
        match self {
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("database: {0}")]
    Connect(#[from] sqlx::Error),
    #[error("database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

fn ensure_sqlite_dir(url: &str) {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p));
    if let Some(parent) = path.and_then(|p| std::path::Path::new(p).parent()) {
        if !parent.as_os_str().is_empty() {
            // A failure surfaces as a clear error when the database is opened.
            let _ = std::fs::create_dir_all(parent);
        }
    }
}

/// Names the PostgreSQL server the tests run on (`postgres://user:password@host:port`,
/// no database): with it, [`temporary`] hands out a fresh PostgreSQL database instead
/// of a SQLite file, so the same tests cover both (`scripts/test.sh` runs them twice).
#[cfg(any(test, feature = "testing"))]
pub const TEST_POSTGRES: &str = "APPROVALS_TEST_POSTGRES";

/// A fresh, migrated database (tests): a SQLite file in a temporary directory, or a
/// new database on the PostgreSQL server [`TEST_POSTGRES`] names.
#[cfg(any(test, feature = "testing"))]
pub async fn temporary() -> Result<(Db, tempfile::TempDir), OpenError> {
    let dir = tempfile::tempdir().map_err(|e| OpenError::Connect(sqlx::Error::Io(e)))?;
    let url = match std::env::var(TEST_POSTGRES) {
        Ok(server) if !server.is_empty() => temporary_postgres(&server).await?,
        _ => format!("sqlite://{}", dir.path().join("test.db").display()),
    };
    Ok((open(&url).await?, dir))
}

/// A fresh, migrated SQLite database whatever the environment names, for tests of what
/// is SQLite's own (its query plans): they run in both of `make test`'s rounds.
#[cfg(test)]
pub async fn temporary_sqlite() -> (SqlitePool, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = open(&url).await.expect("a fresh SQLite database");
    let pool = db.sqlite().expect("a SQLite URL opens SQLite").clone();
    (pool, dir)
}

/// A fresh, migrated PostgreSQL database, for tests of what is PostgreSQL's own. Such
/// tests are `#[ignore]`d, so a plain `cargo test` lists them as ignored rather than
/// passing them unrun; `make test` runs them with `--include-ignored` in its PostgreSQL
/// round. Asked for without a server, this fails the test and says what to set.
#[cfg(test)]
pub async fn temporary_postgres_only() -> (Db, sqlx::PgPool, tempfile::TempDir) {
    let server = std::env::var(TEST_POSTGRES).unwrap_or_default();
    assert!(
        !server.is_empty(),
        "this test needs a PostgreSQL server: set {TEST_POSTGRES}=postgres://user:password@host:port \
         (scripts/test.sh starts one for its PostgreSQL round)"
    );
    let (db, dir) = temporary().await.expect("a fresh PostgreSQL database");
    let Db::Postgres(pool) = &db else {
        unreachable!("{TEST_POSTGRES} names a PostgreSQL server")
    };
    let pool = pool.clone();
    (db, pool, dir)
}

/// Creates an empty database with a name of its own on `server`; returns its URL.
#[cfg(any(test, feature = "testing"))]
async fn temporary_postgres(server: &str) -> Result<String, sqlx::Error> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = server.trim_end_matches('/');
    let name = format!(
        "t{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        crate::kernel::clock::now_ms()
    );
    let admin = connect_postgres(&format!("{server}/postgres")).await?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(format!("{server}/{name}"))
}

#[cfg(test)]
mod tests {
    use sqlx::migrate::Migrate;

    use super::*;

    /// The migration that rebuilds `users` for the `director` role.
    const ROLE_REBUILD: i64 = 20261127000005;

    #[tokio::test]
    async fn the_director_rebuild_keeps_accounts_sessions_and_tokens() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let db = connect(&format!("sqlite://{}", dir.path().join("old.db").display()))
            .await
            .expect("db");
        // The database as it was before the rebuild, with people in it.
        let mut conn = db.acquire().await.expect("a connection");
        conn.ensure_migrations_table()
            .await
            .expect("migrations table");
        for migration in MIGRATOR.iter().filter(|m| m.version < ROLE_REBUILD) {
            conn.apply(migration).await.expect("an earlier migration");
        }
        drop(conn);
        sqlx::raw_sql(
            "INSERT INTO users (id, name, role, password_hash, created_at, email)
                 VALUES (1, 'alice', 'requester', 'h', 1, 'alice@example.com'),
                        (7, 'bob', 'manager', 'h', 1, NULL);
             INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at)
                 VALUES ('s', 7, 1, 99, 1);
             INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES ('t', 1, 1);
             DELETE FROM users WHERE id = 7;
             INSERT INTO users (id, name, role, password_hash, created_at)
                 VALUES (9, 'carol', 'manager', 'h', 1);
             INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at)
                 VALUES ('s9', 9, 1, 99, 1);
             DELETE FROM users WHERE id = 9;
             INSERT INTO users (id, name, role, password_hash, created_at)
                 VALUES (8, 'carol', 'manager', 'h', 1);
             INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at)
                 VALUES ('s8', 8, 1, 99, 1);",
        )
        .execute(&db)
        .await
        .expect("people");

        MIGRATOR.run(&db).await.expect("the rest of the migrations");

        let users: Vec<(i64, String, String, Option<String>)> =
            sqlx::query_as("SELECT id, name, role, email FROM users ORDER BY id")
                .fetch_all(&db)
                .await
                .expect("users");
        assert_eq!(
            users,
            [
                (
                    1,
                    "alice".into(),
                    "requester".into(),
                    Some("alice@example.com".into())
                ),
                (8, "carol".into(), "manager".into(), None),
            ]
        );
        let count = |sql: &'static str| {
            let db = db.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&db)
                    .await
                    .expect("a count")
            }
        };
        assert_eq!(
            count("SELECT count(*) FROM sessions").await,
            1,
            "carol's session"
        );
        assert_eq!(
            count("SELECT count(*) FROM api_tokens").await,
            1,
            "alice's token"
        );
        assert_eq!(
            count("SELECT count(*) FROM pragma_foreign_key_check").await,
            0
        );

        // Directors are accepted now, unknown roles still are not, foreign keys still
        // hold, and removed ids are not handed out again.
        sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at)
                 VALUES ('dana', 'director', 'h', 2)",
        )
        .execute(&db)
        .await
        .expect("a director");
        assert_eq!(count("SELECT id FROM users WHERE name = 'dana'").await, 10);
        let boss = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ('eve', 'boss', 'h', 2)",
        )
        .execute(&db)
        .await;
        assert!(boss.is_err(), "an unknown role is refused");
        sqlx::query("DELETE FROM users WHERE name = 'carol'")
            .execute(&db)
            .await
            .expect("remove carol");
        assert_eq!(
            count("SELECT count(*) FROM sessions").await,
            0,
            "her session went too"
        );
    }

    /// PostgreSQL's equivalents: a statement cut off by `statement_timeout` (and
    /// leaving nothing behind), a lock not granted in time, a serialization failure,
    /// a deadlock and a full server are busy; other errors, among them codes that are
    /// all digits, are not.
    #[ignore = "PostgreSQL only: make test runs it on PostgreSQL (--include-ignored)"]
    #[tokio::test]
    async fn postgres_timeouts_and_rollbacks_are_busy_and_other_errors_are_not() {
        let (_db, pool, _dir) = temporary_postgres_only().await;
        let pool = &pool;
        let busy = |e: sqlx::Error| crate::kernel::error::database_busy(&e);
        sqlx::query("CREATE TABLE t (x BIGINT PRIMARY KEY)")
            .execute(pool)
            .await
            .expect("a table");

        // An autocommit write that statement_timeout cuts short keeps nothing. The
        // deadline is far below the sleeps' second yet long enough for the RESET after
        // them, which the deadline binds too (at 1 ms, CI once saw the RESET cut short).
        let mut conn = pool.acquire().await.expect("a connection");
        sqlx::query("SET statement_timeout = 200")
            .execute(&mut *conn)
            .await
            .expect("a short deadline");
        let timed_out = sqlx::query("INSERT INTO t SELECT 1 FROM pg_sleep(1)")
            .execute(&mut *conn)
            .await
            .expect_err("the deadline passes");
        assert!(busy(timed_out));
        let slept = sqlx::query("SELECT pg_sleep(1)")
            .execute(&mut *conn)
            .await
            .expect_err("the deadline passes");
        assert!(busy(slept));
        sqlx::query("RESET statement_timeout")
            .execute(&mut *conn)
            .await
            .expect("the usual deadline");
        let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut *conn)
            .await
            .expect("a count");
        assert_eq!(kept, 0, "nothing was changed");

        // A lock held by another transaction, past lock_timeout.
        let mut holder = pool.begin().await.expect("a transaction");
        sqlx::query("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *holder)
            .await
            .expect("the lock");
        sqlx::query("SET lock_timeout = 10")
            .execute(&mut *conn)
            .await
            .expect("a short wait");
        let locked = sqlx::query("INSERT INTO t VALUES (2)")
            .execute(&mut *conn)
            .await
            .expect_err("the lock is held");
        assert!(busy(locked));
        holder.rollback().await.expect("lets go");
        sqlx::query("RESET lock_timeout")
            .execute(&mut *conn)
            .await
            .expect("the usual wait");

        // A real deadlock: each transaction holds the row the other one wants; the
        // server rolls one of them back (after `deadlock_timeout`, a second).
        sqlx::query("INSERT INTO t VALUES (10), (20)")
            .execute(pool)
            .await
            .expect("rows");
        let (mut a, mut b) = (
            pool.begin().await.expect("a"),
            pool.begin().await.expect("b"),
        );
        let update = "UPDATE t SET x = x WHERE x = $1";
        for (tx, x) in [(&mut a, 10_i64), (&mut b, 20)] {
            sqlx::query(update)
                .bind(x)
                .execute(&mut **tx)
                .await
                .expect("a row lock");
        }
        let (first, second) = tokio::join!(
            sqlx::query(update).bind(20_i64).execute(&mut *a),
            sqlx::query(update).bind(10_i64).execute(&mut *b),
        );
        let deadlock = match (first, second) {
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => e,
            other => panic!("one of the two is rolled back: {other:?}"),
        };
        assert!(busy(deadlock));
        drop((a, b));

        // The server's own errors with these codes, as a serializable transaction or
        // a full server would give them; and some that are not busy.
        let raised = |code: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query(&format!(
                    "DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '{code}'; END $$"
                ))
                .execute(&pool)
                .await
                .expect_err("raised")
            }
        };
        for code in ["40001", "40P01", "53300", "57014", "55P03"] {
            assert!(busy(raised(code).await), "{code}");
        }
        for code in ["22021", "22022", "23505", "42501", "XX000"] {
            assert!(!busy(raised(code).await), "{code}");
        }
        sqlx::query("INSERT INTO t VALUES (3)")
            .execute(pool)
            .await
            .expect("a row");
        let duplicate = sqlx::query("INSERT INTO t VALUES (3)")
            .execute(pool)
            .await
            .expect_err("a duplicate");
        assert!(!busy(duplicate));
        let wrong = sqlx::query("INSERT INTO nowhere VALUES (1)")
            .execute(pool)
            .await
            .expect_err("no such table");
        assert!(!busy(wrong));
    }
}
