//! Who is calling the JSON API: HTTP Basic with an account's username and password, or
//! a bearer token created with `server token create`; or, for the few routes a browser
//! reaches with a plain link or form, its session cookie ([`Viewer`]).

use app::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum_extra::headers::authorization::{Basic, Bearer};
use axum_extra::headers::Authorization;
use axum_extra::TypedHeader;
use backend::kernel::timing::{self, Part};
use backend::model::people::User;
use backend::services::accounts;

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

/// The `Authorization` header read by `headers`' own types: `Bearer` (a token) or
/// `Basic` (name and password, checked by `sign_in`). Any other, or one that does not
/// parse, is no one.
async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
    if !parts.headers.contains_key(AUTHORIZATION) {
        return Err(ApiError::Unauthorized);
    }
    let user = if let Ok(TypedHeader(Authorization(bearer))) =
        TypedHeader::<Authorization<Bearer>>::from_request_parts(parts, state).await
    {
        accounts::token_user(&state.db, bearer.token()).await?
    } else if let Ok(TypedHeader(Authorization(basic))) =
        TypedHeader::<Authorization<Basic>>::from_request_parts(parts, state).await
    {
        let client = state.sign_in.client_of(parts);
        state
            .sign_in
            .check(&state.db, client, basic.username(), basic.password(), true)
            .await?
    } else {
        None
    };
    user.map(Caller).ok_or(ApiError::Unauthorized)
}
