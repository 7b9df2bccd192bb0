//! The one error type of the server-side core. Each error keeps its source and is
//! logged once, where it becomes a response: the JSON API (`ApiError`) and the server
//! functions (`AppError`) each turn it into their own answer in one place.

use domain::{OrderStatus, ValidationErrors};

use crate::kernel::engine_error::{EngineError, FailureKind};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(#[from] ValidationErrors),
    #[error("{0}")]
    NotFound(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// What was sent is larger than the app takes (an attached file past its limit).
    #[error("{0}")]
    TooLarge(String),
    /// What was sent is of a kind the app does not take (a file that is not a PDF,
    /// PNG or JPEG by its content).
    #[error("{0}")]
    UnsupportedType(String),
    /// The request cannot be taken in the current state (an order already decided, an
    /// account name in use).
    #[error("{message}")]
    Conflict {
        message: String,
        status: Option<OrderStatus>,
        decided_by: Option<String>,
    },
    /// Too many sign-in attempts (by this client, or for this account): try again
    /// after `retry_after`.
    #[error("Too many sign-in attempts; try again in {} seconds.", retry_after.as_secs().max(1))]
    TooManyAttempts { retry_after: std::time::Duration },
    /// The workflow engine cannot take the request right now; nothing was changed.
    #[error("{message}")]
    Unavailable {
        message: String,
        source: EngineError,
    },
    #[error("read model: {0}")]
    Database(#[from] sqlx::Error),
    #[error("workflow engine ({context}): {source}")]
    Engine {
        context: &'static str,
        source: EngineError,
    },
    /// Shown outward only as "internal error".
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a caller is told while the database is held by another writer (a long
/// transaction, a backup, an operator's lock): not our bug, and not for long.
pub const DATABASE_BUSY: &str =
    "The database is busy right now; try again in a moment (look at the order first if you \
     were changing it).";

/// PostgreSQL's SQLSTATEs that mean what SQLite's busy and locked mean: the statement
/// did not run to the end because of others, and nothing of it (or of the transaction
/// around it, which PostgreSQL then rolls back whole) was kept.
///
/// - `57014` query_canceled: `statement_timeout` fired (or an operator cancelled the
///   statement). A cancelled statement is rolled back, in a transaction or on its own
///   (an autocommit write commits only once it has finished), and a cancelled `COMMIT`
///   has not committed.
/// - `55P03` lock_not_available: a lock was not granted within `lock_timeout`.
/// - `40001` serialization_failure, `40P01` deadlock_detected: the transaction was
///   rolled back so that another could go on; running it again is the cure.
/// - `53300` too_many_connections: the server had no connection to give; nothing ran.
const PG_BUSY: [&str; 5] = ["57014", "55P03", "40001", "40P01", "53300"];

/// See [`ServiceError::is_busy`].
pub fn database_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(e) => {
            // PostgreSQL's codes are SQLSTATEs, some of them all digits: SQLite's
            // numeric rule below would read `22021` (a character not in the encoding)
            // as busy (22021 & 0xff is 5).
            if let Some(e) = e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                return PG_BUSY.contains(&e.code());
            }
            // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), with extended codes.
            let primary = e
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            matches!(primary, Some(5 | 6)) || e.message().contains("database is locked")
        }
        _ => false,
    }
}

impl ServiceError {
    /// The database was busy or locked (or no connection came free, or PostgreSQL gave
    /// up on the statement or rolled the transaction back for another's sake) past its
    /// wait: a 503 with [`DATABASE_BUSY`], not an internal error.
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Database(e) if database_busy(e))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            status: None,
            decided_by: None,
        }
    }

    /// Maps an engine failure that has no more specific meaning to the caller.
    pub fn from_engine(context: &'static str, source: EngineError) -> Self {
        let message = match source.kind {
            FailureKind::Unreachable | FailureKind::NotReady => {
                "The workflow engine (Dapr sidecar) is not reachable right now; nothing was \
                 changed. Try again in a few seconds."
            }
            FailureKind::Busy => {
                "The workflow engine is too busy to take this right now; nothing was changed. \
                 Try again in a moment."
            }
            // Never "nothing was changed": it may have been.
            FailureKind::Unknown => {
                "The workflow engine did not answer in time. Look at the order before trying \
                 again: what you asked for may have been done."
            }
            _ => return Self::Engine { context, source },
        };
        Self::Unavailable {
            message: message.into(),
            source,
        }
    }

    /// Our fault rather than the caller's: a 5xx that says no more than "internal
    /// error" outward.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Database(_) | Self::Engine { .. } | Self::Internal(_)
        )
    }

    /// Logs the error with its source, once, where it becomes a response. Refusals of
    /// the caller's request (4xx) are the caller's business and are not logged.
    pub fn log(&self, context: &str) {
        match self {
            Self::Unavailable { source, .. } => {
                tracing::warn!(error = %source, "{context}: workflow engine unavailable")
            }
            e if e.is_busy() => tracing::warn!(error = %e, "{context}: database busy"),
            e if e.is_internal() => tracing::error!(error = %e, "{context}"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    /// A write that meets another writer's lock is "busy" (a 503), any other database
    /// error is not.
    #[tokio::test]
    async fn a_locked_database_is_busy_and_other_errors_are_not() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("busy.db"))
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::ZERO);
        let mut holder = options.connect().await.expect("a connection");
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut holder)
            .await
            .expect("a table");
        let mut other = options.connect().await.expect("another connection");
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut holder)
            .await
            .expect("the lock");
        let locked = sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut other)
            .await
            .expect_err("the lock is held");
        assert!(ServiceError::from(locked).is_busy());
        let wrong = sqlx::query("INSERT INTO nowhere VALUES (1)")
            .execute(&mut holder)
            .await
            .expect_err("no such table");
        assert!(!ServiceError::from(wrong).is_busy());
        assert!(ServiceError::from(sqlx::Error::PoolTimedOut).is_busy());
        holder.close().await.expect("closes");
    }
}
