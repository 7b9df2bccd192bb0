//! Every request runs under a reactive owner of its own.
//!
//! Leptos keeps "the current owner" in a thread-local, and some of leptos_axum's
//! handlers make theirs with `Owner::new()`, which becomes a child of whatever owner
//! that thread has current. Under load a page's owner was still current when a static
//! file was served on the same thread: leptos_axum's file handler then found the page's
//! `ResponseOptions` through that parent and moved the page's headers onto the
//! stylesheet. The page went out without its Content-Security-Policy, the browser
//! blocked its scripts, and its islands stayed empty. Seen under CPU contention in the
//! browser tests (ARCHITECTURE.md, "Pages and Leptos, under load").
//!
//! With an empty root owner current around every poll of a request, a handler's new
//! owner can only ever find its own request's contexts.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use leptos::reactive::computed::ScopedFuture;
use leptos::reactive::owner::Owner;

pub async fn fresh_owner(request: Request, next: Next) -> Response {
    Owner::new_root(None)
        .with(|| ScopedFuture::new(next.run(request)))
        .await
}
