//! The web side of `backend::kernel::seal`, the one way a message rides a redirect: a
//! plain form post that fails comes back to its page with the app's own words in the
//! query (a server function's error under `__err`, a settings or bulk refusal under its
//! form's name) and their seal, made for the person who posted (their session) and good
//! for ten minutes. The page shows the words only when the seal opens for whoever asks
//! now; otherwise nothing.

use axum::http::HeaderMap;
use backend::kernel::{clock, seal};
use backend::services::session::Site;

/// Whom a seal made or opened during a request is for: the session its cookie carries
/// (`""` for someone not signed in, as on the sign-in page).
pub fn subject(site: &Site, headers: &HeaderMap) -> String {
    site.session_token(headers).unwrap_or_default()
}

/// The seal of `parts` for whoever sent `headers`.
pub fn seal(site: &Site, headers: &HeaderMap, parts: &[&str]) -> String {
    seal::seal_for(&subject(site, headers), parts, clock::now_ms())
}

/// Whether `seal` is ours, over `parts`, for whoever sent `headers`, and not expired.
pub fn opens(site: &Site, headers: &HeaderMap, parts: &[&str], seal: &str) -> bool {
    seal::opens(&subject(site, headers), parts, seal, clock::now_ms())
}

/// The seal of message `text` carried under the query name `name`, for the session
/// `subject`, made at `now_ms` (a test makes an old one).
pub fn seal_message_at(subject: &str, name: &str, text: &str, now_ms: i64) -> String {
    seal::seal_for(subject, &[name, text], now_ms)
}

/// The query pairs that carry `text` (the app's own words, never what someone typed)
/// under `name` back to the page of whoever sent `headers`: the words, and their seal
/// under `seal_name`.
pub fn sealed_message(
    site: &Site,
    headers: &HeaderMap,
    (name, seal_name): (&'static str, &'static str),
    text: &str,
) -> [(&'static str, String); 2] {
    let sealed = seal_message_at(&subject(site, headers), name, text, clock::now_ms());
    [(name, text.to_owned()), (seal_name, sealed)]
}

/// The message a page's query carries under `name`, if this server sealed it for
/// whoever asks now in the last ten minutes; otherwise nothing.
pub fn unsealed(
    site: &Site,
    headers: &HeaderMap,
    name: &str,
    text: String,
    seal: &str,
) -> Option<String> {
    (!text.is_empty() && opens(site, headers, &[name, &text], seal)).then_some(text)
}
