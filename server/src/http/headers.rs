//! Security headers on every response. Pages set their own Content-Security-Policy
//! (with the response's nonce, see `app::shell`); everything else (the API, Swagger UI,
//! static files) gets a strict default: nothing inline runs, nothing frames us.

use axum::http::{header, HeaderName, HeaderValue};
use tower::layer::util::{Identity, Stack};
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;

const DEFAULT_CSP: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; \
     base-uri 'none'; object-src 'none'";

type Headers = Stack<
    SetResponseHeaderLayer<HeaderValue>,
    Stack<
        SetResponseHeaderLayer<HeaderValue>,
        Stack<
            SetResponseHeaderLayer<HeaderValue>,
            Stack<SetResponseHeaderLayer<HeaderValue>, Identity>,
        >,
    >,
>;

pub fn security_headers() -> ServiceBuilder<Headers> {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        ))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Same-origin requests keep their Referer: the same-origin check falls back on
        // it, and a failed plain form post is sent back to the page it names. A page
        // whose address is a secret (an e-mail's action link) sends none at all.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
}
