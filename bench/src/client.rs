//! The running server as the bench sees it: its HTTP API, signed in as the demo
//! requester and manager, and its read model, read directly to know when workflows
//! have finished without asking the server being measured.

use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde_json::json;

use crate::{env, Result};

/// How a client proves who it is on every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// An API token (`Authorization: Bearer …`).
    Bearer,
    /// Name and password on every call, as the README's `curl -u` and the seed's
    /// clients do.
    Basic,
}

/// A `Server-Timing` header: milliseconds by part name.
pub type ServerTiming = std::collections::BTreeMap<String, f64>;

/// `auth;dur=0.31, db;dur=1.20` → {auth: 0.31, db: 1.20}.
fn parse_server_timing(header: &str) -> ServerTiming {
    header
        .split(',')
        .filter_map(|entry| {
            let (name, rest) = entry.trim().split_once(';')?;
            let ms = rest.trim().strip_prefix("dur=")?.parse().ok()?;
            Some((name.to_owned(), ms))
        })
        .collect()
}

/// An answer's `Server-Timing` (empty when the server sends none).
fn timing_of(response: &reqwest::Response) -> ServerTiming {
    response
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .map(parse_server_timing)
        .unwrap_or_default()
}

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    /// Every replica's address when the load is spread over a cluster
    /// (`BENCH_BASE_URLS`, comma-separated); otherwise just `base`.
    pub bases: Vec<String>,
    alice: String,
    pub bob: String,
    pub db: ReadModel,
}

