//! The seed-compatible JSON API, plus the list the seed lacks.

use app::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use backend::model::order::{AssignedFilter, OrderQuery};
use backend::rules::policy;
use backend::services::orders::{Assigned, Decided, DecisionRequest, Started, WorkflowState};
use backend::store::read_model;
use domain::{
    Decision, HeldBy, NewOrder, OrderDetail, OrderStatus, OrderView, SortKey, StartOrderRequest,
};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::{ApiError, ApiJson, ErrorBody, OptionalApiJson};

/// Start the approval workflow for a purchase order.
#[utoipa::path(
    post, path = "/start-purchase-order", tag = "orders",
    request_body = StartOrderRequest,
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Workflow started; the caller is recorded as requester", body = Started),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 409, description = "An order with this id exists", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 503, description = "Dapr sidecar unavailable; nothing was recorded", body = ErrorBody),
    )
)]
pub async fn start_purchase_order(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<StartOrderRequest>,
) -> Result<Json<Started>, ApiError> {
    let order = NewOrder::parse(&request)?;
    Ok(Json(state.orders.start(order, &caller).await?))
}

/// A decision. The approver is always the caller; `approver_name` is accepted for
/// compatibility with the seed and must name the caller.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignalApproval {
    #[schema(example = "bob")]
    pub approver_name: Option<String>,
    pub approved: bool,
    /// Optional note kept with the decision.
    pub comment: Option<String>,
}

/// Approve or reject an order that waits for a decision (managers and directors, never
/// their own order). Exactly one decision wins. Under an approval policy
/// (`APPROVAL_POLICY`) this decides the level the order waits at: a level names the
/// least role that decides it, and nobody decides two levels of one order. Approving a
/// level before the last answers 200 with status `awaiting_approval` once the workflow
/// asks the next level.
#[utoipa::path(
    post, path = "/signal-approval/{instance_id}", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`")),
    request_body = SignalApproval,
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Decision applied and confirmed by the workflow (the order's outcome, or the next level asked)", body = Decided),
        (status = 202, description = "Decision recorded and sent; the workflow has not confirmed it yet (it counts if it reaches the workflow before the deadline)", body = Decided),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 403, description = "Not a manager, own order, approver_name is not the caller, the level is a director's, or the caller approved an earlier level", body = ErrorBody),
        (status = 404, description = "Unknown instance", body = ErrorBody),
        (status = 409, description = "Not awaiting approval, or already decided", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 503, description = "Dapr sidecar unavailable", body = ErrorBody),
    )
)]
pub async fn signal_approval(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(instance_id): Path<String>,
    ApiJson(signal): ApiJson<SignalApproval>,
) -> Result<(StatusCode, Json<Decided>), ApiError> {
    let request = DecisionRequest {
        decision: Decision::from_approved(signal.approved),
        comment: signal.comment.as_deref(),
        approver_name: signal.approver_name.as_deref(),
        via: backend::model::order::Via::App,
    };
    let decided = state.orders.decide(&instance_id, &caller, request).await?;
    Ok(decided_response(decided))
}

/// 200 once the workflow confirmed the decision, 202 while it has not yet.
fn decided_response(decided: Decided) -> (StatusCode, Json<Decided>) {
    let code = if decided.confirmed {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (code, Json(decided))
}

/// A cancellation; the body is optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CancelRequest {
    /// Optional note kept with the cancellation (why).
    pub comment: Option<String>,
}

/// Cancel an order that waits for a decision (its requester only). It races the
/// managers' decisions and the approval timeout: exactly one of them wins, and the
/// others get 409 naming it.
#[utoipa::path(
    post, path = "/api/orders/{instance_id}/cancel", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`")),
    request_body(content = Option<CancelRequest>, description = "Optional; an empty body cancels without a comment"),
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled, confirmed by the workflow", body = Decided),
        (status = 202, description = "Cancellation recorded and sent; the workflow has not confirmed it yet (it counts if it reaches the workflow before the deadline)", body = Decided),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 403, description = "Not the order's requester", body = ErrorBody),
        (status = 404, description = "Unknown instance", body = ErrorBody),
        (status = 409, description = "Not awaiting approval, or already decided or cancelled (the answer names who)", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        (status = 503, description = "Dapr sidecar unavailable", body = ErrorBody),
    )
)]
pub async fn cancel_order(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(instance_id): Path<String>,
    OptionalApiJson(cancel): OptionalApiJson<CancelRequest>,
) -> Result<(StatusCode, Json<Decided>), ApiError> {
    let request = DecisionRequest {
        decision: Decision::Cancel,
        comment: cancel.comment.as_deref(),
        approver_name: None,
        via: backend::model::order::Via::App,
    };
    let decided = state.orders.decide(&instance_id, &caller, request).await?;
    Ok(decided_response(decided))
}

/// Who is to hold a waiting order.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignRequest {
    /// The colleague to hold it (the caller: a claim); `null` hands it back.
    #[schema(example = "carol")]
    pub to: Option<String>,
    /// Optional note for the timeline (why).
    #[serde(default)]
    pub comment: Option<String>,
}

