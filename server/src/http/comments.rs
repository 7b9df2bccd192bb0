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
use backend::ServiceError;
use domain::CommentView;
use serde::Deserialize;

use super::auth::Caller;
use super::error::{ApiError, ApiJson, ErrorBody};
use super::forms::{back_to, OUR_SIDE, UNREADABLE};

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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CommentForm {
    #[serde(default)]
    text: String,
    /// Present (any value) to ask the requester.
    #[serde(default)]
    question: Option<String>,
}

/// The order page's thread form.
#[utoipa::path(
    post, path = "/orders/{instance_id}/comments", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`")),
    request_body(content = CommentForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Back to the order's page: with `commented=1` when written, otherwise with why not, sealed for the poster; to `/login` when not signed in"),
        (status = 403, description = "The post did not come from this site's own page"),
    )
)]
pub async fn post_form(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CommentForm>, axum_extra::extract::FormRejection>,
) -> Response {
    let page = format!(
        "/orders/{}",
        form_urlencoded::byte_serialize(instance_id.as_bytes()).collect::<String>()
    );
    let back = |query: &[(&str, &str)], refused: Option<&str>| {
        back_to(
            &state,
            &headers,
            &page,
            (COMMENT_ERROR, COMMENT_SEAL),
            query,
            refused,
        )
    };
    let user = match state.site.user(&state.db, &headers).await {
        Ok(Some(user)) => user,
        Ok(None) => return super::see_other("/login".into()),
        Err(e) => {
            e.log("the session of a comment");
            return back(&[], Some(OUR_SIDE));
        }
    };
    let Ok(Form(post)) = form else {
        return back(&[], Some(UNREADABLE));
    };
    let question = post.question.is_some();
    match state
        .orders
        .comment(&user, &instance_id, &post.text, question)
        .await
    {
        Ok(_) => back(&[(COMMENTED, "1")], None),
        Err(e) => {
            let refused = match e {
                ServiceError::Invalid(errors) => errors
                    .0
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                ServiceError::Forbidden(why) | ServiceError::NotFound(why) => why,
                other => {
                    other.log("a comment");
                    OUR_SIDE.to_owned()
                }
            };
            back(&[], Some(&refused))
        }
    }
}
