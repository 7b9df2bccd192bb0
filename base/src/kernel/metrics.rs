//! What the server counts, for Prometheus: every metric's name, labels and meaning in
//! one place. Recording goes through the `metrics` facade, which costs next to nothing
//! while no exporter is installed (`METRICS_ADDR` unset); the server installs the
//! Prometheus one and serves it (server/src/metrics.rs).

use std::time::Duration;

use domain::OrderStatus;

use crate::kernel::engine_error::FailureKind;
use crate::kernel::error::ServiceError;

pub const ORDERS_STARTED: &str = "approvals_orders_started_total";
pub const ORDERS_FINISHED: &str = "approvals_orders_finished_total";
pub const DECISIONS: &str = "approvals_decisions_total";
pub const DECISION_SECONDS: &str = "approvals_decision_duration_seconds";
pub const ORDERS_WAITING: &str = "approvals_orders_waiting";
pub const OLDEST_WAITING_SECONDS: &str = "approvals_oldest_waiting_order_age_seconds";
pub const ORDERS_NEEDING_ATTENTION: &str = "approvals_orders_needing_attention";
pub const REPAIRS: &str = "approvals_reconciler_repairs_total";
pub const DAPR_ERRORS: &str = "approvals_dapr_call_errors_total";
pub const SSE_CLIENTS: &str = "approvals_sse_clients";
pub const WRITE_BATCH: &str = "approvals_read_model_write_batch_size";

/// The help text of each metric, for the exporter to publish.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        ORDERS_STARTED,
        "Orders accepted by a start, by whether they need a manager's approval"
    );
    describe_counter!(
        ORDERS_FINISHED,
        "Orders that reached their outcome, by outcome"
    );
    describe_counter!(
        DECISIONS,
        "Decisions asked for, by result (accepted, refused) and the reason of a refusal"
    );
    describe_histogram!(
        DECISION_SECONDS,
        Unit::Seconds,
        "How long a decision took to answer, from its request to the workflow's confirmation"
    );
    describe_gauge!(ORDERS_WAITING, "Orders waiting for a manager's decision");
    describe_gauge!(
        OLDEST_WAITING_SECONDS,
        Unit::Seconds,
        "How long the oldest order waiting for a decision has waited (0 when none)"
    );
    describe_gauge!(
        ORDERS_NEEDING_ATTENTION,
        "Orders an operator should look at (`server order stuck` lists them)"
    );
    describe_counter!(REPAIRS, "What the reconciler repaired, by kind");
    describe_counter!(
        DAPR_ERRORS,
        "Calls to the Dapr sidecar that failed, by call and by kind of failure"
    );
    describe_gauge!(SSE_CLIENTS, "Open live-update streams (server-sent events)");
    describe_histogram!(
        WRITE_BATCH,
        "Order writes (new orders, outcomes) committed together in one read-model transaction"
    );
}

/// One shared read-model transaction committed with `writes` writes in it.
pub fn write_batch(writes: usize) {
    metrics::histogram!(WRITE_BATCH).record(writes as f64);
}

pub fn order_started(needs_approval: bool) {
    metrics::counter!(ORDERS_STARTED, "needs_approval" => if needs_approval { "true" } else { "false" })
        .increment(1);
}

/// An order's row took its outcome (counted where the read model takes it, which
/// happens once per order).
pub fn order_finished(outcome: OrderStatus) {
    metrics::counter!(ORDERS_FINISHED, "outcome" => outcome.as_str()).increment(1);
}

/// One decision request and how it ended.
pub fn decision(result: &Result<(), &ServiceError>, took: Duration) {
    let (result, reason) = match result {
        Ok(()) => ("accepted", "none"),
        Err(e) => ("refused", refusal_reason(e)),
    };
    metrics::counter!(DECISIONS, "result" => result, "reason" => reason).increment(1);
    metrics::histogram!(DECISION_SECONDS).record(took.as_secs_f64());
}

fn refusal_reason(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::Invalid(_) => "invalid",
        ServiceError::NotFound(_) => "not_found",
        ServiceError::Forbidden(_) => "forbidden",
        ServiceError::TooLarge(_) | ServiceError::UnsupportedType(_) => "invalid",
        ServiceError::Conflict { .. } => "conflict",
        ServiceError::TooManyAttempts { .. } => "too_many_attempts",
        ServiceError::Unavailable { .. } => "unavailable",
        ServiceError::Database(_) | ServiceError::Engine { .. } | ServiceError::Internal(_) => {
            "internal"
        }
    }
}

/// A repair the reconciler made, by its kind (`recorded_outcome`, …: see
/// `ops::reconcile::Repair::kind`).
pub fn repaired(kind: &'static str) {
    metrics::counter!(REPAIRS, "kind" => kind).increment(1);
}

/// A call to daprd that failed (`call`: schedule, raise_event, terminate, fetch, wait).
pub fn dapr_call_failed(call: &'static str, kind: FailureKind) {
    let kind = match kind {
        FailureKind::NotFound => "not_found",
        FailureKind::AlreadyExists => "already_exists",
        FailureKind::Unreachable => "unreachable",
        FailureKind::NotReady => "not_ready",
        FailureKind::Busy => "busy",
        FailureKind::Unknown => "unknown",
        FailureKind::Other => "other",
    };
    metrics::counter!(DAPR_ERRORS, "call" => call, "kind" => kind).increment(1);
}

/// The read model's view of the waiting orders, set just before each scrape.
pub fn waiting(count: i64, oldest_age: Duration, needing_attention: i64) {
    metrics::gauge!(ORDERS_WAITING).set(count as f64);
    metrics::gauge!(OLDEST_WAITING_SECONDS).set(oldest_age.as_secs_f64());
    metrics::gauge!(ORDERS_NEEDING_ATTENTION).set(needing_attention as f64);
}

pub fn sse_client_opened() {
    metrics::gauge!(SSE_CLIENTS).increment(1.0);
}

pub fn sse_client_closed() {
    metrics::gauge!(SSE_CLIENTS).decrement(1.0);
}
