//! `PurchaseOrderApprovalWorkflow`: the deterministic orchestration ([`orchestration`]),
//! the activities that write the read model and deliver notifications
//! ([`activities`]), and the engine that runs it ([`engine`]: the Dapr sidecar, or in
//! memory for tests). The names and payloads they agree on are the workflow's
//! contract, [`crate::model::workflow`].

pub mod activities;
pub mod engine;
pub mod history;
pub mod orchestration;
/// Recorded histories replayed against this build: tests only (backend's, and the
/// API suite's through the `testing` feature).
#[cfg(any(test, feature = "testing"))]
pub mod replay;

use dapr::workflow::{RegistryExt, WorkflowClient};

use crate::model::workflow::WORKFLOW_NAME;
use crate::notify::Notifier;
use crate::store::db::Db;

/// Registers the workflow and its activities on the client's worker registry; the
/// activities add `notify`'s notifications to the outbox and deliver them.
pub fn register(client: &mut WorkflowClient, db: Db, notify: Notifier) {
    let registry = client.registry_mut();
    registry.add_workflow(WORKFLOW_NAME, orchestration::purchase_order_workflow);
    activities::register(registry, db, notify);
}
