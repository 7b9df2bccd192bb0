//! `bench report`: puts what `bench api` and the paired rounds wrote together with the
//! WASM size into `BENCHMARKS.md` (or `BENCH_REPORT`), ending with the targets and
//! whether each was met.

use std::path::PathBuf;

use serde_json::Value;

use crate::scenarios::paired::{PAIRED_CONCURRENCY, PAIRED_N};
use crate::scenarios::replicas::{APPROVE_CONCURRENCY, APPROVE_N, REPLICAS_N};
use crate::stats::median;
use crate::{env, out_dir, read_json, scale, scaled, Result};

pub fn write() -> Result<()> {
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
         model), against the same daprd. Our server and the bare process run at the same CPU \
         priority beside daprd (nice {}, as `make run` starts the server).\n\n| round | ours (workflows/s) | bare (workflows/s) | ours / bare |\n|---:|---:|---:|---:|\n",
        scaled(PAIRED_N),
        std::env::var("BENCH_APP_NICE").unwrap_or_else(|_| "0".into())
    );
    for (round, ((o, b), r)) in ours.iter().zip(&bare).zip(&ratios).enumerate() {
        md += &format!("| {} | {o:.0} | {b:.0} | {:.0}% |\n", round + 1, r * 100.0);
    }
    let (mut p50s, mut p95s, mut p99s) = (
        runs("bare_schedule_p50_ms"),
        runs("bare_schedule_p95_ms"),
        runs("bare_schedule_p99_ms"),
    );
    if !p50s.is_empty() {
        md += &format!(
            "\nThe schedule call alone, in the bare rounds (no app in front; median over the \
             rounds): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms. Compare the `dapr` part of a \
             start in section 7.\n",
            median(&mut p50s),
            median(&mut p95s),
            median(&mut p99s)
        );
    }
    md += &replicas_section();
    let (decisions, decision_targets) = decisions_section();
    md += &decisions;
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
    if let (Some(bearer), Some(basic)) = (
        get(&api, "clients_bearer_rate"),
        get(&api, "clients_basic_rate"),
    ) {
        md += &format!(
            "| Basic-auth client ≥ 90% of the API-token rate (concurrency 32) | {:.0}% ({basic:.0} vs {bearer:.0} workflows/s) | {} |\n",
            basic / bearer * 100.0,
            mark(basic >= 0.9 * bearer)
        );
    }
    for (key, label) in [
        ("bearer", "API token"),
        ("basic", "Basic auth"),
        ("status", "polling `/status`"),
    ] {
        if let (Some(p50), Some(p95)) = (
            get(&api, &format!("clients_{key}_p50_ms")),
            get(&api, &format!("clients_{key}_p95_ms")),
        ) {
            md += &format!(
                "| {label}: p95 ≤ 3 × p50 (concurrency 32) | {p95:.0} / {p50:.0} ms = {:.1}× | {} |\n",
                p95 / p50.max(0.001),
                mark(p95 <= 3.0 * p50)
            );
        }
        if let Some(rss) = get(&api, &format!("clients_{key}_rss_mib")) {
            md += &format!(
                "| {label}: server RSS ≤ 80 MiB after the runs | {rss:.1} MiB | {} |\n",
                mark(rss <= 80.0)
            );
        }
    }
    md += &decision_targets;
    let target =
        PathBuf::from(std::env::var("BENCH_REPORT").unwrap_or_else(|_| "BENCHMARKS.md".into()));
    std::fs::write(&target, &md)?;
    println!("{md}");
    Ok(())
}

