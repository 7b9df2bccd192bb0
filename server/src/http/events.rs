//! `GET /events`: server-sent events for signed-in people, one `change` event per batch
//! of order changes (`[{"instance_id": …, "status": …}, …]`). Each person gets only the
//! changes to orders they may see, and the stream ends when their session does.

use backend::model::order::ChangeBatch;
use backend::model::people::User;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use backend::services::accounts;
use backend::{rules::policy, store::db::Db};
use futures::stream::{self, Stream};
use tokio::sync::broadcast;

/// How often an idle stream checks that its session still holds (logout, expiry).
const SESSION_RECHECK: Duration = Duration::from_secs(15);
/// Open streams one account may hold, over all its sessions (a few tabs on a few
/// devices; not an unbounded pile: sessions are free to make, accounts are not).
pub const STREAMS_PER_ACCOUNT: usize = 16;

/// Open streams by account, for one router (a stream lives in this process only).
#[derive(Clone, Default)]
pub struct OpenStreams(Arc<Mutex<HashMap<i64, usize>>>);

/// One open stream of an account; closing it (dropping this) frees the place.
struct Slot(OpenStreams, i64);

impl OpenStreams {
    fn take(&self, account: i64) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(account).or_insert(0);
        if *count >= STREAMS_PER_ACCOUNT {
            return None;
        }
        *count += 1;
        backend::kernel::metrics::sse_client_opened();
        Some(Slot(self.clone(), account))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        backend::kernel::metrics::sse_client_closed();
        let mut open = self.0 .0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.1) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.1);
            }
        }
    }
}

pub async fn events(
    State(state): State<AppState>,
    Extension(open): Extension<OpenStreams>,
    headers: HeaderMap,
) -> Response {
    let token = state.site.session_token(&headers);
    let user = match &token {
        Some(token) => accounts::session_user(&state.db, token).await,
        None => Ok(None),
    };
    match (user, token) {
        (Ok(Some(user)), Some(token)) => {
            let Some(slot) = open.take(user.id) else {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "At most {STREAMS_PER_ACCOUNT} live pages per account; close one \
                         (here or on another device)."
                    ),
                )
                    .into_response();
            };
            let feed = Feed {
                _slot: slot,
                receiver: state.changes.subscribe(),
                db: state.db.clone(),
                token,
                user,
            };
            Sse::new(feed.into_stream())
                .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
                .into_response()
        }
        (Ok(_), _) => (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
        (Err(e), _) => {
            e.log("event stream");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// One person's view of the change feed.
struct Feed {
    _slot: Slot,
    receiver: broadcast::Receiver<ChangeBatch>,
    db: Db,
    token: String,
    user: User,
}

enum Next {
    Send(String),
    Skip,
    End,
}

impl Feed {
    /// The session still holds: not logged out, not expired, the account still there.
    async fn session_holds(&self) -> bool {
        matches!(
            accounts::session_user(&self.db, &self.token).await,
            Ok(Some(user)) if user.id == self.user.id
        )
    }

    async fn next(&mut self) -> Next {
        let received = tokio::time::timeout(SESSION_RECHECK, self.receiver.recv()).await;
        // Every batch, and every quiet spell, is a moment to notice a session that ended.
        if !self.session_holds().await {
            return Next::End;
        }
        match received {
            Err(_quiet) => Next::Skip,
            Ok(Ok(batch)) => {
                let visible: Vec<_> = batch
                    .iter()
                    .filter(|change| policy::can_view_change(&self.user, change))
                    .collect();
                if visible.is_empty() {
                    Next::Skip
                } else {
                    Next::Send(serde_json::to_string(&visible).unwrap_or_else(|_| "[]".into()))
                }
            }
            // Fell behind: say "something changed" and let the page refetch.
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => Next::Send("[]".to_owned()),
            Ok(Err(broadcast::error::RecvError::Closed)) => Next::End,
        }
    }

    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> {
        stream::unfold(self, |mut feed| async move {
            loop {
                match feed.next().await {
                    Next::Send(data) => {
                        return Some((Ok(Event::default().event("change").data(data)), feed))
                    }
                    Next::Skip => continue,
                    Next::End => return None,
                }
            }
        })
    }
}
