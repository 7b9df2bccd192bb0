//! The seed's scenarios, its $1,000 threshold, and who may do what (credentials, roles,
//! the audit trail).

use serde_json::json;

use crate::common::delegate_for_two_days;
use crate::support::{order, output_status, Stack, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scenario_1_approval() {
    let stack = Stack::start("120s").await;
    let (code, started) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("order123", 500.0, 2),
        )
        .await;
    assert_eq!(code, 200, "{started}");
    assert_eq!(started["instance_id"], "po-order123");
    let waiting = stack
        .wait_for_status("po-order123", "awaiting_approval", WAIT)
        .await;
    assert!(waiting["approval_deadline"].is_string(), "{waiting}");
    assert_eq!(waiting["total"], 1000.0);
    let (code, decided) = stack
        .post(
            "bob",
            "/signal-approval/po-order123",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 200, "{decided}");
    assert_eq!(decided["status"], "approved");
    let state = stack.wait_for_completion("po-order123", WAIT).await;
    assert_eq!(output_status(&state), "Approved by bob");
    assert_eq!(state["name"], "PurchaseOrderApprovalWorkflow");
    assert!(state["serialized_input"]
        .as_str()
        .is_some_and(|s| s.contains("order123")));
    let row = stack.wait_for_status("po-order123", "approved", WAIT).await;
    assert_eq!(row["decided_by"], "bob");

    // A second decision on a decided order is refused with its status.
    let (code, refused) = stack
        .post(
            "carol",
            "/signal-approval/po-order123",
            json!({"approver_name": "carol", "approved": false}),
        )
        .await;
    assert_eq!(code, 409, "{refused}");
    assert_eq!(refused["status"], "approved");

    // A repeated order id is a conflict, and the original order is untouched.
    let (code, refused) = stack
        .post("alice", "/start-purchase-order", order("order123", 1.0, 1))
        .await;
    assert_eq!(code, 409, "{refused}");
    assert_eq!(
        stack.order("po-order123").await.expect("row")["status"],
        "approved"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_scenario_2_rejection() {
    let stack = Stack::start("120s").await;
    let (code, _) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("order456", 600.0, 2),
        )
        .await;
    assert_eq!(code, 200);
    let (code, decided) = stack
        .post(
            "carol",
            "/signal-approval/po-order456",
            json!({"approver_name": "carol", "approved": false}),
        )
        .await;
    assert_eq!(code, 200, "{decided}");
    let state = stack.wait_for_completion("po-order456", WAIT).await;
    assert_eq!(output_status(&state), "Rejected by carol");
    stack.wait_for_status("po-order456", "rejected", WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_1000_dollar_threshold_and_unknown_instances() {
    let stack = Stack::start("120s").await;
    // Below $1000: approved without anyone, and the approval endpoint says so.
    let (code, _) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("small-1", 999.99, 1),
        )
        .await;
    assert_eq!(code, 200);
    let state = stack.wait_for_completion("po-small-1", WAIT).await;
    assert_eq!(output_status(&state), "Auto-Approved");
    stack
        .wait_for_status("po-small-1", "auto_approved", WAIT)
        .await;
    let (code, refused) = stack
        .post(
            "bob",
            "/signal-approval/po-small-1",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 409, "{refused}");
    assert_eq!(refused["status"], "auto_approved");

    // Exactly $1000 needs approval (10,000 × $0.10 too: money is exact).
    let (code, _) = stack
        .post(
            "alice",
            "/start-purchase-order",
            order("dimes", 0.1, 10_000),
        )
        .await;
    assert_eq!(code, 200);
    stack
        .wait_for_status("po-dimes", "awaiting_approval", WAIT)
        .await;
    let (code, page) = stack
        .get("carol", "/api/orders?status=awaiting_approval")
        .await;
    assert_eq!(code, 200);
    assert_eq!(page["orders"][0]["instance_id"], "po-dimes", "{page}");
    assert_eq!(page["total"], 1);

    // Unknown instances, as daprd reports them.
    let (code, body) = stack.get("carol", "/status/po-nope").await;
    assert_eq!(code, 404, "{body}");
    let (code, body) = stack
        .post(
            "bob",
            "/signal-approval/po-nope",
            json!({"approver_name": "bob", "approved": true}),
        )
        .await;
    assert_eq!(code, 404, "{body}");

    // Swagger UI is served from the binary.
    let ui = stack
        .http
        .get(format!("{}/docs/", stack.base))
        .send()
        .await
        .expect("docs");
    assert_eq!(ui.status().as_u16(), 200);
    assert!(ui.text().await.unwrap_or_default().contains("swagger"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_roles_and_the_audit_trail() {
    let stack = Stack::start("120s").await;
    stack.start_waiting("auth-1", 3000.0).await;
    let row = stack.order("po-auth-1").await.expect("row");
    assert_eq!(row["requested_by"], "alice");
    let approve = json!({"approved": true});

    // No credentials, a wrong password, an unknown token: 401 with a challenge.
    let response = stack
        .http
        .post(format!("{}/start-purchase-order", stack.base))
        .json(&order("anon", 5.0, 1))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let wrong = stack
        .http
        .get(format!("{}/api/orders", stack.base))
        .basic_auth("bob", Some("not-the-password"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status().as_u16(), 401);
    let (code, _) = stack.get("apv_not-a-token", "/api/orders").await;
    assert_eq!(code, 401);
    let (code, _) = stack.get("", "/status/po-auth-1").await;
    assert_eq!(code, 401);

    // A requester cannot decide; a manager cannot claim another name or decide their own.
    let (code, body) = stack
        .post("alice", "/signal-approval/po-auth-1", approve.clone())
        .await;
    assert_eq!(code, 403, "{body}");
    let (code, body) = stack
        .post(
            "bob",
            "/signal-approval/po-auth-1",
            json!({"approver_name": "carol", "approved": true}),
        )
        .await;
    assert_eq!(code, 403, "{body}");
    let (code, _) = stack
        .post("bob", "/start-purchase-order", order("bobs-own", 3000.0, 1))
        .await;
    assert_eq!(code, 200);
    stack
        .wait_for_status("po-bobs-own", "awaiting_approval", WAIT)
        .await;
    let (code, body) = stack
        .post("bob", "/signal-approval/po-bobs-own", approve.clone())
        .await;
    assert_eq!(code, 403, "{body}");

    // Accounts and tokens from the command line.
    let (ok, out) = stack.admin(
        &["user", "add", "--name", "dave", "--role", "manager"],
        "dave-password\n",
    );
    assert!(ok, "{out}");
    let (ok, out) = stack.admin(
        &["user", "add", "--name", "dave", "--role", "manager"],
        "dave-password\n",
    );
    assert!(!ok, "a second dave must be refused: {out}");
    let (ok, out) = stack.admin(
        &["user", "add", "--name", "eve", "--role", "boss"],
        "whatever-pass\n",
    );
    assert!(
        !ok && out.contains("unknown role") && out.contains("director"),
        "{out}"
    );
    let (ok, out) = stack.admin(
        &["user", "add", "--name", "dana", "--role", "director"],
        "danas-password\n",
    );
    assert!(ok && out.contains("added dana (director)"), "{out}");
    let (ok, out) = stack.admin(
        &[
            "user",
            "add",
            "--name",
            "erin",
            "--role",
            "requester",
            "--email",
            "erin@example",
        ],
        "erins-password\n",
    );
    assert!(!ok && out.contains("the domain needs a dot"), "{out}");
    let (ok, out) = stack.admin(
        &[
            "user",
            "email",
            "--name",
            "dave",
            "--email",
            "dave@example.com",
        ],
        "",
    );
    assert!(ok, "{out}");
    let (ok, out) = stack.admin(&["user", "email", "--name", "nobody", "--clear"], "");
    assert!(!ok && out.contains("No user named"), "{out}");
    let (ok, out) = stack.admin(&["user", "list"], "");
    assert!(ok && out.contains("dave") && out.contains("alice"), "{out}");
    assert!(out.contains("dave@example.com"), "{out}");
    assert!(
        !out.contains("erin"),
        "a refused address adds no account: {out}"
    );
    // Out of office from the command line (issue 13 §4).
    let (ok, out) = delegate_for_two_days(&stack, "dora", "carol");
    assert!(ok && out.contains("carol decides for dora"), "{out}");
    let (ok, out) = delegate_for_two_days(&stack, "dora", "alice");
    assert!(!ok && out.contains("alice is a requester"), "{out}");
    let (ok, out) = stack.admin(&["delegation", "list"], "");
    assert!(ok && out.contains("carol decides for dora"), "{out}");
    let id = out.split_whitespace().next().expect("an id").to_owned();
    let (ok, out) = stack.admin(&["delegation", "revoke", "--id", &id], "");
    assert!(
        ok && out.contains(&format!("ended delegation {id}")),
        "{out}"
    );
    let (ok, out) = stack.admin(&["delegation", "list"], "");
    assert!(ok && !out.contains("carol decides for dora"), "{out}");
    let (ok, out) = stack.admin(&["token", "create", "--user", "dave"], "");
    assert!(ok, "{out}");
    let token = out
        .lines()
        .find(|l| l.starts_with("apv_"))
        .expect("token line")
        .to_owned();
    let (code, decided) = stack
        .post(
            &token,
            "/signal-approval/po-auth-1",
            json!({"approved": true, "comment": "Budget ok"}),
        )
        .await;
    assert_eq!(code, 200, "{decided}");
    let row = stack.wait_for_status("po-auth-1", "approved", WAIT).await;
    assert_eq!(row["decided_by"], "dave");
    assert_eq!(row["comment"], "Budget ok");
    let (ok, out) = stack.admin(&["token", "revoke", "--id", "1"], "");
    assert!(ok, "{out}");
    let (code, _) = stack.get(&token, "/api/orders").await;
    assert_eq!(code, 401, "a revoked token no longer works");
    let (ok, out) = stack.admin(&["user", "remove", "--name", "dave"], "");
    assert!(ok, "{out}");

    // Every attempt is in the audit trail, refused ones with their reason.
    // The audit trail has no reader in the app: the test reads the table.
    let db = backend::store::db::open(stack.database_url())
        .await
        .expect("open the read model");
    const AUDIT: &str =
        "SELECT instance_id, actor, accepted, reason FROM decision_audit ORDER BY id";
    let rows: Vec<(String, String, bool, Option<String>)> = match &db {
        backend::store::db::Db::Sqlite(db) => sqlx::query_as(AUDIT).fetch_all(db).await,
        backend::store::db::Db::Postgres(db) => sqlx::query_as(AUDIT).fetch_all(db).await,
    }
    .expect("audit rows");
    let summary: Vec<_> = rows
        .iter()
        .map(|(i, a, ok, _)| (i.as_str(), a.as_str(), *ok))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("po-auth-1", "alice", false),
            ("po-auth-1", "bob", false),
            ("po-bobs-own", "bob", false),
            ("po-auth-1", "dave", true),
        ],
        "{rows:?}"
    );
    assert!(
        rows[2]
            .3
            .as_deref()
            .is_some_and(|r| r.contains("your own order")),
        "{rows:?}"
    );
}
