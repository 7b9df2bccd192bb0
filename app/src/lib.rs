//! Approvals: Leptos components, server functions and the types the server and the
//! browser share. Everything that touches Dapr, SQL or axum sits in [`backend`], which
//! only exists with the `ssr` feature.

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod domain;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    StaticSegment,
};

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/approvals.css"/>
        <Title text="Approvals"/>
        <Router>
            <main>
                <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                    <Route path=StaticSegment("") view=pages::home::HomePage/>
                </Routes>
            </main>
        </Router>
    }
}
