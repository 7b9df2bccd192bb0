//! Prometheus metrics at `/metrics`, on a listener of its own (`METRICS_ADDR`): the
//! app's port faces people and the Internet, the metrics port faces the cluster's
//! scraper only, so nothing about our load is published to the world and no sign-in is
//! needed to scrape. What is counted is defined in `backend::kernel::metrics`.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use backend::kernel::metrics::DECISION_SECONDS;
use backend::{kernel::clock, store::db::Db, store::read_model};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Decision answers: most in tens of milliseconds, a slow sidecar up to its deadlines.
const DECISION_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// The read model's share of a scrape; past it the gauges keep their last values.
const SUMMARY_DEADLINE: Duration = Duration::from_secs(2);

/// Installs the Prometheus recorder for the whole process (once, at start-up).
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(DECISION_SECONDS.into()), DECISION_BUCKETS)?
        .install_recorder()?;
    backend::kernel::metrics::describe();
    Ok(handle)
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    db: Db,
}

/// The metrics listener's routes: `GET /metrics` only.
pub fn router(handle: PrometheusHandle, db: Db) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(Scrape { handle, db })
}

async fn metrics(State(scrape): State<Scrape>) -> impl IntoResponse {
    // The waiting orders are the read model's to say: asked at each scrape (two index
    // counts) rather than kept in step with every write.
    match tokio::time::timeout(SUMMARY_DEADLINE, read_model::waiting_summary(&scrape.db)).await {
        Ok(Ok(summary)) => {
            let now = clock::now_ms();
            let oldest = summary
                .oldest_since
                .map_or(0, |since| u64::try_from(now - since).unwrap_or(0));
            backend::kernel::metrics::waiting(
                summary.waiting,
                Duration::from_millis(oldest),
                summary.needing_attention,
            );
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: reading the waiting orders"),
        Err(_) => {
            tracing::warn!("metrics: the read model did not answer within {SUMMARY_DEADLINE:?}")
        }
    }
    scrape.handle.run_upkeep();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        scrape.handle.render(),
    )
}
