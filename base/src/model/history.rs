//! What happened to an order besides its row, as the store reads it back: the levels
//! approved before the last, the timeline's other events, what operators did to it;
//! and the waiting orders at a glance.

use domain::Role;
use sqlx::FromRow;

/// An entry of an order's timeline besides its decisions (a reminder, an escalation).
#[derive(Debug, Clone, FromRow)]
pub struct TimelineRow {
    pub at: i64,
    pub label: String,
}

/// One approved level of an order that has several, as its timeline shows it.
#[derive(Debug, Clone, FromRow)]
pub struct LevelApproval {
    pub level: i64,
    pub role: Option<Role>,
    pub requested_at: Option<i64>,
    pub approved_by: String,
    pub comment: Option<String>,
    pub approved_at: i64,
    /// Where the approval was made (`None` before this was recorded).
    pub via: Option<crate::model::order::Via>,
}

/// What an operator may do to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub enum OperatorAction {
    Terminate,
    Redrive,
}

/// One operator action, for the order's timeline.
#[derive(Debug, Clone, FromRow)]
pub struct OperatorActionRow {
    pub actor: String,
    pub action: OperatorAction,
    pub reason: Option<String>,
    pub at: i64,
}

/// The waiting orders at a glance, for the metrics: how many, since when the oldest
/// (ms), and how many orders need an operator. Both counts are read off indexes.
#[derive(FromRow)]
pub struct WaitingSummary {
    pub waiting: i64,
    pub oldest_since: Option<i64>,
    pub needing_attention: i64,
}
