//! Live updates: the server sends an event on `/events` whenever orders change; pages
//! refetch what they show when the counter returned here moves. The browser's
//! EventSource reconnects by itself; after a reconnect we refetch once, because changes
//! may have happened while we were away.

use leptos::prelude::*;

pub fn use_live_changes() -> ReadSignal<u64> {
    let (version, set_version) = signal(0u64);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::{closure::Closure, JsCast};
        let Ok(source) = web_sys::EventSource::new("/events") else {
            return;
        };
        let bump = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            set_version.update(|v| *v += 1);
        });
        let callback = bump.as_ref().unchecked_ref();
        let _ = source.add_event_listener_with_callback("change", callback);
        let _ = source.add_event_listener_with_callback("open", callback);
        bump.forget();
        let source = send_wrapper::SendWrapper::new(source);
        on_cleanup(move || source.close());
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = set_version;
    version
}
