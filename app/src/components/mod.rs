//! Pieces the pages share: the header, the sign-in guard, clocks and countdowns, local
//! times, money, the orders table, forms that post to server functions, and the
//! live-update feed.

pub mod clock;
pub mod decision;
pub mod form;
pub mod layout;
pub mod live;
pub mod table;

pub use clock::{use_server_clock, Countdown, LocalTime};
pub use decision::{use_decisions, DecisionForm, Notice};
pub use layout::{Header, RequireUser};
pub use live::use_live_changes;
pub use table::{Column, OrderTable};

pub fn money(dollars: f64) -> String {
    crate::domain::format_money((dollars * 100.0).round() as i64)
}

/// The 1-based `page` query parameter (1 when absent or not a number).
pub fn page_param(query: &leptos_router::params::ParamsMap) -> i64 {
    query
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1)
}
