//! The Dapr sidecar as our workflow engine: the calls, how long each may take, which
//! failures are retried, and what daprd's errors mean (from the gRPC code where there
//! is one, from its words where there is not).

use crate::model::workflow::{Approval, WorkflowOrder, APPROVAL_EVENT, WORKFLOW_NAME};
use std::future::Future;
use std::time::Duration;

use dapr::workflow::{
    EventOptions, FetchOptions, ScheduleOptions, WorkflowError, WorkflowMetadata,
    WorkflowSchedulingClient,
};

use super::{EngineError, FailureDetails, FailureKind, RuntimeStatus, Snapshot, WorkflowEngine};

/// With no worker connected daprd holds a schedule call open indefinitely and creates
/// nothing; scheduling gives up after this, busy retries included.
const SCHEDULE_BUDGET: Duration = Duration::from_secs(10);
/// Retryable failures of a raise (sidecar restarting, worker reconnecting) are retried
/// this long.
const RAISE_BUDGET: Duration = Duration::from_secs(8);

#[derive(Clone)]
pub struct DaprEngine {
    client: WorkflowSchedulingClient,
    /// daprd's gRPC address (the token relay's, where there is one), for the history
    /// API that dapr's client does not offer: a connection of its own, made per call
    /// (operators' commands ask for it, no request path does).
    address: String,
    /// No single call waits longer than this for daprd (a frozen sidecar answers
    /// nothing; without a deadline the caller would wait forever).
    deadline: Duration,
}

/// The deadline of one call when none is configured (`DAPR_CALL_TIMEOUT`).
pub const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(5);

impl DaprEngine {
    pub fn new(client: WorkflowSchedulingClient, address: &str, deadline: Duration) -> Self {
        Self {
            client,
            address: address.to_owned(),
            deadline,
        }
    }

    /// `call`, cut off at `limit`: a call that had no answer by then may or may not
    /// have been carried out (`Unknown`).
    /// Every failure is counted here, by `name` (the metrics' `call` label).
    async fn within<T>(
        name: &'static str,
        limit: Duration,
        call: impl std::future::Future<Output = dapr::workflow::Result<T>>,
    ) -> Result<T, EngineError> {
        use tracing::Instrument;
        let call = call.instrument(tracing::info_span!("dapr", call = name));
        let answer = match tokio::time::timeout(limit, call).await {
            Ok(answer) => answer.map_err(|e| classify(&e)),
            Err(_) => Err(EngineError::new(
                FailureKind::Unknown,
                format!("no answer from the Dapr sidecar within {limit:?}"),
            )),
        };
        if let Err(e) = &answer {
            crate::kernel::metrics::dapr_call_failed(name, e.kind);
        }
        answer
    }
}

/// When to try a failed call again.
struct Retry {
    /// No attempt starts after this much time has passed since the first.
    budget: Duration,
    /// The first pause; each next one doubles, up to a second.
    first_delay: Duration,
    /// Which failures are worth another attempt.
    retry_on: fn(&EngineError) -> bool,
}

