//! Deciding several orders at once from the inbox.

use axum::http::{header, StatusCode};
use domain::OrderStatus;
use serde_json::json;

use crate::common::{form_post, from_another_site, order_row, page_get, spawn_app, SITE};

#[tokio::test]
async fn a_bulk_decision_decides_each_order_on_its_own_and_reports_each() {
    let app = spawn_app().await;
    for id in ["b-1", "b-2", "b-3", "b-4"] {
        assert_eq!(
            app.start(&app.alice, id, 600.0, 2).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(
        app.start(&app.bob, "b-own", 600.0, 2).await.status,
        StatusCode::OK
    );
    // Carol decided one of them already.
    let by_carol = app
        .post(
            &app.carol,
            "/signal-approval/po-b-2",
            json!({"approved": false}),
        )
        .await;
    assert_eq!(by_carol.status, StatusCode::OK);
    let bob = app.session("bob").await;
    let origin = format!("http://{SITE}");
    let post = |body: &str| form_post("/inbox/decide", Some(&bob), Some(&origin), body);

    // Refused as a whole: nothing is decided, and the inbox says why.
    let long = format!(
        "instance_id=po-b-3&instance_id=po-b-4&decision=approve&comment={}",
        "x".repeat(501)
    );
    for (body, why) in [
        ("decision=approve&comment=", "Select at least one order."),
        (long.as_str(), "at most 500 characters"),
        (
            "instance_id=po-b-3&decision=maybe",
            "Choose approve or reject.",
        ),
    ] {
        let refused = app.send(post(body)).await;
        assert_eq!(refused.status, StatusCode::SEE_OTHER, "{body}");
        let back = refused.headers[header::LOCATION]
            .to_str()
            .expect("a location");
        let page = app.send(page_get(back, &bob)).await;
        assert_eq!(page.status, StatusCode::OK, "{back}");
        assert!(
            page.body.as_str().is_some_and(|html| html.contains(why)),
            "{back}: {why}"
        );
    }
    assert_eq!(
        order_row(&app, "po-b-3").await.status,
        OrderStatus::AwaitingApproval
    );

    let answer = app
        .send(post(
            "instance_id=po-b-1&instance_id=po-b-2&instance_id=po-b-own&instance_id=po-nope\
             &instance_id=po-b-3&decision=approve&comment=Quarterly+budget&q=Widget&sort=amount",
        ))
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let back = answer.headers[header::LOCATION]
        .to_str()
        .expect("a location")
        .to_owned();
    assert!(
        back.starts_with("/?q=Widget&sort=amount&bulk=po-b-1&bulk=po-b-2"),
        "{back}"
    );

    for id in ["po-b-1", "po-b-3"] {
        let row = order_row(&app, id).await;
        assert_eq!(row.status, OrderStatus::Approved, "{id}");
        assert_eq!(row.decided_by.as_deref(), Some("bob"));
        assert_eq!(row.decision_comment.as_deref(), Some("Quarterly budget"));
    }
    let b2 = order_row(&app, "po-b-2").await;
    assert_eq!(
        (b2.status, b2.decided_by.as_deref()),
        (OrderStatus::Rejected, Some("carol"))
    );
    assert_eq!(
        order_row(&app, "po-b-own").await.status,
        OrderStatus::AwaitingApproval
    );
    assert_eq!(
        order_row(&app, "po-b-4").await.status,
        OrderStatus::AwaitingApproval
    );

    let page = app.send(page_get(&back, &bob)).await;
    let html = page.body.as_str().unwrap_or_default();
    for line in [
        "Decided: Approved by bob.",
        "Already decided: Rejected by carol.",
        "Not allowed: it is your own order.",
        "Not decided: no such order.",
    ] {
        assert!(html.contains(line), "the report says {line:?}");
    }

    // A link cannot make the inbox say anything; a requester cannot post the form.
    let forged = app
        .send(page_get(
            "/?bulk_error=Session+expired%2C+call+us&bulk_seal=00",
            &bob,
        ))
        .await;
    assert!(!forged
        .body
        .as_str()
        .unwrap_or_default()
        .contains("Session expired"));
    let alice = app.session("alice").await;
    let by_requester = app
        .send(form_post(
            "/inbox/decide",
            Some(&alice),
            Some(&origin),
            "instance_id=po-b-4&decision=approve",
        ))
        .await;
    assert_eq!(by_requester.status, StatusCode::FORBIDDEN);
    let cross_site = app
        .send(from_another_site(
            "/inbox/decide",
            &bob,
            "instance_id=po-b-4&decision=approve",
        ))
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert_eq!(
        order_row(&app, "po-b-4").await.status,
        OrderStatus::AwaitingApproval
    );
}
