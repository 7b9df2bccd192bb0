//! An e-mail's action link as the store keeps it: who it is for, on which order and
//! level, what it decides, until when, and whether it was used. The token itself is
//! never stored, only its hash (`kernel::secret`).

use domain::{Decision, Role};
use sqlx::FromRow;

/// A link about to go out in an e-mail.
#[derive(Debug, Clone)]
pub struct NewActionLink {
    pub token_hash: String,
    /// The notification it goes out with.
    pub notification_id: i64,
    pub instance_id: String,
    /// The account it decides as.
    pub recipient: String,
    /// The level it was asked at (1 for the seed's single level) and of which role.
    pub level: i64,
    pub role: Role,
    pub decision: Decision,
    /// The level's deadline: no use after it.
    pub expires_at: i64,
}

/// A stored link, found by its token's hash.
#[derive(Debug, Clone, FromRow)]
pub struct ActionLinkRow {
    pub instance_id: String,
    pub recipient: String,
    pub level: i64,
    pub role: Role,
    pub decision: Decision,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}
