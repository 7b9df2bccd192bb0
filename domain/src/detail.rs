//! One order in full, as its page and `GET /api/orders/{instance_id}` show it: the
//! order, what happened to it in order, and what the reader may do with it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::view::OrderView;

/// A step in an order's life: submitted, a level asked or approved, a reminder, the
/// outcome, an operator's action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub label: String,
    #[serde(deserialize_with = "crate::rfc3339::de")]
    pub at: DateTime<Utc>,
}

/// An order, its timeline (oldest first), and what the reader may do with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderDetail {
    pub order: OrderView,
    pub timeline: Vec<TimelineEntry>,
    /// The server's clock when this was read (ms since the epoch), so a countdown can
    /// allow for the difference between the reader's clock and the server's.
    pub server_now_ms: i64,
    /// Whether the reader may decide this order now: as themselves, or for someone
    /// whose decisions they hold.
    pub can_decide: bool,
    /// Whether the reader may cancel this order (its requester, while it waits).
    pub can_cancel: bool,
    /// Why the order needs an operator; for those who decide orders only.
    pub attention: Option<String>,
    /// Whether the reader may claim, assign or release this order now. Server only,
    /// as the assignment's forms are (the browser's bundle has a budget).
    #[cfg(feature = "ssr")]
    #[serde(default)]
    pub can_assign: bool,
    /// Whom it may be assigned to (those who may decide the level it waits at); only
    /// for a reader who may assign it.
    #[cfg(feature = "ssr")]
    #[serde(default)]
    pub assignable: Vec<String>,
    /// Whether the reader takes part in the order's thread (server only, as above).
    #[cfg(feature = "ssr")]
    #[serde(default)]
    pub can_discuss: bool,
    /// Since when a question to the requester waits for an answer, while the order
    /// waits (server only, as above).
    #[cfg(feature = "ssr")]
    #[serde(default, deserialize_with = "crate::rfc3339::de_opt")]
    pub question_since: Option<DateTime<Utc>>,
}

/// A comment in an order's thread (the API's; the pages show the thread in the
/// timeline, so the browser's bundle has no use for it).
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CommentView {
    pub id: i64,
    pub author: String,
    pub text: String,
    /// A question to the requester (asked by someone who decides the order).
    pub question: bool,
    #[serde(deserialize_with = "crate::rfc3339::de")]
    pub at: DateTime<Utc>,
}
