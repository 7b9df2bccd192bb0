//! Settings from the environment, checked once at start-up.

use std::time::Duration;

use backend::rules::approval_policy::ApprovalPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoUsers {
    No,
    /// Only while the app listens on a loopback address: nobody else can reach them.
    OnLoopback,
    Forced,
}

pub struct Config {
    /// `DATABASE_URL`; SQLite file under `./data/` by default.
    pub database_url: String,
    /// gRPC address of the Dapr sidecar (`DAPR_GRPC_ENDPOINT`, or `DAPR_GRPC_PORT` on
    /// 127.0.0.1).
    pub dapr_grpc_endpoint: String,
    /// `DAPR_API_TOKEN`: the token daprd demands on its API (the scripts make one per
    /// data directory). Unset: daprd is called without one.
    pub dapr_api_token: Option<String>,
    /// `APPROVAL_TIMEOUT` (`30s`, `24h`, …): how long a manager has to decide.
    pub approval_timeout: Duration,
    /// `APPROVAL_POLICY`: a file of approval levels by amount (see
    /// `approval-policy.example.toml`). Unset: the seed's rule.
    pub approval_policy: Option<ApprovalPolicy>,
    /// `RECONCILE_INTERVAL`: how often unfinished orders are compared with Dapr.
    pub reconcile_interval: Duration,
    /// `REPLICA_ID`: this replica among those sharing the database (who holds the
    /// reconciler's lease). Default: the host name and listen address, which a
    /// restarted replica keeps, so it takes its own lease back at once.
    pub replica_id: Option<String>,
    /// `DAPR_CALL_TIMEOUT`: the longest any one call to the Dapr sidecar may take.
    pub dapr_call_timeout: Duration,
    /// `APP_DEMO_USERS`: create the demo accounts (public password) in an empty
    /// database — `1` only when listening on a loopback address, `force` anywhere.
    pub demo_users: DemoUsers,
    /// `APP_PUBLIC_URL` (`https://approvals.example.com`): the origin browsers reach
    /// the app at, behind a proxy or TLS terminator. Default: the listen address.
    pub public_url: Option<String>,
    /// `APP_SERVER_TIMING=1`: answer with a `Server-Timing` header (for the bench).
    pub server_timing: bool,
    /// `METRICS_ADDR` (`127.0.0.1:9464`): serve Prometheus metrics at `/metrics` on a
    /// listener of its own. Unset: nothing is recorded or served.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// `NOTIFY_EMAIL_BINDING`: the Dapr `bindings.smtp` component e-mails go through
    /// (`dapr/start-sidecar.sh` makes `notify-email` when `SMTP_HOST` is set). Unset: no
    /// e-mail.
    pub email_binding: Option<String>,
    /// `NOTIFY_WEBHOOK_BINDING` and `WEBHOOK_SECRET`: the Dapr `bindings.http` component
    /// outcome events go through, and the key they are signed with. Unset: no webhook.
    pub webhook: Option<(String, Vec<u8>)>,
}

impl Config {
    /// Which notifications are on.
    pub fn notify(&self) -> backend::notify::Channels {
        backend::notify::Channels {
            email: self.email_binding.is_some(),
            webhook: self.webhook.is_some(),
        }
    }
}

/// `LOG_FORMAT`: how log lines are written. Read before anything else (the logger
/// comes first), so apart from [`Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line, with the fields of the spans it happened in (an
    /// order's `instance_id` among them), for a log pipeline.
    Json,
}

impl LogFormat {
    pub fn from_env() -> Result<Self, ConfigError> {
        match var("LOG_FORMAT").as_deref() {
            None | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(ConfigError {
                name: "LOG_FORMAT",
                message: format!("{other:?}: use text or json"),
            }),
        }
    }
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
        if let Some(faults) = var(backend::kernel::fault::VARIABLE) {
            let armed =
                backend::kernel::fault::parse_list(&faults).map_err(|message| ConfigError {
                    name: backend::kernel::fault::VARIABLE,
                    message,
                })?;
            if !armed.is_empty() {
                tracing::warn!(faults = %faults, "test faults are armed: for tests only");
            }
        }
        let approval_timeout = duration("APPROVAL_TIMEOUT", "24h")?;
        let approval_policy = match var("APPROVAL_POLICY") {
            None => None,
            Some(path) => Some(
                ApprovalPolicy::load(std::path::Path::new(path.trim()), approval_timeout).map_err(
                    |e| ConfigError {
                        name: "APPROVAL_POLICY",
                        message: e.to_string(),
                    },
                )?,
            ),
        };
        let webhook = match (var("NOTIFY_WEBHOOK_BINDING"), var("WEBHOOK_SECRET")) {
            (None, _) => None,
            (Some(binding), Some(secret)) if secret.trim().len() >= 16 => {
                Some((binding.trim().to_owned(), secret.trim().as_bytes().to_vec()))
            }
            (Some(_), _) => {
                return Err(ConfigError {
                    name: "WEBHOOK_SECRET",
                    message: "set it to at least 16 characters (receivers check the \
                              signature with it) when NOTIFY_WEBHOOK_BINDING is set"
                        .into(),
                })
            }
        };
        Ok(Self {
            database_url: var("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://data/approvals.db".to_owned()),
            dapr_grpc_endpoint,
            dapr_api_token: var("DAPR_API_TOKEN"),
            approval_timeout,
            approval_policy,
            reconcile_interval: duration("RECONCILE_INTERVAL", "30s")?,
            replica_id: var("REPLICA_ID"),
            dapr_call_timeout: duration("DAPR_CALL_TIMEOUT", "5s")?,
            demo_users: match var("APP_DEMO_USERS").as_deref() {
                None | Some("0" | "false") => DemoUsers::No,
                Some("1" | "true") => DemoUsers::OnLoopback,
                Some("force") => DemoUsers::Forced,
                Some(other) => {
                    return Err(ConfigError {
                        name: "APP_DEMO_USERS",
                        message: format!("{other:?}: use 1 (loopback only), force, or 0"),
                    })
                }
            },
            public_url: var("APP_PUBLIC_URL"),
            email_binding: var("NOTIFY_EMAIL_BINDING").map(|b| b.trim().to_owned()),
            webhook,
            server_timing: matches!(var("APP_SERVER_TIMING").as_deref(), Some("1" | "true")),
            metrics_addr: match var("METRICS_ADDR") {
                None => None,
                Some(raw) => Some(raw.trim().parse().map_err(|_| ConfigError {
                    name: "METRICS_ADDR",
                    message: format!("{raw:?} is not an address like 127.0.0.1:9464"),
                })?),
            },
        })
    }
}
