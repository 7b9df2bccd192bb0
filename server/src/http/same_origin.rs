//! No cross-site requests: a state-changing request that a browser could have sent on
//! its own (a form post or a fetch, carrying the session cookie or signing someone in)
//! must come from a page of this app. `SameSite=Lax` alone is not enough: "same site"
//! ignores ports and sibling subdomains, so a page on another port of the same host
//! could make a signed-in manager approve, and any site could sign a victim into the
//! attacker's account.
//!
//! The request's `Origin` decides; without one (or `null`), `Sec-Fetch-Site`; without
//! that, the `Referer`. A request with none of them is refused too: every browser sends at least
//! one on a POST. The check covers every request that carries cookies, whatever else
//! it carries (a browser attaches Basic credentials it has cached to cross-site
//! requests by itself), and every call of a server function (`/api/…`: the sign-in
//! among them, which carries no session yet). An API call without cookies that carries
//! its own credentials (`Authorization: Basic` or `Bearer`) passes: those are its
//! guard; so does one without cookies to a JSON API route, which then answers 401.

use app::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{COOKIE, ORIGIN, REFERER};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::headers::authorization::{Basic, Bearer};
use axum_extra::headers::{Authorization, HeaderMapExt};
use backend::services::session::Site;

pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // The credential decides the guard. A request with a cookie is a cookie's request,
    // whatever else it carries: a browser attaches cached Basic credentials to
    // cross-site requests by itself, so `Authorization` beside a cookie proves nothing
    // about who sent it. Without a cookie, API credentials are their own guard.
    let has_cookie = request.headers().contains_key(COOKIE);
    let exempt = if has_cookie {
        false
    } else {
        !is_server_function(request.uri().path()) || carries_credentials(request.headers())
    };
    if safe || exempt {
        return next.run(request).await;
    }
    match verdict(&state.site, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(from) => {
            tracing::warn!(path = %request.uri().path(), %from, "refused a cross-origin request");
            (
                StatusCode::FORBIDDEN,
                format!(
                    "Refused: this request did not come from a page of Approvals ({from}). \
                     Use the app at {}.",
                    state.site.public_origin()
                ),
            )
                .into_response()
        }
    }
}

/// Whether `path` calls a server function: those are the browser's own calls (the
/// sign-in among them), guarded even without a cookie. The JSON API's routes under
/// `/api/` are not: without a cookie or credentials they answer 401 themselves.
fn is_server_function(path: &str) -> bool {
    static PATHS: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| {
            leptos::server_fn::axum::server_fn_paths()
                .map(|(path, _)| path)
                .collect()
        });
    PATHS.contains(path)
}

/// Whether the request carries API credentials of its own (`Basic` or `Bearer`, as
/// `headers` parses them). Not proof of a non-browser caller: a browser may attach
/// Basic credentials it has cached to a cross-site request by itself, which is why
/// this counts only for a request without cookies.
fn carries_credentials(headers: &HeaderMap) -> bool {
    headers.typed_get::<Authorization<Bearer>>().is_some()
        || headers.typed_get::<Authorization<Basic>>().is_some()
}

/// `Err` says where the request came from instead.
fn verdict(site: &Site, headers: &HeaderMap) -> Result<(), String> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    // `Origin: null` names no origin: a browser sends it from a page that sends no
    // referrer (an e-mail link's confirmation page), as from an opaque origin (a
    // sandboxed frame). `Sec-Fetch-Site`, which no page can set, tells them apart.
    if let Some(origin) = header(ORIGIN.as_str()).filter(|o| *o != "null") {
        return if site.admits(origin) {
            Ok(())
        } else {
            Err(format!("it came from {origin}"))
        };
    }
    if let Some(fetch_site) = header("sec-fetch-site") {
        return if fetch_site == "same-origin" {
            Ok(())
        } else {
            Err(format!("the browser calls it {fetch_site}"))
        };
    }
    match header(REFERER.as_str()) {
        Some(referer) if site.admits_url(referer) => Ok(()),
        Some(_) => Err("it came from another site's page".into()),
        None => Err("it names no origin".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn origin_then_fetch_site_then_referer() {
        let site = Site::for_listen_address("127.0.0.1:3000".parse().expect("addr"));
        let ok = |pairs: &[(&'static str, &'static str)]| verdict(&site, &headers(pairs)).is_ok();
        assert!(ok(&[("origin", "http://127.0.0.1:3000")]));
        assert!(ok(&[("origin", "http://localhost:3000")]));
        assert!(!ok(&[("origin", "http://127.0.0.1:8080")]), "another port");
        assert!(!ok(&[("origin", "null")]));
        assert!(ok(&[("origin", "null"), ("sec-fetch-site", "same-origin")]));
        assert!(!ok(&[("origin", "null"), ("sec-fetch-site", "cross-site")]));
        // Origin wins over a same-origin Referer.
        assert!(!ok(&[
            ("origin", "http://evil.example"),
            ("referer", "http://127.0.0.1:3000/")
        ]));
        assert!(ok(&[("sec-fetch-site", "same-origin")]));
        assert!(!ok(&[("sec-fetch-site", "same-site")]));
        assert!(!ok(&[("sec-fetch-site", "cross-site")]));
        assert!(ok(&[("referer", "http://127.0.0.1:3000/orders/new")]));
        assert!(!ok(&[("referer", "http://127.0.0.1:3001/")]));
        assert!(!ok(&[]));
    }
}
