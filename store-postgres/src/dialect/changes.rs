//! The change feed's order on PostgreSQL.
//!
//! A change is read only once every transaction that could still write one before it
//! has ended: rows of transactions older than the oldest one running
//! (`pg_snapshot_xmin`), in (txid, id) order. A transaction that commits late therefore
//! holds the feed back a moment, but is never stepped over.

use base::model::order::{ChangeStatus, OrderChange, Position};
use sqlx::PgPool;

pub async fn latest(db: &PgPool) -> Result<Position, sqlx::Error> {
    // Everything not yet readable lies ahead of this position: changes of transactions
    // still running sort after it, since their txid is at least the snapshot's xmin.
    let last = sqlx::query!(
        r#"SELECT txid::text::bigint AS "txid!", id FROM order_changes
          WHERE txid < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY txid DESC, id DESC LIMIT 1"#,
    )
    .fetch_optional(db)
    .await?;
    Ok(last.map_or(Position::default(), |r| Position {
        txid: r.txid,
        id: r.id,
    }))
}

pub async fn after(
    db: &PgPool,
    from: Position,
) -> Result<(Vec<OrderChange>, Position), sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT txid::text::bigint AS "txid!", id, instance_id,
                status, requested_by
           FROM order_changes
          WHERE (txid > $1::bigint::text::xid8 OR (txid = $1::bigint::text::xid8 AND id > $2))
            AND txid < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY txid, id LIMIT 1000"#,
        from.txid,
        from.id,
    )
    .fetch_all(db)
    .await?;
    let end = rows.last().map_or(from, |r| Position {
        txid: r.txid,
        id: r.id,
    });
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
    Ok((changes, end))
}
