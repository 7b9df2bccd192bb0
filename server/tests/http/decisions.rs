//! Deciding an order: who may, what the audit keeps, an answer lost on the way, and
//! a requester cancelling.

use axum::http::{Method, StatusCode};
use domain::{OrderStatus, Role};
use serde_json::{json, Value};

use crate::common::{bearer, error_text, form_post, order_row, page_get, request, spawn_app, SITE};

#[tokio::test]
async fn who_may_decide_and_what_the_audit_keeps() {
    let app = spawn_app().await;
    assert_eq!(
        app.start(&app.alice, "big-1", 600.0, 2).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.start(&app.bob, "bobs-own", 600.0, 2).await.status,
        StatusCode::OK
    );
    let decide = |token: &str, instance: &str, body: Value| {
        let path = format!("/signal-approval/{instance}");
        let token = token.to_owned();
        let app = &app;
        async move { app.post(&token, &path, body).await }
    };

    let by_requester = decide(&app.alice, "po-big-1", json!({"approved": true})).await;
    assert_eq!(by_requester.status, StatusCode::FORBIDDEN);
    let own = decide(&app.bob, "po-bobs-own", json!({"approved": true})).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert!(error_text(&own).contains("your own order"));
    let impersonating = decide(
        &app.bob,
        "po-big-1",
        json!({"approver_name": "carol", "approved": true}),
    )
    .await;
    assert_eq!(impersonating.status, StatusCode::FORBIDDEN);
    assert!(error_text(&impersonating).contains("the approver is always the caller"));
    let unknown = decide(&app.bob, "po-nope", json!({"approved": true})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let long_comment = decide(
        &app.bob,
        "po-big-1",
        json!({"approved": true, "comment": "x".repeat(501)}),
    )
    .await;
    assert_eq!(long_comment.status, StatusCode::UNPROCESSABLE_ENTITY);

    let approved = decide(
        &app.bob,
        "po-big-1",
        json!({"approver_name": "bob", "approved": true, "comment": "ok"}),
    )
    .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(approved.body["confirmed"], true);

    let late = decide(&app.carol, "po-big-1", json!({"approved": false})).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.body["decided_by"], "bob");
    assert_eq!(late.body["status"], "approved");

    let audit = app.audit_rows("po-big-1").await;
    let summary: Vec<(&str, bool)> = audit
        .iter()
        .map(|(a, _, ok, _)| (a.as_str(), *ok))
        .collect();
    assert_eq!(
        summary,
        [
            ("alice", false),
            ("bob", false),
            ("bob", false),
            ("bob", true),
            ("carol", false)
        ]
    );
    assert!(audit[0]
        .3
        .as_deref()
        .is_some_and(|r| r.contains("Only managers")));
}

