//! What the operators' maintenance commands ask of the database itself: the schema
//! version it is at (`server doctor`), and the orders a restore hands back to the
//! reconciler (`server restore --workflows-lost`).

use crate::Pool;

/// The newest migration applied (its version, `YYYYMMDDnnnnnn`), if any.
pub async fn schema_version(db: &Pool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT MAX(version) AS "version" FROM _sqlx_migrations WHERE success"#)
        .fetch_one(db)
        .await
}

/// Every order waiting for a decision goes back to `submitted`, keeping its level,
/// deadline and claim, for the reconciler to give it a workflow again: restored into an
/// empty Dapr state, the workflows it waited in are gone. How many.
pub async fn reopen_waiting(db: &Pool, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE orders SET status = 'submitted', updated_at = $1
          WHERE status = 'awaiting_approval'",
        now,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// The latest time any order was written at, by the clock of whoever wrote it.
pub async fn newest_write(db: &Pool) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT MAX(updated_at) AS "at" FROM orders"#)
        .fetch_one(db)
        .await
}
