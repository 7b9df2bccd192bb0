//! Section 9, the decision path against its own limit. An order that needs approval,
//! from its start to a confirmed approval:
//!
//! - `bench decide C` (ours): started over `POST /start-purchase-order`, watched in the
//!   read model until it waits, approved over `POST /signal-approval` (which answers
//!   once the workflow is COMPLETED and its row shows the outcome);
//! - `bench bare-decide C`: the same workflow through the Dapr workflow client and
//!   worker in this process, with our server stopped: scheduled, watched until its
//!   approval-request activity has recorded that it waits (in a database of this
//!   process's own, as our activities record it in the read model), the approval event
//!   raised straight into daprd, and awaited to completion.
//!
//! Both watch with the same poll interval, at concurrency `C`. `scripts/bench.sh`
//! alternates them; each run appends its rate and latencies to `decisions.json`.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use super::paired::{within_limit, BareWorker};
use crate::client::{Api, ServerTiming};
use crate::stats::{ms, percentile};
use crate::{out_dir, read_json, scaled, tag, Error, Result};

/// The concurrencies measured, and how many orders a run at each takes.
pub const CONCURRENCIES: [usize; 3] = [1, 16, 64];
pub fn orders_at(concurrency: usize) -> usize {
    scaled(if concurrency == 1 { 100 } else { 400 })
}
/// How often both sides look whether an order waits yet.
const POLL: Duration = Duration::from_millis(10);

fn concurrency_arg() -> Result<usize> {
    std::env::args()
        .nth(2)
        .and_then(|c| c.parse().ok())
        .filter(|c| *c > 0)
        .ok_or_else(|| "usage: bench decide|bare-decide CONCURRENCY".into())
}

/// One run of ours at the concurrency given on the command line.
pub async fn ours() -> Result<()> {
    let concurrency = concurrency_arg()?;
    let api = Api::connect().await?;
    // Untimed: a freshly started server's worker is still joining daprd's placement.
    tokio::time::sleep(super::paired::SETTLE).await;
    let run = tag();
    let warmup = format!("dw-{run}");
    within_limit(ours_batch(&api, &warmup, scaled(20), concurrency)).await?;
    let n = orders_at(concurrency);
    let started = Instant::now();
    let results = within_limit(ours_batch(
        &api,
        &format!("d{concurrency}-{run}"),
        n,
        concurrency,
    ))
    .await?;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let (mut whole, mut timings): (Vec<Duration>, Vec<ServerTiming>) = results.into_iter().unzip();
    let mut parts: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for timing in timings.drain(..) {
        for (part, took) in timing {
            parts.entry(part).or_default().push(took);
        }
    }
    append("ours", concurrency, rate, &mut whole, Some(parts))?;
    println!("decisions, ours at {concurrency}: {rate:.0} orders/s");
    Ok(())
}

