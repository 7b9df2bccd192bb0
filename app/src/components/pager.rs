//! Paging through a long list: which page the address asks for, and the links to the
//! pages either side. Every list pages by [`PAGE_SIZE`]; a page is a plain link, so
//! paging works before the page is live and keeps the address shareable.

use leptos::prelude::*;

use crate::paging::{MAX_PAGE_NUMBER, PAGE_SIZE};

/// The 1-based `page` query parameter (1 when absent or not a number).
pub fn page_param(query: &leptos_router::params::ParamsMap) -> i64 {
    query
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_PAGE_NUMBER)
}

/// "Showing 26–50 of 10000" with Previous / Next links to the list at `base`. Not
/// generic, and it takes plain numbers rather than the page of results, so every list
/// shares the one copy in the WASM bundle.
#[component]
pub fn Pager(
    /// The list's path, e.g. `/orders`.
    base: &'static str,
    total: i64,
    offset: i64,
    /// How many rows this page shows.
    shown: usize,
    /// What else every link keeps, already encoded, as `&name=value…`.
    #[prop(optional)]
    query: String,
) -> impl IntoView {
    let link = move |page: i64| format!("{base}?page={page}{query}");
    let page = offset / PAGE_SIZE + 1;
    let first = if shown == 0 { 0 } else { offset + 1 };
    let last = offset + shown as i64;
    view! {
        <nav class="pager" aria-label="Pages">
            <span>{format!("Showing {first}–{last} of {total}")}</span>
            {(page > 1).then(|| view! { <a href=link(page - 1) rel="prev">"Previous"</a> })}
            {(last < total).then(|| view! { <a href=link(page + 1) rel="next">"Next"</a> })}
        </nav>
    }
}
