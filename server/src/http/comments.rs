//! The order's thread over HTTP: the JSON API (`GET`/`POST /api/orders/{instance_id}/
//! comments`) and the order page's plain form (`POST /orders/{instance_id}/comments`,
//! answered with a 303 back to the page, as the other plain forms are).

use app::api::{COMMENTED, COMMENT_ERROR, COMMENT_SEAL};
use app::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use axum_extra::extract::Form;
use domain::CommentView;
use serde::Deserialize;

use super::auth::Caller;
use super::error::{ApiError, ApiJson, ErrorBody};
use super::forms::OrderForm;

/// A comment to write.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewCommentRequest {
    /// At most 500 characters.
    #[schema(example = "Is this the quote from March?")]
    pub text: String,
    /// A question to the order's requester (only those who decide the order ask one):
    /// the order shows "question open" until the requester writes.
    #[serde(default)]
    pub question: bool,
}

/// The order's thread, oldest first: open to its requester and to whoever may decide
/// it, or decided it.
#[utoipa::path(
    get, path = "/api/orders/{instance_id}/comments", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`")),
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, body = Vec<CommentView>),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 403, description = "The caller sees the order but takes no part in its thread", body = ErrorBody),
        (status = 404, description = "Unknown order, or not the caller's to see", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<Vec<CommentView>>, ApiError> {
    Ok(Json(state.orders.comments(&caller, &instance_id).await?))
}

/// Writes in the order's thread. The other participants are e-mailed (with e-mail on).
#[utoipa::path(
    post, path = "/api/orders/{instance_id}/comments", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`")),
    request_body = NewCommentRequest,
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "Written", body = CommentView),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 403, description = "The caller takes no part in the thread, or asks a question without deciding the order", body = ErrorBody),
        (status = 404, description = "Unknown order, or not the caller's to see", body = ErrorBody),
        (status = 422, description = "Empty, longer than 500 characters, or with hidden characters", body = ErrorBody),
        (status = 503, description = "The database is busy; nothing was written", body = ErrorBody),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(instance_id): Path<String>,
    ApiJson(request): ApiJson<NewCommentRequest>,
) -> Result<(StatusCode, Json<CommentView>), ApiError> {
    let comment = state
        .orders
        .comment(&caller, &instance_id, &request.text, request.question)
        .await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// The order page's form.
#[derive(Debug, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    text: String,
    /// Present (any value) to ask the requester.
    #[serde(default)]
    question: Option<String>,
}

/// The order page's thread form (a page's plumbing, like the other plain forms: not
/// in the API document; the JSON API's is `POST /api/orders/{instance_id}/comments`).
pub async fn post_form(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CommentForm>, axum_extra::extract::FormRejection>,
) -> Response {
    let form_page = OrderForm {
        done: COMMENTED,
        refused: (COMMENT_ERROR, COMMENT_SEAL),
        what: "a comment",
    };
    let orders = &state.orders;
    form_page
        .answer(&state, &headers, &instance_id, form, async |user, post| {
            let question = post.question.is_some();
            orders
                .comment(&user, &instance_id, &post.text, question)
                .await
                .map(|_| ())
        })
        .await
}
