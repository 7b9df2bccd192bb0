//! What an operator can do about an order that is stuck (`server order …`): look at it
//! beside its workflow, drive it on, or end it. Every action is recorded, with who did
//! it, in `operator_actions`, which the order's timeline shows.

use domain::OrderStatus;

use crate::kernel::engine_error::FailureKind;
use crate::kernel::error::ServiceError;
use crate::model::history::{OperatorAction, OperatorActionRow};
use crate::model::order::OrderRow;
use crate::ops::reconcile::{self, Repair};
use crate::services::orders::OrderService;
use crate::store::read_model;
use crate::workflow::engine::Snapshot;
use crate::workflow::history::HistoryEvent;

/// An order as the read model has it, and its workflow as Dapr has it (or why not).
pub struct Inspection {
    pub row: OrderRow,
    pub workflow: Result<Snapshot, String>,
    /// The workflow's last recorded steps (at most [`SHOWN_STEPS`]), oldest first.
    pub recent: Result<Vec<HistoryEvent>, String>,
    pub actions: Vec<OperatorActionRow>,
}

/// How many of the workflow's last steps `order show` prints.
pub const SHOWN_STEPS: usize = 5;

pub async fn inspect(orders: &OrderService, instance_id: &str) -> Result<Inspection, ServiceError> {
    let row = row(orders, instance_id).await?;
    let workflow = orders
        .engine()
        .fetch(instance_id)
        .await
        .map_err(|e| e.to_string());
    let recent = orders
        .engine()
        .history(instance_id)
        .await
        .map(|mut events| events.split_off(events.len().saturating_sub(SHOWN_STEPS)))
        .map_err(|e| e.to_string());
    let actions = read_model::operator_actions(orders.db(), instance_id).await?;
    Ok(Inspection {
        row,
        workflow,
        recent,
        actions,
    })
}

/// Does now whatever the reconciler would do for the order, without waiting for it to
/// look stuck: records an outcome or an approval request the read model missed,
/// raises a claimed decision again, schedules a workflow that was never created.
pub async fn redrive(
    orders: &OrderService,
    instance_id: &str,
    actor: &str,
) -> Result<Vec<Repair>, ServiceError> {
    let row = row(orders, instance_id).await?;
    let repairs = if row.status.is_final() {
        Vec::new()
    } else {
        reconcile::reconcile(orders, &row, i64::MAX).await?
    };
    read_model::record_operator_action(
        orders.db(),
        instance_id,
        actor,
        OperatorAction::Redrive,
        None,
        orders.now_ms(),
    )
    .await?;
    Ok(repairs)
}

/// Ends the order's workflow for good and closes the order as failed, with `reason`.
/// Refused for an order that has an outcome.
pub async fn terminate(
    orders: &OrderService,
    instance_id: &str,
    actor: &str,
    reason: &str,
) -> Result<(), ServiceError> {
    let row = row(orders, instance_id).await?;
    if row.status.is_final() && row.status != OrderStatus::Failed {
        return Err(ServiceError::Conflict {
            message: format!("{instance_id} is already {}.", row.view().status_label()),
            status: Some(row.status),
            decided_by: row.decided_by,
        });
    }
    match orders.engine().terminate(instance_id).await {
        // Gone already (never created, purged): there is nothing left to stop.
        Ok(()) => {}
        Err(e) if e.kind == FailureKind::NotFound => {}
        Err(e) => return Err(ServiceError::from_engine("terminating the workflow", e)),
    }
    if !read_model::terminate(orders.db(), instance_id, actor, reason, orders.now_ms()).await? {
        return Err(ServiceError::Conflict {
            message: format!("{instance_id} got an outcome meanwhile; nothing was terminated."),
            status: None,
            decided_by: None,
        });
    }
    Ok(())
}

/// The order's workflow history as daprd recorded it, oldest event first. An order the
/// read model has lost can still be looked up by its workflow.
pub async fn history(
    orders: &OrderService,
    instance_id: &str,
) -> Result<Vec<HistoryEvent>, ServiceError> {
    if !domain::is_instance_id(instance_id) {
        return Err(ServiceError::NotFound(format!("No order {instance_id}.")));
    }
    orders
        .engine()
        .history(instance_id)
        .await
        .map_err(|e| match e.kind {
            FailureKind::NotFound => {
                ServiceError::NotFound(format!("Dapr has no workflow {instance_id}."))
            }
            _ => ServiceError::from_engine("reading the workflow's history", e),
        })
}

/// The orders needing an operator, longest waiting first.
pub async fn stuck(orders: &OrderService, limit: i64) -> Result<Vec<OrderRow>, ServiceError> {
    Ok(read_model::needing_attention(orders.db(), limit).await?)
}

async fn row(orders: &OrderService, instance_id: &str) -> Result<OrderRow, ServiceError> {
    read_model::get(orders.db(), instance_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("No order {instance_id}.")))
}
