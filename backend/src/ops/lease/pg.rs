//! The PostgreSQL dialect of [`super`]'s queries: the same statements, checked by the
//! test suite run on PostgreSQL (`APPROVALS_TEST_POSTGRES`).

use std::time::Duration;

use sqlx::PgPool;

/// One statement, as on SQLite: the row's lock makes two replicas' takes of the same
/// lease run one after the other, and the second sees the first's holder (the
/// `WHERE` of `DO UPDATE` is checked against the row as it is then), so at most one
/// holds it.
pub(super) async fn hold(
    db: &PgPool,
    name: &str,
    holder: &str,
    now_ms: i64,
    ttl: Duration,
) -> Result<bool, sqlx::Error> {
    let until = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    let result = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                expires_at = excluded.expires_at
          WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
    )
    .bind(name)
    .bind(holder)
    .bind(until)
    .bind(now_ms)
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

pub(super) async fn release(db: &PgPool, name: &str, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(db)
        .await?;
    Ok(())
}
