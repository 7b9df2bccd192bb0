//! Faults a test switches on in a real server process, for failures nothing real
//! produces on cue: `APPROVALS_TEST_FAULTS=name[,name…]`. Each fires once per process.
//! Off unless set; the server warns at start when any is armed.

use std::sync::{Mutex, OnceLock};

/// The environment variable that arms faults.
pub const VARIABLE: &str = "APPROVALS_TEST_FAULTS";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `send_approval_request_activity` fails once after it delivered its
    /// notifications, so Dapr runs it again (`request_fails_after_notifying`).
    RequestFailsAfterNotifying,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestFailsAfterNotifying => "request_fails_after_notifying",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::RequestFailsAfterNotifying]
            .into_iter()
            .find(|f| f.as_str() == name)
    }
}

/// The faults armed by `value` (the variable's text); unknown names are errors, so a
/// typo never leaves a test proving nothing.
pub fn parse_list(value: &str) -> Result<Vec<Fault>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| Fault::parse(name).ok_or_else(|| format!("unknown fault {name:?}")))
        .collect()
}

fn armed() -> &'static Mutex<Vec<Fault>> {
    static ARMED: OnceLock<Mutex<Vec<Fault>>> = OnceLock::new();
    ARMED.get_or_init(|| {
        let value = std::env::var(VARIABLE).unwrap_or_default();
        Mutex::new(parse_list(&value).unwrap_or_default())
    })
}

/// Whether `fault` fires now: true the first time it is asked, if armed.
pub fn fires(fault: Fault) -> bool {
    let Ok(mut armed) = armed().lock() else {
        return false;
    };
    let Some(at) = armed.iter().position(|f| *f == fault) else {
        return false;
    };
    armed.remove(at);
    tracing::warn!(fault = fault.as_str(), "test fault fired");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_and_typos_refused() {
        assert_eq!(
            parse_list(" request_fails_after_notifying ,"),
            Ok(vec![Fault::RequestFailsAfterNotifying])
        );
        assert_eq!(parse_list(""), Ok(vec![]));
        assert!(parse_list("request_fails").is_err());
    }
}
