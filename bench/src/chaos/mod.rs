//! `bench chaos` (run by `scripts/chaos.sh`): a mixed load on a running stack while
//! its processes are killed, frozen and its read model locked, then a verdict on what
//! became of every order and every answer.
//!
//! The load: orders started at a steady pace, in turn auto-approved, decided by one
//! manager, raced by two managers (one approves, one rejects), raced by a manager and
//! the requester cancelling, and left to time out.
//! A client retries what it was told did not happen (503) or got no answer to, as a
//! careful script or a person clicking again would.

mod faults;
mod verdict;

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::Decision;
use futures::future::join_all;
use serde_json::{json, Value};

use crate::{env, Result};
use faults::{Fault, Process, Target};

/// What the load does with one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Auto,
    One {
        approve: bool,
    },
    /// bob approves while carol rejects.
    Race,
    /// bob approves while alice, who asked for it, cancels.
    CancelRace,
    Undecided,
}

const PLANS: [Plan; 7] = [
    Plan::Auto,
    Plan::One { approve: true },
    Plan::Race,
    Plan::Undecided,
    Plan::CancelRace,
    Plan::One { approve: false },
    Plan::Race,
];

/// What the server answered, or that it did not.
#[derive(Debug, Clone)]
pub enum Answer {
    Status { code: u16, message: String },
    NoAnswer(String),
}

#[derive(Debug, Clone)]
pub struct Attempt {
    /// Who tried: a manager deciding, or the requester cancelling.
    pub by: &'static str,
    pub decision: Decision,
    pub answer: Answer,
}

#[derive(Debug, Clone)]
pub struct Record {
    pub instance_id: String,
    pub plan: Plan,
    pub starts: Vec<Answer>,
    pub decisions: Vec<Attempt>,
}

impl Record {
    /// Some start was answered 200, or 409 after an attempt that may have created it.
    pub fn created(&self) -> bool {
        let mut uncertain = false;
        for answer in &self.starts {
            match answer {
                Answer::Status { code: 200, .. } => return true,
                Answer::Status { code: 409, .. } if uncertain => return true,
                Answer::Status { code: 503, .. } => {}
                _ => uncertain = true,
            }
        }
        false
    }
}

struct Schedule {
    /// When each fault starts, from the start of the load.
    faults: Vec<(Duration, Fault)>,
    load_for: Duration,
    every: Duration,
    settle_within: Duration,
}