impl Api {
    pub async fn connect() -> Result<Self> {
        let base = env("BENCH_BASE_URL")?;
        let bases: Vec<String> = std::env::var("BENCH_BASE_URLS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Api {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()?,
            bases: if bases.is_empty() {
                vec![base.clone()]
            } else {
                bases
            },
            base,
            alice: env("BENCH_ALICE_TOKEN")?,
            bob: env("BENCH_BOB_TOKEN")?,
            db: connect(&env("BENCH_DATABASE_URL")?).await?,
        })
    }

    /// The replica the `i`-th request goes to: each in turn, as a load balancer would.
    pub fn base_for(&self, i: usize) -> &str {
        &self.bases[i % self.bases.len()]
    }

    /// Starts an order through the server at `base`.
    pub async fn start_order_at(&self, base: &str, order_id: &str, cost: f64) -> Result<Duration> {
        Ok(self
            .start_timed_at(base, Auth::Bearer, order_id, cost)
            .await?
            .0)
    }

    /// Approves one order as bob through the server at `base`; returns how long it took
    /// to answer 200 (which it does once the workflow is COMPLETED).
    pub async fn approve_at(&self, base: &str, instance_id: &str) -> Result<Duration> {
        Ok(self.approve_timed_at(base, instance_id).await?.0)
    }

    /// [`approve_at`](Self::approve_at), with the server's own account of its parts
    /// (`Server-Timing`).
    pub async fn approve_timed_at(
        &self,
        base: &str,
        instance_id: &str,
    ) -> Result<(Duration, ServerTiming)> {
        let t = Instant::now();
        let response = self
            .http
            .post(format!("{base}/signal-approval/{instance_id}"))
            .bearer_auth(&self.bob)
            .json(&json!({"approved": true}))
            .send()
            .await?;
        if response.status().as_u16() != 200 {
            return Err(format!("approve {instance_id}: {}", response.status()).into());
        }
        Ok((t.elapsed(), timing_of(&response)))
    }

    /// Polls the read model every `every` until order `order_id` has `status`.
    pub async fn wait_until(&self, order_id: &str, status: &str, every: Duration) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let now: Option<(String,)> = match &self.db {
                ReadModel::Sqlite(db) => {
                    sqlx::query_as("SELECT status FROM orders WHERE order_id = ?")
                        .bind(order_id)
                        .fetch_optional(db)
                        .await?
                }
                ReadModel::Postgres(db) => {
                    sqlx::query_as("SELECT status FROM orders WHERE order_id = $1")
                        .bind(order_id)
                        .fetch_optional(db)
                        .await?
                }
            };
            if now.is_some_and(|(s,)| s == status) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{order_id} did not reach {status} within 120 s").into());
            }
            tokio::time::sleep(every).await;
        }
    }

    /// A request as alice, authenticated the way `auth` says.
    fn as_alice(&self, auth: Auth, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match auth {
            Auth::Bearer => request.bearer_auth(&self.alice),
            Auth::Basic => {
                let password = std::env::var("BENCH_ALICE_PASSWORD")
                    .unwrap_or_else(|_| "approvals-demo".into());
                request.basic_auth("alice", Some(password))
            }
        }
    }

    /// Polls `GET /status/{id}` (as a seed client waits for an outcome) until the
    /// workflow is COMPLETED.
    pub async fn poll_until_completed(&self, auth: Auth, instance_id: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let request = self.http.get(format!("{}/status/{instance_id}", self.base));
            let response = self.as_alice(auth, request).send().await?;
            if response.status().is_success() {
                let state: serde_json::Value = response.json().await?;
                if state["runtime_status"] == "COMPLETED" {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{instance_id} not COMPLETED within 120 s").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts an order; returns how long it took here and the server's own account of
    /// its parts (its `Server-Timing` header, in ms by part name; empty when the server
    /// does not send one).
    pub async fn start_order_timed(
        &self,
        auth: Auth,
        order_id: &str,
        cost: f64,
    ) -> Result<(Duration, ServerTiming)> {
        self.start_timed_at(&self.base, auth, order_id, cost).await
    }

    async fn start_timed_at(
        &self,
        base: &str,
        auth: Auth,
        order_id: &str,
        cost: f64,
    ) -> Result<(Duration, ServerTiming)> {
        let started = Instant::now();
        let request = self.http.post(format!("{base}/start-purchase-order"));
        let response = self
            .as_alice(auth, request)
            .json(&json!({"order_id": order_id, "cost": cost, "product": "Bench widget", "quantity": 1}))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("start {order_id}: {}", response.status()).into());
        }
        Ok((started.elapsed(), timing_of(&response)))
    }

    /// How many orders of one run (order ids starting `prefix-`) have `status`, and
    /// when the last of them changed. A range on the order id index touches only the
    /// run's rows: this query competes for the machine with what is being measured.
    async fn count(&self, prefix: &str, status: &str) -> Result<(i64, Option<i64>)> {
        // '.' follows '-': the range holds exactly the ids starting with `prefix-`.
        let (from, to) = (format!("{prefix}-"), format!("{prefix}."));
        Ok(match &self.db {
            // `+status` keeps SQLite on the order id index.
            ReadModel::Sqlite(db) => {
                sqlx::query_as(
                    "SELECT COUNT(*), MAX(COALESCE(decided_at, updated_at)) FROM orders
                      WHERE order_id >= ? AND order_id < ? AND +status = ?",
                )
                .bind(from)
                .bind(to)
                .bind(status)
                .fetch_one(db)
                .await?
            }
            ReadModel::Postgres(db) => {
                sqlx::query_as(
                    "SELECT COUNT(*), MAX(COALESCE(decided_at, updated_at)) FROM orders
                      WHERE order_id >= $1 AND order_id < $2 AND status = $3",
                )
                .bind(from)
                .bind(to)
                .bind(status)
                .fetch_one(db)
                .await?
            }
        })
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

    /// Starts `n` orders at `concurrency`, through the replicas in turn (every other one
    /// waiting for approval unless `all_auto`) and returns (accepted orders/s, auto-approved workflows completed/s).
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
                async move { self.start_order_at(self.base_for(i), &id, cost).await }
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

    /// Starts `n` orders that wait for approval (order ids `prefix-0` …), 32 at a time,
    /// and waits until the read model shows every one waiting.
    pub async fn start_waiting(&self, prefix: &str, n: usize) -> Result<()> {
        let starts: Vec<_> = stream::iter(0..n)
            .map(|i| {
                let id = format!("{prefix}-{i}");
                async move { self.start_order_at(self.base_for(i), &id, 5000.0).await }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        for s in starts {
            s?;
        }
        self.wait_for(prefix, "awaiting_approval", n as i64).await?;
        Ok(())
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

/// The read model the server writes (`BENCH_DATABASE_URL`), as the harness reads it
/// behind the server's back: to see orders settle, and to fill an inbox faster than
/// workflows would. The harness's own statements, not the product's, so not through
/// the backend's store.
pub enum ReadModel {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Opens the read model without migrating it: the server has.
async fn connect(url: &str) -> Result<ReadModel> {
    Ok(if backend::store::db::is_postgres(url) {
        ReadModel::Postgres(backend::store::db::connect_postgres(url).await?)
    } else {
        ReadModel::Sqlite(backend::store::db::connect(url).await?)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_server_timing_header() {
        let parsed = super::parse_server_timing("auth;dur=0.31, db;dur=1.20, total;dur=9");
        assert_eq!(parsed.get("auth"), Some(&0.31));
        assert_eq!(parsed.get("total"), Some(&9.0));
        assert_eq!(parsed.len(), 3);
    }
}
