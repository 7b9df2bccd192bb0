//! Settings from the environment, checked once at start-up.

use std::time::Duration;

pub struct Config {
    /// `DATABASE_URL`; SQLite file under `./data/` by default.
    pub database_url: String,
    /// gRPC address of the Dapr sidecar (`DAPR_GRPC_ENDPOINT`, or `DAPR_GRPC_PORT` on
    /// 127.0.0.1).
    pub dapr_grpc_endpoint: String,
    /// `APPROVAL_TIMEOUT` (`30s`, `24h`, …): how long a manager has to decide.
    pub approval_timeout: Duration,
    /// `RECONCILE_INTERVAL`: how often unfinished orders are compared with Dapr.
    pub reconcile_interval: Duration,
    /// `APP_DEMO_USERS=1`: create demo accounts in an empty database.
    pub demo_users: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ConfigError {
    name: &'static str,
    message: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn duration(name: &'static str, default: &str) -> Result<Duration, ConfigError> {
    let raw = var(name).unwrap_or_else(|| default.to_owned());
    let parsed = humantime::parse_duration(raw.trim()).map_err(|e| ConfigError {
        name,
        message: format!("{raw:?} is not a duration like 30s, 15m or 24h ({e})"),
    })?;
    if parsed.is_zero() {
        return Err(ConfigError {
            name,
            message: "must be longer than zero".into(),
        });
    }
    Ok(parsed)
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let dapr_grpc_endpoint = match (var("DAPR_GRPC_ENDPOINT"), var("DAPR_GRPC_PORT")) {
            (Some(endpoint), _) => endpoint,
            (None, Some(port)) => {
                let port: u16 = port.parse().map_err(|_| ConfigError {
                    name: "DAPR_GRPC_PORT",
                    message: format!("{port:?} is not a port number"),
                })?;
                format!("http://127.0.0.1:{port}")
            }
            (None, None) => "http://127.0.0.1:50001".to_owned(),
        };
        Ok(Self {
            database_url: var("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://data/approvals.db".to_owned()),
            dapr_grpc_endpoint,
            approval_timeout: duration("APPROVAL_TIMEOUT", "24h")?,
            reconcile_interval: duration("RECONCILE_INTERVAL", "30s")?,
            demo_users: var("APP_DEMO_USERS").is_some_and(|v| v == "1" || v == "true"),
        })
    }
}
