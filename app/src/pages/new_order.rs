//! `/orders/new`: the requester's form. Validation messages appear next to the fields;
//! after submitting, the order's own page opens. Files chosen on the form make it the
//! browser's own post (`multipart/form-data` to `POST /orders/new`, see
//! `server::http::order_form`), as is any post before the page is live; a refused one
//! comes back here with what was typed and why, next to the fields, as
//! [`SubmitOrder`]'s own refusals do.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::SubmitOrder;
use crate::components::clock::provide_hydrated;
use crate::components::form::submit_through;
use crate::components::{ErrorAlert, RequireUser};

#[component]
pub fn NewOrderPage() -> impl IntoView {
    // A form the browser posted itself comes back with what was typed when it was
    // refused (see `Ctx::keeping`).
    let typed = use_query_map().with_untracked(|q| {
        let get = |name| q.get(name).unwrap_or_default();
        let quantity = q.get("quantity").unwrap_or_else(|| "1".into());
        (get("product"), get("unit_cost"), quantity, get("order_id"))
    });
    view! {
        <RequireUser render=move |_| {
            let (product, unit_cost, quantity, order_id) = typed.clone();
            // The heading and the words around the form are plain HTML: only the form
            // is an island (the bundle has a budget).
            view! {
                <section class="card narrow">
                    <h1>"New purchase order"</h1>
                    <p class="muted">"Orders of $1,000.00 or more wait for a manager's approval."</p>
                    <NewOrderForm product unit_cost quantity order_id/>
                </section>
            }
        }/>
    }
}

/// An island, so that a refused order keeps what was typed and the button shows progress.
#[island]
fn NewOrderForm(
    product: String,
    unit_cost: String,
    quantity: String,
    order_id: String,
) -> impl IntoView {
    // Marks the form once submits stay on the page (tests wait for it).
    let live = provide_hydrated();
    let submit = ServerAction::<SubmitOrder>::new();
    let on_submit = submit_through(submit, |form| {
        if form.has_file("file") {
            return None;
        }
        Some(SubmitOrder {
            product: form.field("product"),
            unit_cost: form.field("unit_cost"),
            quantity: form.field("quantity"),
            order_id: form.field("order_id"),
        })
    });
    let error_for = move |name: &'static str| {
        move || {
            submit
                .value()
                .get()
                .and_then(|r| r.err())
                .and_then(|e| e.field(name))
        }
    };
    let general = move || {
        submit
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| !matches!(e, crate::api::AppError::Invalid(_)))
            .map(|e| e.to_string())
    };
    let field_error = move |id: &'static str, name: &'static str| {
        let message = error_for(name);
        view! {
            {move || message().map(|m| view! { <p class="error" id=id>{m}</p> })}
        }
    };
    view! {
        <form method="post" action="/orders/new" enctype="multipart/form-data" class="stack" novalidate
            data-live=move || live.get().then_some("") on:submit=on_submit>
            <label for="product">"Product"</label>
            <input id="product" name="product" value=product maxlength="200" required
                aria-invalid=move || error_for("product")().is_some().to_string()
                aria-describedby="product-error"/>
            {field_error("product-error", "product")}

            <label for="unit_cost">"Unit cost"</label>
            <input id="unit_cost" name="unit_cost" value=unit_cost inputmode="decimal" placeholder="0.00" required
                aria-invalid=move || error_for("cost")().is_some().to_string()
                aria-describedby="cost-error"/>
            {field_error("cost-error", "cost")}

            <label for="quantity">"Quantity"</label>
            <input id="quantity" name="quantity" inputmode="numeric" value=quantity required
                aria-invalid=move || error_for("quantity")().is_some().to_string()
                aria-describedby="quantity-error"/>
            {field_error("quantity-error", "quantity")}

            <label for="order_id">"Order ID " <span class="muted">"(optional)"</span></label>
            <input id="order_id" name="order_id" value=order_id maxlength="64"
                placeholder="Generated when empty"
                aria-invalid=move || error_for("order_id")().is_some().to_string()
                aria-describedby="order_id-error"/>
            {field_error("order_id-error", "order_id")}

            <label for="file">"Quote or other files " <span class="muted">"(optional: PDF, PNG or JPEG, up to 10 MB each, at most 5)"</span></label>
            <input id="file" name="file" type="file" multiple accept="application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"/>

            {move || general().map(|message| view! { <ErrorAlert message/> })}
            <button type="submit" class="primary" disabled=move || submit.pending().get()>
                {move || if submit.pending().get() { "Submitting…" } else { "Submit order" }}
            </button>
        </form>
    }
}
