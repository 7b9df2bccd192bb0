//! Files on an order over HTTP: the JSON API (`POST`/`GET /api/orders/{instance_id}/
//! attachments`, `GET …/attachments/{id}` to download one), the order page's plain
//! upload form (`POST /orders/{instance_id}/attachments`, a 303 back to the page) and
//! the order form when it carries files (`POST /orders/new`, see [`new_order`]).
//!
//! Bodies are `multipart/form-data`, read a part at a time: a file past 10 MB is
//! refused as soon as that much has arrived, the rest unread. What a file is comes from
//! `services::orders::attachments`; a download carries the stored type, `nosniff` and
//! `Content-Disposition: attachment`, so a browser saves it rather than showing it.

use app::api::{ATTACHED, ATTACH_ERROR, ATTACH_SEAL};
use app::state::AppState;
use axum::body::Body;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use backend::services::orders::{too_large, Upload};
use backend::ServiceError;
use domain::{AttachmentView, MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use super::auth::{Caller, Viewer};
use super::error::{ApiError, ErrorBody};
use super::forms::OrderForm;

/// The form field a file comes in.
const FILE_FIELD: &str = "file";
/// The longest text field of a multipart form (the order form's).
const MAX_FIELD_BYTES: usize = 4 * 1024;
/// The largest body of one file's upload: the file and its part's headers.
pub const MAX_UPLOAD_BODY: usize = MAX_ATTACHMENT_BYTES + 64 * 1024;
/// The largest body of the order form with its files.
pub const MAX_ORDER_FORM_BODY: usize = MAX_ATTACHMENTS as usize * MAX_ATTACHMENT_BYTES + 64 * 1024;

/// Whether a request is a file upload: a route that reads its body itself under
/// [`MAX_UPLOAD_BODY`] or [`MAX_ORDER_FORM_BODY`] (see `super::limits`).
pub fn is_upload(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::POST
        && (path == "/orders/new"
            || (path.ends_with("/attachments")
                && (path.starts_with("/orders/") || path.starts_with("/api/orders/"))))
}

/// What a multipart body carried: its text fields, and its files in the order sent.
pub struct Posted {
    pub fields: Vec<(String, String)>,
    pub files: Vec<Upload>,
}

impl Posted {
    /// A text field (empty when absent, as a posted form has it).
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

/// Why a multipart body could not be read whole.
pub enum Unread {
    /// Not multipart, or cut off, or malformed.
    Malformed(String),
    /// Something was refused for what it is (a file too large, too many files).
    Refused(ServiceError),
}

impl From<MultipartError> for Unread {
    fn from(e: MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Unread::Refused(too_large())
        } else {
            Unread::Malformed(format!("The form could not be read: {}.", e.body_text()))
        }
    }
}

impl From<Unread> for ApiError {
    fn from(e: Unread) -> Self {
        match e {
            Unread::Malformed(why) => ApiError::BadRequest(StatusCode::BAD_REQUEST, why),
            Unread::Refused(e) => ApiError::Service(e),
        }
    }
}

impl Unread {
    /// What a plain form's poster is told.
    pub fn said(self, what: &str) -> String {
        match self {
            Unread::Malformed(why) => why,
            Unread::Refused(e) => super::forms::refusal(e, what),
        }
    }
}

/// Reads a multipart body: text fields, and up to `max_files` files in `file` parts (a
/// part without a file, as a browser sends for an empty file input, is skipped).
pub async fn read_multipart(request: Request, max_files: usize) -> Result<Posted, Unread> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|rejection| {
            Unread::Malformed(format!(
                "Send the file as multipart/form-data in the field `{FILE_FIELD}` ({}).",
                rejection.body_text()
            ))
        })?;
    let mut posted = Posted {
        fields: Vec::new(),
        files: Vec::new(),
    };
    while let Some(mut part) = multipart.next_field().await? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == FILE_FIELD {
            let file_name = part.file_name().unwrap_or_default().to_owned();
            let mut bytes = Vec::new();
            while let Some(chunk) = part.chunk().await? {
                if bytes.len() + chunk.len() > MAX_ATTACHMENT_BYTES {
                    return Err(Unread::Refused(too_large()));
                }
                bytes.extend_from_slice(&chunk);
            }
            if file_name.is_empty() && bytes.is_empty() {
                continue;
            }
            if posted.files.len() == max_files {
                return Err(Unread::Refused(too_many(max_files)));
            }
            posted.files.push(Upload {
                name: file_name,
                bytes,
            });
        } else {
            let mut bytes = Vec::new();
            while let Some(chunk) = part.chunk().await? {
                if bytes.len() + chunk.len() > MAX_FIELD_BYTES {
                    return Err(Unread::Malformed(format!(
                        "The field `{name}` is longer than {MAX_FIELD_BYTES} bytes."
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(bytes)
                .map_err(|_| Unread::Malformed(format!("The field `{name}` is not UTF-8 text.")))?;
            posted.fields.push((name, text));
        }
    }
    Ok(posted)
}

fn too_many(max: usize) -> ServiceError {
    let mut errors = domain::ValidationErrors::default();
    if max == 1 {
        errors.push(FILE_FIELD, "Send one file per request.");
    } else {
        errors.push(
            FILE_FIELD,
            format!("An order takes at most {MAX_ATTACHMENTS} files; choose fewer."),
        );
    }
    errors.into()
}

fn no_file() -> ServiceError {
    let mut errors = domain::ValidationErrors::default();
    errors.push(
        FILE_FIELD,
        format!("Choose a file to attach (the form field `{FILE_FIELD}`)."),
    );
    errors.into()
}

/// A file to attach, as `multipart/form-data`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // the schema of the upload, for the API document only
pub struct AttachmentUpload {
    /// The file: PDF, PNG or JPEG (told by its content), at most 10 MB. Its name is
    /// cleaned before anyone sees it.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Attaches a file to the order: its requester, while it waits, up to five files.
#[utoipa::path(
    post, path = "/api/orders/{instance_id}/attachments", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`")),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data"),
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "Stored and recorded", body = AttachmentView),
        (status = 400, description = "Not a multipart/form-data body, or a malformed one", body = ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 403, description = "Only the order's requester attaches files", body = ErrorBody),
        (status = 404, description = "Unknown order, or not the caller's to see", body = ErrorBody),
        (status = 409, description = "The order no longer waits, or has five files already", body = ErrorBody),
        (status = 413, description = "The file is larger than 10 MB", body = ErrorBody),
        (status = 415, description = "The file is not a PDF, PNG or JPEG by its content", body = ErrorBody),
        (status = 422, description = "No file, an empty one, or more than one", body = ErrorBody),
        (status = 503, description = "The file store or the database is unavailable; nothing was attached", body = ErrorBody),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(instance_id): Path<String>,
    request: Request,
) -> Result<(StatusCode, Json<AttachmentView>), ApiError> {
    // Who and which order first: a stranger learns nothing from how the body is read.
    state.orders.order_for(&caller, &instance_id).await?;
    let mut posted = read_multipart(request, 1).await?;
    let upload = posted.files.pop().ok_or_else(no_file)?;
    let file = state.orders.attach(&caller, &instance_id, upload).await?;
    Ok((StatusCode::CREATED, Json(file)))
}

/// The order's files, oldest first, for whoever may see the order.
#[utoipa::path(
    get, path = "/api/orders/{instance_id}/attachments", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`")),
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, body = Vec<AttachmentView>),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 404, description = "Unknown order, or not the caller's to see", body = ErrorBody),
        (status = 503, description = "The database is busy", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Viewer(viewer): Viewer,
    Path(instance_id): Path<String>,
) -> Result<Json<Vec<AttachmentView>>, ApiError> {
    Ok(Json(state.orders.attachments(&viewer, &instance_id).await?))
}

/// Downloads one of the order's files, for whoever may see the order: its stored type,
/// `Content-Disposition: attachment` and `X-Content-Type-Options: nosniff`.
#[utoipa::path(
    get, path = "/api/orders/{instance_id}/attachments/{id}", tag = "orders",
    params(
        ("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`"),
        ("id" = i64, Path, description = "The file's id, as the list gives it"),
    ),
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The file", content(
            (Vec<u8> = "application/pdf"), (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg")
        )),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 404, description = "Unknown order or file, or not the caller's to see", body = ErrorBody),
        (status = 503, description = "The file store or the database is unavailable", body = ErrorBody),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    Viewer(viewer): Viewer,
    Path((instance_id, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Ok(id) = id.parse::<i64>() else {
        // The order's 404 first, so that an id's form says nothing about the order.
        let order = state.orders.order_for(&viewer, &instance_id).await?;
        return Err(
            ServiceError::NotFound(format!("Order {} has no file {id}.", order.order_id)).into(),
        );
    };
    let (file, bytes) = state.orders.attachment(&viewer, &instance_id, id).await?;
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&content_disposition(&file.name))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
            // Should a browser show it after all, it runs nothing of ours.
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox"),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// `attachment`, with the name as ASCII for old clients and whole in UTF-8 (RFC 6266).
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        utf8_percent_encode(name, NON_ALPHANUMERIC)
    )
}

