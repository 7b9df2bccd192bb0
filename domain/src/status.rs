//! Where an order stands, and what a manager decided.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an order stands in the read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted by us; the workflow has not reported yet.
    Submitted,
    AwaitingApproval,
    AutoApproved,
    Approved,
    Rejected,
    TimedOut,
    /// Withdrawn by its requester before anyone decided.
    Cancelled,
    Failed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        Self::Submitted,
        Self::AwaitingApproval,
        Self::AutoApproved,
        Self::Approved,
        Self::Rejected,
        Self::TimedOut,
        Self::Cancelled,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::AwaitingApproval => "awaiting_approval",
            Self::AutoApproved => "auto_approved",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn is_final(self) -> bool {
        !matches!(self, Self::Submitted | Self::AwaitingApproval)
    }

    /// The status in words, as a person reads it.
    pub fn label(self, decided_by: Option<&str>) -> String {
        let by = decided_by.unwrap_or("a manager");
        match self {
            Self::Submitted => "Submitted".into(),
            Self::AwaitingApproval => "Waiting for approval".into(),
            Self::AutoApproved => "Auto-approved".into(),
            Self::Approved => format!("Approved by {by}"),
            Self::Rejected => format!("Rejected by {by}"),
            Self::TimedOut => "Cancelled due to timeout".into(),
            Self::Cancelled => format!("Cancelled by {}", decided_by.unwrap_or("the requester")),
            Self::Failed => "Failed".into(),
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What ends an order's wait, as the read model stores a claim: a manager approves or
/// rejects it, or its requester cancels it. At most one claim per order wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
    Cancel,
}

impl Decision {
    pub fn from_approved(approved: bool) -> Self {
        if approved {
            Self::Approve
        } else {
            Self::Reject
        }
    }

    pub fn approved(self) -> bool {
        self == Self::Approve
    }

    /// The status the order ends in when this decision wins.
    pub fn outcome(self) -> OrderStatus {
        match self {
            Self::Approve => OrderStatus::Approved,
            Self::Reject => OrderStatus::Rejected,
            Self::Cancel => OrderStatus::Cancelled,
        }
    }
}

/// A sort a person picks for a list of orders, instead of the list's own order (pending:
/// soonest deadline first; decided: latest decision first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Soonest deadline first.
    Deadline,
    /// Largest total first.
    Amount,
    /// Newest first.
    Created,
}

impl SortKey {
    pub const ALL: [SortKey; 3] = [Self::Deadline, Self::Amount, Self::Created];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deadline => "deadline",
            Self::Amount => "amount",
            Self::Created => "created",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// As the sort control names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Deadline => "Deadline, soonest first",
            Self::Amount => "Amount, largest first",
            Self::Created => "Submitted, newest first",
        }
    }
}

/// The inbox's filter by who holds a waiting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldBy {
    /// Held by the reader.
    Me,
    /// Held by nobody.
    Nobody,
}

impl HeldBy {
    pub const ALL: [HeldBy; 2] = [Self::Me, Self::Nobody];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Me => "me",
            Self::Nobody => "nobody",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// As the inbox's filter names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Me => "Assigned to me",
            Self::Nobody => "Unassigned",
        }
    }

    /// The inbox's filter text as typed: a `held:me` or `held:nobody` in it (the last
    /// one wins), and the rest of the text, which is searched as before.
    pub fn split_from(text: &str) -> (Option<HeldBy>, String) {
        let mut held = None;
        let mut rest = Vec::new();
        for word in text.split_whitespace() {
            match word.strip_prefix("held:").and_then(Self::parse) {
                Some(h) => held = Some(h),
                None => rest.push(word),
            }
        }
        (held, rest.join(" "))
    }
}

#[cfg(test)]
mod held_tests {
    use super::HeldBy;

    #[test]
    fn the_filter_text_carries_who_holds_an_order() {
        assert_eq!(
            HeldBy::split_from("desk held:me  chair"),
            (Some(HeldBy::Me), "desk chair".into())
        );
        assert_eq!(
            HeldBy::split_from("held:nobody"),
            (Some(HeldBy::Nobody), String::new())
        );
        assert_eq!(
            HeldBy::split_from("held:someone desk"),
            (None, "held:someone desk".into())
        );
    }
}
