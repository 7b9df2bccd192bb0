//! People as the rules see them: someone signed in ([`User`]), someone whose
//! decisions another holds for now ([`Delegator`]), and the people a decision record
//! names (`carol for dora`: a delegate and the person they acted for).

use domain::{Role, UserView};

/// A signed-in person, as the accounts table holds them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
    /// An unknown role in the database fails the read rather than demoting anyone.
    pub role: Role,
    pub created_at: i64,
}

impl User {
    pub fn new(id: i64, name: String, role: Role, created_at: i64) -> Self {
        Self {
            id,
            name,
            role,
            created_at,
        }
    }

    pub fn decides_orders(&self) -> bool {
        self.role.decides_orders()
    }

    pub fn view(&self) -> UserView {
        UserView {
            name: self.name.clone(),
            role: self.role,
        }
    }
}

/// Between the delegate's and the delegator's name in a decision's record.
const ON_BEHALF: &str = " for ";

/// Who took a decision: a person, for themselves or for someone whose decisions they
/// hold now. Recorded as text (`carol`, `carol for dora`) in the read model, the
/// workflow's events and its outcome, which keep the seed's shapes; this is the one
/// place that writes and reads that form. A username never holds a space, so the
/// record reads back unambiguously.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub person: String,
    /// Whose decision it was, when not the person's own.
    pub on_behalf_of: Option<String>,
}

impl Actor {
    /// Someone deciding for themselves.
    pub fn person(name: &str) -> Self {
        Self {
            person: name.to_owned(),
            on_behalf_of: None,
        }
    }

    /// A delegate deciding for `delegator`.
    pub fn acting_for(person: &str, delegator: &str) -> Self {
        Self {
            person: person.to_owned(),
            on_behalf_of: Some(delegator.to_owned()),
        }
    }

    /// Reads a record as [`Display`](std::fmt::Display) writes it.
    pub fn parse(record: &str) -> Self {
        match record.split_once(ON_BEHALF) {
            Some((person, delegator)) => Self::acting_for(person, delegator),
            None => Self::person(record),
        }
    }

    /// Everyone the record names, the person first: four eyes counts both.
    pub fn into_people(self) -> impl Iterator<Item = String> {
        std::iter::once(self.person).chain(self.on_behalf_of)
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.on_behalf_of {
            Some(delegator) => write!(f, "{}{ON_BEHALF}{delegator}", self.person),
            None => f.write_str(&self.person),
        }
    }
}

/// An account as operators list it.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    pub email: Option<String>,
}

/// One API token as `server token list` shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub user_name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

/// `delegator` hands their decisions to `delegate` from `starts_at` until `ends_at`
/// (milliseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delegation {
    pub id: i64,
    pub delegator: String,
    pub delegate: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// Someone whose decisions `delegate` may take now, with their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegator {
    pub name: String,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_it_was_written() {
        for actor in [Actor::person("bob"), Actor::acting_for("carol", "dora")] {
            assert_eq!(Actor::parse(&actor.to_string()), actor);
        }
        assert_eq!(
            Actor::acting_for("carol", "dora").to_string(),
            "carol for dora"
        );
        assert_eq!(
            Actor::parse("carol for dora")
                .into_people()
                .collect::<Vec<_>>(),
            ["carol", "dora"]
        );
    }
}
