//! Live updates: the server sends an event on `/events` whenever orders change; pages
//! refetch what they show when the counter returned here moves. The browser's
//! EventSource reconnects by itself; after a reconnect we refetch once, because changes
//! may have happened while we were away.
//!
//! [`use_live_resource`] is the whole preamble of an island that shows live data and
//! carries decisions (the inbox and the order page).

use std::future::Future;

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

use super::clock::{provide_hydrated, use_server_clock};
use super::decision::{use_decisions, DecisionNotice};
use crate::api::{AppError, Decide};

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

/// What a live island works with. Every field is `Copy`, so rows can be handed `now` and
/// `decide` without owning reactive state themselves.
pub struct LiveResource<T: Send + Sync + 'static> {
    /// The island's data, refetched on every change anywhere and after every decision.
    pub data: Resource<Result<T, AppError>>,
    /// The server's clock, ticking every second, for countdowns.
    pub now: Signal<i64>,
    /// The page's decision action and what its last outcome was.
    pub decide: ServerAction<Decide>,
    pub notice: DecisionNotice,
}

/// Call first thing at the island's root: everything made here must belong to the
/// island, never to the rows it renders again on each refetch (see
/// [`super::clock::Hydrated`] and [`super::decision`]).
///
/// `fetch` is handed straight to the `Resource` (no wrapping closure); it gets the
/// feed's version, which it can ignore. `server_now_ms` reads the server's clock from
/// what was fetched; a plain function pointer, so it adds no type of its own. Each
/// island instantiates this once, so the WASM holds no more than the copies it replaced.
pub fn use_live_resource<T, Fut>(
    fetch: impl Fn((u64, u64)) -> Fut + Send + Sync + 'static,
    server_now_ms: fn(&T) -> i64,
) -> LiveResource<T>
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    provide_hydrated();
    let live = use_live_changes();
    let (refresh, set_refresh) = signal(0u64);
    let data = Resource::new(move || (live.get(), refresh.get()), fetch);
    let server_now =
        Signal::derive(move || data.get().and_then(Result::ok).as_ref().map(server_now_ms));
    let now = use_server_clock(server_now);
    let (decide, notice) = use_decisions(set_refresh);
    LiveResource {
        data,
        now,
        decide,
        notice,
    }
}
