//! The HTTP surface besides the Leptos pages: the seed-compatible JSON API, the order
//! list and its CSV export, the inbox's bulk decisions, health and the OpenAPI document
//! with Swagger UI.

pub mod assignment;
pub mod attachments;
pub mod auth;
pub mod bulk;
pub mod comments;
pub mod email_links;
pub mod error;
pub mod error_seal;
pub mod events;
pub mod export;
pub mod forms;
pub mod fresh_owner;
pub mod headers;
pub mod hosts;
pub mod limits;
pub mod order_form;
pub mod orders;
mod params;
pub mod same_origin;
pub mod server_timing;
pub mod settings;
pub mod whole_pages;

use app::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Approvals",
        description = "Purchase-order approvals driven by a Dapr workflow. Orders of $1000 \
            or more wait for a manager's decision or the approval timeout."
    ),
    paths(
        orders::start_purchase_order,
        orders::signal_approval,
        orders::cancel_order,
        orders::assign_order,
        comments::list,
        comments::add,
        attachments::upload,
        attachments::list,
        attachments::download,
        orders::status,
        orders::list_orders,
        orders::order_detail,
        export::orders_csv,
        email_links::offer,
        email_links::act
    ),
    tags(
        (name = "orders", description = "Purchase orders and their workflows"),
        (name = "e-mail links", description = "Deciding from the Approve and Reject links \
            of an approval e-mail, without signing in: the GET shows, the POST decides")
    ),
    modifiers(&SecuritySchemes, &CommonResponses)
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("An account's username and password"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from `server token create --user NAME`"))
                    .build(),
            ),
        );
    }
}

/// The answers every operation can give whatever its own work, written once here
/// rather than on each path: a query or body that cannot be read (400), a body past
/// the limit (413) or not sent as JSON (415), and, for HTTP Basic, the sign-in
/// limits (429 with `Retry-After`). Each is an [`ErrorBody`](error::ErrorBody).
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, ResponseBuilder};
        let answer = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                let mut common = vec![
                    ("400", "The query or body could not be read"),
                    (
                        "429",
                        "Too many password checks from this client or for this name (HTTP \
                         Basic); try again after Retry-After seconds",
                    ),
                ];
                if let Some(body) = &operation.request_body {
                    common.push(("413", "The body is larger than 256 KiB"));
                    if body.content.contains_key("application/json") {
                        common.push(("415", "The body was not sent as application/json"));
                    }
                }
                for (code, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| answer(description));
                }
            }
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/start-purchase-order", post(orders::start_purchase_order))
        .route(
            "/signal-approval/{instance_id}",
            post(orders::signal_approval),
        )
        .route("/status/{instance_id}", get(orders::status))
        .route("/api/orders", get(orders::list_orders))
        .route("/api/orders/{instance_id}", get(orders::order_detail))
        .route(
            "/api/orders/{instance_id}/cancel",
            post(orders::cancel_order),
        )
        .route(
            "/api/orders/{instance_id}/assign",
            post(orders::assign_order),
        )
        .route("/api/orders.csv", get(export::orders_csv))
        .route("/inbox/decide", post(bulk::decide_selected))
        .route("/orders/{instance_id}/assign", post(assignment::assign))
        .route("/orders/{instance_id}/comments", post(comments::post_form))
        .route(
            "/api/orders/{instance_id}/comments",
            get(comments::list).post(comments::add),
        )
        .route(
            "/api/orders/{instance_id}/attachments",
            get(attachments::list).post(attachments::upload).layer(
                axum::extract::DefaultBodyLimit::max(attachments::MAX_UPLOAD_BODY),
            ),
        )
        .route(
            "/api/orders/{instance_id}/attachments/{id}",
            get(attachments::download),
        )
        .route(
            "/orders/{instance_id}/attachments",
            post(attachments::post_form).layer(axum::extract::DefaultBodyLimit::max(
                attachments::MAX_ORDER_FORM_BODY,
            )),
        )
        .route(
            "/orders/new",
            post(order_form::new_order).layer(axum::extract::DefaultBodyLimit::max(
                attachments::MAX_ORDER_FORM_BODY,
            )),
        )
        .route(
            "/act/{token}",
            get(email_links::offer).post(email_links::act),
        )
        .route("/settings/email", post(settings::set_email))
        .route("/settings/delegation", post(settings::delegate))
        .route(
            "/settings/delegation/revoke",
            post(settings::revoke_delegation),
        )
        .route("/healthz", get(health))
        // Liveness: the process serves requests at all. Unlike /healthz (readiness) it
        // asks nothing of the database, so a slow database takes a replica out of the
        // Service instead of getting it restarted.
        .route("/livez", get(|| async { "ok" }))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}

/// The server-sent event stream: open for as long as its session lasts, so outside the
/// request timeout every other route has. Each router counts its own open streams.
pub fn streams() -> Router<AppState> {
    Router::new()
        .route("/events", get(events::events))
        .layer(axum::Extension(events::OpenStreams::default()))
}

/// Ready when the read model answers.
/// 303 to `location`: where a plain form's post sends the browser afterwards.
fn see_other(location: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, location)],
    )
        .into_response()
}

async fn health(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.db.ping().await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
