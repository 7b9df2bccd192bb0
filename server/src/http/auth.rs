//! Who is calling the JSON API: HTTP Basic with an account's username and password, or
//! a bearer token created with `server token create`; or, for the few routes a browser
//! reaches with a plain link or form, its session cookie ([`Viewer`]).

use app::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use backend::kernel::timing::{self, Part};
use backend::model::people::User;
use backend::services::accounts;
use base64::Engine;

use super::error::ApiError;

/// Whoever asks: API credentials when the request carries them, else the browser's
/// session cookie.
pub struct Viewer(pub User);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.contains_key(AUTHORIZATION) {
            let Caller(user) = Caller::from_request_parts(parts, state).await?;
            return Ok(Self(user));
        }
        state
            .site
            .user(&state.db, &parts.headers)
            .await?
            .map(Self)
            .ok_or(ApiError::Unauthorized)
    }
}

/// The authenticated caller; rejects with 401 when credentials are missing or wrong.
pub struct Caller(pub User);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        timing::timed(Part::Auth, authenticate(parts, state)).await
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    let (scheme, value) = header.split_once(' ').ok_or(ApiError::Unauthorized)?;
    let user = if scheme.eq_ignore_ascii_case("bearer") {
        accounts::token_user(&state.db, value.trim()).await?
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(ApiError::Unauthorized)?;
        let (name, password) = decoded.split_once(':').ok_or(ApiError::Unauthorized)?;
        let client = backend::services::sign_in::client_address(&parts.extensions);
        state
            .sign_in
            .check(&state.db, client, name, password, true)
            .await?
    } else {
        None
    };
    user.map(Caller).ok_or(ApiError::Unauthorized)
}
