//! The secrets sessions and API tokens are: random, stored only as their hash, and
//! their last use written at most once a minute.

use base64::Engine;
use domain::Role;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::model::people::User;

/// Last use is written at most this often per session or token (not on every request).
pub(super) const TOUCH_EVERY_MS: i64 = 60 * 1000;

pub(super) fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub(super) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

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
