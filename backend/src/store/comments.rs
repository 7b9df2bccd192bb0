//! The orders' threads (see `services::orders::comments` for who may read and write).

use crate::model::comment::{CommentRow, NewComment};

on_either_database!(comments {
    /// Adds a comment (opening or closing the order's question); its id.
    fn add(comment: &NewComment) -> Result<i64, sqlx::Error>;
    /// An order's thread, oldest first.
    fn list(instance_id: &str) -> Result<Vec<CommentRow>, sqlx::Error>;
    fn get(id: i64) -> Result<Option<CommentRow>, sqlx::Error>;
});
