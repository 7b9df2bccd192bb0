//! The database behind the read model, accounts and the audit trail: one SQLite file
//! (WAL, a small pool) with the migrations embedded in the binary.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub type Db = SqlitePool;

/// Every migration under `migrations/`, applied at start-up. Landed ones are never
/// edited (`scripts/check-migrations.sh`).
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Opens (creating if needed) the SQLite database behind `url`.
pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        // Each connection keeps its own page cache (2 MiB by default) on its own thread;
        // the kernel already caches the file, so a small one per connection is enough.
        .pragma("cache_size", "-512");
    // SQLite runs one writer at a time; four connections keep two cores busy.
    SqlitePoolOptions::new()
        .max_connections(4)
        .min_connections(1)
        .connect_with(options)
        .await
}

/// Opens the database and brings its schema up to date.
pub async fn open(url: &str) -> Result<Db, OpenError> {
    ensure_sqlite_dir(url);
    let db = connect(url).await?;
    MIGRATOR.run(&db).await?;
    Ok(db)
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

/// A fresh, migrated database in a temporary directory (tests).
#[cfg(any(test, feature = "testing"))]
pub async fn temporary() -> Result<(Db, tempfile::TempDir), OpenError> {
    let dir = tempfile::tempdir().map_err(|e| OpenError::Connect(sqlx::Error::Io(e)))?;
    let db = open(&format!(
        "sqlite://{}",
        dir.path().join("test.db").display()
    ))
    .await?;
    Ok((db, dir))
}
