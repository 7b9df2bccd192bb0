//! An in-memory workflow engine for fast tests of our own logic (HTTP mappings,
//! permissions, the decision rules). It follows the workflow's shape — auto-approve
//! an order without levels, otherwise ask level after level, each taking the first
//! decision for it — and runs the
//! real activities against the real database, but it has no timers, no durability and
//! no replay. Whatever involves those is tested against a real daprd.

use crate::model::workflow::{
    Approval, ApprovalRequest, LevelAsk, Outcome, OutcomeRecord, WorkflowOrder, WorkflowOutput,
    WORKFLOW_NAME,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;

use super::{EngineError, FailureKind, RuntimeStatus, Snapshot, WorkflowEngine};
use crate::kernel::clock::now_ms;
use crate::notify::{Channels, Notifier};
use crate::store::db::Db;
use crate::workflow::activities;

struct Instance {
    input: WorkflowOrder,
    status: RuntimeStatus,
    output: Option<String>,
    /// The level it waits at (1 for the first), and who approved those before.
    level: u32,
    approved_by: Vec<String>,
}

pub struct MemoryEngine {
    db: Db,
    instances: Mutex<HashMap<String, Instance>>,
    /// When set, every call fails like an unreachable sidecar.
    down: Mutex<bool>,
    /// When set, the next raise loses its answer (`Unknown`), having delivered the
    /// event (`true`) or not (`false`).
    lose_next_raise: Mutex<Option<bool>>,
    /// Instances whose state cannot be loaded, with daprd's words for it.
    broken: Mutex<HashMap<String, String>>,
    /// What the activities add to the outbox (the outbox's senders deliver it).
    notify: Channels,
}

impl MemoryEngine {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            instances: Mutex::new(HashMap::new()),
            down: Mutex::new(false),
            lose_next_raise: Mutex::new(None),
            broken: Mutex::new(HashMap::new()),
            notify: Channels::default(),
        }
    }

    /// The same engine with activities that add `notify`'s notifications to the outbox.
    pub fn with_notifications(self, notify: Channels) -> Self {
        Self { notify, ..self }
    }

    /// The next raise answers `Unknown`, as a sidecar that froze or a connection cut
    /// after sending would: with the event delivered (`true`) or not.
    pub fn lose_next_raise_answer(&self, delivered: bool) {
        if let Ok(mut next) = self.lose_next_raise.lock() {
            *next = Some(delivered);
        }
    }

    /// Makes the instance's state fail to load (`Some(words)`), as dapr/dapr#10155
    /// leaves one, or load again (`None`).
    pub fn break_state(&self, instance_id: &str, words: Option<&str>) {
        if let Ok(mut broken) = self.broken.lock() {
            match words {
                Some(words) => broken.insert(instance_id.to_owned(), words.to_owned()),
                None => broken.remove(instance_id),
            };
        }
    }

    /// Makes every following call fail as `Unreachable` (or work again).
    pub fn set_down(&self, down: bool) {
        if let Ok(mut d) = self.down.lock() {
            *d = down;
        }
    }

    fn check_up(&self) -> Result<(), EngineError> {
        match self.down.lock().map(|d| *d) {
            Ok(false) => Ok(()),
            _ => Err(EngineError::new(
                FailureKind::Unreachable,
                "connection refused (in-memory engine is down)",
            )),
        }
    }

    fn with_instances<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, Instance>) -> T,
    ) -> Result<T, EngineError> {
        self.instances
            .lock()
            .map(|mut map| f(&mut map))
            .map_err(|_| EngineError::new(FailureKind::Other, "in-memory engine poisoned"))
    }

    fn complete(
        &self,
        instance_id: &str,
        order: &WorkflowOrder,
        outcome: &Outcome,
    ) -> Result<(), EngineError> {
        let output = serde_json::to_string(&WorkflowOutput {
            status: outcome.status_text(),
            order_id: order.order_id.clone(),
        })
        .map_err(|e| EngineError::new(FailureKind::Other, e.to_string()))?;
        self.with_instances(|map| {
            if let Some(instance) = map.get_mut(instance_id) {
                instance.status = RuntimeStatus::Completed;
                instance.output = Some(output);
            }
        })
    }

    /// Asks level `number` of the order (the workflow's approval request activity).
    async fn ask(
        &self,
        order: &WorkflowOrder,
        number: u32,
        approved_by: &[String],
    ) -> Result<(), EngineError> {
        let levels = order.levels();
        let Some(level) = usize::try_from(number - 1).ok().and_then(|i| levels.get(i)) else {
            return Err(EngineError::new(FailureKind::Other, "no such level"));
        };
        let request = ApprovalRequest {
            order: order.clone(),
            deadline_ms: now_ms() + level.timeout().as_millis() as i64,
            level: order.levels.is_some().then(|| LevelAsk {
                number,
                of: levels.len() as u32,
                role: level.role,
                approved_by: approved_by.to_vec(),
                escalated: false,
            }),
        };
        activities::request_approval(&self.db, &request, &Notifier::queue_only(self.notify))
            .await
            .map_err(activity_failed)?;
        Ok(())
    }
}

fn activity_failed(e: dapr::workflow::WorkflowError) -> EngineError {
    EngineError::new(FailureKind::Other, e.to_string())
}

