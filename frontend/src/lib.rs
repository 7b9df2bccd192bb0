//! The browser half: hydrates the server-rendered page into a live Leptos app.

// The release (LTO) build computes layouts of the app's deeply nested view types here.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
