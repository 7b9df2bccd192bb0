//! `POST /orders/{instance_id}/assign`: the order page's assignment forms (claim,
//! assign to a colleague, release), plain ones that work without JavaScript. Every
//! answer is a 303 back to the order's page: `?assigned=1` when it was saved, or why
//! not, sealed for the person who posted (see `super::forms::OrderForm`).

use app::api::{ASSIGNED, ASSIGN_ERROR, ASSIGN_SEAL};
use app::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum_extra::extract::Form;
use serde::Deserialize;

use super::forms::OrderForm;

/// What the form does.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignAction {
    Claim,
    Assign,
    Release,
}

/// The form's fields (the JSON API's is `POST /api/orders/{instance_id}/assign`).
#[derive(Debug, Deserialize)]
pub struct AssignForm {
    /// `claim` (the poster takes it), `assign` (to `to`) or `release`.
    action: AssignAction,
    /// For `assign`: the colleague's name.
    #[serde(default)]
    to: String,
    /// Optional note for the timeline.
    #[serde(default)]
    comment: String,
}

/// The order page's assignment form (a page's plumbing, like the other plain forms:
/// not in the API document; the JSON API's is `POST /api/orders/{instance_id}/assign`).
pub async fn assign(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<AssignForm>, axum_extra::extract::FormRejection>,
) -> Response {
    let form_page = OrderForm {
        done: ASSIGNED,
        refused: (ASSIGN_ERROR, ASSIGN_SEAL),
        what: "an assignment",
    };
    let orders = &state.orders;
    form_page
        .answer(&state, &headers, &instance_id, form, async |user, post| {
            let to = match post.action {
                AssignAction::Claim => Some(user.name.as_str()),
                AssignAction::Assign => Some(post.to.as_str()),
                AssignAction::Release => None,
            };
            let comment = Some(post.comment.as_str()).filter(|c| !c.trim().is_empty());
            orders
                .assign(&user, &instance_id, to, comment)
                .await
                .map(|_| ())
        })
        .await
}
