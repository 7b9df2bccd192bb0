//! The running server as the bench sees it: its HTTP API, signed in as the demo
//! requester and manager, and its read model, read directly to know when workflows
//! have finished without asking the server being measured.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::json;

use crate::{env, Result};

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    alice: String,
    pub bob: String,
    pub db: sqlx::SqlitePool,
}

impl Api {
    pub async fn connect() -> Result<Self> {
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

    pub async fn start_order(&self, order_id: &str, cost: f64) -> Result<Duration> {
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
    pub async fn wait_for(&self, prefix: &str, status: &str, n: i64) -> Result<Option<i64>> {
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

    /// GETs `path` with the session `cookie` (a page), or else as bob with his token
    /// (the JSON API); returns the latency and the size of the body.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Result<(Duration, usize)> {
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

    /// Starts `n` orders at `concurrency` (every other one waiting for approval unless
    /// `all_auto`) and returns (accepted orders/s, auto-approved workflows completed/s).
    pub async fn start_run(
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

    /// Signs in as bob through the sign-in form, for the pages (which take no token).
    pub async fn session_cookie(&self) -> Result<String> {
        let password =
            std::env::var("BENCH_BOB_PASSWORD").unwrap_or_else(|_| "approvals-demo".into());
        let response = self
            .http
            .post(format!("{}/api/login", self.base))
            // As the sign-in page itself posts it: the server takes sign-ins only from
            // its own origin.
            .header("origin", &self.base)
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
}
