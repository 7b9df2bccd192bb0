//! `bench api`: scenarios 1–4 against the running server and its read model. Writes
//! `api.md` (the report's sections 1–4) and `api.json` (the figures the targets are
//! checked against).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};

use crate::client::Api;
use crate::stats::{median, ms, percentile, rss_mib};
use crate::{out_dir, scaled, tag, Result};

/// Every figure is the median of this many runs.
const REPS: usize = 3;

/// The figures `bench report` checks the targets against, by name.
type Figures = BTreeMap<String, f64>;

pub async fn run() -> Result<()> {
    let api = Api::connect().await?;
    let run = tag();
    let mut md = String::new();
    let mut figures = Figures::new();
    let mut memory =
        String::from("| when | server RSS (MiB) | daprd RSS (MiB) |\n|---|---:|---:|\n");
    memory += &memory_row("idle");

    md += &start_throughput(&api, &run, &mut figures).await?;
    memory += &memory_row("after scenario 1");

    let pending = top_up_pending(&api, &run).await?;
    md += &inbox_at_scale(&api, pending, &mut figures).await?;
    memory += &memory_row(&format!(
        "with {pending} pending, right after the inbox load"
    ));
    // The steady state with that many orders waiting: the allocator returns the load's
    // peak within a few seconds.
    tokio::time::sleep(Duration::from_secs(5)).await;
    memory += &memory_row(&format!("with {pending} pending, 5 s after the load"));
    if let Some(rss) = pids().0.and_then(rss_mib) {
        figures.insert("server_rss_pending_mib".into(), rss);
    }

    md += &decision_latency(&api, &run, &mut figures).await?;
    memory += &memory_row("after scenario 2");
    let clients = super::clients::run(&api, &run, pids().0, &mut figures).await?;
    memory += &memory_row("after scenario 7");
    md += &format!("\n## 4. Memory\n\n{memory}");
    md += &clients;

    let dir = out_dir();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("api.md"), md)?;
    std::fs::write(
        dir.join("api.json"),
        serde_json::to_string_pretty(&figures)?,
    )?;
    println!("{}", serde_json::to_string_pretty(&figures)?);
    Ok(())
}

/// The server's and daprd's process ids, as `scripts/bench.sh` started them.
fn pids() -> (Option<u32>, Option<u32>) {
    let pid = |n: &str| std::env::var(n).ok().and_then(|p| p.parse().ok());
    (pid("SERVER_PID"), pid("DAPRD_PID"))
}

fn memory_row(label: &str) -> String {
    let (server, daprd) = pids();
    let show = |p: Option<u32>| {
        p.and_then(rss_mib)
            .map_or("n/a".to_owned(), |m| format!("{m:.1}"))
    };
    format!("| {label} | {} | {} |\n", show(server), show(daprd))
}

/// Scenario 1, start throughput: mixed orders started over HTTP at three concurrencies.
async fn start_throughput(api: &Api, run: &str, figures: &mut Figures) -> Result<String> {
    let n = scaled(2000);
    let mut md = format!(
        "## 1. Start throughput\n\n{n} orders per run over `POST /start-purchase-order` (half under \
         $1000, auto-approved; half waiting for approval), median of {REPS} runs.\n\n\
         | concurrency | accepted orders/s | auto-approved workflows completed/s |\n|---:|---:|---:|\n"
    );
    for concurrency in [1usize, 8, 32] {
        let (mut accepted, mut completed) = (Vec::new(), Vec::new());
        for rep in 0..REPS {
            let prefix = format!("s1-{run}-mixed-c{concurrency}-r{rep}");
            let (a, c) = api.start_run(&prefix, n, concurrency, false).await?;
            accepted.push(a);
            completed.push(c);
        }
        let (a, c) = (median(&mut accepted), median(&mut completed));
        md += &format!("| {concurrency} | {a:.0} | {c:.0} |\n");
        figures.insert(format!("start_c{concurrency}_accepted"), a);
        figures.insert(format!("start_c{concurrency}_completed"), c);
    }
    md += "\nAll auto-approved at concurrency 32: see section 6, where it is measured in \
           rounds alternating with the workflow alone.\n";
    Ok(md)
}

