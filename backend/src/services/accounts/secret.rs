//! The secrets sessions and API tokens are: random, stored only as their hash, and
//! their last use written at most once a minute.

use domain::Role;

use crate::model::people::User;

/// Last use is written at most this often per session or token (not on every request).
pub(super) const TOUCH_EVERY_MS: i64 = 60 * 1000;

pub(super) use crate::kernel::secret::{new_token, token_hash};

/// A user found by a session or a token, with when that credential was last marked as
/// used.
#[derive(sqlx::FromRow)]
pub(super) struct Touched {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) role: Role,
    pub(super) created_at: i64,
    pub(super) touched_at: Option<i64>,
}

impl From<(User, Option<i64>)> for Touched {
    fn from((user, touched_at): (User, Option<i64>)) -> Self {
        Self {
            id: user.id,
            name: user.name,
            role: user.role,
            created_at: user.created_at,
            touched_at,
        }
    }
}

impl Touched {
    /// Whether the last-use mark is old enough to rewrite. Deciding this from the read
    /// keeps an ordinary request from taking SQLite's one write lock at all: even an
    /// `UPDATE` that matches no row waits for it.
    pub(super) fn is_stale(&self, now: i64) -> bool {
        self.touched_at.unwrap_or(0) < now - TOUCH_EVERY_MS
    }

    pub(super) fn user(self) -> User {
        User {
            id: self.id,
            name: self.name,
            role: self.role,
            created_at: self.created_at,
        }
    }
}
