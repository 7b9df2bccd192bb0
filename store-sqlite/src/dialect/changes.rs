//! The change feed's order on SQLite: ids are handed out in commit order (one
//! writer), so the id says it all.

use base::model::order::{ChangeStatus, OrderChange, Position};
use sqlx::SqlitePool;

/// Where the feed ends now.
pub async fn latest(db: &SqlitePool) -> Result<Position, sqlx::Error> {
    let max = sqlx::query_scalar!(r#"SELECT MAX(id) AS "max: i64" FROM order_changes"#)
        .fetch_one(db)
        .await?;
    Ok(Position {
        txid: 0,
        id: max.unwrap_or(0),
    })
}

/// Up to 1,000 changes after `from`, oldest first, and where they end.
pub async fn after(
    db: &SqlitePool,
    from: Position,
) -> Result<(Vec<OrderChange>, Position), sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", instance_id, status, requested_by FROM order_changes
            WHERE id > $1 ORDER BY id LIMIT 1000"#,
        from.id
    )
    .fetch_all(db)
    .await?;
    let changes = rows
        .into_iter()
        .map(|r| {
            Ok(OrderChange {
                id: r.id,
                instance_id: r.instance_id,
                status: ChangeStatus::from_column(&r.status)?,
                requested_by: r.requested_by,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let end = changes
        .last()
        .map_or(from, |c| Position { txid: 0, id: c.id });
    Ok((changes, end))
}