/// The three runs: `full` (`make chaos`), `short` (`make test`), `soak` (`make soak`:
/// no faults, a steady load for `SOAK_MINUTES`).
fn schedule(mode: &str) -> Schedule {
    let s = Duration::from_secs;
    if mode == "soak" {
        let minutes = std::env::var("SOAK_MINUTES")
            .ok()
            .and_then(|m| m.parse().ok())
            .unwrap_or(30u64);
        Schedule {
            faults: Vec::new(),
            load_for: s(minutes * 60),
            every: Duration::from_millis(400),
            settle_within: s(300),
        }
    } else if mode == "full" {
        Schedule {
            faults: vec![
                (s(10), Fault::Kill(Process::Server)),
                (s(30), Fault::Kill(Process::Daprd)),
                (s(50), Fault::Kill(Process::Placement)),
                (s(70), Fault::Kill(Process::Scheduler)),
                (s(90), Fault::Freeze(Process::Daprd, s(20))),
                (s(130), Fault::LockReadModel(s(90))),
            ],
            load_for: s(240),
            every: Duration::from_millis(400),
            settle_within: s(420),
        }
    } else {
        Schedule {
            faults: vec![
                (s(6), Fault::Kill(Process::Server)),
                (s(16), Fault::Kill(Process::Daprd)),
                (s(26), Fault::Kill(Process::Placement)),
                (s(34), Fault::Freeze(Process::Daprd, s(6))),
                (s(46), Fault::LockReadModel(s(20))),
            ],
            load_for: s(70),
            every: Duration::from_millis(700),
            settle_within: s(300),
        }
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    alice: String,
    bob: String,
    carol: String,
    db: sqlx::SqlitePool,
}

impl Client {
    async fn post(&self, token: &str, path: &str, body: Value) -> Answer {
        let sent = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .timeout(Duration::from_secs(90))
            .send()
            .await;
        match sent {
            Ok(response) => {
                let code = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let message = body["error"]
                    .as_str()
                    .or(body["message"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                Answer::Status { code, message }
            }
            Err(e) => Answer::NoAnswer(e.to_string()),
        }
    }

    async fn status_of(&self, instance_id: &str) -> Option<String> {
        sqlx::query_scalar("SELECT status FROM orders WHERE instance_id = ?")
            .bind(instance_id)
            .fetch_optional(&self.db)
            .await
            .ok()
            .flatten()
    }

    fn token(&self, who: &str) -> &str {
        match who {
            "bob" => &self.bob,
            "carol" => &self.carol,
            _ => &self.alice,
        }
    }

    /// Posts `body` to `path` as `token`, again every 2 s while the answer is that it
    /// certainly did not happen (503) or no answer came, for up to a minute, as a
    /// careful client would; returns every answer.
    async fn post_until_answered(&self, token: &str, path: &str, body: Value) -> Vec<Answer> {
        let started = Instant::now();
        let mut answers = Vec::new();
        loop {
            let answer = self.post(token, path, body.clone()).await;
            let again = matches!(
                answer,
                Answer::Status { code: 503, .. } | Answer::NoAnswer(_)
            );
            answers.push(answer);
            if !again || started.elapsed() > Duration::from_secs(60) {
                return answers;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    /// One manager's decision or the requester's cancellation, tried as
    /// [`Self::post_until_answered`] does.
    async fn decide(
        &self,
        instance_id: &str,
        by: &'static str,
        decision: Decision,
    ) -> Vec<Attempt> {
        let (path, body) = match decision {
            Decision::Cancel => (format!("/api/orders/{instance_id}/cancel"), json!({})),
            _ => (
                format!("/signal-approval/{instance_id}"),
                json!({"approver_name": by, "approved": decision == Decision::Approve}),
            ),
        };
        self.post_until_answered(self.token(by), &path, body)
            .await
            .into_iter()
            .map(|answer| Attempt {
                by,
                decision,
                answer,
            })
            .collect()
    }

    async fn drive(&self, run: &str, n: usize, plan: Plan) -> Record {
        let order_id = format!("chaos-{run}-{n}");
        let instance_id = format!("po-{order_id}");
        let cost = if plan == Plan::Auto { 10.0 } else { 2000.0 };
        let starts = self
            .post_until_answered(
                &self.alice,
                "/start-purchase-order",
                json!({"order_id": order_id, "cost": cost, "product": "Chaos widget", "quantity": 1}),
            )
            .await;
        let mut record = Record {
            instance_id: instance_id.clone(),
            plan,
            starts,
            decisions: Vec::new(),
        };
        if !record.created() || matches!(plan, Plan::Auto | Plan::Undecided) {
            return record;
        }
        // A manager decides once the order shows in the inbox, after reading it a
        // moment (spread out so that decisions meet every fault).
        let waiting_since = Instant::now();
        loop {
            match self.status_of(&instance_id).await.as_deref() {
                Some("awaiting_approval") => break,
                Some("submitted") | None if waiting_since.elapsed() < Duration::from_secs(60) => {
                    tokio::time::sleep(Duration::from_millis(300)).await
                }
                _ => return record,
            }
        }
        tokio::time::sleep(Duration::from_millis(200 + (n as u64 * 397) % 1800)).await;
        let (first, second) = match plan {
            Plan::One { approve } => {
                let decision = Decision::from_approved(approve);
                return Record {
                    decisions: self.decide(&instance_id, "bob", decision).await,
                    ..record
                };
            }
            Plan::CancelRace => (("bob", Decision::Approve), ("alice", Decision::Cancel)),
            _ => (("bob", Decision::Approve), ("carol", Decision::Reject)),
        };
        let (a, b) = tokio::join!(
            self.decide(&instance_id, first.0, first.1),
            self.decide(&instance_id, second.0, second.1)
        );
        record.decisions = a.into_iter().chain(b).collect();
        record
    }
}

fn memory_now(target: &Target, began: Instant) -> verdict::MemorySample {
    verdict::MemorySample {
        at: began.elapsed(),
        daprd_kib: target.rss_kib(Process::Daprd),
        server_kib: target.rss_kib(Process::Server),
    }
}

pub async fn run() -> Result<()> {
    let mode = env("CHAOS_MODE")?;
    let schedule = schedule(&mode);
    let db_path = env("CHAOS_DB")?;
    let client = Arc::new(Client {
        http: reqwest::Client::builder().build()?,
        base: env("CHAOS_BASE_URL")?,
        alice: env("CHAOS_ALICE_TOKEN")?,
        bob: env("CHAOS_BOB_TOKEN")?,
        carol: env("CHAOS_CAROL_TOKEN")?,
        db: sqlx::SqlitePool::connect(&format!("sqlite://{db_path}?mode=ro")).await?,
    });
    let target = Target {
        pids: env("CHAOS_PIDS")?.into(),
        db_url: format!("sqlite://{db_path}"),
    };
    let run = chrono::Utc::now().format("%H%M%S").to_string();
    let began = Instant::now();

    let faults = async {
        let mut done = Vec::new();
        for (at, fault) in &schedule.faults {
            tokio::time::sleep(at.saturating_sub(began.elapsed())).await;
            eprintln!("chaos: t={:>3} s  {fault}", began.elapsed().as_secs());
            let outcome = target.apply(*fault).await;
            if let Err(e) = &outcome {
                eprintln!("chaos: could not do it: {e}");
            }
            done.push((*at, *fault, outcome.is_ok()));
        }
        done
    };
    // Each order runs as a task of its own from the moment it is started.
    let load = async {
        let mut orders = Vec::new();
        let mut n = 0;
        while began.elapsed() < schedule.load_for {
            let plan = PLANS[n % PLANS.len()];
            let (client, run) = (client.clone(), run.clone());
            orders.push(tokio::spawn(
                async move { client.drive(&run, n, plan).await },
            ));
            n += 1;
            tokio::time::sleep(schedule.every).await;
        }
        eprintln!("chaos: {n} orders started; waiting for their decisions");
        orders
    };
    // Memory over time (the soak run's question: does it plateau once daprd purges
    // finished workflows?).
    let sampling = async {
        let mut samples = Vec::new();
        while mode == "soak" && began.elapsed() < schedule.load_for {
            samples.push(memory_now(&target, began));
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        samples
    };
    let (done, orders, mut samples) = tokio::join!(faults, load, sampling);
    let records: Vec<Record> = join_all(orders)
        .await
        .into_iter()
        .collect::<std::result::Result<_, _>>()?;
    eprintln!(
        "chaos: load over at t={} s; waiting up to {} s for every order to settle",
        began.elapsed().as_secs(),
        schedule.settle_within.as_secs()
    );
    let verdict = verdict::judge(
        &client.db,
        &env("CHAOS_DAPR_HTTP")?,
        &env("DAPR_API_TOKEN")?,
        &records,
        schedule.settle_within,
        mode == "soak",
    )
    .await?;
    if mode == "soak" {
        samples.push(memory_now(&target, began));
    }
    let report = verdict::report(&verdict, &done, &samples, &mode, &env("CHAOS_COMMIT")?);
    println!("{report}");
    std::fs::write(env("CHAOS_REPORT")?, &report)?;
    if verdict.violations() > 0 {
        return Err(format!("{} violations", verdict.violations()).into());
    }
    Ok(())
}
