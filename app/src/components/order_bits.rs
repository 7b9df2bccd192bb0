//! The small pieces every order row repeats: the link to the order's page and its
//! status badge. Plain components with owned props and no reactive state, so rows that
//! are rendered again on every refetch can use them freely (see [`super::decision`]).

use leptos::prelude::*;

use domain::OrderStatus;

/// The order's id, linking to its page.
#[component]
pub fn OrderLink(instance_id: String, order_id: String) -> impl IntoView {
    view! { <a href=format!("/orders/{instance_id}")>{order_id}</a> }
}

/// The status in words, coloured by the status (`status approved`, …).
#[component]
pub fn StatusBadge(
    status: OrderStatus,
    /// `OrderView::status_label`: it names who decided, which the status alone does not.
    label: String,
) -> impl IntoView {
    view! { <span class=format!("status {}", status.as_str())>{label}</span> }
}
