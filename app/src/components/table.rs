//! The orders table every list page uses: a scrolling wrapper, the header row, and the
//! rows the page gives it.

use leptos::prelude::*;

/// A column heading, and whether the column holds numbers (right-aligned).
pub type Column = (&'static str, bool);

#[component]
pub fn OrderTable(
    /// Extra class for the table (`orders` is always there).
    #[prop(optional)]
    class: &'static str,
    columns: &'static [Column],
    children: Children,
) -> impl IntoView {
    let class = if class.is_empty() {
        "orders".to_owned()
    } else {
        format!("orders {class}")
    };
    view! {
        <div class="table-wrap">
            <table class=class>
                <thead><tr>
                    {columns.iter().map(|(label, numeric)| view! {
                        <th scope="col" class=numeric.then_some("num")>{*label}</th>
                    }).collect_view()}
                </tr></thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
