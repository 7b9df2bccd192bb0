//! The order's thread (issue 25 §3): who takes part (the requester and those who
//! decide it, or decided it: a stranger gets 404, a manager with no part 403), a
//! question to the requester that stays open until they answer, the text rules, the
//! timeline, and the order page's plain form.

use axum::http::{header, StatusCode};
use domain::Role;
use serde_json::{json, Value};

use crate::common::{
    error_text, form_post, order_row, page_get, spawn_app, waiting_order, Answer, TestApp, SITE,
};

async fn write(app: &TestApp, token: &str, id: &str, body: Value) -> Answer {
    app.post(token, &format!("/api/orders/{id}/comments"), body)
        .await
}

async fn question_open(app: &TestApp, token: &str, id: &str) -> bool {
    let page = app.get(token, "/api/orders?status=awaiting_approval").await;
    page.body["orders"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["instance_id"] == id))
        .map(|o| o["question_open"] == true)
        .unwrap_or(false)
}

#[tokio::test]
async fn the_requester_and_the_deciders_ask_and_answer_in_the_thread() {
    let app = spawn_app().await;
    let dave = app.account_with_token("dave", Role::Requester).await;
    let id = waiting_order(&app, &app.alice, "th-1", 2_000.0).await;

    // bob asks alice; the order shows the question open.
    let asked = write(
        &app,
        &app.bob,
        &id,
        json!({"text": "Is this the March quote?", "question": true}),
    )
    .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{:?}", asked.body);
    assert_eq!(asked.body["author"], "bob");
    assert!(question_open(&app, &app.carol, &id).await);

    // Who may not: a stranger does not see the order (404), a requester asks no
    // question (403), nothing empty, long or hidden.
    assert_eq!(
        write(&app, &dave, &id, json!({"text": "hello"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&dave, &format!("/api/orders/{id}/comments"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let requester_asks = write(
        &app,
        &app.alice,
        &id,
        json!({"text": "?", "question": true}),
    )
    .await;
    assert_eq!(requester_asks.status, StatusCode::FORBIDDEN);
    for text in [
        json!(""),
        json!("   "),
        json!("x".repeat(501)),
        json!("a\u{202e}b"),
    ] {
        let refused = write(&app, &app.bob, &id, json!({"text": text})).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{text}: {:?}",
            refused.body
        );
    }
    assert_eq!(
        write(&app, &app.bob, &id, json!({"nope": 1})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // alice answers: the question closes; everyone taking part reads the thread.
    let answered = write(&app, &app.alice, &id, json!({"text": "Yes, from March."})).await;
    assert_eq!(answered.status, StatusCode::CREATED, "{:?}", answered.body);
    assert!(!question_open(&app, &app.carol, &id).await);
    let thread = app
        .get(&app.carol, &format!("/api/orders/{id}/comments"))
        .await;
    assert_eq!(thread.status, StatusCode::OK);
    let texts: Vec<&str> = thread
        .body
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| c["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["Is this the March quote?", "Yes, from March."]);
    let detail = app.get(&app.alice, &format!("/api/orders/{id}")).await;
    let labels = detail.body["timeline"].to_string();
    assert!(
        labels.contains("bob asked alice: “Is this the March quote?”"),
        "{labels}"
    );
    assert!(labels.contains("alice: “Yes, from March.”"), "{labels}");

    // Decided by carol: bob, who neither decides nor decided it any more, is out of
    // the thread (and its timeline no longer shows it to him); carol is in.
    let approved = app
        .post(
            &app.carol,
            &format!("/signal-approval/{id}"),
            json!({"approved": true}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let bob_reads = app
        .get(&app.bob, &format!("/api/orders/{id}/comments"))
        .await;
    assert_eq!(
        bob_reads.status,
        StatusCode::FORBIDDEN,
        "{:?}",
        bob_reads.body
    );
    assert!(error_text(&bob_reads).contains("take part"));
    let detail = app.get(&app.bob, &format!("/api/orders/{id}")).await;
    assert!(
        !detail.body["timeline"].to_string().contains("March"),
        "{:?}",
        detail.body
    );
    assert_eq!(
        write(&app, &app.carol, &id, json!({"text": "Ordered."}))
            .await
            .status,
        StatusCode::CREATED
    );
}

/// The order page's form: a question from the page, shown as open to the requester,
/// and an answer that closes it.
#[tokio::test]
async fn the_order_page_asks_and_answers_with_a_plain_form() {
    let app = spawn_app().await;
    let id = waiting_order(&app, &app.alice, "th-2", 2_000.0).await;
    let origin = format!("http://{SITE}");
    let path = format!("/orders/{id}/comments");
    let (bob, alice) = (app.session("bob").await, app.session("alice").await);
    // Text as a reader sees it: without Leptos' empty markers between its parts.
    let html = |answer: &Answer| answer.body.as_str().unwrap_or_default().replace("<!>", "");

    let asked = app
        .send(form_post(
            &path,
            Some(&bob),
            Some(&origin),
            "text=Which+vendor%3F&question=1",
        ))
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    assert_eq!(
        asked.headers[header::LOCATION],
        format!("/orders/{id}?commented=1").as_str()
    );
    let page = html(&app.send(page_get(&format!("/orders/{id}"), &alice)).await);
    assert!(page.contains("A question to you is open since"), "{page}");
    assert!(page.contains("The deadline keeps running"), "{page}");

    let empty = app
        .send(form_post(&path, Some(&alice), Some(&origin), "text="))
        .await;
    let back = empty.headers[header::LOCATION]
        .to_str()
        .expect("a location")
        .to_owned();
    let page = html(&app.send(page_get(&back, &alice)).await);
    assert!(page.contains("Write something to post."), "{page}");

    let answered = app
        .send(form_post(&path, Some(&alice), Some(&origin), "text=Acme"))
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    assert_eq!(order_row(&app, &id).await.question_since, None);
    let page = html(&app.send(page_get(&format!("/orders/{id}"), &alice)).await);
    assert!(!page.contains("is open since"), "{page}");
}
