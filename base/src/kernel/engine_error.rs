//! How a call to the workflow engine failed, in the words the rest of the core acts
//! on: the error type of the engine (`crate::workflow::engine`), kept on the ground
//! floor so that the core's one error ([`crate::kernel::error::ServiceError`]) and the
//! metrics can name it without knowing the engine.

/// How a call to the engine failed, as far as the caller's next step is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No such workflow instance.
    NotFound,
    /// An instance with this id exists already.
    AlreadyExists,
    /// The call never reached the sidecar (nothing listens, connection refused):
    /// nothing happened; worth a retry.
    Unreachable,
    /// The sidecar answered that it cannot take the call yet (no workflow worker
    /// connected, the workflow actor not registered): nothing happened; worth a retry.
    NotReady,
    /// daprd's state store could not take the write in time (SQLite busy under load);
    /// the call did nothing and can be repeated as it was.
    Busy,
    /// The call was sent but no answer came (timed out, cut off): it may or may not
    /// have taken effect. Worth a retry only where repeating it is harmless.
    Unknown,
    Other,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    pub kind: FailureKind,
    pub message: String,
}

impl EngineError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The same call may work in a moment.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            FailureKind::Unreachable
                | FailureKind::NotReady
                | FailureKind::Busy
                | FailureKind::Unknown
        )
    }

    /// The engine certainly did not act on the call: it is safe to say "nothing was
    /// changed" and to undo what was prepared for it.
    pub fn certainly_not_applied(&self) -> bool {
        matches!(
            self.kind,
            FailureKind::NotFound
                | FailureKind::AlreadyExists
                | FailureKind::Unreachable
                | FailureKind::NotReady
                | FailureKind::Busy
        )
    }
}
