//! Load generator for Approvals. `scripts/bench.sh` starts the stack and runs:
//!
//! - `bench api`: scenarios 1–4 against the running server (JSON API, SSR inbox) and
//!   its read model; writes `target/bench/api.md` and `api.json`.
//! - then three rounds of `bench auto` (our end-to-end rate: all auto-approved orders
//!   over HTTP, concurrency 32) and `bench bare` (scenario 6: the same workflows driven
//!   straight through the Dapr workflow client and worker in this process, no HTTP, no
//!   read model, with our server stopped). Each appends one run to `paired.json`;
//!   alternating them lets both see the same machine and the same daprd state.
//! - `bench report`: puts everything together in `BENCHMARKS.md`.
//!
//! `BENCH_SCALE` (default 1) multiplies every N. Every figure is a median of three runs.

mod stats;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use stats::{median, ms, percentile, rss_mib};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;

const REPS: usize = 3;

fn env(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| format!("{name} is not set (run scripts/bench.sh)").into())
}

fn scale() -> f64 {
    std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(1.0)
}

fn scaled(n: usize) -> usize {
    ((n as f64 * scale()).round() as usize).max(4)
}

fn out_dir() -> PathBuf {
    PathBuf::from(std::env::var("BENCH_OUT").unwrap_or_else(|_| "target/bench".into()))
}

fn tag() -> String {
    format!("{:x}", chrono::Utc::now().timestamp_millis())
}

#[tokio::main]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let result = match mode.as_str() {
        "api" => api().await,
        "auto" => auto().await,
        "bare" => bare().await,
        "report" => report(),
        _ => Err("usage: bench api|auto|bare|report".into()),
    };
    if let Err(e) = result {
        eprintln!("bench {mode}: {e}");
        std::process::exit(1);
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
    alice: String,
    bob: String,
    db: sqlx::SqlitePool,
}

