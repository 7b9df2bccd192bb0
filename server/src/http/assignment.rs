//! `POST /orders/{instance_id}/assign`: the order page's assignment forms (claim,
//! assign to a colleague, release), plain ones that work without JavaScript. Every
//! answer is a 303 back to the order's page: `?assigned=1` when it was saved, or why
//! not, sealed for the person who posted (see `super::forms`).

use app::api::{ASSIGNED, ASSIGN_ERROR, ASSIGN_SEAL};
use app::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum_extra::extract::Form;
use backend::ServiceError;
use serde::Deserialize;

use super::forms::{back_to, OUR_SIDE, UNREADABLE};

/// What the form does.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignAction {
    Claim,
    Assign,
    Release,
}

/// The form's fields (the JSON API's is `POST /api/orders/{instance_id}/assign`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignForm {
    /// `claim` (the poster takes it), `assign` (to `to`) or `release`.
    #[schema(value_type = String, example = "assign")]
    action: AssignAction,
    /// For `assign`: the colleague's name.
    #[serde(default)]
    to: String,
    /// Optional note for the timeline.
    #[serde(default)]
    comment: String,
}

/// The order page's assignment form.
#[utoipa::path(
    post, path = "/orders/{instance_id}/assign", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`")),
    request_body(content = AssignForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the order's page (`/orders/{instance_id}`): with `assigned=1` when saved, otherwise with why not, sealed for the poster; to `/login` when not signed in"),
        (status = 403, description = "The post did not come from this site's own page"),
    )
)]
pub async fn assign(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<AssignForm>, axum_extra::extract::FormRejection>,
) -> Response {
    let page = format!("/orders/{}", urlencoding(&instance_id));
    let back = |query: &[(&str, &str)], refused: Option<&str>| {
        back_to(
            &state,
            &headers,
            &page,
            (ASSIGN_ERROR, ASSIGN_SEAL),
            query,
            refused,
        )
    };
    let user = match state.site.user(&state.db, &headers).await {
        Ok(Some(user)) => user,
        Ok(None) => return super::see_other("/login".into()),
        Err(e) => {
            e.log("the session of an assignment");
            return back(&[], Some(OUR_SIDE));
        }
    };
    let Ok(Form(post)) = form else {
        return back(&[], Some(UNREADABLE));
    };
    let to = match post.action {
        AssignAction::Claim => Some(user.name.as_str()),
        AssignAction::Assign => Some(post.to.as_str()),
        AssignAction::Release => None,
    };
    let comment = Some(post.comment.as_str()).filter(|c| !c.trim().is_empty());
    match state.orders.assign(&user, &instance_id, to, comment).await {
        Ok(_) => back(&[(ASSIGNED, "1")], None),
        Err(e) => {
            let refused = match e {
                ServiceError::Invalid(errors) => errors
                    .0
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                ServiceError::Forbidden(why) | ServiceError::NotFound(why) => why,
                ServiceError::Conflict { message, .. } => message,
                other => {
                    other.log("an assignment");
                    OUR_SIDE.to_owned()
                }
            };
            back(&[], Some(&refused))
        }
    }
}

/// An instance id in a path: ours are `[A-Za-z0-9._-]`; anything else is escaped.
fn urlencoding(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
