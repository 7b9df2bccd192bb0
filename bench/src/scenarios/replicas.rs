//! Section 8, replicas: the same load on a cluster of one replica and of two
//! (`scripts/cluster.sh`: one app id, Dapr's state and the read model in PostgreSQL), each
//! request sent to the replicas in turn as a load balancer would. `scripts/bench.sh`
//! runs `bench replicas` once per cluster size; each run adds its figures to
//! `replicas.json` under its number of replicas. It also runs it once on the
//! single-node stack of `make run` (SQLite for both stores) with `BENCH_REPLICAS_KEY`
//! `sqlite`, for the figures beside them.

use futures::stream::{self, StreamExt};
use serde_json::json;

use crate::client::Api;
use crate::scenarios::paired::{PAIRED_CONCURRENCY, SETTLE, WARMUP_N};
use crate::stats::{ms, percentile};
use crate::{out_dir, read_json, scaled, tag, Result};

/// Auto-approved orders for the rate.
pub const REPLICAS_N: usize = 1000;
/// Orders approved, `APPROVE_CONCURRENCY` at a time, for the latency.
pub const APPROVE_N: usize = 200;
pub const APPROVE_CONCURRENCY: usize = 16;

pub async fn run() -> Result<()> {
    let api = Api::connect().await?;
    let replicas = api.bases.len();
    let run = tag();
    // Untimed: a freshly started cluster's workers are still joining placement.
    tokio::time::sleep(SETTLE).await;
    api.start_run(
        &format!("rw-{run}"),
        scaled(WARMUP_N),
        PAIRED_CONCURRENCY,
        true,
    )
    .await?;

    // Workflows/s: every order auto-approved, from the first start to the last outcome
    // (the server's clock, as section 1 counts).
    let (_, rate) = api
        .start_run(
            &format!("r-{run}"),
            scaled(REPLICAS_N),
            PAIRED_CONCURRENCY,
            true,
        )
        .await?;

    // Approve → COMPLETED: orders left waiting, then approved through the replicas in
    // turn; `/signal-approval` answers once the workflow is COMPLETED.
    let waiting = format!("ra-{run}");
    let m = scaled(APPROVE_N);
    api.start_waiting(&waiting, m).await?;
    let results: Vec<_> = stream::iter(0..m)
        .map(|i| {
            let id = format!("po-{waiting}-{i}");
            let api = &api;
            async move { api.approve_at(api.base_for(i), &id).await }
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
    let key = std::env::var("BENCH_REPLICAS_KEY").unwrap_or_else(|_| replicas.to_string());
    all[key.as_str()] = json!({
        "workflows_per_s": rate,
        "approve_p50_ms": p50,
        "approve_p95_ms": p95,
        "approve_p99_ms": p99,
    });
    std::fs::write(path, serde_json::to_string_pretty(&all)?)?;
    println!("{key}: {rate:.0} workflows/s, approve p50 {p50:.1} ms");
    Ok(())
}
