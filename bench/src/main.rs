//! Load generator for Approvals. `scripts/bench.sh` starts the stack and runs:
//!
//! - `bench api`: scenarios 1–4 against the running server (JSON API, SSR inbox) and
//!   its read model; writes `target/bench/api.md` and `api.json`.
//! - then three rounds of `bench auto` (our end-to-end rate: all auto-approved orders
//!   over HTTP, concurrency 32) and `bench bare` (scenario 6: the same workflows driven
//!   straight through the Dapr workflow client and worker in this process, no HTTP, no
//!   read model, with our server stopped). Each appends one run to `paired.json`;
//!   alternating them lets both see the same machine and the same daprd state.
//! - then `bench decide C` and `bench bare-decide C` (section 9: the decision path, an
//!   order that needs approval from start to confirmed approval, ours and bare) in
//!   rounds at concurrency 1, 16 and 64; each appends to `decisions.json`.
//! - then `bench replicas` against a cluster of one replica and one of two
//!   (`scripts/cluster.sh`), for section 8.
//! - `bench report`: puts everything together in `BENCHMARKS.md`.
//!
//! `bench chaos` is the chaos suite's load and verdict (`scripts/chaos.sh`).
//!
//! `BENCH_SCALE` (default 1) multiplies every N. Every figure is a median of three runs.
//!
//! This file holds the modes and what they all read from the environment;
//! [`client`] talks to the running server and its read model, [`scenarios`] measures,
//! and [`report`] writes the result.

mod chaos;
mod client;
mod report;
mod scenarios;
mod stats;

use std::path::PathBuf;

use serde_json::Value;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;

#[tokio::main]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let result = match mode.as_str() {
        "api" => scenarios::api::run().await,
        "auto" => scenarios::paired::auto().await,
        "bare" => scenarios::paired::bare().await,
        "decide" => scenarios::decisions::ours().await,
        "bare-decide" => scenarios::decisions::bare().await,
        "replicas" => scenarios::replicas::run().await,
        "report" => report::write(),
        "chaos" => chaos::run().await,
        _ => Err("usage: bench api|auto|bare|decide C|bare-decide C|replicas|report|chaos".into()),
    };
    if let Err(e) = result {
        eprintln!("bench {mode}: {e}");
        std::process::exit(1);
    }
}

/// A variable `scripts/bench.sh` sets; the bench cannot run without it.
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

/// Tells one invocation's orders from every earlier one's in the same read model.
fn tag() -> String {
    format!("{:x}", chrono::Utc::now().timestamp_millis())
}

/// A JSON file an earlier mode wrote; `Null` when it is missing or unreadable, so a
/// report still comes out with the sections that were measured.
fn read_json(path: PathBuf) -> Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}
