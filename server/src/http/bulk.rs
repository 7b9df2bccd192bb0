//! `POST /inbox/decide`: the inbox's "Approve selected" / "Reject selected". A plain
//! HTML form (checkboxes on the rows, one comment), so it works the same with or
//! without JavaScript and costs the browser bundle nothing. Every order is decided on
//! its own ([`OrderService::decide_many`]); the answer sends the browser back to the
//! inbox with the selection in the query, and the inbox reports how each order stands
//! (from the read model, so a reload reports the same).
//!
//! [`OrderService::decide_many`]: backend::OrderService::decide_many

use app::api::{BULK_ERROR, BULK_SEAL, BULK_SELECTED};
use app::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use backend::{kernel::seal, rules::policy, ServiceError};
use domain::{Decision, SortKey, ValidationErrors};

/// What the form posts: every checked row, the button pressed, the comment, and the
/// inbox filter and sort to come back to.
#[derive(Debug, Default)]
struct Posted {
    instance_ids: Vec<String>,
    decision: Option<String>,
    comment: Option<String>,
    filter: Option<String>,
    sort: Option<String>,
}

impl Posted {
    fn parse(body: &[u8]) -> Self {
        let mut posted = Self::default();
        for (name, value) in form_urlencoded::parse(body) {
            match name.as_ref() {
                "instance_id" => posted.instance_ids.push(value.into_owned()),
                "decision" => posted.decision = Some(value.into_owned()),
                "comment" => posted.comment = Some(value.into_owned()),
                "q" => posted.filter = Some(value.into_owned()),
                "sort" => posted.sort = Some(value.into_owned()),
                _ => {}
            }
        }
        posted
    }
}

pub async fn decide_selected(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = match state.site.user(&state.db, &headers).await {
        Ok(Some(user)) => user,
        Ok(None) => return super::see_other("/login".into()),
        Err(e) => return super::error::ApiError::from(e).into_response(),
    };
    if !policy::can_use_inbox(&user) {
        return (
            StatusCode::FORBIDDEN,
            "Only managers and directors decide orders.",
        )
            .into_response();
    }
    let posted = Posted::parse(&body);
    let decided = match posted.decision.as_deref() {
        Some("approve") => Ok(Decision::Approve),
        Some("reject") => Ok(Decision::Reject),
        _ => Err(ServiceError::Invalid(ValidationErrors::one(
            "decision",
            "Choose approve or reject.",
        ))),
    };
    let decided = match decided {
        Ok(decision) => {
            let comment = posted.comment.as_deref();
            let ids = &posted.instance_ids;
            state
                .orders
                .decide_many(&user, ids, decision, comment)
                .await
        }
        Err(refused) => Err(refused),
    };
    let mut back = form_urlencoded::Serializer::new(String::new());
    if let Some(filter) = posted.filter.as_deref().filter(|q| !q.is_empty()) {
        back.append_pair("q", filter);
    }
    if let Some(sort) = posted.sort.as_deref().and_then(SortKey::parse) {
        back.append_pair("sort", sort.as_str());
    }
    match decided {
        Ok(results) => {
            for (instance_id, result) in &results {
                if let Err(e) = result {
                    tracing::debug!(%instance_id, error = %e, "bulk decision: one order not decided");
                }
                back.append_pair(BULK_SELECTED, instance_id);
            }
        }
        Err(e) => {
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
            back.append_pair(BULK_ERROR, &words);
            back.append_pair(BULK_SEAL, &seal::seal(&[&words]));
        }
    }
    super::see_other(format!("/?{}", back.finish()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_every_checked_row() {
        let posted = super::Posted::parse(
            b"instance_id=po-1&instance_id=po-2&decision=approve&comment=ok+then&q=desk&sort=amount",
        );
        assert_eq!(posted.instance_ids, ["po-1", "po-2"]);
        assert_eq!(posted.decision.as_deref(), Some("approve"));
        assert_eq!(posted.comment.as_deref(), Some("ok then"));
        assert_eq!(posted.filter.as_deref(), Some("desk"));
        assert_eq!(posted.sort.as_deref(), Some("amount"));
    }
}
