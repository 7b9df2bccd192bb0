//! The reconciler's lease: which replica runs it.

use crate::Pool;

/// Takes or renews lease `name` for `holder` until `until`, unless someone else holds
/// it and it has not run out; whether `holder` has it now. One statement: the row's
/// lock makes two replicas' takes of the same lease run one after the other, and the
/// second sees the first's holder (the `WHERE` of `DO UPDATE` is checked against the
/// row as it is then), so at most one holds it.
pub async fn hold(
    db: &Pool,
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

/// Gives lease `name` up, if `holder` has it.
pub async fn release(db: &Pool, name: &str, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM leases WHERE name = $1 AND holder = $2",
        name,
        holder
    )
    .execute(db)
    .await?;
    Ok(())
}