/// Tops the read model up to 10,000 orders awaiting approval (scaled), written straight
/// into it: the inbox is measured, not how fast workflows fill it. Returns how many
/// are waiting.
async fn top_up_pending(api: &Api, run: &str) -> Result<i64> {
    // The single-node sections run on SQLite (`scripts/bench.sh`), as `make run` does.
    let crate::client::ReadModel::Sqlite(db) = &api.db else {
        return Err("the inbox scenario fills a SQLite read model (BENCH_DATABASE_URL)".into());
    };
    let pending_target = scaled(10_000) as i64;
    let (pending_now,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM orders WHERE status = 'awaiting_approval'")
            .fetch_one(db)
            .await?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = db.begin().await?;
    for i in pending_now..pending_target {
        let id = format!("s3-{run}-{i}");
        sqlx::query(
            "INSERT INTO orders (instance_id, order_id, product, quantity, unit_cost_cents,
                total_cents, status, created_at, deadline, updated_at, requested_by,
                approval_requested_at)
             VALUES (?, ?, 'Bench chair', 2, 75000, 150000, 'awaiting_approval', ?, ?, ?, 'alice', ?)",
        )
        .bind(format!("po-{id}"))
        .bind(&id)
        .bind(now)
        .bind(now + 86_400_000 + i)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(pending_target.max(pending_now))
}

/// Scenario 3, inbox at scale: the first and a deep page, as the SSR page and over the
/// JSON API.
async fn inbox_at_scale(api: &Api, pending: i64, figures: &mut Figures) -> Result<String> {
    let cookie = api.session_cookie().await?;
    let deep_page = (pending / 25).max(1);
    let deep_offset = ((pending / 50) - 1).max(0) * 50;
    let mut md = format!(
        "\n## 3. Inbox at scale\n\n{pending} orders awaiting approval in the read model. Latency per \
         request, median of {REPS} runs.\n\n\
         | page | concurrency | p50 (ms) | p99 (ms) | bytes |\n|---|---:|---:|---:|---:|\n"
    );
    let pages = [
        ("SSR inbox `/`, first page", "/".to_owned(), true),
        ("SSR inbox, deep page", format!("/?page={deep_page}"), true),
        (
            "`GET /api/orders?status=awaiting_approval`, first page",
            "/api/orders?status=awaiting_approval&limit=50".to_owned(),
            false,
        ),
        (
            "`GET /api/orders?status=awaiting_approval`, deep page",
            format!("/api/orders?status=awaiting_approval&limit=50&offset={deep_offset}"),
            false,
        ),
    ];
    for (label, path, ssr) in &pages {
        for concurrency in [1usize, 16] {
            let requests = scaled(if concurrency == 1 { 200 } else { 800 }).max(20);
            let (mut p50s, mut p99s, mut bytes) = (Vec::new(), Vec::new(), 0);
            for _ in 0..REPS {
                let results: Vec<_> = stream::iter(0..requests)
                    .map(|_| api.get(path, ssr.then_some(cookie.as_str())))
                    .buffer_unordered(concurrency)
                    .collect()
                    .await;
                let mut latencies = Vec::with_capacity(requests);
                for r in results {
                    let (latency, size) = r?;
                    latencies.push(latency);
                    bytes = size;
                }
                p50s.push(ms(percentile(&mut latencies, 50.0)));
                p99s.push(ms(percentile(&mut latencies, 99.0)));
            }
            let (p50, p99) = (median(&mut p50s), median(&mut p99s));
            md += &format!("| {label} | {concurrency} | {p50:.1} | {p99:.1} | {bytes} |\n");
            if concurrency == 1 && path == "/" {
                figures.insert("inbox_ssr_p50_ms".into(), p50);
            }
            if concurrency == 1 && path.starts_with("/api/orders") && !path.contains("offset") {
                figures.insert("inbox_api_p50_ms".into(), p50);
            }
        }
    }
    Ok(md)
}

/// Scenario 2, decision latency: orders started and left waiting, then approved, each
/// approval timed from request to answer.
async fn decision_latency(api: &Api, run: &str, figures: &mut Figures) -> Result<String> {
    let n = scaled(500);
    let mut md = format!(
        "\n## 2. Decision latency\n\n{n} orders awaiting approval per run, approved over \
         `POST /signal-approval`, which answers 200 only once the workflow is COMPLETED and its \
         read-model row shows the outcome (so both latencies are this one). Median of {REPS} runs.\n\n\
         | concurrency | approvals/s | p50 (ms) | p95 (ms) | p99 (ms) |\n|---:|---:|---:|---:|---:|\n"
    );
    for concurrency in [1usize, 16] {
        let (mut rates, mut p50s, mut p95s, mut p99s) = (vec![], vec![], vec![], vec![]);
        for rep in 0..REPS {
            let prefix = format!("s2-{run}-c{concurrency}-r{rep}");
            api.start_waiting(&prefix, n).await?;
            let started = Instant::now();
            let results: Vec<_> = stream::iter(0..n)
                .map(|i| {
                    let id = format!("po-{prefix}-{i}");
                    async move { api.approve_at(&api.base, &id).await }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            let elapsed = started.elapsed().as_secs_f64();
            let mut latencies = Vec::with_capacity(n);
            for r in results {
                latencies.push(r?);
            }
            rates.push(n as f64 / elapsed);
            p50s.push(ms(percentile(&mut latencies, 50.0)));
            p95s.push(ms(percentile(&mut latencies, 95.0)));
            p99s.push(ms(percentile(&mut latencies, 99.0)));
        }
        let p50 = median(&mut p50s);
        md += &format!(
            "| {concurrency} | {:.0} | {p50:.1} | {:.1} | {:.1} |\n",
            median(&mut rates),
            median(&mut p95s),
            median(&mut p99s)
        );
        figures.insert(format!("approve_c{concurrency}_p50_ms"), p50);
    }
    Ok(md)
}
