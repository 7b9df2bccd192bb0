//! Time on screen. Countdowns tick in the browser every second from the server's
//! deadline, corrected by the difference between the viewer's clock and the server's;
//! times are shown in the viewer's locale once hydrated (UTC before).

use leptos::prelude::*;

/// Milliseconds since the epoch on this side of the wire.
pub fn local_now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::Utc::now().timestamp_millis()
    }
}

/// The server's "now", ticking every second. `server_now_ms` is the server clock at the
/// moment the data was produced; the offset to the local clock is measured when it
/// arrives.
pub fn use_server_clock(server_now_ms: Signal<Option<i64>>) -> Signal<i64> {
    let offset = Memo::new(move |_| {
        server_now_ms
            .get()
            .map(|server| server - local_now_ms())
            .unwrap_or(0)
    });
    let (tick, set_tick) = signal(local_now_ms());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || set_tick.set(local_now_ms()),
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = set_tick;
    Signal::derive(move || tick.get() + offset.get())
}

pub fn format_left(ms: i64) -> String {
    let secs = (ms.max(0) + 999) / 1000;
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Time left until `deadline_ms` as h:mm:ss, "Expired" once it passes.
#[component]
pub fn Countdown(deadline_ms: i64, now: Signal<i64>) -> impl IntoView {
    let left = move || deadline_ms - now.get();
    view! {
        <span role="timer" class="countdown" class:expired=move || left() <= 0
            aria-label="Time left to decide">
            {move || if left() <= 0 { "Expired".to_owned() } else { format_left(left()) }}
        </span>
    }
}

/// Whether the island is live in the browser yet. Provided once at the island's root,
/// so that components rendered again on every refetch need no signals or effects of
/// their own: a node owned by a view that is being replaced can still be read by the
/// old view's effects, which panics and stops the whole WASM app.
#[derive(Clone, Copy)]
pub struct Hydrated(pub ReadSignal<bool>);

pub fn provide_hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    // Effects only run in the browser, after hydration.
    Effect::new(move |_| set_hydrated.set(true));
    provide_context(Hydrated(hydrated));
    hydrated
}

/// A point in time, in the viewer's locale once the page is live (UTC before, so the
/// server's HTML and the first client render agree).
#[component]
pub fn LocalTime(at: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let iso = iso_string(at);
    let hydrated = use_context::<Hydrated>().map(|h| h.0);
    let text = {
        let iso = iso.clone();
        move || {
            if hydrated.is_some_and(|h| h.get()) {
                locale_string(&iso).unwrap_or_else(|| utc_string(at))
            } else {
                utc_string(at)
            }
        }
    };
    view! { <time datetime=iso>{text}</time> }
}

/// `2026-03-04T05:06:07Z`, as chrono's `to_rfc3339_opts(Secs, true)` writes it, by
/// hand like [`utc_string`], which makes it nearly free in the WASM.
fn iso_string(at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Written out by hand: chrono's `format` brings its whole strftime parser into the WASM.
fn utc_string(at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute()
    )
}

#[cfg(feature = "hydrate")]
fn locale_string(iso: &str) -> Option<String> {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(iso));
    Some(
        date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
            .into(),
    )
}

#[cfg(not(feature = "hydrate"))]
fn locale_string(_iso: &str) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_fallback_matches_the_strftime_form() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-04T05:06:07Z")
            .expect("valid time")
            .with_timezone(&chrono::Utc);
        assert_eq!(
            super::utc_string(at),
            at.format("%Y-%m-%d %H:%M UTC").to_string()
        );
        assert_eq!(super::utc_string(at), "2026-03-04 05:06 UTC");
    }

    #[test]
    fn iso_form_matches_chronos_rfc3339() {
        for ms in [0, 1_790_000_000_123, 4_102_444_799_999] {
            let at = chrono::DateTime::from_timestamp_millis(ms).expect("in range");
            assert_eq!(
                super::iso_string(at),
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
        }
    }

    #[test]
    fn time_left_rounds_up_to_whole_seconds() {
        assert_eq!(super::format_left(3_723_000), "1:02:03");
        assert_eq!(super::format_left(1), "0:00:01");
        assert_eq!(super::format_left(-5), "0:00:00");
    }
}
