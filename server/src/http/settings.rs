//! `POST /settings/email`: the settings page's form (a plain one, so it works without
//! JavaScript). Sets or, when empty, removes the signed-in person's e-mail address,
//! then sends the browser back to `/settings` saying how it went.

use app::api::{SETTINGS_ERROR, SETTINGS_SAVED, SETTINGS_SEAL};
use app::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use backend::email::Email;
use backend::{accounts, seal};

pub async fn set_email(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let user = match state.site.user(&state.db, &headers).await {
        Ok(Some(user)) => user,
        Ok(None) => return super::see_other("/login".into()),
        Err(e) => return super::error::ApiError::from(e).into_response(),
    };
    let raw = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "email")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let email = match raw.trim() {
        "" => Ok(None),
        given => Email::parse(given).map(Some),
    };
    let refused = match email {
        Ok(email) => match accounts::set_email(&state.db, &user.name, email.as_ref()).await {
            Ok(()) => return super::see_other(format!("/settings?{SETTINGS_SAVED}=1")),
            Err(e) => {
                e.log("saving an e-mail address");
                "Nothing was saved: something went wrong on our side; try again.".to_owned()
            }
        },
        Err(message) => message,
    };
    let mut back = form_urlencoded::Serializer::new(String::new());
    back.append_pair(SETTINGS_ERROR, &refused);
    back.append_pair(SETTINGS_SEAL, &seal::seal(&[&refused]));
    super::see_other(format!("/settings?{}", back.finish()))
}