/// A decision sent whose answer never came may have been applied: the answer is 202
/// (not "nothing was changed"), the claim holds against other managers, and the
/// reconciler sees it through.
#[tokio::test]
async fn a_decision_whose_answer_was_lost_keeps_its_claim() {
    let app = spawn_app().await;
    assert_eq!(
        app.start(&app.alice, "lost-1", 600.0, 2).await.status,
        StatusCode::OK
    );
    app.engine.lose_next_raise_answer(false);
    let first = app
        .post(
            &app.bob,
            "/signal-approval/po-lost-1",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{:?}", first.body);
    assert_eq!(first.body["confirmed"], false);
    let second = app
        .post(
            &app.carol,
            "/signal-approval/po-lost-1",
            json!({"approved": false}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{:?}", second.body);
    assert_eq!(second.body["decided_by"], "bob");

    // The reconciler raises the claimed decision again; the workflow takes it.
    let row = order_row(&app, "po-lost-1").await;
    backend::ops::reconcile::reconcile(&app.orders, &row, i64::MAX)
        .await
        .expect("reconciles");
    let row = order_row(&app, "po-lost-1").await;
    assert_eq!(row.status, OrderStatus::Approved);
    assert_eq!(row.decided_by.as_deref(), Some("bob"));
}

/// A decision whose raise got no answer and never arrived is raised again by the
/// decision itself, soon, until the workflow has it: not left for the reconciler's next
/// pass, which might come after the deadline.
#[tokio::test]
async fn a_decision_whose_answer_was_lost_is_raised_again_until_it_lands() {
    let app = spawn_app().await;
    assert_eq!(
        app.start(&app.alice, "lost-3", 600.0, 2).await.status,
        StatusCode::OK
    );
    app.engine.lose_next_raise_answer(false);
    let first = app
        .post(
            &app.bob,
            "/signal-approval/po-lost-3",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{:?}", first.body);
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let row = order_row(&app, "po-lost-3").await;
        if row.status == OrderStatus::Approved {
            assert_eq!(row.decided_by.as_deref(), Some("bob"));
            break;
        }
        assert!(
            std::time::Instant::now() < give_up,
            "not raised again within 5 s: {row:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A decision delivered whose answer was lost: still 202 and the claim holds, and the
/// workflow's outcome is bob's.
#[tokio::test]
async fn a_delivered_decision_whose_answer_was_lost_is_not_given_away() {
    let app = spawn_app().await;
    assert_eq!(
        app.start(&app.alice, "lost-2", 600.0, 2).await.status,
        StatusCode::OK
    );
    app.engine.lose_next_raise_answer(true);
    let first = app
        .post(
            &app.bob,
            "/signal-approval/po-lost-2",
            json!({"approved": false}),
        )
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{:?}", first.body);
    let late = app
        .post(
            &app.carol,
            "/signal-approval/po-lost-2",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.body["decided_by"], "bob");
}

/// A decision that certainly never reached the engine gives its claim back: the
/// answer says nothing changed, and another manager can decide.
#[tokio::test]
async fn a_decision_that_never_left_gives_its_claim_back() {
    let app = spawn_app().await;
    assert_eq!(
        app.start(&app.alice, "down-1", 600.0, 2).await.status,
        StatusCode::OK
    );
    app.engine.set_down(true);
    let refused = app
        .post(
            &app.bob,
            "/signal-approval/po-down-1",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(error_text(&refused).contains("nothing was changed"));
    app.engine.set_down(false);
    let carol = app
        .post(
            &app.carol,
            "/signal-approval/po-down-1",
            json!({"approved": false}),
        )
        .await;
    assert_eq!(carol.status, StatusCode::OK, "{:?}", carol.body);
    assert_eq!(carol.body["decided_by"], "carol");
}

#[tokio::test]
async fn the_requester_cancels_and_whoever_comes_later_hears_who_won() {
    let app = spawn_app().await;
    for id in ["c-1", "c-2", "c-3"] {
        assert_eq!(
            app.start(&app.alice, id, 600.0, 2).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        app.start(&app.bob, "c-bobs", 600.0, 2).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.start(&app.alice, "c-small", 10.0, 1).await.status,
        StatusCode::OK
    );
    let cancel = |token: &str, instance: &str, body: Option<&str>| {
        let (path, token) = (format!("/api/orders/{instance}/cancel"), bearer(token));
        let content_type = body.map(|_| "application/json");
        let app = &app;
        let body = body.unwrap_or_default().to_owned();
        async move {
            app.send(request(
                Method::POST,
                &path,
                Some(&token),
                content_type,
                &body,
            ))
            .await
        }
    };

    // Only the requester: a manager is refused, another requester does not see it.
    let by_manager = cancel(&app.bob, "po-c-1", None).await;
    assert_eq!(
        by_manager.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        by_manager.body
    );
    assert!(error_text(&by_manager).contains("Only the person who requested"));
    let bad_body = cancel(&app.alice, "po-c-1", Some("{not json")).await;
    assert_eq!(bad_body.status, StatusCode::BAD_REQUEST);
    let long = json!({"comment": "x".repeat(501)}).to_string();
    let long_comment = cancel(&app.alice, "po-c-1", Some(&long)).await;
    assert_eq!(long_comment.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        order_row(&app, "po-c-1").await.status,
        OrderStatus::AwaitingApproval
    );

    // Without a body, then with a reason.
    let cancelled = cancel(&app.alice, "po-c-1", None).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["decided_by"], "alice");
    let with_reason = cancel(
        &app.alice,
        "po-c-2",
        Some(r#"{"comment": "ordered twice"}"#),
    )
    .await;
    assert_eq!(with_reason.status, StatusCode::OK, "{:?}", with_reason.body);
    let row = order_row(&app, "po-c-2").await;
    assert_eq!(row.status, OrderStatus::Cancelled);
    assert_eq!(row.decision_comment.as_deref(), Some("ordered twice"));

    // The seed's status shows the outcome in words; the list and the CSV have it too.
    let status = app.get(&app.alice, "/status/po-c-1").await;
    assert!(
        status.body["serialized_output"]
            .as_str()
            .is_some_and(|o| o.contains("Cancelled by alice")),
        "{:?}",
        status.body
    );
    let listed = app.get(&app.bob, "/api/orders?status=cancelled").await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    assert_eq!(listed.body["orders"].as_array().map(Vec::len), Some(2));

    // Later decisions and cancellations lose, and hear who won.
    let late_approval = app
        .post(
            &app.bob,
            "/signal-approval/po-c-1",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(late_approval.status, StatusCode::CONFLICT);
    assert!(
        error_text(&late_approval).contains("Cancelled by alice"),
        "{:?}",
        late_approval.body
    );
    assert_eq!(late_approval.body["decided_by"], "alice");
    let approved = app
        .post(
            &app.bob,
            "/signal-approval/po-c-3",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK);
    let late_cancel = cancel(&app.alice, "po-c-3", None).await;
    assert_eq!(late_cancel.status, StatusCode::CONFLICT);
    assert!(
        error_text(&late_cancel).contains("Approved by bob"),
        "{:?}",
        late_cancel.body
    );
    let auto = cancel(&app.alice, "po-c-small", None).await;
    assert_eq!(auto.status, StatusCode::CONFLICT, "{:?}", auto.body);

    // A manager cancels their own order as its requester.
    let own = cancel(&app.bob, "po-c-bobs", None).await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);

    // A requester's browser session cancels through the page's form.
    let session = app.session("alice").await;
    assert_eq!(
        app.start(&app.alice, "c-4", 600.0, 2).await.status,
        StatusCode::OK
    );
    let posted = app
        .send(form_post(
            "/api/decide",
            Some(&session),
            Some(&format!("http://{SITE}")),
            "instance_id=po-c-4&decision=cancel&comment=no+longer+needed",
        ))
        .await;
    assert!(
        posted.status.is_success() || posted.status.is_redirection(),
        "{:?}",
        posted.status
    );
    assert_eq!(
        order_row(&app, "po-c-4").await.status,
        OrderStatus::Cancelled
    );

    let audit = app.audit_rows("po-c-1").await;
    let audit: Vec<(&str, &str, bool)> = audit
        .iter()
        .map(|(a, d, ok, _)| (a.as_str(), d.as_str(), *ok))
        .collect();
    assert_eq!(
        audit,
        [
            ("bob", "cancel", false),
            ("alice", "cancel", false),
            ("alice", "cancel", true),
            ("bob", "approve", false)
        ]
    );
}

/// Directors decide as managers do (approval levels will give them their own), with
/// the same limits: never their own order, always as themselves.
#[tokio::test]
async fn a_director_has_the_inbox_and_decides_others_orders() {
    let app = spawn_app().await;
    let dana = app.account_with_token("dana", Role::Director).await;
    for (token, id) in [(&app.alice, "for-dana"), (&dana, "danas")] {
        assert_eq!(app.start(token, id, 600.0, 2).await.status, StatusCode::OK);
    }
    let inbox = app.send(page_get("/", &app.session("dana").await)).await;
    let html = inbox.body.as_str().unwrap_or_default();
    assert!(html.contains("for-dana"), "the inbox lists alice's order");

    let own = app
        .post(
            &dana,
            "/signal-approval/po-danas",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{:?}", own.body);
    let decided = app
        .post(
            &dana,
            "/signal-approval/po-for-dana",
            json!({"approved": true}),
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{:?}", decided.body);
    assert_eq!(
        order_row(&app, "po-for-dana").await.decided_by.as_deref(),
        Some("dana")
    );
}
