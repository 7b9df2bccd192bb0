//! `GET /events`: server-sent events for signed-in people, one `change` event per batch
//! of order changes (`[{"instance_id": …, "status": …}, …]`).

use std::convert::Infallible;
use std::time::Duration;

use app::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use backend::read_model::ChangeBatch;
use backend::session;
use futures::stream::{self, Stream};
use tokio::sync::broadcast;

pub async fn events(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session::user_from_headers(&state.db, &headers).await {
        Ok(Some(_)) => Sse::new(stream_of(state.changes.subscribe()))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response(),
        Ok(None) => (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
    }
}

fn stream_of(
    receiver: broadcast::Receiver<ChangeBatch>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(receiver, |mut receiver| async move {
        let data = match receiver.recv().await {
            Ok(batch) => serde_json::to_string(&*batch).unwrap_or_else(|_| "[]".into()),
            // Fell behind: say "something changed" and let the page refetch.
            Err(broadcast::error::RecvError::Lagged(_)) => "[]".to_owned(),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(Event::default().event("change").data(data)), receiver))
    })
}
