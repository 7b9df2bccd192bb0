//! People: their roles, their names, and the demo accounts.

use serde::{Deserialize, Serialize};

/// What a signed-in person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Submits orders and follows their own.
    Requester,
    /// Also decides other people's orders.
    Manager,
    /// Decides other people's orders as a manager does; approval levels (issue 13 §2)
    /// will give directors the level above the managers'.
    Director,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requester => "requester",
            Self::Manager => "manager",
            Self::Director => "director",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "requester" => Some(Self::Requester),
            "manager" => Some(Self::Manager),
            "director" => Some(Self::Director),
            _ => None,
        }
    }
}

/// The signed-in person, as pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub name: String,
    pub role: Role,
}

impl Role {
    /// Whether people with this role decide orders (theirs excepted): they have the
    /// inbox.
    pub fn decides_orders(self) -> bool {
        matches!(self, Self::Manager | Self::Director)
    }
}

impl UserView {
    pub fn decides_orders(&self) -> bool {
        self.role.decides_orders()
    }
}

pub const MAX_USERNAME_LEN: usize = 32;
pub const MIN_PASSWORD_LEN: usize = 8;

pub fn parse_username(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.len() > MAX_USERNAME_LEN {
        return Err(format!(
            "Use 1 to {MAX_USERNAME_LEN} characters for the username."
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        return Err("Use only lowercase letters, digits, '.', '_' and '-' in usernames.".into());
    }
    Ok(name.to_owned())
}

/// The demo accounts `make run` creates in an empty database (`APP_DEMO_USERS=1`). The
/// password is public: the sign-in page prints it.
pub mod demo {
    use super::Role;

    pub const PASSWORD: &str = "approvals-demo";
    pub const REQUESTER: &str = "alice";
    pub const MANAGERS: [&str; 2] = ["bob", "carol"];
    /// Decides the directors' level of an approval policy (and managers' levels too).
    pub const DIRECTOR: &str = "dora";
    pub const USERS: [(&str, Role); 4] = [
        (REQUESTER, Role::Requester),
        (MANAGERS[0], Role::Manager),
        (MANAGERS[1], Role::Manager),
        (DIRECTOR, Role::Director),
    ];
}
