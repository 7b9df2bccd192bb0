//! The orders' attached files: recording one (and counting it on the order, which the
//! change feed then carries), and reading them back.

use base::model::attachment::{AttachmentRow, NewAttachment};

use crate::Pool;

/// Records a file whose bytes are stored; its id. `None`: not recorded, because the
/// order no longer waits or already has `max` files. The order's count is raised in
/// the same transaction, only below `max`, so two uploads racing for the last place
/// cannot both take it.
pub async fn add(db: &Pool, file: &NewAttachment, max: i64) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let counted = sqlx::query!(
        "UPDATE orders SET attachments = attachments + 1, updated_at = $1
          WHERE instance_id = $2 AND attachments < $3
            AND status IN ('submitted', 'awaiting_approval') AND decided_by IS NULL",
        file.at,
        file.instance_id,
        max,
    )
    .execute(&mut *tx)
    .await?;
    if counted.rows_affected() == 0 {
        return Ok(None);
    }
    let id = sqlx::query_scalar!(
        r#"INSERT INTO order_attachments
               (instance_id, name, size, content_type, sha256, storage_key, added_by, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id AS "id!""#,
        file.instance_id,
        file.name,
        file.size,
        file.content_type,
        file.sha256,
        file.storage_key,
        file.added_by,
        file.at,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// An order's files, oldest first.
pub async fn list(db: &Pool, instance_id: &str) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    sqlx::query_as!(
        AttachmentRow,
        r#"SELECT id AS "id!", instance_id, name, size, content_type, sha256, storage_key,
                  added_by, at
             FROM order_attachments WHERE instance_id = $1 ORDER BY id"#,
        instance_id,
    )
    .fetch_all(db)
    .await
}

/// One of an order's files.
pub async fn get(
    db: &Pool,
    instance_id: &str,
    id: i64,
) -> Result<Option<AttachmentRow>, sqlx::Error> {
    sqlx::query_as!(
        AttachmentRow,
        r#"SELECT id AS "id!", instance_id, name, size, content_type, sha256, storage_key,
                  added_by, at
             FROM order_attachments WHERE instance_id = $1 AND id = $2"#,
        instance_id,
        id,
    )
    .fetch_optional(db)
    .await
}
