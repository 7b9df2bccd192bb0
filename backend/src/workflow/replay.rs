//! Replays a recorded history against the orchestration code of this build, turn by
//! turn, the way daprd would hand it to a worker after a deploy, and says where the
//! code would now act differently.
//!
//! The durabletask SDK's own executor does the replay (`OrchestrationExecutor`, the one
//! the worker runs): it already fails a replay whose activities or timers are scheduled
//! in another order or under other names. It does not compare what they are asked with:
//! an activity's input or a timer's deadline may change and the executor replays on. So
//! each turn is replayed on its own, with the history before it as the past, and the
//! actions the code asks for in that turn are compared whole (activity name and input,
//! timer and its time, the outcome) with the events daprd recorded for them.
//!
//! Patches: code asks `is_patched` and takes a patch the history does not record only
//! at the end of a history, in a turn being run for the first time
//! ([`dapr::workflow::OrchestrationContext::is_patched`]). A recorded turn is never run
//! for the first time again: the runtime only ever replays it as the past of a later
//! turn. So each turn is replayed with one more (empty) turn begun after it, and the
//! code sees what it would see then: a patch the history records is taken, any other
//! is not.

use std::fmt;

use dapr::workflow::Registry;
use dapr::workflow::RegistryExt;
use dapr_durabletask::worker::{OrchestrationExecutor, OrchestratorFn, WorkerOptions};
use dapr_durabletask_proto::history_event::EventType;
use dapr_durabletask_proto::workflow_action::WorkflowActionType;

use super::history::{describe, status_name, timestamp, HistoryEvent};
use crate::model::workflow::WORKFLOW_NAME;

/// Where a replay and its history part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The turn (0 for the first), and the history event that began it.
    pub turn: usize,
    pub began_at: String,
    /// What daprd recorded the code asked for in that turn, and what it asks for now.
    pub recorded: Vec<String>,
    pub now: Vec<String>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "turn {} (from {}) replays differently",
            self.turn, self.began_at
        )?;
        writeln!(f, "  recorded:")?;
        for step in &self.recorded {
            writeln!(f, "    {step}")?;
        }
        writeln!(f, "  this build:")?;
        for step in &self.now {
            writeln!(f, "    {step}")?;
        }
        Ok(())
    }
}

/// The orchestration this build registers, as the worker would run it.
pub fn this_build() -> OrchestratorFn {
    let mut registry = Registry::new();
    registry.add_workflow(WORKFLOW_NAME, super::orchestration::purchase_order_workflow);
    orchestrator_of(&registry)
}

/// The orchestrator `registry` holds under the workflow's name (for replaying a
/// variant in tests).
pub fn orchestrator_of(registry: &Registry) -> OrchestratorFn {
    registry
        .get_orchestrator(WORKFLOW_NAME)
        .cloned()
        .unwrap_or_else(|| {
            std::sync::Arc::new(|_| {
                Box::pin(async {
                    Err(dapr::workflow::WorkflowError::Other(format!(
                        "no {WORKFLOW_NAME} registered"
                    )))
                })
            })
        })
}

/// Events daprd records for what the code asked for in a turn (the rest came to it).
fn is_action(event: &HistoryEvent) -> bool {
    matches!(
        event.event_type,
        Some(
            EventType::TaskScheduled(_)
                | EventType::TimerCreated(_)
                | EventType::ExecutionCompleted(_)
                | EventType::EventSent(_)
                | EventType::ChildWorkflowInstanceCreated(_)
                | EventType::DetachedWorkflowInstanceCreated(_)
                | EventType::ContinueAsNew(_)
        )
    )
}

fn when(t: Option<&dapr_durabletask_proto::prost_types::Timestamp>) -> String {
    t.and_then(timestamp)
        .map_or_else(|| "—".to_owned(), |t| t.to_rfc3339())
}