impl Retry {
    /// Runs `attempt` (given the time left in the budget) until it succeeds, fails in a
    /// way not worth retrying, or the next attempt would start past the budget.
    async fn run<T, F, Fut>(
        &self,
        what: &str,
        instance_id: &str,
        mut attempt: F,
    ) -> Result<T, EngineError>
    where
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Result<T, EngineError>>,
    {
        let started = tokio::time::Instant::now();
        let mut delay = self.first_delay;
        loop {
            let left = self.budget.saturating_sub(started.elapsed());
            match attempt(left).await {
                Err(e) if (self.retry_on)(&e) && started.elapsed() + delay < self.budget => {
                    tracing::debug!(%instance_id, error = %e, "{what}: retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }
}

#[async_trait::async_trait]
impl WorkflowEngine for DaprEngine {
    async fn schedule(&self, instance_id: &str, input: &WorkflowOrder) -> Result<(), EngineError> {
        // A busy state store created nothing: the same call can simply be repeated.
        let retry = Retry {
            budget: SCHEDULE_BUDGET,
            first_delay: Duration::from_millis(50),
            retry_on: |e| e.kind == FailureKind::Busy,
        };
        retry
            .run("schedule", instance_id, |left| async move {
                let options = ScheduleOptions::new()
                    .with_instance_id(instance_id.to_owned())
                    .try_with_input(input)
                    .map_err(unserialisable)?;
                Self::within(
                    "schedule",
                    left,
                    self.client
                        .clone()
                        .schedule_workflow(WORKFLOW_NAME, options),
                )
                .await
                .map(|_| ())
            })
            .await
    }

    async fn raise_approval(
        &self,
        instance_id: &str,
        approval: &Approval,
    ) -> Result<(), EngineError> {
        let retry = Retry {
            budget: RAISE_BUDGET,
            first_delay: Duration::from_millis(100),
            retry_on: EngineError::is_retryable,
        };
        retry
            .run("raise event", instance_id, |left| async move {
                let options = EventOptions::new()
                    .try_with_payload(approval)
                    .map_err(unserialisable)?;
                Self::within(
                    "raise_event",
                    left.min(self.deadline).max(Duration::from_millis(100)),
                    self.client
                        .clone()
                        .raise_event(instance_id, APPROVAL_EVENT, options),
                )
                .await
            })
            .await
    }

    async fn terminate(&self, instance_id: &str) -> Result<(), EngineError> {
        Self::within(
            "terminate",
            self.deadline,
            self.client.clone().terminate_workflow(instance_id),
        )
        .await
    }

    async fn fetch(&self, instance_id: &str) -> Result<Snapshot, EngineError> {
        Self::within(
            "fetch",
            self.deadline,
            self.client.clone().fetch_workflow_metadata(
                instance_id,
                FetchOptions::new().with_fetch_payloads(true),
            ),
        )
        .await
        .map(snapshot)
    }

    async fn wait_for_completion(
        &self,
        instance_id: &str,
        within: Duration,
    ) -> Result<Snapshot, EngineError> {
        // The SDK's own wait is enforced on its side only: bound it here too.
        Self::within(
            "wait",
            within + self.deadline,
            self.client
                .clone()
                .wait_for_workflow_completion_with_options(
                    instance_id,
                    FetchOptions::new().with_fetch_payloads(true),
                    Some(within),
                ),
        )
        .await
        .map(snapshot)
    }

    async fn history(
        &self,
        instance_id: &str,
    ) -> Result<Vec<crate::workflow::history::HistoryEvent>, EngineError> {
        let address = if self.address.contains("://") {
            self.address.clone()
        } else {
            format!("http://{}", self.address)
        };
        Self::within("history", self.deadline, async move {
            let mut client = dapr_durabletask::client::TaskHubGrpcClient::new(&address).await?;
            client.get_instance_history(instance_id).await
        })
        .await
    }
}

fn snapshot(m: WorkflowMetadata) -> Snapshot {
    use dapr::workflow::RuntimeStatus as Dapr;
    let runtime_status = match m.runtime_status {
        Dapr::Running => RuntimeStatus::Running,
        Dapr::Completed => RuntimeStatus::Completed,
        Dapr::ContinuedAsNew => RuntimeStatus::ContinuedAsNew,
        Dapr::Failed => RuntimeStatus::Failed,
        Dapr::Canceled => RuntimeStatus::Canceled,
        Dapr::Terminated => RuntimeStatus::Terminated,
        Dapr::Pending => RuntimeStatus::Pending,
        Dapr::Suspended => RuntimeStatus::Suspended,
        Dapr::Stalled => RuntimeStatus::Stalled,
    };
    Snapshot {
        instance_id: m.instance_id,
        name: m.name,
        runtime_status,
        created_at: m.created_at,
        last_updated_at: m.last_updated_at,
        serialized_input: m.serialized_input,
        serialized_output: m.serialized_output,
        serialized_custom_status: m.serialized_custom_status,
        failure: m.failure_details.map(|f| FailureDetails {
            message: f.message,
            error_type: f.error_type,
            stack_trace: f.stack_trace,
        }),
    }
}

fn unserialisable(e: serde_json::Error) -> EngineError {
    EngineError::new(FailureKind::Other, format!("payload: {e}"))
}

fn never_sent(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "tcp connect error",
        "connection refused",
        "error trying to connect",
    ]
    .iter()
    .any(|words| message.contains(words))
}

/// What a failed Dapr workflow call means for us.
pub fn classify(e: &WorkflowError) -> EngineError {
    EngineError::new(kind_of(e), e.to_string())
}

fn kind_of(e: &WorkflowError) -> FailureKind {
    use tonic::Code;
    match e {
        WorkflowError::InstanceNotFound { .. } => FailureKind::NotFound,
        WorkflowError::ConnectionFailed(_) => FailureKind::Unreachable,
        WorkflowError::Timeout => FailureKind::Unknown,
        WorkflowError::GrpcError(status) => match status.code() {
            Code::NotFound => FailureKind::NotFound,
            Code::AlreadyExists => FailureKind::AlreadyExists,
            // tonic reports a connection that could not be made as UNAVAILABLE with the
            // transport's words: the request never left.
            Code::Unavailable if never_sent(status.message()) => FailureKind::Unreachable,
            Code::Unavailable | Code::DeadlineExceeded | Code::Aborted | Code::Cancelled => {
                FailureKind::Unknown
            }
            // While no workflow worker is connected (our server restarting) daprd
            // answers "did not find address for actor …" as a failed precondition.
            Code::FailedPrecondition => FailureKind::NotReady,
            _ if status.message().contains("not registered") => FailureKind::NotReady,
            _ if status.message().contains("database is locked")
                || status.message().contains("SQLITE_BUSY") =>
            {
                FailureKind::Busy
            }
            // daprd reports an unknown instance on raise-event as UNKNOWN "no such
            // instance exists"; there is no better code to go by.
            _ if status.message().contains("no such instance") => FailureKind::NotFound,
            _ => FailureKind::Other,
        },
        _ => FailureKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::{Code, Status};

    fn grpc(code: Code, message: &str) -> FailureKind {
        kind_of(&WorkflowError::GrpcError(Box::new(Status::new(
            code, message,
        ))))
    }

    /// The messages are daprd 1.18's own, as seen in its answers and logs.
    #[test]
    fn every_branch_of_classify() {
        assert_eq!(
            kind_of(&WorkflowError::InstanceNotFound {
                instance_id: "po-x".into()
            }),
            FailureKind::NotFound
        );
        assert_eq!(kind_of(&WorkflowError::Timeout), FailureKind::Unknown);
        assert_eq!(
            grpc(
                Code::Unavailable,
                "tcp connect error: Connection refused (os error 111)"
            ),
            FailureKind::Unreachable
        );
        assert_eq!(
            kind_of(&WorkflowError::ConnectionFailed("transport error".into())),
            FailureKind::Unreachable
        );
        assert_eq!(
            grpc(Code::NotFound, "workflow instance does not exist"),
            FailureKind::NotFound
        );
        assert_eq!(
            grpc(
                Code::AlreadyExists,
                "an active workflow with ID 'po-order123' already exists"
            ),
            FailureKind::AlreadyExists
        );
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Aborted,
            Code::Cancelled,
        ] {
            assert_eq!(
                grpc(code, "operation was canceled"),
                FailureKind::Unknown,
                "{code:?}"
            );
        }
        assert_eq!(
            grpc(
                Code::FailedPrecondition,
                "did not find address for actor dapr.internal.default.approvals.workflow/po-x"
            ),
            FailureKind::NotReady
        );
        assert_eq!(
            grpc(
                Code::Internal,
                "error creating workflow: actor type dapr.internal.default.approvals.workflow not registered"
            ),
            FailureKind::NotReady
        );
        assert_eq!(
            grpc(
                Code::Internal,
                "failed to save state: database is locked (5) (SQLITE_BUSY)"
            ),
            FailureKind::Busy
        );
        assert_eq!(
            grpc(Code::Unknown, "no such instance exists"),
            FailureKind::NotFound
        );
        assert_eq!(
            grpc(
                Code::Internal,
                "inbox key declared in metadata but missing from state store"
            ),
            FailureKind::Other
        );
        assert_eq!(
            kind_of(&WorkflowError::Other("anything else".into())),
            FailureKind::Other
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_keep_to_their_budget_and_their_kinds() {
        let retry = Retry {
            budget: Duration::from_secs(8),
            first_delay: Duration::from_millis(100),
            retry_on: EngineError::is_retryable,
        };
        let started = tokio::time::Instant::now();
        let mut attempts = 0;
        let result: Result<(), _> = retry
            .run("test", "po-x", |_| {
                attempts += 1;
                async { Err(EngineError::new(FailureKind::Unreachable, "down")) }
            })
            .await;
        assert!(result.is_err());
        // Attempts start at 0, 0.1, 0.3, 0.7, 1.5, then every second up to 7.5 s; one
        // more would start at 8.5 s, past the budget.
        assert_eq!(attempts, 11);
        assert_eq!(started.elapsed(), Duration::from_millis(7_500));

        let mut attempts = 0;
        let result: Result<(), _> = retry
            .run("test", "po-x", |_| {
                attempts += 1;
                async { Err(EngineError::new(FailureKind::NotFound, "gone")) }
            })
            .await;
        assert_eq!(result.map_err(|e| e.kind), Err(FailureKind::NotFound));
        assert_eq!(attempts, 1, "not-found is never retried");
    }
}
