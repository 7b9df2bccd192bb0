//! The orders' threads: adding a comment (and opening or closing the question it asks
//! or answers, which touches the order, so the change feed carries it live), and
//! reading them back.

use base::model::comment::{CommentRow, NewComment};

use crate::Pool;

/// Adds a comment; its id. A question opens the order's question (if none is open),
/// the requester's writing closes it; either way the order's row changes.
pub async fn add(db: &Pool, comment: &NewComment) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let id = sqlx::query_scalar!(
        r#"INSERT INTO order_comments (instance_id, author, text, question, at)
           VALUES ($1, $2, $3, $4, $5) RETURNING id AS "id!""#,
        comment.instance_id,
        comment.author,
        comment.text,
        comment.question,
        comment.at,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE orders SET updated_at = $1,
                question_since = CASE WHEN $2 THEN COALESCE(question_since, $1)
                                      WHEN $3 THEN NULL
                                      ELSE question_since END
          WHERE instance_id = $4",
        comment.at,
        comment.question,
        comment.answers,
        comment.instance_id,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// An order's thread, oldest first.
pub async fn list(db: &Pool, instance_id: &str) -> Result<Vec<CommentRow>, sqlx::Error> {
    sqlx::query_as!(
        CommentRow,
        r#"SELECT id AS "id!", instance_id, author, text, question AS "question: bool", at
             FROM order_comments WHERE instance_id = $1 ORDER BY id"#,
        instance_id,
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &Pool, id: i64) -> Result<Option<CommentRow>, sqlx::Error> {
    sqlx::query_as!(
        CommentRow,
        r#"SELECT id AS "id!", instance_id, author, text, question AS "question: bool", at
             FROM order_comments WHERE id = $1"#,
        id,
    )
    .fetch_optional(db)
    .await
}
