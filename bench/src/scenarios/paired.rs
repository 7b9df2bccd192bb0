//! Scenario 6, the overhead comparison: `bench auto` runs our whole stack (HTTP, read
//! model) and `bench bare` the same workflows straight through the Dapr workflow client
//! and worker in this process. `scripts/bench.sh` alternates them; each run appends its
//! rate to `paired.json`.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::json;

use crate::client::Api;
use crate::{env, out_dir, read_json, scaled, tag, Error, Result};

/// The workload both sides of the overhead comparison run.
pub const PAIRED_N: usize = 2000;
pub const PAIRED_CONCURRENCY: usize = 32;
/// Each side first waits and runs this many, untimed, so neither pays for its worker's
/// start-up.
pub const WARMUP_N: usize = 50;
pub const SETTLE: Duration = Duration::from_secs(2);
/// A run that takes longer has met a stuck workflow: fail instead of hanging.
const RUN_LIMIT: Duration = Duration::from_secs(300);

pub async fn within_limit<T>(run: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(RUN_LIMIT, run)
        .await
        .map_err(|_| format!("a run took over {} s", RUN_LIMIT.as_secs()))?
}

/// One run of ours for the overhead comparison: all auto-approved, over HTTP.
pub async fn auto() -> Result<()> {
    let api = Api::connect().await?;
    let run = tag();
    // Untimed: a freshly started server's worker is still joining daprd's placement.
    tokio::time::sleep(SETTLE).await;
    let warmup = format!("warmup-{run}");
    within_limit(api.start_run(&warmup, scaled(WARMUP_N), PAIRED_CONCURRENCY, true)).await?;
    let paired = format!("paired-{run}");
    let (_, completed) =
        within_limit(api.start_run(&paired, scaled(PAIRED_N), PAIRED_CONCURRENCY, true)).await?;
    append_paired("ours", completed)?;
    println!("ours: {completed:.0} workflows/s");
    Ok(())
}

/// The workflow worker a bare run hosts in this process (our workflow and activities,
/// writing to `db`), reached the way our server reaches daprd: through the token relay
/// when daprd wants a token. Ready once joined to daprd's placement.
pub struct BareWorker {
    pub scheduler: dapr::workflow::WorkflowSchedulingClient,
    worker: dapr::workflow::WorkerHandle,
    _relay: Option<backend::workflow::engine::relay::TokenRelay>,
}

impl BareWorker {
    pub async fn start(db: backend::store::db::Db) -> Result<Self> {
        use backend::workflow::engine::relay::TokenRelay;
        use dapr::workflow::WorkflowClient;
        let endpoint = env("DAPR_GRPC_ENDPOINT")?;
        let token = std::env::var("DAPR_API_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
        let (address, relay) = TokenRelay::route(&endpoint, token.as_deref()).await?;
        let mut client = WorkflowClient::new_with_address(address).await?;
        backend::workflow::register(&mut client, db, backend::notify::Notifier::default());
        let worker = client.start_worker().await?;
        let scheduler = client.scheduling_client();
        // Untimed: the worker is still joining daprd's placement.
        tokio::time::sleep(SETTLE).await;
        Ok(Self {
            scheduler,
            worker,
            _relay: relay,
        })
    }

    pub async fn stop(self) {
        let _ = self.worker.shutdown().await;
    }
}

/// One run of scenario 6: the workflow alone, through the Dapr client and worker in
/// this process.
pub async fn bare() -> Result<()> {
    // Auto-approved orders run no activity; the activities still need a database to be
    // registered, so an empty in-memory one will do.
    let db = backend::store::db::Db::Sqlite(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    let bare = BareWorker::start(db).await?;
    let scheduler = &bare.scheduler;
    let run = tag();
    let warmup = format!("bare-warmup-{run}");
    within_limit(bare_batch(scheduler, &warmup, scaled(WARMUP_N))).await?;
    let n = scaled(PAIRED_N);
    let started = Instant::now();
    let mut scheduling = within_limit(bare_batch(scheduler, &format!("bare-{run}"), n)).await?;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    bare.stop().await;
    append_paired("bare", rate)?;
    // The schedule call's own latency with nothing of ours in front: how much of the
    // tail of our starts (their `dapr` part) is daprd's.
    let [p50, p95, p99] =
        [50.0, 95.0, 99.0].map(|p| crate::stats::ms(crate::stats::percentile(&mut scheduling, p)));
    append_paired("bare_schedule_p50_ms", p50)?;
    append_paired("bare_schedule_p95_ms", p95)?;
    append_paired("bare_schedule_p99_ms", p99)?;
    println!("bare: {rate:.0} workflows/s");
    Ok(())
}

/// Schedules `n` auto-approved workflows at the paired concurrency and awaits them all;
/// returns how long each schedule call took.
async fn bare_batch(
    scheduler: &dapr::workflow::WorkflowSchedulingClient,
    prefix: &str,
    n: usize,
) -> Result<Vec<Duration>> {
    use dapr::workflow::{FetchOptions, ScheduleOptions};
    let results: Vec<_> = stream::iter(0..n)
        .map(|i| {
            let mut s = scheduler.clone();
            let id = format!("{prefix}-{i}");
            async move {
                let input = backend::model::workflow::WorkflowOrder {
                    order_id: id.clone(),
                    cost: 10.0,
                    product: "Bench widget".into(),
                    quantity: 1,
                    approval_timeout_ms: None,
                    requested_by: None,
                    levels: None,
                    resume: None,
                };
                let began = std::time::Instant::now();
                s.schedule_workflow(
                    backend::model::workflow::WORKFLOW_NAME,
                    ScheduleOptions::new()
                        .with_instance_id(id.clone())
                        .try_with_input(input)?,
                )
                .await?;
                let scheduled_in = began.elapsed();
                s.wait_for_workflow_completion_with_options(
                    &id,
                    FetchOptions::new(),
                    Some(Duration::from_secs(120)),
                )
                .await?;
                Ok::<Duration, Error>(scheduled_in)
            }
        })
        .buffer_unordered(PAIRED_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Adds one run to `paired.json` (`{"ours": [...], "bare": [...]}`, in round order).
fn append_paired(side: &str, rate: f64) -> Result<()> {
    let path = out_dir().join("paired.json");
    let mut paired = read_json(path.clone());
    if !paired.is_object() {
        paired = json!({});
    }
    let runs = paired
        .as_object_mut()
        .ok_or("paired.json is not an object")?
        .entry(side)
        .or_insert_with(|| json!([]));
    runs.as_array_mut()
        .ok_or("paired.json: runs are not a list")?
        .push(json!(rate));
    std::fs::write(path, serde_json::to_string_pretty(&paired)?)?;
    Ok(())
}