/// Claim a waiting order ("I'll take this"), assign it to a colleague, or release it.
/// Holding it decides nothing: whoever the policy lets decide the level still may.
/// Anyone who may decide the level it waits at may assign it, only to someone who may
/// decide that level too; directors may reassign any order; the holder may release
/// it. The assignment ends with the level. The timeline records each step and the
/// assignee is e-mailed.
#[utoipa::path(
    post, path = "/api/orders/{instance_id}/assign", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`")),
    request_body = AssignRequest,
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Who holds it now (`changed` false: it already stood so, nothing was written)", body = Assigned),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 403, description = "The caller may not assign this order, or the assignee may not decide its level", body = ErrorBody),
        (status = 404, description = "Unknown order, or not the caller's to see", body = ErrorBody),
        (status = 409, description = "The order no longer waits undecided at the level it was read at (decided, cancelled, timed out, or moved on)", body = ErrorBody),
        (status = 422, description = "Invalid fields (an empty or unknown name, a comment too long)", body = ErrorBody),
        (status = 503, description = "The database is busy; nothing was changed", body = ErrorBody),
    )
)]
pub async fn assign_order(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(instance_id): Path<String>,
    ApiJson(request): ApiJson<AssignRequest>,
) -> Result<Json<Assigned>, ApiError> {
    Ok(Json(
        state
            .orders
            .assign(
                &caller,
                &instance_id,
                request.to.as_deref(),
                request.comment.as_deref(),
            )
            .await?,
    ))
}

/// One order in full: the order, its timeline (levels asked and approved, reminders,
/// the outcome, operators' actions, oldest first) and what the caller may do with it
/// now. The same as the order's page shows. Requesters see only their own orders; any
/// other id is a 404.
#[utoipa::path(
    get, path = "/api/orders/{instance_id}", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id, `po-{order_id}`")),
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, body = OrderDetail),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 404, description = "Unknown order, or not the caller's to see", body = ErrorBody),
        (status = 503, description = "The database is busy; nothing was changed", body = ErrorBody),
    )
)]
pub async fn order_detail(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<OrderDetail>, ApiError> {
    Ok(Json(state.orders.detail(&caller, &instance_id).await?))
}

/// The workflow instance's state, straight from Dapr (the seed's shape). Requesters
/// see only their own orders; any other id is a 404.
#[utoipa::path(
    get, path = "/status/{instance_id}", tag = "orders",
    params(("instance_id" = String, Path, description = "Workflow instance id")),
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, body = WorkflowState),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 404, description = "Unknown instance", body = ErrorBody),
        (status = 503, description = "Dapr sidecar unavailable", body = ErrorBody),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(instance_id): Path<String>,
) -> Result<Json<WorkflowState>, ApiError> {
    Ok(Json(
        state.orders.workflow_state(&caller, &instance_id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// One status; every status when absent or empty.
    #[param(schema_with = super::params::any_status)]
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// `deadline` (soonest first), `amount` (largest first) or `created` (newest
    /// first); by default awaiting orders soonest deadline first, others newest first.
    #[param(schema_with = super::params::sort_key)]
    pub sort: Option<String>,
    /// `me`: only orders the caller holds (claimed or assigned to them); `nobody`:
    /// only orders nobody holds.
    #[param(schema_with = super::params::held_by)]
    pub assigned: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderPage {
    pub orders: Vec<OrderView>,
    /// Orders matching the filter, across all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// Orders from the read model: a manager's list has every order, a requester's only
/// their own. Awaiting orders come soonest deadline first, others newest first, unless
/// `sort` says otherwise.
#[utoipa::path(
    get, path = "/api/orders", tag = "orders",
    params(ListQuery),
    security(("basic" = []), ("bearer" = [])),
    responses(
        (status = 200, body = OrderPage),
        (status = 400, body = ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody)
    )
)]
pub async fn list_orders(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<OrderPage>, ApiError> {
    let Query(query) = query?;
    let status = match query.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(OrderStatus::parse(raw).ok_or_else(|| {
            let known: Vec<_> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::BadRequest(
                StatusCode::BAD_REQUEST,
                format!("Unknown status {raw:?}; use one of {}.", known.join(", ")),
            )
        })?),
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=app::api::MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(
            StatusCode::BAD_REQUEST,
            format!("limit must be from 1 to {}.", app::api::MAX_PAGE),
        ));
    }
    let offset = query.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::BadRequest(
            StatusCode::BAD_REQUEST,
            "offset cannot be negative.".into(),
        ));
    }
    let sort = match query.sort.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(SortKey::parse(raw).ok_or_else(|| {
            let known: Vec<_> = SortKey::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::BadRequest(
                StatusCode::BAD_REQUEST,
                format!("Unknown sort {raw:?}; use one of {}.", known.join(", ")),
            )
        })?),
    };
    let assigned = match query.assigned.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match HeldBy::parse(raw) {
            Some(HeldBy::Me) => Some(AssignedFilter::To(caller.name.clone())),
            Some(HeldBy::Nobody) => Some(AssignedFilter::Nobody),
            None => {
                return Err(ApiError::BadRequest(
                    StatusCode::BAD_REQUEST,
                    format!("Unknown assigned {raw:?}; use me or nobody."),
                ))
            }
        },
    };
    let db = &state.db;
    let filter = policy::scope(&caller).restrict(OrderQuery {
        status,
        sort,
        assigned,
        ..Default::default()
    });
    let (rows, total) = tokio::try_join!(
        read_model::list(db, &filter, limit, offset),
        read_model::count(db, &filter)
    )?;
    Ok(Json(OrderPage {
        orders: rows.iter().map(|r| r.view()).collect(),
        total,
        limit,
        offset,
    }))
}
