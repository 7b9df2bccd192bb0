//! Approvals' pages: Leptos components and the server functions they call. The types
//! the server and the browser share live in the `domain` crate; everything that touches
//! Dapr, SQL or axum is in the `backend` crate, which this one uses only with its `ssr`
//! feature.

#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod pages;
pub mod paging;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    ParamSegment, SsrMode, StaticSegment,
};

use components::layout::MeResource;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from this origin or carrying this
/// response's nonce (the inline hydration script does), WASM compiled by the browser,
/// no framing, forms posting only here. Leptos makes a fresh nonce for every response.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    use axum::http::{header, HeaderValue};
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/approvals.css"/>
        <Title text="Approvals"/>
        <Router>
            <Frame/>
        </Router>
    }
}

/// Everything inside the router. The router runs on the server only: every navigation
/// is a page load, and only the islands (the live lists, countdowns and forms) hydrate
/// in the browser. Pages render whole (`SsrMode::Async`) rather than streaming
/// fallbacks first: the HTML is complete without JavaScript, and a page's HTTP status
/// (404 for an unknown order) can still be set by its data.
#[component]
fn Frame() -> impl IntoView {
    let me: MeResource = Resource::new(|| (), |_| api::me());
    provide_context(me);
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <components::Header/>
        <main id="main">
            <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                <Route path=StaticSegment("") ssr=SsrMode::Async view=pages::inbox::InboxPage/>
                <Route path=StaticSegment("login") ssr=SsrMode::Async view=pages::login::LoginPage/>
                <Route path=StaticSegment("orders") ssr=SsrMode::Async view=pages::my_orders::MyOrdersPage/>
                <Route path=(StaticSegment("orders"), StaticSegment("new")) ssr=SsrMode::Async view=pages::new_order::NewOrderPage/>
                <Route path=(StaticSegment("orders"), ParamSegment("id")) ssr=SsrMode::Async view=pages::order::OrderPage/>
                <Route path=StaticSegment("settings") ssr=SsrMode::Async view=pages::settings::SettingsPage/>
            </Routes>
        </main>
    }
}
