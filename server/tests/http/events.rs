//! The server-sent event stream.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use backend::services::accounts;
use domain::OrderStatus;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::common::spawn_app;

async fn next_event(body: &mut Body) -> Option<String> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("the stream answers within 5 s")?
            .expect("a frame");
        if let Some(data) = frame.data_ref() {
            let text = String::from_utf8_lossy(data).into_owned();
            // Keep-alive comments are not events.
            if text.contains("event: change") {
                return Some(text);
            }
        }
    }
}

#[tokio::test]
async fn the_event_stream_carries_only_what_its_reader_may_see_and_ends_with_the_session() {
    use backend::model::order::OrderChange;
    let app = spawn_app().await;
    let session = app.session("alice").await;
    let response = app
        .router
        .clone()
        .oneshot(crate::common::page_get("/events", &session))
        .await
        .expect("the router answers");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let change = |id: &str, who: &str| OrderChange {
        id: 1,
        instance_id: id.into(),
        status: OrderStatus::AwaitingApproval.into(),
        requested_by: Some(who.into()),
    };
    // Give the stream a moment to subscribe before anything is sent.
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.changes
        .send(Arc::new(vec![
            change("po-carols", "carol"),
            change("po-alices", "alice"),
        ]))
        .expect("a subscriber");
    let event = next_event(&mut body).await.expect("an event");
    assert!(event.contains("po-alices"), "{event}");
    // The status goes out as the same string the table holds.
    assert!(event.contains(r#""status":"awaiting_approval""#), "{event}");
    assert!(!event.contains("po-carols"), "{event}");
    assert!(!event.contains("requested_by"), "{event}");

    accounts::end_session(&app.db, &session)
        .await
        .expect("signed out");
    let _ = app
        .changes
        .send(Arc::new(vec![change("po-alices-2", "alice")]));
    assert_eq!(
        next_event(&mut body).await,
        None,
        "the stream ended with the session"
    );
}

/// Live pages are bounded per account, not per sign-in: a person who signs in again
/// and again (sessions cost nothing) gets no more streams, others are not affected,
/// and a closed page frees its place.
#[tokio::test]
async fn an_account_holds_a_bounded_number_of_streams_over_all_its_sessions() {
    let app = spawn_app().await;
    let open = |session: String| {
        let router = app.router.clone();
        async move {
            router
                .oneshot(crate::common::page_get("/events", &session))
                .await
                .expect("the router answers")
        }
    };
    let mut held = Vec::new();
    for i in 0..server::http::events::STREAMS_PER_ACCOUNT {
        let stream = open(app.session("bob").await).await;
        assert_eq!(stream.status(), StatusCode::OK, "stream {i}");
        held.push(stream);
    }
    let refused = open(app.session("bob").await).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let text = refused
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    assert!(
        String::from_utf8_lossy(&text).contains("live pages per account"),
        "{text:?}"
    );
    // Someone else is not held back by bob's pages.
    assert_eq!(
        open(app.session("carol").await).await.status(),
        StatusCode::OK
    );
    // A page closed: its place is bob's again.
    drop(held.pop());
    assert_eq!(
        open(app.session("bob").await).await.status(),
        StatusCode::OK
    );
}
