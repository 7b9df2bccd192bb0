//! What the topics share: deciding and delegating through a stack.

use serde_json::json;

use crate::support::Stack;

/// `from` hands their decisions to `to` for two days, with the CLI: whether it took,
/// and what it printed.
pub fn delegate_for_two_days(stack: &Stack, from: &str, to: &str) -> (bool, String) {
    let until = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let args = [
        "delegation",
        "add",
        "--from",
        from,
        "--to",
        to,
        "--until",
        &until,
    ];
    stack.admin(&args, "")
}

/// `who` approves or rejects order `id` (`po-{id}`) through the seed's endpoint.
pub async fn decide(
    stack: &Stack,
    who: &str,
    id: &str,
    approved: bool,
) -> (u16, serde_json::Value) {
    let path = format!("/signal-approval/po-{id}");
    stack
        .post(
            who,
            &path,
            json!({"approved": approved, "comment": "looked"}),
        )
        .await
}
