//! The reconciler's lease: which replica runs it.

use sqlx::PgPool;

/// One statement, as on SQLite: the row's lock makes two replicas' takes of the same
/// lease run one after the other, and the second sees the first's holder (the
/// `WHERE` of `DO UPDATE` is checked against the row as it is then), so at most one
/// holds it.
pub async fn hold(
    db: &PgPool,
    name: &str,
    holder: &str,
    now_ms: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query!(
        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                expires_at = excluded.expires_at
          WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
        name,
        holder,
        until,
        now_ms,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() > 0)
}

pub async fn release(db: &PgPool, name: &str, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM leases WHERE name = $1 AND holder = $2",
        name,
        holder
    )
    .execute(db)
    .await?;
    Ok(())
}
