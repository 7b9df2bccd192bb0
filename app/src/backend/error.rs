//! The one error type of the server-side core. The JSON API and the server functions
//! each turn it into their own responses in one place.

use crate::domain::{OrderStatus, ValidationErrors};
use dapr::workflow::WorkflowError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(#[from] ValidationErrors),
    #[error("{0}")]
    NotFound(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The order exists but cannot take this request in its current state.
    #[error("{message}")]
    Conflict {
        message: String,
        status: Option<OrderStatus>,
        decided_by: Option<String>,
    },
    /// The Dapr sidecar cannot be reached; nothing was changed.
    #[error("{0}")]
    Unavailable(String),
    /// Logged with its context where it happens; shown outward only as "internal error".
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "read model error");
        Self::Internal(format!("database: {e}"))
    }
}

/// How a Dapr workflow call failed, from the gRPC status code where there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaprFailure {
    NotFound,
    AlreadyExists,
    /// The sidecar is down, restarting, or has no worker connected yet: worth a retry.
    Transient,
    /// daprd's state store could not take the write in time (SQLite busy under load);
    /// the call did nothing and can be repeated as it was.
    Busy,
    Other,
}

pub fn classify(e: &WorkflowError) -> DaprFailure {
    use tonic::Code;
    match e {
        WorkflowError::InstanceNotFound { .. } => DaprFailure::NotFound,
        WorkflowError::ConnectionFailed(_) | WorkflowError::Timeout => DaprFailure::Transient,
        WorkflowError::GrpcError(status) => match status.code() {
            Code::NotFound => DaprFailure::NotFound,
            Code::AlreadyExists => DaprFailure::AlreadyExists,
            Code::Unavailable | Code::DeadlineExceeded | Code::Aborted | Code::Cancelled => {
                DaprFailure::Transient
            }
            // While no workflow worker is connected (our server restarting) daprd
            // answers "did not find address for actor …" as a failed precondition.
            Code::FailedPrecondition => DaprFailure::Transient,
            _ if status.message().contains("not registered") => DaprFailure::Transient,
            _ if status.message().contains("database is locked")
                || status.message().contains("SQLITE_BUSY") =>
            {
                DaprFailure::Busy
            }
            // daprd reports an unknown instance on raise-event as UNKNOWN "no such
            // instance exists"; there is no better code to go by.
            _ if status.message().contains("no such instance") => DaprFailure::NotFound,
            _ => DaprFailure::Other,
        },
        _ => DaprFailure::Other,
    }
}

impl ServiceError {
    /// Maps a Dapr failure that has no more specific meaning to the caller.
    pub fn from_dapr(context: &str, e: &WorkflowError) -> Self {
        match classify(e) {
            DaprFailure::Transient => {
                tracing::warn!(error = %e, "{context}: Dapr sidecar unavailable");
                Self::Unavailable(
                    "The workflow engine (Dapr sidecar) is not reachable right now; nothing \
                     was changed. Try again in a few seconds."
                        .into(),
                )
            }
            DaprFailure::Busy => {
                tracing::warn!(error = %e, "{context}: Dapr state store busy");
                Self::Unavailable(
                    "The workflow engine is too busy to take this right now; nothing was \
                     changed. Try again in a moment."
                        .into(),
                )
            }
            _ => {
                tracing::error!(error = %e, "{context}");
                Self::Internal(format!("{context}: {e}"))
            }
        }
    }
}