/// A recorded action, in the words [`asked`] uses for a live one.
fn recorded(event: &HistoryEvent) -> String {
    let id = event.event_id;
    match &event.event_type {
        Some(EventType::TaskScheduled(e)) => {
            format!(
                "#{id} activity {} {}",
                e.name,
                e.input.as_deref().unwrap_or("")
            )
        }
        Some(EventType::TimerCreated(e)) => format!(
            "#{id} timer {} until {}",
            e.name.as_deref().unwrap_or(""),
            when(e.fire_at.as_ref())
        ),
        Some(EventType::ExecutionCompleted(e)) => format!(
            "finish {} {}",
            status_name(e.workflow_status),
            e.result.as_deref().unwrap_or("")
        ),
        _ => format!("#{id} {}", describe(event)),
    }
}

fn asked(action: &dapr_durabletask_proto::WorkflowAction) -> String {
    let id = action.id;
    match &action.workflow_action_type {
        Some(WorkflowActionType::ScheduleTask(a)) => {
            format!(
                "#{id} activity {} {}",
                a.name,
                a.input.as_deref().unwrap_or("")
            )
        }
        Some(WorkflowActionType::CreateTimer(a)) => format!(
            "#{id} timer {} until {}",
            a.name.as_deref().unwrap_or(""),
            when(a.fire_at.as_ref())
        ),
        Some(WorkflowActionType::CompleteWorkflow(a)) => {
            let failure = a
                .failure_details
                .as_ref()
                .map(|f| format!(" ({}: {})", f.error_type, f.error_message))
                .unwrap_or_default();
            format!(
                "finish {} {}{failure}",
                status_name(a.workflow_status),
                a.result.as_deref().unwrap_or("")
            )
        }
        other => format!("#{id} {other:?}"),
    }
}

/// The start of a turn after `last`, with no patch of its own: it only tells the code
/// that the turn before it is past.
fn later_turn(last: &HistoryEvent) -> HistoryEvent {
    HistoryEvent {
        event_id: -1,
        timestamp: last.timestamp,
        router: None,
        event_type: Some(EventType::WorkflowStarted(
            dapr_durabletask_proto::WorkflowStartedEvent { version: None },
        )),
    }
}

