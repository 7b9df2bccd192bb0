//! Backups of the read model and their restore (`server backup`, `server restore`).
//!
//! A backup is one consistent copy of our database, taken online: SQLite's
//! `VACUUM INTO` (one read transaction, while writers go on) or `pg_dump` (one
//! snapshot), with a manifest saying what it holds and a digest of the file.
//!
//! Dapr's state (workflow histories, their timers) is not in it, and need not be: the
//! read model holds every order with its level, deadline and claim. Restored beside
//! the Dapr state that was running, the reconciler compares the two as after any crash
//! (a decision taken after the backup is found in its workflow and written back). Into
//! an empty Dapr state (`--workflows-lost`), every order that waited goes back to the
//! reconciler, which creates its workflow again, taking it up at its level, asked of the
//! same role, until the deadline it had (the orchestration's patch
//! `restored-orders-resume-where-they-waited`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kernel::clock::from_ms;
use crate::ops::lease;
use crate::store::db::{self, Db};
use crate::store::maintenance;

/// The manifest's name in a backup folder.
pub const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "read-model.db";
const POSTGRES_FILE: &str = "read-model.pgdump";
/// A copy (`VACUUM INTO`, `pg_dump`) or a restore (`pg_restore`) may take this long
/// before it is stopped.
const TOOL_DEADLINE: Duration = Duration::from_secs(60 * 60);

/// What a backup holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: u32,
    /// When it was taken (RFC 3339): everything committed before is in it.
    pub taken_at: String,
    /// `sqlite` or `postgresql`.
    pub database: String,
    /// The newest migration applied to it.
    pub schema_version: Option<i64>,
    /// The file in the folder, and its SHA-256.
    pub file: String,
    pub sha256: String,
    /// The build that took it.
    pub taken_by: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
    #[error("the database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("opening the restored database: {0}")]
    Open(#[from] db::OpenError),
    #[error("{tool} failed ({status}): {stderr}")]
    Tool {
        tool: String,
        status: String,
        stderr: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |error| BackupError::Io { what, error }
}

fn kind_of(url: &str) -> &'static str {
    if db::is_postgres(url) {
        "postgresql"
    } else {
        "sqlite"
    }
}

async fn sha256_of(path: &Path) -> Result<String, BackupError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(io(format!("reading {}", path.display())))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

/// Takes a backup of `db` (opened from `url`) into `dir`, a folder that is new or empty.
pub async fn backup(db: &Db, url: &str, dir: &Path, now_ms: i64) -> Result<Manifest, BackupError> {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).map_err(io(format!("reading {}", dir.display())))?;
        if entries.next().is_some() {
            return Err(BackupError::Refused(format!(
                "{} is not empty: a backup goes into a new or empty folder",
                dir.display()
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let schema_version = maintenance::schema_version(db).await?;
    let taken_at = from_ms(now_ms).to_rfc3339();
    let file = match db {
        Db::Sqlite(pool) => {
            let path = dir.join(SQLITE_FILE);
            let out = path.display().to_string();
            let copy = store_sqlite::backup::vacuum_into(pool, &out);
            tokio::time::timeout(TOOL_DEADLINE, copy)
                .await
                .map_err(|_| BackupError::Tool {
                    tool: "VACUUM INTO".into(),
                    status: format!("still running after {TOOL_DEADLINE:?}"),
                    stderr: String::new(),
                })??;
            path
        }
        Db::Postgres(_) => {
            let path = dir.join(POSTGRES_FILE);
            let out = path.display().to_string();
            run_tool(
                "pg_dump",
                &[
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    &out,
                    url,
                ],
            )
            .await?;
            path
        }
    };
    let manifest = Manifest {
        format: 1,
        taken_at,
        database: kind_of(url).to_owned(),
        schema_version,
        file: file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: sha256_of(&file).await?,
        taken_by: format!("approvals {}", env!("CARGO_PKG_VERSION")),
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| BackupError::Refused(format!("writing the manifest: {e}")))?;
    std::fs::write(dir.join(MANIFEST), text + "\n")
        .map_err(io(format!("writing {}", dir.join(MANIFEST).display())))?;
    Ok(manifest)
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    /// Orders handed back to the reconciler to get a workflow again (`workflows_lost`).
    pub reopened: u64,
}

/// Reads and checks the backup in `dir` for the database behind `url`.
pub async fn check(dir: &Path, url: &str) -> Result<(Manifest, PathBuf), BackupError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(io(format!(
        "reading {} (is {} a backup folder?)",
        path.display(),
        dir.display()
    )))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        BackupError::Refused(format!("{}: not a backup manifest: {e}", path.display()))
    })?;
    if manifest.database != kind_of(url) {
        return Err(BackupError::Refused(format!(
            "the backup is of a {} database, DATABASE_URL names a {} one",
            manifest.database,
            kind_of(url)
        )));
    }
    if manifest.schema_version > db::newest_migration(url) {
        return Err(BackupError::Refused(format!(
            "the backup's schema ({:?}) is newer than this build knows ({:?}): restore it \
             with the release that took it, or a later one",
            manifest.schema_version,
            db::newest_migration(url)
        )));
    }
    let file = dir.join(&manifest.file);
    if manifest.file.contains('/') || sha256_of(&file).await? != manifest.sha256 {
        return Err(BackupError::Refused(format!(
            "{} does not match the manifest's digest: the backup is damaged",
            file.display()
        )));
    }
    Ok((manifest, file))
}

