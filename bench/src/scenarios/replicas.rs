//! Section 8, replicas: the same load on a cluster of one replica and of two
//! (`scripts/cluster.sh`: one app id, Dapr's state in PostgreSQL, one read model), each
//! request sent to the replicas in turn as a load balancer would. `scripts/bench.sh`
//! runs `bench replicas` once per cluster size; each run adds its figures to
//! `replicas.json` under its number of replicas.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde_json::json;

use crate::client::Api;
use crate::scenarios::paired::PAIRED_CONCURRENCY;
use crate::stats::{ms, percentile};
use crate::{out_dir, read_json, scaled, tag, Result};

/// Auto-approved orders for the rate.
pub const REPLICAS_N: usize = 1000;
/// Orders approved, `APPROVE_CONCURRENCY` at a time, for the latency.
pub const APPROVE_N: usize = 200;
pub const APPROVE_CONCURRENCY: usize = 16;
const WARMUP_N: usize = 50;
/// A freshly started cluster's workers are still joining placement.
const SETTLE: Duration = Duration::from_secs(2);

pub async fn run() -> Result<()> {
    let api = Api::connect().await?;
    let replicas = api.bases.len();
    let run = tag();
    tokio::time::sleep(SETTLE).await;
    let warmup = format!("rw-{run}");
    start_spread(&api, &warmup, scaled(WARMUP_N), 10.0).await?;
    api.wait_for(&warmup, "auto_approved", scaled(WARMUP_N) as i64)
        .await?;

    // Workflows/s: every order auto-approved, from the first start to the last outcome
    // (the server's clock, as section 1 counts).
    let prefix = format!("r-{run}");
    let n = scaled(REPLICAS_N);
    let t0 = chrono::Utc::now().timestamp_millis();
    start_spread(&api, &prefix, n, 10.0).await?;
    let last = api
        .wait_for(&prefix, "auto_approved", n as i64)
        .await?
        .unwrap_or(t0);
    let rate = n as f64 / ((last - t0).max(1) as f64 / 1000.0);

    // Approve → COMPLETED: orders left waiting, then approved through the replicas in
    // turn; `/signal-approval` answers once the workflow is COMPLETED.
    let waiting = format!("ra-{run}");
    let m = scaled(APPROVE_N);
    start_spread(&api, &waiting, m, 5000.0).await?;
    api.wait_for(&waiting, "awaiting_approval", m as i64)
        .await?;
    let results: Vec<_> = stream::iter(0..m)
        .map(|i| {
            let id = format!("po-{waiting}-{i}");
            let base = api.base_for(i).to_owned();
            let api = &api;
            async move { api.approve_at(&base, &id).await }
        })
        .buffer_unordered(APPROVE_CONCURRENCY)
        .collect()
        .await;
    let mut latencies = results.into_iter().collect::<Result<Vec<_>>>()?;
    let [p50, p95, p99] = [50.0, 95.0, 99.0].map(|p| ms(percentile(&mut latencies, p)));

    let path = out_dir().join("replicas.json");
    let mut all = read_json(path.clone());
    if !all.is_object() {
        all = json!({});
    }
    all[replicas.to_string()] = json!({
        "workflows_per_s": rate,
        "approve_p50_ms": p50,
        "approve_p95_ms": p95,
        "approve_p99_ms": p99,
    });
    std::fs::write(path, serde_json::to_string_pretty(&all)?)?;
    println!("{replicas} replica(s): {rate:.0} workflows/s, approve p50 {p50:.1} ms");
    Ok(())
}

/// Starts `n` orders of `cost`, each through the next replica in turn.
async fn start_spread(api: &Api, prefix: &str, n: usize, cost: f64) -> Result<()> {
    let results: Vec<_> = stream::iter(0..n)
        .map(|i| {
            let id = format!("{prefix}-{i}");
            let base = api.base_for(i).to_owned();
            async move { api.start_order_at(&base, &id, cost).await }
        })
        .buffer_unordered(PAIRED_CONCURRENCY)
        .collect()
        .await;
    let failures = results.iter().filter(|r| r.is_err()).count();
    match results.into_iter().find_map(|r| r.err()) {
        Some(e) => Err(format!("{failures} of {n} starts failed, e.g. {e}").into()),
        None => Ok(()),
    }
}
