//! The landing page: recent orders from the read model.

use leptos::prelude::*;

use crate::api::list_orders;
use crate::domain::{OrderStatus, OrderView};

#[component]
pub fn HomePage() -> impl IntoView {
    let (status, set_status) = signal(None::<OrderStatus>);
    let orders = Resource::new(move || status.get(), |status| list_orders(status, 50, 0));
    view! {
        <h1>"Purchase orders"</h1>
        <div class="filters" role="group" aria-label="Filter by status">
            <button on:click=move |_| set_status.set(None)
                aria-pressed=move || status.get().is_none().to_string()>"All"</button>
            <button on:click=move |_| set_status.set(Some(OrderStatus::AwaitingApproval))
                aria-pressed=move || (status.get() == Some(OrderStatus::AwaitingApproval)).to_string()>
                "Waiting for approval"
            </button>
        </div>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(page) if page.is_empty() => view! { <p class="empty">"No orders yet."</p> }.into_any(),
                    Ok(page) => view! { <OrderTable orders=page/> }.into_any(),
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrderTable(orders: Vec<OrderView>) -> impl IntoView {
    view! {
        <table class="orders">
            <thead><tr>
                <th>"Order"</th><th>"Product"</th><th>"Qty"</th><th>"Total"</th><th>"Status"</th>
            </tr></thead>
            <tbody>
                {orders.into_iter().map(|o| {
                    let total = crate::domain::format_money((o.total * 100.0).round() as i64);
                    let label = o.status_label();
                    view! {
                        <tr data-instance=o.instance_id.clone()>
                            <td>{o.order_id}</td><td>{o.product}</td><td>{o.quantity}</td>
                            <td class="money">{total}</td><td>{label}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