/// Replaces the database behind `url` with the backup in `dir`, then migrates it to this
/// build's schema. Refused while a server runs on it (one holds the reconciler's lease).
/// With `workflows_lost`, every order that waited goes back to the reconciler to get a
/// workflow again.
pub async fn restore(
    url: &str,
    dir: &Path,
    workflows_lost: bool,
    now_ms: i64,
) -> Result<Restored, BackupError> {
    let (manifest, file) = check(dir, url).await?;
    refuse_while_served(url, now_ms).await?;
    if db::is_postgres(url) {
        let from = file.display().to_string();
        run_tool(
            "pg_restore",
            &[
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--dbname",
                url,
                &from,
            ],
        )
        .await?;
    } else {
        let target = sqlite_path(url)?;
        let staged = target.with_extension("restoring");
        std::fs::copy(&file, &staged).map_err(io(format!("copying to {}", staged.display())))?;
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", target.display()));
            match std::fs::remove_file(&side) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io(format!("removing {}", side.display()))(e))
                }
                _ => {}
            }
        }
        std::fs::rename(&staged, &target).map_err(io(format!(
            "moving the restored file to {}",
            target.display()
        )))?;
    }
    let db = db::open(url).await?;
    let reopened = if workflows_lost {
        maintenance::reopen_waiting(&db, now_ms).await?
    } else {
        0
    };
    Ok(Restored { manifest, reopened })
}

/// A server running on the database holds (or will soon take) the reconciler's lease;
/// taking it here shows none does.
async fn refuse_while_served(url: &str, now_ms: i64) -> Result<(), BackupError> {
    if !db::is_postgres(url) && !sqlite_path(url)?.exists() {
        return Ok(());
    }
    let db = db::open(url).await?;
    let held = lease::hold(
        &db,
        lease::RECONCILER,
        "server restore",
        now_ms,
        Duration::from_secs(60),
    )
    .await?;
    if !held {
        return Err(BackupError::Refused(
            "a server is running on this database (it holds the reconciler's lease): \
             stop every replica first"
                .into(),
        ));
    }
    lease::release(&db, lease::RECONCILER, "server restore").await?;
    db.close().await;
    Ok(())
}

/// The file behind a SQLite URL, or why there is none.
fn sqlite_path(url: &str) -> Result<PathBuf, BackupError> {
    db::sqlite_file(url).ok_or_else(|| BackupError::Refused(format!("{url} names no SQLite file")))
}

