//! The browser half: hydrates the islands of the server-rendered page (the live lists,
//! countdowns and the forms). Everything else on a page is plain HTML and ships no WASM.

// The release (LTO) build computes layouts of the app's deeply nested view types here.
#![recursion_limit = "256"]

// Links the app crate, whose `#[island]` components export their hydration functions.
use app as _;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Readable panics in the browser console during development. The release bundle
    // leaves the hook out (it formats panic messages: a few KiB of WASM); a panic
    // there still stops the app with a script error.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // Without a client-side router, a server function's redirect (after signing in or
    // submitting an order) is an ordinary page load.
    let _ = leptos::server_fn::redirect::set_redirect_hook(|to: &str| {
        let _ = leptos::prelude::window().location().set_href(to);
    });
    leptos::mount::hydrate_islands();
}
