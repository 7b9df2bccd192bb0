//! Scenario 7, as clients use the API: auto-approved orders at concurrency 32, started
//! with an API token or with Basic auth on every call (what the README's `curl -u` and
//! the seed's clients do), and a variant that polls `GET /status/{id}` until COMPLETED
//! (how seed clients wait for an outcome). Reports each client's rate, its latency
//! percentiles and the server's memory after it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};

use crate::client::{Api, Auth, ServerTiming};
use crate::stats::{median, ms, percentile, rss_mib};
use crate::{scaled, Result};

const CONCURRENCY: usize = 32;
const REPS: usize = 3;

struct Client {
    key: &'static str,
    label: &'static str,
    auth: Auth,
    /// Waits for each outcome through `/status` (else the read model says when all are
    /// done).
    polls: bool,
}

const CLIENTS: [Client; 3] = [
    Client {
        key: "bearer",
        label: "API token",
        auth: Auth::Bearer,
        polls: false,
    },
    Client {
        key: "basic",
        label: "Basic auth on every call",
        auth: Auth::Basic,
        polls: false,
    },
    Client {
        key: "status",
        label: "API token, polling `/status` until COMPLETED",
        auth: Auth::Bearer,
        polls: true,
    },
];

/// One request: its latency here (the start, or for a polling client the start until
/// COMPLETED was seen), and the server's account of the start's parts.
type Sample = (Duration, ServerTiming);

/// One run: workflows completed per second, and every request's sample.
async fn one_run(api: &Api, client: &Client, prefix: &str, n: usize) -> Result<(f64, Vec<Sample>)> {
    let t0 = chrono::Utc::now().timestamp_millis();
    let started = Instant::now();
    let samples: Vec<Result<Sample>> = stream::iter(0..n)
        .map(|i| async move {
            let id = format!("{prefix}-{i}");
            let began = Instant::now();
            let (_, timing) = api.start_order_timed(client.auth, &id, 10.0).await?;
            if client.polls {
                api.poll_until_completed(client.auth, &format!("po-{id}"))
                    .await?;
            }
            Ok((began.elapsed(), timing))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let samples = samples.into_iter().collect::<Result<Vec<_>>>()?;
    let rate = if client.polls {
        n as f64 / started.elapsed().as_secs_f64()
    } else {
        let last = api
            .wait_for(prefix, "auto_approved", n as i64)
            .await?
            .unwrap_or(t0);
        n as f64 / ((last - t0).max(1) as f64 / 1000.0)
    };
    Ok((rate, samples))
}

/// Where a start's time went, by part: p50 / p95 / p99 in ms of each part the server
/// named, and of the whole as the client saw it.
fn breakdown(label: &str, samples: &[Sample]) -> String {
    let mut parts: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for (_, timing) in samples {
        for (part, ms) in timing {
            parts
                .entry(part.as_str())
                .or_default()
                .push(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    if parts.is_empty() {
        return String::new();
    }
    let row = |name: &str, durations: &mut Vec<Duration>| {
        let [p50, p95, p99] = [50.0, 95.0, 99.0].map(|p| ms(percentile(durations, p)));
        format!("| {label} | {name} | {p50:.1} | {p95:.1} | {p99:.1} |\n")
    };
    let mut md = String::new();
    for (part, durations) in parts.iter_mut() {
        md += &row(part, durations);
    }
    let mut whole: Vec<Duration> = samples.iter().map(|(took, _)| *took).collect();
    md += &row("as the client saw it", &mut whole);
    md
}

pub async fn run(
    api: &Api,
    run: &str,
    server_pid: Option<u32>,
    figures: &mut BTreeMap<String, f64>,
) -> Result<String> {
    let n = scaled(1000);
    let mut md = format!(
        "\n## 7. As clients use it\n\n{n} auto-approved orders per run at concurrency \
         {CONCURRENCY}, median rate of {REPS} runs, latency percentiles over all of them; the \
         server's RSS right after each client's runs.\n\n\
         | client | workflows/s | p50 (ms) | p95 (ms) | p99 (ms) | p95 / p50 | server RSS (MiB) |\n\
         |---|---:|---:|---:|---:|---:|---:|\n"
    );
    let mut parts = String::new();
    for client in &CLIENTS {
        let (mut rates, mut samples) = (Vec::new(), Vec::new());
        for rep in 0..REPS {
            let prefix = format!("s7-{run}-{}-r{rep}", client.key);
            let (rate, mut s) = one_run(api, client, &prefix, n).await?;
            rates.push(rate);
            samples.append(&mut s);
        }
        if !client.polls {
            parts += &breakdown(client.label, &samples);
        }
        let mut latencies: Vec<Duration> = samples.iter().map(|(took, _)| *took).collect();
        let rate = median(&mut rates);
        let [p50, p95, p99] = [50.0, 95.0, 99.0].map(|p| ms(percentile(&mut latencies, p)));
        let rss = server_pid.and_then(rss_mib);
        md += &format!(
            "| {} | {rate:.0} | {p50:.1} | {p95:.1} | {p99:.1} | {:.1} | {} |\n",
            client.label,
            p95 / p50.max(0.001),
            rss.map_or("n/a".to_owned(), |m| format!("{m:.1}"))
        );
        let key = client.key;
        figures.insert(format!("clients_{key}_rate"), rate);
        figures.insert(format!("clients_{key}_p50_ms"), p50);
        figures.insert(format!("clients_{key}_p95_ms"), p95);
        figures.insert(format!("clients_{key}_p99_ms"), p99);
        if let Some(rss) = rss {
            figures.insert(format!("clients_{key}_rss_mib"), rss);
        }
    }
    if !parts.is_empty() {
        md += &format!(
            "\nWhere a start's time goes (the server's `Server-Timing`: `auth` checking \
             credentials, `db` the read-model insert, `dapr` scheduling the workflow, `total` \
             the whole request inside the server; the rest of what the client saw is the \
             network and waiting for a connection):\n\n| client | part | p50 (ms) | p95 (ms) | p99 (ms) |\n|---|---|---:|---:|---:|\n{parts}"
        );
    }
    Ok(md)
}