/// Runs one of PostgreSQL's tools (from `PG_BIN_DIR`, or the `PATH`) under
/// [`TOOL_DEADLINE`].
async fn run_tool(tool: &str, args: &[&str]) -> Result<(), BackupError> {
    let program = match std::env::var_os("PG_BIN_DIR") {
        Some(dir) => PathBuf::from(dir).join(tool),
        None => PathBuf::from(tool),
    };
    let child = tokio::process::Command::new(&program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(io(format!(
            "starting {} (install PostgreSQL's client tools, or set PG_BIN_DIR)",
            program.display()
        )))?;
    let output = tokio::time::timeout(TOOL_DEADLINE, child.wait_with_output())
        .await
        .map_err(|_| BackupError::Tool {
            tool: tool.to_owned(),
            status: format!("still running after {TOOL_DEADLINE:?}"),
            stderr: String::new(),
        })?
        .map_err(io(format!("running {tool}")))?;
    if !output.status.success() {
        return Err(BackupError::Tool {
            tool: tool.to_owned(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::order::OrderFacts;

    fn facts(id: &str) -> OrderFacts {
        OrderFacts {
            instance_id: format!("po-{id}"),
            order_id: id.to_owned(),
            product: "Widget".into(),
            quantity: 1,
            unit_cost: domain::Cents(200_000),
            requested_by: Some("alice".into()),
        }
    }

    #[test]
    fn a_sqlite_url_names_its_file() {
        assert_eq!(
            sqlite_path("sqlite://data/approvals.db?mode=rwc").expect("a file"),
            PathBuf::from("data/approvals.db")
        );
        assert_eq!(
            sqlite_path("sqlite:/tmp/a.db").expect("a file"),
            PathBuf::from("/tmp/a.db")
        );
        assert!(sqlite_path("sqlite::memory:").is_err());
        assert!(sqlite_path("postgres://x/y").is_err());
    }

    /// A backup restores the database as it was when taken, and hands the orders that
    /// waited back to the reconciler, deadline kept, when the workflows were lost; a
    /// damaged backup, one of the other database, or a restore into a database a
    /// server runs on is refused.
    #[tokio::test]
    async fn a_backup_restores_what_it_held_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("approvals.db").display());
        let db = db::open(&url).await.expect("db");
        crate::store::read_model::insert_submitted(&db, &facts("kept"), 1_000)
            .await
            .expect("insert");
        crate::store::read_model::mark_awaiting(&db, &facts("kept"), 90_000, 1_500)
            .await
            .expect("awaiting");
        let folder = dir.path().join("backup");
        let manifest = backup(&db, &url, &folder, 2_000).await.expect("backup");
        assert_eq!(manifest.database, "sqlite");
        assert_eq!(manifest.schema_version, db::newest_migration(&url));
        assert!(
            backup(&db, &url, &folder, 2_000).await.is_err(),
            "a backup never writes over another"
        );

        // The order made after the backup is gone once it is restored.
        crate::store::read_model::insert_submitted(&db, &facts("later"), 3_000)
            .await
            .expect("insert");
        // A server holds the lease: refused.
        assert!(lease::hold(
            &db,
            lease::RECONCILER,
            "replica-1",
            3_000,
            Duration::from_secs(60)
        )
        .await
        .expect("lease"));
        let refused = restore(&url, &folder, false, 3_000).await;
        assert!(
            matches!(&refused, Err(BackupError::Refused(m)) if m.contains("stop every replica")),
            "{refused:?}"
        );
        lease::release(&db, lease::RECONCILER, "replica-1")
            .await
            .expect("release");
        db.close().await;

        let restored = restore(&url, &folder, true, 4_000).await.expect("restore");
        assert_eq!(restored.reopened, 1, "po-kept waited");
        let db = db::open(&url).await.expect("db");
        let kept = crate::store::read_model::get(&db, "po-kept")
            .await
            .expect("reads")
            .expect("po-kept is back");
        assert_eq!(kept.status, domain::OrderStatus::Submitted);
        assert_eq!(kept.deadline, Some(90_000), "its deadline kept");
        assert!(crate::store::read_model::get(&db, "po-later")
            .await
            .expect("reads")
            .is_none());
        db.close().await;

        assert!(matches!(
            check(&folder, "postgres://localhost/approvals").await,
            Err(BackupError::Refused(m)) if m.contains("sqlite")
        ));
        let file = folder.join(SQLITE_FILE);
        let mut bytes = std::fs::read(&file).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&file, bytes).expect("write");
        assert!(matches!(
            check(&folder, &url).await,
            Err(BackupError::Refused(m)) if m.contains("damaged")
        ));
    }
}