/// Replays `history` turn by turn against `orchestrator`; the number of turns replayed,
/// or the first turn whose actions differ from the recorded ones.
pub async fn replay(
    orchestrator: &OrchestratorFn,
    instance_id: &str,
    history: &[HistoryEvent],
) -> Result<usize, Divergence> {
    let starts: Vec<usize> = history
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.event_type, Some(EventType::WorkflowStarted(_))))
        .map(|(i, _)| i)
        .collect();
    let options = WorkerOptions::default();
    for (turn, &start) in starts.iter().enumerate() {
        let end = starts.get(turn + 1).copied().unwrap_or(history.len());
        let (actions, arrived): (Vec<&HistoryEvent>, Vec<&HistoryEvent>) =
            history[start..end].iter().partition(|e| is_action(e));
        let mut arrived: Vec<HistoryEvent> = arrived.into_iter().cloned().collect();
        arrived.push(later_turn(&history[end - 1]));
        let response = OrchestrationExecutor::execute(
            orchestrator,
            instance_id,
            history[..start].to_vec(),
            arrived,
            String::new(),
            &options,
            None,
        )
        .await;
        let mut now: Vec<(i32, String)> = match response {
            Ok(r) => r.actions.iter().map(|a| (a.id, asked(a))).collect(),
            Err(e) => vec![(0, format!("the executor failed: {e}"))],
        };
        now.sort_by_key(|(id, step)| (step.starts_with("finish"), *id));
        let mut was: Vec<(i32, String)> =
            actions.iter().map(|e| (e.event_id, recorded(e))).collect();
        was.sort_by_key(|(id, step)| (step.starts_with("finish"), *id));
        let now: Vec<String> = now.into_iter().map(|(_, s)| s).collect();
        let was: Vec<String> = was.into_iter().map(|(_, s)| s).collect();
        if now != was {
            return Err(Divergence {
                turn,
                began_at: describe(&history[start]),
                recorded: was,
                now,
            });
        }
    }
    Ok(starts.len())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use dapr::workflow::WorkflowContextExt;

    use super::*;
    use crate::workflow::history::Fixture;

    /// Every fixture recorded so far: `backend/histories/SET/PATH.json`.
    fn fixtures() -> Vec<(PathBuf, Fixture)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("histories");
        let mut found = Vec::new();
        for set in std::fs::read_dir(&root).expect("backend/histories") {
            let set = set.expect("a set").path();
            for file in std::fs::read_dir(&set).expect("a set's fixtures") {
                let file = file.expect("a fixture").path();
                if file.extension().is_some_and(|e| e == "json") {
                    let text = std::fs::read_to_string(&file).expect("read a fixture");
                    let fixture = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                    found.push((file, fixture));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    /// The paths every set must cover (issue 27 §2).
    const PATHS: [&str; 9] = [
        "auto-approved",
        "approved",
        "rejected",
        "timed-out",
        "cancelled",
        "two-levels",
        "escalated",
        "decided-by-a-delegate",
        "raced-by-cancellation",
    ];

    #[tokio::test]
    async fn every_recorded_history_replays_on_this_build() {
        let fixtures = fixtures();
        let sets: std::collections::BTreeSet<_> = fixtures
            .iter()
            .filter_map(|(file, _)| file.parent().map(Path::to_path_buf))
            .collect();
        assert!(!sets.is_empty(), "no fixtures under backend/histories");
        for set in &sets {
            for path in PATHS {
                assert!(
                    set.join(format!("{path}.json")).exists(),
                    "{} lacks the {path} path",
                    set.display()
                );
            }
        }
        let this_build = this_build();
        for (file, fixture) in &fixtures {
            let events = fixture.recorded.history().expect("events decode");
            let turns = replay(&this_build, &fixture.recorded.instance_id, &events)
                .await
                .unwrap_or_else(|d| {
                    panic!(
                        "{} ({}, recorded by {:?}) no longer replays:\n{d}",
                        file.display(),
                        fixture.path,
                        fixture.recorded_with
                    )
                });
            assert!(
                turns > 1 || fixture.path == "auto-approved",
                "{}",
                file.display()
            );
        }
    }

    /// Each patch has its set of histories, recorded with it (and the orchestration
    /// before any patch has one too).
    #[test]
    fn every_patch_recorded_its_histories() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("histories");
        for set in ["unpatched"]
            .into_iter()
            .chain(crate::workflow::orchestration::PATCHES)
        {
            assert!(
                root.join(set).join("approved.json").exists(),
                "no histories recorded with {set}: run scripts/record-histories.sh {set}"
            );
        }
    }

    /// The replayer itself: an orchestration that asks for another activity, or for a
    /// timer of another length, or ends another way, is told apart from the recorded
    /// one at the turn where it parts.
    #[tokio::test]
    async fn a_step_changed_in_place_is_caught_at_its_turn() {
        let (_, approved) = fixtures()
            .into_iter()
            .find(|(file, f)| f.path == "approved" && file.to_string_lossy().contains("unpatched"))
            .expect("the unpatched approved fixture");
        let events = approved.recorded.history().expect("events decode");
        let id = approved.recorded.instance_id.clone();

        let mut other_activity = Registry::new();
        other_activity.add_workflow(WORKFLOW_NAME, |ctx| async move {
            let order: serde_json::Value = ctx.get_input_typed()?;
            let _: serde_json::Value = ctx
                .call_activity_typed("record_outcome_activity", order)
                .await?;
            Ok(None)
        });
        let parted = replay(&orchestrator_of(&other_activity), &id, &events)
            .await
            .expect_err("another first activity");
        assert_eq!(parted.turn, 0, "{parted}");
        assert!(
            parted
                .now
                .iter()
                .any(|s| s.contains("record_outcome_activity")),
            "{parted}"
        );

        let not_registered = replay(&orchestrator_of(&Registry::new()), &id, &events)
            .await
            .expect_err("nothing registered");
        assert_eq!(not_registered.turn, 0, "{not_registered}");

        // The real code replays to the end: the divergences above are the variants'.
        assert!(replay(&this_build(), &id, &events).await.is_ok());
    }
}
