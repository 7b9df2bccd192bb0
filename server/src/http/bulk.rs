//! `POST /inbox/decide`: the inbox's "Approve selected" / "Reject selected". A plain
//! HTML form (checkboxes on the rows, one comment), so it works the same with or
//! without JavaScript and costs the browser bundle nothing. Every order is decided on
//! its own ([`OrderService::decide_many`]); the answer sends the browser back to the
//! inbox with the selection in the query, and the inbox reports how each order stands
//! (from the read model, so a reload reports the same). A request refused as a whole
//! comes back with why, sealed for the manager who posted it (see [`super::forms`]).
//!
//! [`OrderService::decide_many`]: backend::services::orders::OrderService::decide_many

use app::api::{BULK_ERROR, BULK_SEAL, BULK_SELECTED};
use app::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use backend::{rules::policy, ServiceError};
use domain::{Decision, SortKey};
use serde::Deserialize;

use super::forms::{back, FormPage, PlainForm, Posted, SignedIn};

/// The inbox, where the bulk form is.
pub struct Inbox;

impl FormPage for Inbox {
    const PATH: &'static str = "/";
    const REFUSED: (&'static str, &'static str) = (BULK_ERROR, BULK_SEAL);
}

/// What the form posts: every checked row, the button pressed, the comment, and the
/// inbox filter and sort to come back to.
#[derive(Debug, Default, Deserialize)]
pub struct BulkPost {
    #[serde(default, rename = "instance_id")]
    instance_ids: Vec<String>,
    decision: Option<String>,
    comment: Option<String>,
    #[serde(rename = "q")]
    filter: Option<String>,
    sort: Option<String>,
}

impl PlainForm for BulkPost {
    type Page = Inbox;
}

pub async fn decide_selected(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn<Inbox>,
    headers: HeaderMap,
    Posted(posted): Posted<BulkPost>,
) -> Response {
    if !policy::can_use_inbox(&user) {
        return (
            StatusCode::FORBIDDEN,
            "Only managers and directors decide orders.",
        )
            .into_response();
    }
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(filter) = posted.filter.as_deref().filter(|q| !q.is_empty()) {
        query.push(("q", filter));
    }
    if let Some(sort) = posted.sort.as_deref().and_then(SortKey::parse) {
        query.push(("sort", sort.as_str()));
    }
    let decision = match posted.decision.as_deref() {
        Some("approve") => Decision::Approve,
        Some("reject") => Decision::Reject,
        _ => return back::<Inbox>(&state, &headers, &query, Some("Choose approve or reject.")),
    };
    let decided = state
        .orders
        .decide_many(
            &user,
            &posted.instance_ids,
            decision,
            posted.comment.as_deref(),
        )
        .await;
    match decided {
        Ok(results) => {
            for (instance_id, result) in &results {
                if let Err(e) = result {
                    tracing::debug!(%instance_id, error = %e, "bulk decision: one order not decided");
                }
            }
            query.extend(results.iter().map(|(id, _)| (BULK_SELECTED, id.as_str())));
            back::<Inbox>(&state, &headers, &query, None)
        }
        Err(e) => {
            // The request's own mistakes are worded by `decide_many`, with no word of
            // what was posted in them; anything else is ours.
            let words = match e {
                ServiceError::Invalid(errors) => errors
                    .0
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                other => {
                    other.log("bulk decision");
                    "Nothing was decided: something went wrong on our side; try again.".into()
                }
            };
            back::<Inbox>(&state, &headers, &query, Some(&words))
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::FromRequest;
    use axum::http::{header, Request};
    use axum_extra::extract::Form;

    #[tokio::test]
    async fn reads_every_checked_row() {
        let request = Request::post("/inbox/decide")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(
                "instance_id=po-1&instance_id=po-2&decision=approve&comment=ok+then&q=desk&sort=amount",
            ))
            .expect("a request");
        let Form(posted) = Form::<super::BulkPost>::from_request(request, &())
            .await
            .expect("a form");
        assert_eq!(posted.instance_ids, ["po-1", "po-2"]);
        assert_eq!(posted.decision.as_deref(), Some("approve"));
        assert_eq!(posted.comment.as_deref(), Some("ok then"));
        assert_eq!(posted.filter.as_deref(), Some("desk"));
        assert_eq!(posted.sort.as_deref(), Some("amount"));
    }
}