impl Api {
    async fn start_order(&self, order_id: &str, cost: f64) -> Result<Duration> {
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/start-purchase-order", self.base))
            .bearer_auth(&self.alice)
            .json(&json!({"order_id": order_id, "cost": cost, "product": "Bench widget", "quantity": 1}))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("start {order_id}: {}", response.status()).into());
        }
        Ok(started.elapsed())
    }

    /// How many orders of one run (order ids starting `prefix-`) have `status`, and
    /// when the last of them changed. A range on the order id index touches only the
    /// run's rows: this query competes for the machine with what is being measured.
    async fn count(&self, prefix: &str, status: &str) -> Result<(i64, Option<i64>)> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), MAX(COALESCE(decided_at, updated_at)) FROM orders
              WHERE order_id >= ? AND order_id < ? AND +status = ?",
        )
        // '.' follows '-': the range holds exactly the ids starting with `prefix-`.
        .bind(format!("{prefix}-"))
        .bind(format!("{prefix}."))
        .bind(status)
        .fetch_one(&self.db)
        .await?)
    }

    /// Waits until `n` orders of the run reach `status`; returns when the last did (the
    /// server's clock), so how often this polls does not change the measured rate.
    async fn wait_for(&self, prefix: &str, status: &str, n: i64) -> Result<Option<i64>> {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let (count, last) = self.count(prefix, status).await?;
            if count >= n {
                return Ok(last);
            }
            if Instant::now() > deadline {
                return Err(format!("only {count} of {n} {prefix}-* reached {status}").into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Result<(Duration, usize)> {
        let started = Instant::now();
        let mut request = self.http.get(format!("{}{path}", self.base));
        request = match cookie {
            Some(c) => request.header("cookie", c),
            None => request.bearer_auth(&self.bob),
        };
        let response = request.send().await?;
        if !response.status().is_success() {
            return Err(format!("GET {path}: {}", response.status()).into());
        }
        let bytes = response.bytes().await?.len();
        Ok((started.elapsed(), bytes))
    }
}

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

impl Api {
    async fn connect() -> Result<Self> {
        Ok(Api {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()?,
            base: env("BENCH_BASE_URL")?,
            alice: env("BENCH_ALICE_TOKEN")?,
            bob: env("BENCH_BOB_TOKEN")?,
            db: sqlx::SqlitePool::connect(&format!("sqlite://{}", env("BENCH_DB")?)).await?,
        })
    }

    /// Starts `n` orders at `concurrency` (every other one waiting for approval unless
    /// `all_auto`) and returns (accepted orders/s, auto-approved workflows completed/s).
    async fn start_run(
        &self,
        prefix: &str,
        n: usize,
        concurrency: usize,
        all_auto: bool,
    ) -> Result<(f64, f64)> {
        let t0 = chrono::Utc::now().timestamp_millis();
        let started = Instant::now();
        let results: Vec<_> = stream::iter(0..n)
            .map(|i| {
                let id = format!("{prefix}-{i}");
                let cost = if all_auto || i % 2 == 0 { 10.0 } else { 2000.0 };
                async move { self.start_order(&id, cost).await }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let elapsed = started.elapsed().as_secs_f64();
        let failures = results.iter().filter(|r| r.is_err()).count();
        if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
            return Err(format!("{failures} starts failed, e.g. {e}").into());
        }
        let autos = if all_auto { n } else { n.div_ceil(2) } as i64;
        let last = self
            .wait_for(prefix, "auto_approved", autos)
            .await?
            .unwrap_or(t0);
        Ok((
            n as f64 / elapsed,
            autos as f64 / ((last - t0).max(1) as f64 / 1000.0),
        ))
    }
}

/// The workload both sides of the overhead comparison run.
const PAIRED_N: usize = 2000;
const PAIRED_CONCURRENCY: usize = 32;
/// Each side first waits and runs this many, untimed, so neither pays for its worker's
/// start-up.
const WARMUP_N: usize = 50;
const SETTLE: Duration = Duration::from_secs(2);
/// A run that takes longer has met a stuck workflow: fail instead of hanging.
const RUN_LIMIT: Duration = Duration::from_secs(300);

async fn within_limit<T>(run: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(RUN_LIMIT, run)
        .await
        .map_err(|_| format!("a run took over {} s", RUN_LIMIT.as_secs()))?
}

/// One run of ours for the overhead comparison: all auto-approved, over HTTP.
async fn auto() -> Result<()> {
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

async fn api() -> Result<()> {
    let api = Api::connect().await?;
    let run = tag();
    let mut md = String::new();
    let mut figures = BTreeMap::new();
    let mut memory =
        String::from("| when | server RSS (MiB) | daprd RSS (MiB) |\n|---|---:|---:|\n");
    memory += &memory_row("idle");

    // 1. Start throughput.
    let n = scaled(2000);
    md += &format!(
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
    memory += &memory_row("after scenario 1");

    // 3. Inbox at scale: top the read model up to 10,000 pending orders.
    let pending_target = scaled(10_000) as i64;
    let (pending_now,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM orders WHERE status = 'awaiting_approval'")
            .fetch_one(&api.db)
            .await?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut tx = api.db.begin().await?;
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
    let cookie = session_cookie(&api).await?;
    let pending = pending_target.max(pending_now);
    let deep_page = (pending / 25).max(1);
    let deep_offset = ((pending / 50) - 1).max(0) * 50;
    md += &format!(
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

    // 2. Decision latency.
    let n = scaled(500);
    md += &format!(
        "\n## 2. Decision latency\n\n{n} orders awaiting approval per run, approved over \
         `POST /signal-approval`, which answers 200 only once the workflow is COMPLETED and its \
         read-model row shows the outcome (so both latencies are this one). Median of {REPS} runs.\n\n\
         | concurrency | approvals/s | p50 (ms) | p95 (ms) | p99 (ms) |\n|---:|---:|---:|---:|---:|\n"
    );
    for concurrency in [1usize, 16] {
        let (mut rates, mut p50s, mut p95s, mut p99s) = (vec![], vec![], vec![], vec![]);
        for rep in 0..REPS {
            let prefix = format!("s2-{run}-c{concurrency}-r{rep}");
            let starts: Vec<_> = stream::iter(0..n)
                .map(|i| {
                    let id = format!("{prefix}-{i}");
                    let api = &api;
                    async move { api.start_order(&id, 5000.0).await }
                })
                .buffer_unordered(32)
                .collect()
                .await;
            for s in starts {
                s?;
            }
            api.wait_for(&prefix, "awaiting_approval", n as i64).await?;
            let started = Instant::now();
            let results: Vec<_> = stream::iter(0..n)
                .map(|i| {
                    let id = format!("po-{prefix}-{i}");
                    let api = &api;
                    async move {
                        let t = Instant::now();
                        let response = api
                            .http
                            .post(format!("{}/signal-approval/{id}", api.base))
                            .bearer_auth(&api.bob)
                            .json(&json!({"approved": true}))
                            .send()
                            .await?;
                        if response.status().as_u16() != 200 {
                            return Err::<Duration, Error>(
                                format!("approve {id}: {}", response.status()).into(),
                            );
                        }
                        Ok(t.elapsed())
                    }
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
    memory += &memory_row("after scenario 2");
    md += &format!("\n## 4. Memory\n\n{memory}");

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

async fn session_cookie(api: &Api) -> Result<String> {
    let password = std::env::var("BENCH_BOB_PASSWORD").unwrap_or_else(|_| "approvals-demo".into());
    let response = api
        .http
        .post(format!("{}/api/login", api.base))
        .form(&[("username", "bob"), ("password", password.as_str())])
        .send()
        .await?;
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("approvals_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| "signing in as bob gave no session cookie".into())
}

/// One run of scenario 6: the workflow alone, through the Dapr client and worker in
/// this process.
async fn bare() -> Result<()> {
    use dapr::workflow::WorkflowClient;
    let endpoint = env("DAPR_GRPC_ENDPOINT")?;
    let mut client = WorkflowClient::new_with_address(endpoint).await?;
    // Auto-approved orders run no activity; the activities still need a database to be
    // registered, so an empty in-memory one will do.
    let db = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    server::workflow::register(&mut client, db);
    let worker = client.start_worker().await?;
    let scheduler = client.scheduling_client();
    let run = tag();
    // Untimed: the worker is still joining daprd's placement.
    tokio::time::sleep(SETTLE).await;
    let warmup = format!("bare-warmup-{run}");
    within_limit(bare_batch(&scheduler, &warmup, scaled(WARMUP_N))).await?;
    let n = scaled(PAIRED_N);
    let started = Instant::now();
    within_limit(bare_batch(&scheduler, &format!("bare-{run}"), n)).await?;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let _ = worker.shutdown().await;
    append_paired("bare", rate)?;
    println!("bare: {rate:.0} workflows/s");
    Ok(())
}

/// Schedules `n` auto-approved workflows at the paired concurrency and awaits them all.
async fn bare_batch(
    scheduler: &dapr::workflow::WorkflowSchedulingClient,
    prefix: &str,
    n: usize,
) -> Result<()> {
    use dapr::workflow::{FetchOptions, ScheduleOptions};
    let results: Vec<_> = stream::iter(0..n)
        .map(|i| {
            let mut s = scheduler.clone();
            let id = format!("{prefix}-{i}");
            async move {
                let input = app::backend::workflow_types::WorkflowOrder {
                    order_id: id.clone(),
                    cost: 10.0,
                    product: "Bench widget".into(),
                    quantity: 1,
                    approval_timeout_ms: None,
                    requested_by: None,
                };
                s.schedule_workflow(
                    app::backend::workflow_types::WORKFLOW_NAME,
                    ScheduleOptions::new()
                        .with_instance_id(id.clone())
                        .try_with_input(input)?,
                )
                .await?;
                s.wait_for_workflow_completion_with_options(
                    &id,
                    FetchOptions::new(),
                    Some(Duration::from_secs(120)),
                )
                .await?;
                Ok::<(), Error>(())
            }
        })
        .buffer_unordered(PAIRED_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

fn read_json(path: PathBuf) -> Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

fn report() -> Result<()> {
    let dir = out_dir();
    let api = read_json(dir.join("api.json"));
    let get = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
    let wasm_raw: f64 = env("WASM_RAW_BYTES")?.parse()?;
    let wasm_gzip: f64 = env("WASM_GZIP_BYTES")?.parse()?;
    let mut md = format!(
        "# Benchmarks\n\n- date: {}\n- commit: {}\n- machine: {}\n- Dapr: {}\n- scale: {} \
         (`BENCH_SCALE`)\n- how: `make bench` (release build, real daprd, fresh data dir)\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::env::var("BENCH_COMMIT").unwrap_or_default(),
        std::env::var("BENCH_MACHINE").unwrap_or_default(),
        std::env::var("BENCH_DAPR").unwrap_or_default(),
        scale()
    );
    md += &std::fs::read_to_string(dir.join("api.md")).unwrap_or_default();
    md += &format!(
        "\n## 5. WASM\n\nRelease bundle `approvals.wasm`: {:.1} KiB raw, **{:.1} KiB gzip** (gzip -9).\n",
        wasm_raw / 1024.0,
        wasm_gzip / 1024.0
    );
    let paired = read_json(dir.join("paired.json"));
    let runs = |side: &str| -> Vec<f64> {
        paired
            .get(side)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let (ours, bare) = (runs("ours"), runs("bare"));
    let mut ratios: Vec<f64> = ours.iter().zip(&bare).map(|(o, b)| o / b).collect();
    md += &format!(
        "\n## 6. The limit: the workflow alone\n\n{} auto-approved orders per run, concurrency \
         {PAIRED_CONCURRENCY}, in rounds: first ours (over HTTP, into the read model, until every row \
         shows the outcome), then, with our server stopped, the same workflows scheduled and awaited \
         straight through the Dapr workflow client and worker in one process (no HTTP, no read \
         model), against the same daprd.\n\n| round | ours (workflows/s) | bare (workflows/s) | ours / bare |\n|---:|---:|---:|---:|\n",
        scaled(PAIRED_N)
    );
    for (round, ((o, b), r)) in ours.iter().zip(&bare).zip(&ratios).enumerate() {
        md += &format!("| {} | {o:.0} | {b:.0} | {:.0}% |\n", round + 1, r * 100.0);
    }
    let mark = |ok: bool| if ok { "met" } else { "missed" };
    md += "\n## Targets\n\n| target | measured | |\n|---|---:|---|\n";
    if !ratios.is_empty() {
        let ratio = median(&mut ratios);
        md += &format!(
            "| end-to-end ≥ 90% of the bare workflow rate (all auto-approved, concurrency 32; median of the rounds) | {:.0}% ({:.0} vs {:.0} workflows/s) | {} |\n",
            ratio * 100.0,
            median(&mut ours.clone()),
            median(&mut bare.clone()),
            mark(ratio >= 0.9)
        );
    }
    if let Some(p50) = get(&api, "approve_c1_p50_ms") {
        md += &format!(
            "| approve → COMPLETED p50 ≤ 150 ms (concurrency 1) | {p50:.1} ms | {} |\n",
            mark(p50 <= 150.0)
        );
    }
    for (key, label) in [
        (
            "inbox_ssr_p50_ms",
            "SSR inbox p50 ≤ 10 ms at 10,000 pending",
        ),
        (
            "inbox_api_p50_ms",
            "`/api/orders` p50 ≤ 10 ms at 10,000 pending",
        ),
    ] {
        if let Some(p50) = get(&api, key) {
            md += &format!("| {label} | {p50:.1} ms | {} |\n", mark(p50 <= 10.0));
        }
    }
    md += &format!(
        "| release WASM ≤ 250 KiB gzip | {:.1} KiB | {} |\n",
        wasm_gzip / 1024.0,
        mark(wasm_gzip <= 250.0 * 1024.0)
    );
    if let Some(rss) = get(&api, "server_rss_pending_mib") {
        md += &format!(
            "| server RSS ≤ 80 MiB with 10,000 pending (5 s after the inbox load) | {rss:.1} MiB | {} |\n",
            mark(rss <= 80.0)
        );
    }
    let target =
        PathBuf::from(std::env::var("BENCH_REPORT").unwrap_or_else(|_| "BENCHMARKS.md".into()));
    std::fs::write(&target, &md)?;
    println!("{md}");
    Ok(())
}
