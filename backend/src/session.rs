//! The session cookie: who is signed in to the pages. HttpOnly and SameSite=Lax always,
//! Secure when the request came over https (directly or through a proxy).

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};

use crate::accounts::{self, User, SESSION_TTL_MS};
use crate::db::Db;
use crate::error::ServiceError;

pub const COOKIE_NAME: &str = "approvals_session";

pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

pub async fn user_from_headers(db: &Db, headers: &HeaderMap) -> Result<Option<User>, ServiceError> {
    match session_token(headers) {
        Some(token) => accounts::session_user(db, &token).await,
        None => Ok(None),
    }
}

fn is_https(parts: &Parts) -> bool {
    parts.uri.scheme_str() == Some("https")
        || parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

pub fn cookie(parts: &Parts, token: &str) -> HeaderValue {
    let secure = if is_https(parts) { "; Secure" } else { "" };
    let max_age = if token.is_empty() {
        0
    } else {
        SESSION_TTL_MS / 1000
    };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("approvals_session=; Path=/; Max-Age=0"))
}

pub const SET_COOKIE_HEADER: axum::http::HeaderName = SET_COOKIE;