/// Section 9 and its rows of the targets, from `decisions.json` (empty when the
/// decision path was not measured).
fn decisions_section() -> (String, String) {
    use crate::scenarios::decisions::{orders_at, CONCURRENCIES};
    let all = read_json(out_dir().join("decisions.json"));
    if !all.is_object() {
        return (String::new(), String::new());
    }
    let runs = |c: usize, key: &str| -> Vec<f64> {
        all.get(format!("c{c}"))
            .and_then(|at| at.get(key))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let mut md = format!(
        "\n## 9. The decision path against its own limit\n\nAn order that needs approval, from \
         its start to a confirmed approval, in rounds at each concurrency: first ours (started \
         over `POST /start-purchase-order`, watched in the read model until it waits, approved \
         over `POST /signal-approval`, which answers once the workflow is COMPLETED and the row \
         shows it), then, with our server stopped, the same workflow through the Dapr workflow \
         client and worker in one process (scheduled, watched until its approval-request \
         activity has recorded that it waits, the event raised straight into daprd, awaited to \
         completion). Both watch every 10 ms. {} orders a run at concurrency 1, {} at 16 and 64; \
         the median of the rounds; p50 and p95 of one order's whole path. An approval that \
         arrives before the workflow's turn that asked for it has ended waits about a second \
         in daprd (ARCHITECTURE.md, \"Deciding exactly once\"); the bare side raises its event \
         sooner after the ask than ours, so it meets that second more often and is then no \
         upper bound: read the rates with the p50s.\n\n\
         | concurrency | ours (orders/s) | bare (orders/s) | ours / bare | ours p50 (ms) | ours p95 (ms) | p95 / p50 | bare p50 (ms) | bare p95 (ms) |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        orders_at(1),
        orders_at(16)
    );
    let mut targets = String::new();
    let mark = |ok: bool| if ok { "met" } else { "missed" };
    for c in CONCURRENCIES {
        let (ours, bare) = (runs(c, "ours"), runs(c, "bare"));
        if ours.is_empty() || bare.is_empty() {
            continue;
        }
        let mut ratios: Vec<f64> = ours.iter().zip(&bare).map(|(o, b)| o / b).collect();
        let ratio = median(&mut ratios);
        let [o, b, op50, op95, bp50, bp95] = [
            "ours",
            "bare",
            "ours_p50_ms",
            "ours_p95_ms",
            "bare_p50_ms",
            "bare_p95_ms",
        ]
        .map(|key| median(&mut runs(c, key)));
        md += &format!(
            "| {c} | {o:.0} | {b:.0} | {:.0}% | {op50:.1} | {op95:.1} | {:.1}× | {bp50:.1} | {bp95:.1} |\n",
            ratio * 100.0,
            op95 / op50.max(0.001)
        );
        if c == 16 {
            targets += &format!(
                "| decision path ≥ 90% of the bare rate (concurrency 16; median of the rounds) | {:.0}% ({o:.0} vs {b:.0} orders/s) | {} |\n\
                 | decision path p95 ≤ 3 × p50 (concurrency 16) | {op95:.0} / {op50:.0} ms = {:.1}× | {} |\n",
                ratio * 100.0,
                mark(ratio >= 0.9),
                op95 / op50.max(0.001),
                mark(op95 <= 3.0 * op50)
            );
        }
    }
    md += "\nWhere an approval's time goes in ours (`POST /signal-approval`'s `Server-Timing`: \
           `auth` checking the token, `db` the read model, `dapr` raising the event and \
           awaiting the outcome, `total` the whole request inside the server), over every \
           round:\n\n| concurrency | part | p50 (ms) | p95 (ms) | p99 (ms) |\n|---:|---|---:|---:|---:|\n";
    for c in CONCURRENCIES {
        let Some(at) = all.get(format!("c{c}")).and_then(Value::as_object) else {
            continue;
        };
        for (key, samples) in at.iter().filter(|(k, _)| k.starts_with("timing_")) {
            let mut samples: Vec<std::time::Duration> = samples
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_f64)
                        .map(|ms| std::time::Duration::from_secs_f64(ms / 1000.0))
                        .collect()
                })
                .unwrap_or_default();
            let [p50, p95, p99] = [50.0, 95.0, 99.0]
                .map(|p| crate::stats::ms(crate::stats::percentile(&mut samples, p)));
            md += &format!(
                "| {c} | {} | {p50:.1} | {p95:.1} | {p99:.1} |\n",
                key.trim_start_matches("timing_")
            );
        }
    }
    (md, targets)
}

/// Section 8, from `replicas.json` (empty when no cluster was measured).
fn replicas_section() -> String {
    let runs = read_json(out_dir().join("replicas.json"));
    let Some(runs) = runs.as_object().filter(|r| !r.is_empty()) else {
        return String::new();
    };
    let mut md = format!(
        "\n## 8. Replicas\n\nThe same app id on a cluster of one replica and of two \
         (`scripts/cluster.sh`: one placement and scheduler, a daprd + server per replica, \
         Dapr's state and the read model in one PostgreSQL), each request sent to the replicas in \
         turn. {} auto-approved orders at concurrency {PAIRED_CONCURRENCY}, from the first \
         start to the last outcome; then {} orders approved at concurrency \
         {APPROVE_CONCURRENCY} (`/signal-approval` answers once the workflow is COMPLETED). \
         One run each. On this machine every replica shares the same cores, so a second \
         replica adds coordination, not capacity. The first row is the same load on the \
         single-node stack of `make run` (SQLite for the read model and Dapr's state), \
         measured in the same run.\n\n\
         | stack | workflows/s | approve p50 (ms) | p95 (ms) | p99 (ms) |\n|---|---:|---:|---:|---:|\n",
        scaled(REPLICAS_N),
        scaled(APPROVE_N)
    );
    // The single node first, then the clusters by size.
    let mut sizes: Vec<(&String, &Value)> = runs.iter().collect();
    sizes.sort_by_key(|(k, _)| k.parse::<u32>().unwrap_or(0));
    for (key, figures) in sizes {
        let f = |k: &str| figures.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        let stack = match key.parse::<u32>() {
            Ok(1) => "1 replica, PostgreSQL".to_owned(),
            Ok(n) => format!("{n} replicas, PostgreSQL"),
            Err(_) => "single node, SQLite".to_owned(),
        };
        md += &format!(
            "| {stack} | {:.0} | {:.1} | {:.1} | {:.1} |\n",
            f("workflows_per_s"),
            f("approve_p50_ms"),
            f("approve_p95_ms"),
            f("approve_p99_ms")
        );
    }
    md
}
