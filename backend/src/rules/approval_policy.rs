//! The approval policy: which levels of approval an order needs, by its total. Read once
//! at start-up from the file `APPROVAL_POLICY` names (see `approval-policy.example.toml`);
//! each order's levels are fixed in its workflow input when it starts, so a changed file
//! affects new orders only. Without a file, orders follow the seed: approved at once
//! under $1000, else one manager decides within `APPROVAL_TIMEOUT`.

use crate::model::workflow::{Level, MAX_APPROVAL_TIMEOUT};
use std::path::Path;
use std::time::Duration;

use domain::{Cents, Role};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalPolicy {
    /// Orders of a smaller total are approved at once.
    pub auto_approve_below: Cents,
    /// In the order they are asked; each applies from its `from` total on.
    pub levels: Vec<PolicyLevel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLevel {
    /// `None` for the first level: it applies to every order not approved at once.
    pub from: Option<Cents>,
    pub role: Role,
    pub timeout: Duration,
    /// A reminder this long before the deadline.
    pub remind_before: Option<Duration>,
    /// On timeout, ask the role above instead of ending the order (managers' levels).
    pub escalate: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("approval policy {path}: {message}")]
pub struct PolicyError {
    path: String,
    message: String,
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    auto_approve_below: Option<f64>,
    #[serde(default)]
    level: Vec<LevelEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelEntry {
    role: String,
    from: Option<f64>,
    timeout: Option<String>,
    /// `"half"` (half the timeout) or a duration before the deadline (`"2h"`).
    reminder: Option<String>,
    /// `"cancel"` (the default) or `"escalate"`.
    on_timeout: Option<String>,
}

impl ApprovalPolicy {
    /// Reads and checks the file; `default_timeout` (`APPROVAL_TIMEOUT`) is the timeout
    /// of a level that names none.
    pub fn load(path: &Path, default_timeout: Duration) -> Result<Self, PolicyError> {
        let fail = |message: String| PolicyError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        Self::parse(&text, default_timeout).map_err(fail)
    }

    /// Every message names what to change.
    pub fn parse(text: &str, default_timeout: Duration) -> Result<Self, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let auto_approve_below = match file.auto_approve_below {
            None => Cents::APPROVAL_THRESHOLD,
            Some(dollars) => amount(dollars)
                .ok_or_else(|| format!("auto_approve_below = {dollars}: {AMOUNT_RULE}"))?,
        };
        if file.level.is_empty() {
            return Err("add at least one [[level]] (role = \"manager\", …)".into());
        }
        let mut levels: Vec<PolicyLevel> = Vec::with_capacity(file.level.len());
        for (number, entry) in (1..).zip(file.level) {
            let at = |what: String| format!("level {number}: {what}");
            let role = match Role::parse(entry.role.trim()) {
                Some(role @ (Role::Manager | Role::Director)) => role,
                _ => {
                    return Err(at(format!(
                        "role {:?}: use \"manager\" or \"director\"",
                        entry.role
                    )))
                }
            };
            let from = match (entry.from, levels.last()) {
                (Some(_), None) => {
                    return Err(at(
                        "the first level applies to every order not approved at once; \
                         give `from` only to the levels after it"
                            .into(),
                    ))
                }
                (None, Some(_)) => {
                    return Err(at(
                        "give `from`, the total from which this level is asked too".into(),
                    ))
                }
                (None, None) => None,
                (Some(dollars), Some(before)) => {
                    let from = amount(dollars)
                        .ok_or_else(|| at(format!("from = {dollars}: {AMOUNT_RULE}")))?;
                    let floor = before.from.unwrap_or(auto_approve_below);
                    if from <= floor {
                        return Err(at(format!(
                            "from = {dollars} must be above {} (where the level before \
                             it starts)",
                            floor.dollars()
                        )));
                    }
                    Some(from)
                }
            };
            let timeout = match entry.timeout {
                None => default_timeout,
                Some(raw) => humantime::parse_duration(raw.trim())
                    .ok()
                    .filter(|t| !t.is_zero() && *t <= MAX_APPROVAL_TIMEOUT)
                    .ok_or_else(|| {
                        at(format!(
                            "timeout {raw:?}: use a duration like 30m, 24h or 3d, at most {}",
                            humantime::format_duration(MAX_APPROVAL_TIMEOUT)
                        ))
                    })?,
            };
            let remind_before = match entry.reminder.as_deref().map(str::trim) {
                None => None,
                Some("half") => Some(timeout / 2),
                Some(raw) => Some(
                    humantime::parse_duration(raw)
                        .ok()
                        .filter(|before| !before.is_zero() && *before < timeout)
                        .ok_or_else(|| {
                            at(format!(
                                "reminder {raw:?}: use \"half\" or a duration before the \
                                 deadline, shorter than the timeout ({})",
                                humantime::format_duration(timeout)
                            ))
                        })?,
                ),
            };
            let escalate = match entry.on_timeout.as_deref().map(str::trim) {
                None | Some("cancel") => false,
                Some("escalate") if role == Role::Manager => true,
                Some("escalate") => {
                    return Err(at(
                        "on_timeout = \"escalate\": a director's level has nobody above it \
                         to escalate to"
                            .into(),
                    ))
                }
                Some(other) => {
                    return Err(at(format!(
                        "on_timeout {other:?}: use \"cancel\" or \"escalate\""
                    )))
                }
            };
            levels.push(PolicyLevel {
                from,
                role,
                timeout,
                remind_before,
                escalate,
            });
        }
        Ok(Self {
            auto_approve_below,
            levels,
        })
    }

    /// The levels an order of this total is asked, in turn (none: approved at once).
    pub fn levels_for(&self, total: Cents) -> Vec<Level> {
        if total < self.auto_approve_below {
            return Vec::new();
        }
        self.levels
            .iter()
            .filter(|level| level.from.is_none_or(|from| total >= from))
            .map(|level| Level {
                role: level.role,
                timeout_ms: millis(level.timeout),
                remind_before_ms: level.remind_before.map(millis),
                escalate: level.escalate,
            })
            .collect()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

const AMOUNT_RULE: &str = "use an amount in dollars above zero, with at most two decimals";

fn amount(dollars: f64) -> Option<Cents> {
    domain::parse_unit_cost(dollars).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn policy(text: &str) -> Result<ApprovalPolicy, String> {
        ApprovalPolicy::parse(text, DAY)
    }

    #[test]
    fn the_example_file_reads_and_sorts_orders_by_total() {
        let example = include_str!("../../../approval-policy.example.toml");
        let policy = policy(example).expect("the example is valid");
        let roles = |dollars: f64| -> Vec<Role> {
            policy
                .levels_for(Cents::from_dollars(dollars))
                .iter()
                .map(|l| l.role)
                .collect()
        };
        assert!(roles(999.99).is_empty());
        assert_eq!(roles(1000.0), [Role::Manager]);
        assert_eq!(roles(9999.99), [Role::Manager]);
        assert_eq!(roles(10_000.0), [Role::Manager, Role::Director]);
        let levels = policy.levels_for(Cents::from_dollars(20_000.0));
        assert_eq!(levels[0].timeout(), DAY);
        assert_eq!(levels[1].timeout(), 2 * DAY);
        assert_eq!(levels[0].remind_before_ms, Some(43_200_000), "half the day");
        assert!(levels[0].escalate && !levels[1].escalate);
    }

    #[test]
    fn each_mistake_is_named() {
        for (text, expected) in [
            ("", "add at least one [[level]]"),
            (
                "[[level]]\nrole = \"requester\"",
                "level 1: role \"requester\"",
            ),
            (
                "[[level]]\nrole = \"manager\"\nfrom = 5000",
                "give `from` only to the levels after it",
            ),
            (
                "[[level]]\nrole = \"manager\"\n[[level]]\nrole = \"director\"",
                "level 2: give `from`",
            ),
            (
                "auto_approve_below = 1000\n[[level]]\nrole = \"manager\"\n\
                 [[level]]\nrole = \"director\"\nfrom = 900",
                "level 2: from = 900 must be above 1000",
            ),
            (
                "[[level]]\nrole = \"manager\"\ntimeout = \"soon\"",
                "level 1: timeout \"soon\"",
            ),
            (
                "[[level]]\nrole = \"manager\"\ntimeout = \"1000years\"",
                "level 1: timeout \"1000years\": use a duration like 30m, 24h or 3d, at most",
            ),
            (
                "auto_approve_below = 0.001\n[[level]]\nrole = \"manager\"",
                "at most two decimals",
            ),
            (
                "[[level]]\nrole = \"manager\"\nwho = \"bob\"",
                "unknown field `who`",
            ),
        ] {
            let error = policy(text).expect_err(text);
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
