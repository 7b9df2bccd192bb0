//! The order's thread as the store keeps it: who wrote what, when, and whether it asks
//! the requester a question.

use sqlx::FromRow;

/// A comment about to be added. `answers`: its author is the order's requester, whose
/// writing answers an open question.
#[derive(Debug, Clone)]
pub struct NewComment {
    pub instance_id: String,
    pub author: String,
    pub text: String,
    pub question: bool,
    pub answers: bool,
    pub at: i64,
}

/// A stored comment.
#[derive(Debug, Clone, FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub instance_id: String,
    pub author: String,
    pub text: String,
    pub question: bool,
    pub at: i64,
}
