//! Claim, assign, reassign and release a waiting order (issue 25 §2): the policy on
//! every path (a requester, a stranger, a colleague who may not decide the level), the
//! timeline, the inbox's filters, the end of an assignment with its level, and the
//! order page's plain forms.

use std::time::Duration;

use axum::http::{header, StatusCode};
use backend::rules::approval_policy::ApprovalPolicy;
use backend::services::accounts;
use domain::Role;
use serde_json::{json, Value};

use crate::common::{
    error_text, form_post, from_another_site, order_row, page_get, spawn_app, spawn_app_with,
    waiting_order, Answer, TestApp, SITE,
};

async fn assign(app: &TestApp, token: &str, instance_id: &str, body: Value) -> Answer {
    app.post(token, &format!("/api/orders/{instance_id}/assign"), body)
        .await
}

async fn timeline(app: &TestApp, token: &str, instance_id: &str) -> Vec<String> {
    let detail = app.get(token, &format!("/api/orders/{instance_id}")).await;
    assert_eq!(detail.status, StatusCode::OK, "{:?}", detail.body);
    detail.body["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|t| t["label"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let page = app.get(token, &format!("/api/orders?{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    page.body["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["instance_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn claim_assign_and_release_follow_the_policy_on_every_path() {
    let app = spawn_app().await;
    let dave = app.account_with_token("dave", Role::Requester).await;
    let id = waiting_order(&app, &app.alice, "as-1", 2_000.0).await;
    let other = waiting_order(&app, &app.alice, "as-2", 3_000.0).await;

    // Who may not: the requester (403), a stranger (404, as for no order), nobody for
    // an order that is not there.
    let by_requester = assign(&app, &app.alice, &id, json!({"to": "bob"})).await;
    assert_eq!(
        by_requester.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        by_requester.body
    );
    assert!(error_text(&by_requester).contains("Only managers and directors"));
    let by_stranger = assign(&app, &dave, &id, json!({"to": "bob"})).await;
    assert_eq!(by_stranger.status, StatusCode::NOT_FOUND);
    let unknown = assign(&app, &app.bob, "po-none", json!({"to": "bob"})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // bob claims it; the list shows him as its holder, the timeline says so.
    let claimed = assign(&app, &app.bob, &id, json!({"to": "bob"})).await;
    assert_eq!(claimed.status, StatusCode::OK, "{:?}", claimed.body);
    assert_eq!(claimed.body["assignee"], "bob");
    assert_eq!(claimed.body["changed"], true);
    let again = assign(&app, &app.bob, &id, json!({"to": "bob"})).await;
    assert_eq!(again.body["changed"], false, "{:?}", again.body);
    assert!(again.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("nothing changed"));
    let page = app
        .get(&app.carol, "/api/orders?status=awaiting_approval")
        .await;
    let row = page.body["orders"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["instance_id"] == id.as_str()))
        .cloned()
        .expect("listed");
    assert_eq!(row["assignee"], "bob");

    // Only to someone who may decide it: not its requester, not a requester; not a
    // name that is none or cannot be one.
    for (to, status) in [
        (json!("alice"), StatusCode::FORBIDDEN),
        (json!("dave"), StatusCode::FORBIDDEN),
        (json!("nobody-here"), StatusCode::UNPROCESSABLE_ENTITY),
        (json!(""), StatusCode::UNPROCESSABLE_ENTITY),
        (json!("Not A Name\u{0}"), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let refused = assign(&app, &app.carol, &id, json!({"to": to})).await;
        assert_eq!(refused.status, status, "{to}: {:?}", refused.body);
    }
    let long = assign(
        &app,
        &app.carol,
        &id,
        json!({"to": "carol", "comment": "x".repeat(501)}),
    )
    .await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        order_row(&app, &id).await.assignee.as_deref(),
        Some("bob"),
        "refusals wrote nothing"
    );

    // bob hands it to carol, with a reason.
    let handed = assign(
        &app,
        &app.bob,
        &id,
        json!({"to": "carol", "comment": "you know this vendor"}),
    )
    .await;
    assert_eq!(handed.status, StatusCode::OK, "{:?}", handed.body);
    assert_eq!(listed(&app, &app.carol, "assigned=me").await, [id.as_str()]);
    assert!(listed(&app, &app.bob, "assigned=me").await.is_empty());
    assert_eq!(
        listed(&app, &app.bob, "assigned=nobody&status=awaiting_approval").await,
        [other.as_str()]
    );
    let bad_filter = app.get(&app.bob, "/api/orders?assigned=someone").await;
    assert_eq!(bad_filter.status, StatusCode::BAD_REQUEST);
    // The inbox's own filter: `held:me` in its text.
    let carol = app.session("carol").await;
    let inbox = app
        .send(form_post(
            "/api/inbox",
            Some(&carol),
            Some(&format!("http://{SITE}")),
            "text=held%3Ame&offset=0&sort=",
        ))
        .await;
    assert_eq!(inbox.status, StatusCode::OK, "{:?}", inbox.body);
    let held: Vec<&str> = inbox.body["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .filter_map(|o| o["instance_id"].as_str())
        .collect();
    assert_eq!(held, [id.as_str()]);

    // carol lets it go; then it is decided, and nobody can assign it any more.
    let released = assign(&app, &app.carol, &id, json!({"to": null})).await;
    assert_eq!(released.status, StatusCode::OK, "{:?}", released.body);
    assert_eq!(released.body["assignee"], Value::Null);
    let labels = timeline(&app, &app.alice, &id).await;
    for expected in [
        "Claimed by bob",
        "Assigned to carol by bob: “you know this vendor”",
        "Released by carol",
    ] {
        assert!(
            labels.iter().any(|l| l == expected),
            "{expected}: {labels:?}"
        );
    }
    let approved = app
        .post(
            &app.bob,
            &format!("/signal-approval/{id}"),
            json!({"approved": true}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let late = assign(&app, &app.carol, &id, json!({"to": "carol"})).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{:?}", late.body);
}

/// An assignment ends with its level; each level's own deciders assign it, directors
/// any order.
#[tokio::test]
async fn an_assignment_ends_with_its_level() {
    let policy = ApprovalPolicy::parse(
        "[[level]]\nrole = \"manager\"\n[[level]]\nrole = \"director\"\nfrom = 10000",
        Duration::from_secs(3600),
    )
    .expect("a valid policy");
    let app = spawn_app_with(Some(policy)).await;
    let dora = accounts::create_api_token(&app.db, "dora", None)
        .await
        .expect("a token")
        .1;
    let id = waiting_order(&app, &app.alice, "lv-1", 20_000.0).await;
    assert_eq!(
        assign(&app, &app.bob, &id, json!({"to": "bob"}))
            .await
            .status,
        StatusCode::OK
    );
    let approved = app
        .post(
            &app.bob,
            &format!("/signal-approval/{id}"),
            json!({"approved": true}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let row = order_row(&app, &id).await;
    assert_eq!(row.level, Some(2));
    assert_eq!(row.assignee, None, "the level it was held at ended");

    // Level 2 is a director's: managers neither assign it nor are assigned it.
    let by_manager = assign(&app, &app.carol, &id, json!({"to": "carol"})).await;
    assert_eq!(
        by_manager.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        by_manager.body
    );
    let to_manager = assign(&app, &dora, &id, json!({"to": "carol"})).await;
    assert_eq!(
        to_manager.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        to_manager.body
    );
    assert!(error_text(&to_manager).contains("carol may not decide"));
    assert_eq!(
        assign(&app, &dora, &id, json!({"to": "dora"})).await.status,
        StatusCode::OK
    );
}

/// The order page's forms: claim and release without JavaScript, a refusal shown to
/// the person who posted, and a post from another site refused.
#[tokio::test]
async fn the_order_page_claims_and_releases_with_plain_forms() {
    let app = spawn_app().await;
    let id = waiting_order(&app, &app.alice, "pf-1", 2_000.0).await;
    let bob = app.session("bob").await;
    let origin = format!("http://{SITE}");
    let path = format!("/orders/{id}/assign");
    let html = |answer: &Answer| answer.body.as_str().unwrap_or_default().to_owned();

    let page = html(&app.send(page_get(&format!("/orders/{id}"), &bob)).await);
    assert!(page.contains("Nobody holds this order yet."), "{page}");
    assert!(page.contains(&format!(r#"action="{path}""#)), "{page}");

    let claimed = app
        .send(form_post(&path, Some(&bob), Some(&origin), "action=claim"))
        .await;
    assert_eq!(claimed.status, StatusCode::SEE_OTHER);
    let back = claimed.headers[header::LOCATION]
        .to_str()
        .expect("a location")
        .to_owned();
    assert_eq!(back, format!("/orders/{id}?assigned=1"));
    let page = html(&app.send(page_get(&back, &bob)).await);
    assert!(page.contains("You hold this order."), "{page}");
    assert_eq!(order_row(&app, &id).await.assignee.as_deref(), Some("bob"));

    // To someone who may not decide it: back with why, shown to bob only.
    let refused = app
        .send(form_post(
            &path,
            Some(&bob),
            Some(&origin),
            "action=assign&to=alice",
        ))
        .await;
    let back = refused.headers[header::LOCATION]
        .to_str()
        .expect("a location")
        .to_owned();
    assert!(back.contains("assign_error="), "{back}");
    let page = html(&app.send(page_get(&back, &bob)).await);
    assert!(page.contains("alice may not decide"), "{page}");
    let carol = app.session("carol").await;
    let page = html(&app.send(page_get(&back, &carol)).await);
    assert!(!page.contains("alice may not decide"), "sealed for bob");

    let forged = app
        .send(from_another_site(&path, &bob, "action=release"))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(order_row(&app, &id).await.assignee.as_deref(), Some("bob"));
    let released = app
        .send(form_post(
            &path,
            Some(&bob),
            Some(&origin),
            "action=release",
        ))
        .await;
    assert_eq!(released.status, StatusCode::SEE_OTHER);
    assert_eq!(order_row(&app, &id).await.assignee, None);
    // Not signed in: to the sign-in page, nothing changed.
    let anonymous = app
        .send(form_post(&path, None, Some(&origin), "action=claim"))
        .await;
    assert_eq!(anonymous.headers[header::LOCATION], "/login");
    assert_eq!(order_row(&app, &id).await.assignee, None);
}