/// Each order: started, awaited until it waits, approved; how long the whole took and
/// the approval's `Server-Timing`.
async fn ours_batch(
    api: &Api,
    prefix: &str,
    n: usize,
    concurrency: usize,
) -> Result<Vec<(Duration, ServerTiming)>> {
    let results: Vec<Result<(Duration, ServerTiming)>> = stream::iter(0..n)
        .map(|i| async move {
            let order_id = format!("{prefix}-{i}");
            let began = Instant::now();
            api.start_order_at(&api.base, &order_id, 5000.0).await?;
            api.wait_until(&order_id, "awaiting_approval", POLL).await?;
            let (_, timing) = api
                .approve_timed_at(&api.base, &format!("po-{order_id}"))
                .await?;
            Ok((began.elapsed(), timing))
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().collect()
}

/// One bare run at the concurrency given on the command line.
pub async fn bare() -> Result<()> {
    let concurrency = concurrency_arg()?;
    // The activities record the order as ours do, in a database of this run's own.
    let dir = out_dir().join("bare-decide");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db =
        backend::store::db::open(&format!("sqlite://{}", dir.join("orders.db").display())).await?;
    let bare = BareWorker::start(db.clone()).await?;
    let scheduler = &bare.scheduler;
    let run = tag();
    within_limit(bare_batch(
        scheduler,
        &db,
        &format!("bdw-{run}"),
        scaled(20),
        concurrency,
    ))
    .await?;
    let n = orders_at(concurrency);
    let started = Instant::now();
    let mut whole = within_limit(bare_batch(
        scheduler,
        &db,
        &format!("bd{concurrency}-{run}"),
        n,
        concurrency,
    ))
    .await?;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    bare.stop().await;
    append("bare", concurrency, rate, &mut whole, None)?;
    println!("decisions, bare at {concurrency}: {rate:.0} orders/s");
    Ok(())
}

async fn bare_batch(
    scheduler: &dapr::workflow::WorkflowSchedulingClient,
    db: &backend::store::db::Db,
    prefix: &str,
    n: usize,
    concurrency: usize,
) -> Result<Vec<Duration>> {
    use backend::model::workflow::{WorkflowOrder, APPROVAL_EVENT, WORKFLOW_NAME};
    use dapr::workflow::{EventOptions, FetchOptions, ScheduleOptions};
    let results: Vec<Result<Duration>> = stream::iter(0..n)
        .map(|i| {
            let mut s = scheduler.clone();
            let order_id = format!("{prefix}-{i}");
            async move {
                let instance_id = format!("po-{order_id}");
                let input = WorkflowOrder {
                    order_id: order_id.clone(),
                    cost: 5000.0,
                    product: "Bench widget".into(),
                    quantity: 1,
                    approval_timeout_ms: Some(24 * 3600 * 1000),
                    requested_by: Some("alice".into()),
                    levels: None,
                    resume: None,
                };
                let began = Instant::now();
                s.schedule_workflow(
                    WORKFLOW_NAME,
                    ScheduleOptions::new()
                        .with_instance_id(instance_id.clone())
                        .try_with_input(input)?,
                )
                .await?;
                let deadline = Instant::now() + Duration::from_secs(120);
                loop {
                    let row = backend::store::read_model::get(db, &instance_id).await?;
                    if row.is_some_and(|r| r.status == domain::OrderStatus::AwaitingApproval) {
                        break;
                    }
                    if Instant::now() > deadline {
                        return Err(format!("{instance_id} did not wait within 120 s").into());
                    }
                    tokio::time::sleep(POLL).await;
                }
                s.raise_event(
                    &instance_id,
                    APPROVAL_EVENT,
                    EventOptions::new()
                        .try_with_payload(json!({"approver_name": "bob", "approved": true}))?,
                )
                .await?;
                s.wait_for_workflow_completion_with_options(
                    &instance_id,
                    FetchOptions::new(),
                    Some(Duration::from_secs(120)),
                )
                .await?;
                Ok::<Duration, Error>(began.elapsed())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Adds one run to `decisions.json`: under `"c{C}"`, each side's rates and whole-order
/// p50/p95 in round order; ours also the approval's parts (all their samples).
fn append(
    side: &str,
    concurrency: usize,
    rate: f64,
    whole: &mut [Duration],
    parts: Option<std::collections::BTreeMap<String, Vec<f64>>>,
) -> Result<()> {
    let path = out_dir().join("decisions.json");
    let mut all = read_json(path.clone());
    if !all.is_object() {
        all = json!({});
    }
    let at = all
        .as_object_mut()
        .ok_or("decisions.json is not an object")?
        .entry(format!("c{concurrency}"))
        .or_insert_with(|| json!({}));
    let (p50, p95) = (ms(percentile(whole, 50.0)), ms(percentile(whole, 95.0)));
    for (key, value) in [
        (side.to_owned(), rate),
        (format!("{side}_p50_ms"), p50),
        (format!("{side}_p95_ms"), p95),
    ] {
        push(at, &key, json!(value))?;
    }
    for (part, samples) in parts.unwrap_or_default() {
        for took in samples {
            push(at, &format!("timing_{part}"), json!(took))?;
        }
    }
    std::fs::write(path, serde_json::to_string_pretty(&all)?)?;
    Ok(())
}

fn push(at: &mut Value, key: &str, value: Value) -> Result<()> {
    at.as_object_mut()
        .ok_or("decisions.json: not an object")?
        .entry(key)
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or("decisions.json: runs are not a list")?
        .push(value);
    Ok(())
}