/// The order page's upload form (a page's plumbing, like the other plain forms: not in
/// the API document; the JSON API's is `POST /api/orders/{instance_id}/attachments`).
/// Takes up to the files the order has room for, one after the other, once each has
/// been seen to be one the app takes (so a wrong one among them attaches none).
pub async fn post_form(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let form_page = OrderForm {
        done: ATTACHED,
        refused: (ATTACH_ERROR, ATTACH_SEAL),
        what: "an attached file",
    };
    let posted = read_multipart(request, MAX_ATTACHMENTS as usize)
        .await
        .map_err(|e| e.said("an attached file"));
    let orders = &state.orders;
    form_page
        .answer_posted(
            &state,
            &headers,
            &instance_id,
            posted,
            async |user, posted| {
                if posted.files.is_empty() {
                    return Err(no_file());
                }
                for upload in &posted.files {
                    upload.kind().map_err(|e| about(e, &upload.name))?;
                }
                for upload in posted.files {
                    orders.attach(&user, &instance_id, upload).await?;
                }
                Ok(())
            },
        )
        .await
}

/// A file's refusal, saying which file it is about (a form may carry five).
pub fn about(e: ServiceError, name: &str) -> ServiceError {
    let shown: String = name.chars().filter(|c| !c.is_control()).take(80).collect();
    if shown.is_empty() {
        return e;
    }
    match e {
        ServiceError::TooLarge(why) => ServiceError::TooLarge(format!("“{shown}”: {why}")),
        ServiceError::UnsupportedType(why) => {
            ServiceError::UnsupportedType(format!("“{shown}”: {why}"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_download_whole_and_in_ascii() {
        assert_eq!(
            content_disposition("quote.pdf"),
            "attachment; filename=\"quote.pdf\"; filename*=UTF-8''quote%2Epdf"
        );
        assert_eq!(
            content_disposition("Müller Angebot.pdf"),
            "attachment; filename=\"M_ller Angebot.pdf\"; filename*=UTF-8''M%C3%BCller%20Angebot%2Epdf"
        );
    }
}
