//! Every API error becomes an HTTP response here, and only here. 4xx answers carry a
//! message a person can act on; 5xx are logged here, once, with their source, and say
//! little outward.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use backend::ServiceError;
use domain::{FieldError, OrderStatus};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words.
    pub error: String,
    /// Field-by-field validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The order's current status, for conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    /// Who decided the order, when a decision lost a race.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

#[derive(Debug)]
pub enum ApiError {
    Service(ServiceError),
    /// No credentials, or wrong ones.
    Unauthorized,
    /// A body or query that could not be read at all.
    BadRequest(StatusCode, String),
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self::Service(e)
    }
}

impl From<domain::ValidationErrors> for ApiError {
    fn from(e: domain::ValidationErrors) -> Self {
        Self::Service(e.into())
    }
}

/// A query string that does not parse into what the endpoint expects.
impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::BadRequest(
            StatusCode::BAD_REQUEST,
            format!("Bad query: {}", e.body_text()),
        )
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Service(e.into())
    }
}

fn body(error: impl Into<String>) -> ErrorBody {
    ErrorBody {
        error: error.into(),
        errors: Vec::new(),
        status: None,
        decided_by: None,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, body) = match self {
            Self::Unauthorized => {
                let body = body(
                    "Sign in with HTTP Basic (username and password) or a bearer token from \
                     `server token create --user NAME`.",
                );
                return (
                    StatusCode::UNAUTHORIZED,
                    [(
                        axum::http::header::WWW_AUTHENTICATE,
                        r#"Basic realm="Approvals", charset="UTF-8""#,
                    )],
                    Json(body),
                )
                    .into_response();
            }
            Self::BadRequest(code, message) => (code, body(message)),
            Self::Service(ServiceError::TooManyAttempts { retry_after }) => {
                let message = ServiceError::TooManyAttempts { retry_after }.to_string();
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(
                        axum::http::header::RETRY_AFTER,
                        retry_after.as_secs().max(1).to_string(),
                    )],
                    Json(body(message)),
                )
                    .into_response();
            }
            Self::Service(e) => {
                e.log("API");
                service_response(e)
            }
        };
        (code, Json(body)).into_response()
    }
}

/// An error of the core as a page (rather than the API) says it: its status and the
/// message a person can act on, logged here as the API's are.
pub fn explained(e: ServiceError, what: &str) -> (StatusCode, String) {
    e.log(what);
    let (status, body) = service_response(e);
    (status, body.error)
}

fn service_response(e: ServiceError) -> (StatusCode, ErrorBody) {
    match e {
        ServiceError::Invalid(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorBody {
                errors: errors.0.clone(),
                ..body(format!("The request has invalid fields: {errors}"))
            },
        ),
        ServiceError::NotFound(m) => (StatusCode::NOT_FOUND, body(m)),
        ServiceError::Forbidden(m) => (StatusCode::FORBIDDEN, body(m)),
        ServiceError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, body(m)),
        ServiceError::UnsupportedType(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, body(m)),
        ServiceError::Conflict {
            message,
            status,
            decided_by,
        } => (
            StatusCode::CONFLICT,
            ErrorBody {
                status,
                decided_by,
                ..body(message)
            },
        ),
        e @ ServiceError::TooManyAttempts { .. } => {
            (StatusCode::TOO_MANY_REQUESTS, body(e.to_string()))
        }
        ServiceError::Unavailable { message, .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, body(message))
        }
        e if e.is_busy() => (
            StatusCode::SERVICE_UNAVAILABLE,
            body(backend::kernel::error::DATABASE_BUSY),
        ),
        // Logged above with its source; the details stay inside.
        ServiceError::Database(_) | ServiceError::Engine { .. } | ServiceError::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, body("internal error"))
        }
    }
}

/// `Json` whose rejections speak our error format.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => {
                let message = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => {
                        "Send the body as JSON with the header Content-Type: application/json."
                            .to_owned()
                    }
                    JsonRejection::JsonSyntaxError(_) => {
                        format!("The body is not valid JSON: {}", rejection.body_text())
                    }
                    _ => format!(
                        "The body does not match what this endpoint expects: {}",
                        rejection.body_text()
                    ),
                };
                Err(ApiError::BadRequest(rejection.status(), message))
            }
        }
    }
}

/// [`ApiJson`] for a body that may be left out: no body at all (no content type, no
/// length), or JSON `null`, stands for `T::default()`; anything else sent is held to
/// JSON as `ApiJson` is.
pub struct OptionalApiJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalApiJson<T>
where
    Json<Option<T>>: FromRequest<S, Rejection = JsonRejection>,
    T: Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers();
        let sent_nothing = !headers.contains_key(axum::http::header::CONTENT_TYPE)
            && !headers.contains_key(axum::http::header::TRANSFER_ENCODING)
            && headers
                .get(axum::http::header::CONTENT_LENGTH)
                .is_none_or(|n| n.as_bytes() == b"0");
        if sent_nothing {
            return Ok(Self(T::default()));
        }
        ApiJson::<Option<T>>::from_request(req, state)
            .await
            .map(|ApiJson(value)| Self(value.unwrap_or_default()))
    }
}