impl MemoryEngine {
    /// Creates an instance whose first turn has not run yet (daprd has not handed it to
    /// a worker): what another replica's schedule leaves for a moment. Whether it was new.
    pub fn create_unstarted(
        &self,
        instance_id: &str,
        input: &WorkflowOrder,
    ) -> Result<bool, EngineError> {
        self.with_instances(|map| {
            if map.contains_key(instance_id) {
                return false;
            }
            map.insert(
                instance_id.to_owned(),
                Instance {
                    input: input.clone(),
                    status: RuntimeStatus::Running,
                    output: None,
                    level: 1,
                    approved_by: Vec::new(),
                },
            );
            true
        })
    }

    /// The workflow's first turn: the auto-approval, or the first level's request.
    async fn run_first_turn(
        &self,
        instance_id: &str,
        input: &WorkflowOrder,
    ) -> Result<(), EngineError> {
        if input.levels().is_empty() {
            return self.complete(instance_id, input, &Outcome::AutoApproved);
        }
        self.ask(input, 1, &[]).await
    }
}

#[async_trait::async_trait]
impl WorkflowEngine for MemoryEngine {
    async fn schedule(&self, instance_id: &str, input: &WorkflowOrder) -> Result<(), EngineError> {
        self.check_up()?;
        let created = self.create_unstarted(instance_id, input)?;
        if !created {
            return Err(EngineError::new(
                FailureKind::AlreadyExists,
                format!("an active workflow with ID '{instance_id}' already exists"),
            ));
        }
        self.run_first_turn(instance_id, input).await
    }

    async fn raise_approval(
        &self,
        instance_id: &str,
        approval: &Approval,
    ) -> Result<(), EngineError> {
        self.check_up()?;
        let lost = self.lose_next_raise.lock().ok().and_then(|mut n| n.take());
        let lost_answer = || EngineError::new(FailureKind::Unknown, "no answer (in-memory engine)");
        if lost == Some(false) {
            return Err(lost_answer());
        }
        let waiting = self.with_instances(|map| {
            map.get(instance_id).map(|i| {
                (i.status == RuntimeStatus::Running)
                    .then(|| (i.input.clone(), i.level, i.approved_by.clone()))
            })
        })?;
        let (order, level, mut approved_by) = match waiting {
            None => {
                return Err(EngineError::new(
                    FailureKind::NotFound,
                    "no such instance exists",
                ))
            }
            // Like a completed workflow, a finished instance drops the event.
            Some(None) => return Ok(()),
            Some(Some(waiting)) => waiting,
        };
        let role = order
            .levels()
            .get(level as usize - 1)
            .map_or(domain::Role::Manager, |l| l.role);
        if !approval.is_for(level, role) {
            // A decision for a level already passed: the workflow drops it.
            return Ok(());
        }
        let mut outcome = approval.outcome();
        if let Outcome::Approved(by) = &outcome {
            approved_by.push(by.clone());
            if (level as usize) < order.levels().len() {
                self.with_instances(|map| {
                    if let Some(i) = map.get_mut(instance_id) {
                        i.level = level + 1;
                        i.approved_by = approved_by.clone();
                    }
                })?;
                self.ask(&order, level + 1, &approved_by).await?;
                return match lost {
                    Some(true) => Err(lost_answer()),
                    _ => Ok(()),
                };
            }
            outcome = Outcome::approved_by(&approved_by);
        }
        let record = OutcomeRecord {
            order: order.clone(),
            status: outcome.status_text(),
            decided_at_ms: now_ms(),
        };
        activities::record_outcome(&self.db, &record, &Notifier::queue_only(self.notify))
            .await
            .map_err(activity_failed)?;
        self.complete(instance_id, &order, &outcome)?;
        match lost {
            Some(true) => Err(lost_answer()),
            _ => Ok(()),
        }
    }

    async fn terminate(&self, instance_id: &str) -> Result<(), EngineError> {
        self.check_up()?;
        self.with_instances(|map| {
            map.get_mut(instance_id).map(|i| {
                if i.status == RuntimeStatus::Running {
                    i.status = RuntimeStatus::Terminated;
                }
            })
        })?
        .ok_or_else(|| EngineError::new(FailureKind::NotFound, "no such instance exists"))
    }

    async fn fetch(&self, instance_id: &str) -> Result<Snapshot, EngineError> {
        self.check_up()?;
        if let Some(words) = self
            .broken
            .lock()
            .ok()
            .and_then(|b| b.get(instance_id).cloned())
        {
            return Err(EngineError::new(FailureKind::Other, words));
        }
        self.with_instances(|map| {
            map.get(instance_id).map(|i| Snapshot {
                instance_id: instance_id.to_owned(),
                name: WORKFLOW_NAME.to_owned(),
                runtime_status: i.status,
                created_at: Some(Utc::now()),
                last_updated_at: Some(Utc::now()),
                serialized_input: serde_json::to_string(&i.input).ok(),
                serialized_output: i.output.clone(),
                serialized_custom_status: None,
                failure: None,
            })
        })?
        .ok_or_else(|| {
            EngineError::new(
                FailureKind::NotFound,
                format!("Orchestration '{instance_id}' not found"),
            )
        })
    }

    async fn wait_for_completion(
        &self,
        instance_id: &str,
        _within: Duration,
    ) -> Result<Snapshot, EngineError> {
        // Nothing here runs later than the call that caused it: an instance that is not
        // finished now never will be without another call.
        let snapshot = self.fetch(instance_id).await?;
        if snapshot.runtime_status.is_terminal() {
            Ok(snapshot)
        } else {
            Err(EngineError::new(
                FailureKind::Unknown,
                "Timeout waiting for orchestration",
            ))
        }
    }
}
