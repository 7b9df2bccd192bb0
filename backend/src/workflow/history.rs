//! A workflow instance's recorded history, as daprd keeps it: fetched for operators
//! (`server order history`), written as a replay fixture, and read back by the replay
//! test ([`super::replay`]).
//!
//! daprd's history API answers protobuf `HistoryEvent`s. A fixture keeps each event as
//! its protobuf bytes (base64), exactly as daprd sent it, so that a replay sees what the
//! runtime would hand a worker; the readable `steps` beside them are for people.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use dapr_durabletask_proto::history_event::EventType;
use dapr_durabletask_proto::prost::Message as _;
use serde::{Deserialize, Serialize};

pub use dapr_durabletask_proto::HistoryEvent;

/// One instance's history as daprd recorded it: what `server order history --json`
/// prints, and the body of a fixture.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    pub instance_id: String,
    /// One line per event, for people reading a diff; the replay reads `events`.
    pub steps: Vec<String>,
    /// Each `HistoryEvent`'s protobuf bytes, base64.
    pub events: Vec<String>,
}

/// A recorded history with the path it took and the build that made it: the replay
/// test's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixture {
    /// The path through the orchestration it took ("approved", "escalated", …).
    pub path: String,
    pub recorded_with: Build,
    #[serde(flatten)]
    pub recorded: Recorded,
}

/// The build that recorded a fixture.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Build {
    /// The app's commit (`git describe`), or "unknown".
    pub app: String,
    /// `daprd --version`.
    pub daprd: String,
    /// The durabletask SDK the worker ran.
    pub durabletask: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("event {0}: not base64: {1}")]
    Base64(usize, base64::DecodeError),
    #[error("event {0}: not a HistoryEvent: {1}")]
    Decode(usize, dapr_durabletask_proto::prost::DecodeError),
}

impl Recorded {
    pub fn new(instance_id: &str, events: &[HistoryEvent]) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD;
        Self {
            instance_id: instance_id.to_owned(),
            steps: events.iter().map(describe).collect(),
            events: events
                .iter()
                .map(|e| b64.encode(e.encode_to_vec()))
                .collect(),
        }
    }

    pub fn history(&self) -> Result<Vec<HistoryEvent>, FixtureError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        self.events
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let bytes = b64.decode(text).map_err(|e| FixtureError::Base64(i, e))?;
                HistoryEvent::decode(bytes.as_slice()).map_err(|e| FixtureError::Decode(i, e))
            })
            .collect()
    }
}

fn at(event: &HistoryEvent) -> String {
    event
        .timestamp
        .as_ref()
        .and_then(timestamp)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| "—".to_owned())
}

pub(crate) fn timestamp(
    t: &dapr_durabletask_proto::prost_types::Timestamp,
) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

fn text(value: Option<&String>) -> &str {
    value.map_or("", String::as_str)
}

/// One event on one line: when, its id, what happened and its payload.
pub fn describe(event: &HistoryEvent) -> String {
    let what = match &event.event_type {
        Some(EventType::WorkflowStarted(e)) => {
            let mut turn = "turn".to_owned();
            if let Some(name) = e.version.as_ref().and_then(|v| v.name.as_ref()) {
                turn.push_str(&format!(" (version {name})"));
            }
            match e.version.as_ref().map(|v| v.patches.join(", ")) {
                Some(patches) if !patches.is_empty() => {
                    turn.push_str(&format!(" (patches {patches})"))
                }
                _ => {}
            }
            turn
        }
        Some(EventType::ExecutionStarted(e)) => {
            format!("started {} {}", e.name, text(e.input.as_ref()))
        }
        Some(EventType::TaskScheduled(e)) => {
            format!("activity {} {}", e.name, text(e.input.as_ref()))
        }
        Some(EventType::TaskCompleted(e)) => format!(
            "activity #{} completed {}",
            e.task_scheduled_id,
            text(e.result.as_ref())
        ),
        Some(EventType::TaskFailed(e)) => format!(
            "activity #{} failed: {}",
            e.task_scheduled_id,
            e.failure_details
                .as_ref()
                .map_or("", |f| f.error_message.as_str())
        ),
        Some(EventType::TimerCreated(e)) => format!(
            "timer until {}",
            e.fire_at
                .as_ref()
                .and_then(timestamp)
                .map_or_else(|| "—".to_owned(), |t| t.to_rfc3339())
        ),
        Some(EventType::TimerFired(e)) => format!("timer #{} fired", e.timer_id),
        Some(EventType::EventRaised(e)) => {
            format!("event {} {}", e.name, text(e.input.as_ref()))
        }
        Some(EventType::ExecutionCompleted(e)) => format!(
            "finished {} {}",
            status_name(e.workflow_status),
            text(e.result.as_ref())
        ),
        Some(EventType::ExecutionTerminated(e)) => {
            format!("terminated {}", text(e.input.as_ref()))
        }
        Some(EventType::ExecutionSuspended(_)) => "suspended".to_owned(),
        Some(EventType::ExecutionResumed(_)) => "resumed".to_owned(),
        Some(EventType::ExecutionStalled(e)) => {
            format!("stalled: {}", text(e.description.as_ref()))
        }
        Some(other) => format!("{other:?}"),
        None => "(empty event)".to_owned(),
    };
    format!("{} #{} {what}", at(event), event.event_id)
}

pub(crate) fn status_name(status: i32) -> &'static str {
    dapr_durabletask_proto::OrchestrationStatus::try_from(status)
        .map_or("UNKNOWN", |s| s.as_str_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixture_gives_back_the_events_it_was_made_of() {
        let events = vec![HistoryEvent {
            event_id: 3,
            timestamp: Some(dapr_durabletask_proto::prost_types::Timestamp {
                seconds: 1_765_000_000,
                nanos: 5_000_000,
            }),
            router: None,
            event_type: Some(EventType::EventRaised(
                dapr_durabletask_proto::EventRaisedEvent {
                    name: "approval_event".into(),
                    input: Some("{\"approved\":true}".into()),
                },
            )),
        }];
        let build = Build {
            app: "test".into(),
            daprd: "0".into(),
            durabletask: "0".into(),
        };
        let fixture = Fixture {
            path: "approved".into(),
            recorded_with: build,
            recorded: Recorded::new("po-1", &events),
        };
        let text = serde_json::to_string(&fixture).expect("serialise");
        let back: Fixture = serde_json::from_str(&text).expect("parse");
        assert_eq!(back.recorded.history().expect("decode"), events);
        assert!(back.recorded.steps[0].contains("event approval_event {\"approved\":true}"));
        let mut broken = back.recorded.clone();
        broken.events[0] = "not base64!".into();
        assert!(matches!(broken.history(), Err(FixtureError::Base64(0, _))));
    }
}
