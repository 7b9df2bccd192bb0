//! Settings, checked once at start-up: every environment variable the server reads is
//! declared here once, as a clap argument with its variable, default and help, so
//! `server --help` lists them all and a bad value is clap's error naming the variable
//! (each value is shown as `<VARIABLE>`: the field names are the variables' names).
//! Each can also be given as a flag before the command (`--approval-timeout 30s`), which
//! wins over the variable.
//!
//! A variable set to nothing (`METRICS_ADDR=`) counts as unset (see
//! [`crate::cli::command`]). `README.md`'s table under "Two commands" lists exactly these
//! variables plus those only the scripts read; a test below keeps the two together.
//!
//! Not here: `APPROVALS_TEST_FAULTS` (tests only, read by `backend::kernel::fault`, checked in
//! [`Config::check`]); `HOSTNAME` and `USER`, which say who and where we are, not how
//! to behave; Leptos's own `LEPTOS_*` settings apart from the listen address.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use backend::rules::approval_policy::ApprovalPolicy;
use backend::services::client_address::TrustedProxies;
use backend::services::session::Site;
use clap::error::ErrorKind;

/// `APP_DEMO_USERS`: whether to create the demo accounts (public password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoUsers {
    /// Never (also `false`).
    #[value(name = "0", alias = "false")]
    No,
    /// Only while the app listens on a loopback address: nobody else can reach them
    /// (also `true`).
    #[value(name = "1", alias = "true")]
    OnLoopback,
    /// On any address.
    #[value(name = "force")]
    Forced,
}

/// `LOG_FORMAT`: how log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the fields of the spans it happened in (an
    /// order's `instance_id` among them), for a log pipeline.
    Json,
}

/// What the server runs with. Flattened into the command line ([`crate::cli::Cli`]).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Configuration (each flag or its environment variable)")]
pub struct Config {
    /// The read model, accounts and audit trail: sqlite://FILE or postgres://USER:PASSWORD@HOST:PORT/DB
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/approvals.db",
        hide_env_values = true
    )]
    pub database_url: String,

    /// gRPC address of the Dapr sidecar; wins over DAPR_GRPC_PORT
    #[arg(long, env = "DAPR_GRPC_ENDPOINT")]
    pub dapr_grpc_endpoint: Option<String>,

    /// Port of the Dapr sidecar's gRPC API on 127.0.0.1 [default: 50001]
    #[arg(long, env = "DAPR_GRPC_PORT", value_parser = port)]
    pub dapr_grpc_port: Option<u16>,

    /// The token daprd demands on its API (the scripts make one per data directory); unset: none
    #[arg(long, env = "DAPR_API_TOKEN", hide_env_values = true)]
    pub dapr_api_token: Option<String>,

    /// How long a manager has to decide (30s, 15m, 24h, …); with a policy, each level that names no timeout
    #[arg(long, env = "APPROVAL_TIMEOUT", default_value = "24h", value_parser = approval_timeout)]
    pub approval_timeout: Duration,

    /// A file of approval levels by amount (see approval-policy.example.toml); unset: the seed's rule
    #[arg(long, env = "APPROVAL_POLICY", value_parser = path)]
    pub approval_policy: Option<PathBuf>,

    /// How often unfinished orders are compared with Dapr
    #[arg(long, env = "RECONCILE_INTERVAL", default_value = "30s", value_parser = duration)]
    pub reconcile_interval: Duration,

    /// How long a finished order's notifications are kept once delivered or given up (the outbox; the audit trail is kept for good)
    #[arg(long, env = "NOTIFICATIONS_KEPT_FOR", default_value = "90d", value_parser = duration)]
    pub notifications_kept_for: Duration,

    /// This replica among those sharing the database (who holds the reconciler's lease) [default: HOSTNAME@listen address]
    // The default is one a restarted replica keeps, so it takes its own lease back at once.
    #[arg(long, env = "REPLICA_ID")]
    pub replica_id: Option<String>,

    /// The longest any one call to the Dapr sidecar may take
    #[arg(long, env = "DAPR_CALL_TIMEOUT", default_value = "5s", value_parser = duration)]
    pub dapr_call_timeout: Duration,

    /// Create the demo accounts (public password) in an empty database
    #[arg(long, env = "APP_DEMO_USERS", value_enum, default_value = "0")]
    pub app_demo_users: DemoUsers,

    /// The origin browsers reach the app at (https://approvals.example.com) behind a proxy or TLS terminator [default: the listen address]
    #[arg(long, env = "APP_PUBLIC_URL", value_parser = Site::from_public_url)]
    pub app_public_url: Option<Site>,

    /// The reverse proxies whose X-Forwarded-For names the client, for the sign-in limits: addresses or networks, comma-separated (10.0.0.0/8, fd00::/8) [default: none, the TCP peer is the client]
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,

    /// Answer with a Server-Timing header (for the bench): 1, true, yes or on
    // A value rather than a bare flag, so that a bad value's error names the variable.
    #[arg(
        long,
        env = "APP_SERVER_TIMING",
        value_name = "APP_SERVER_TIMING",
        action = clap::ArgAction::Set,
        default_value = "false",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub app_server_timing: bool,

    /// Serve Prometheus metrics at /metrics on a listener of its own (127.0.0.1:9464); unset: none recorded
    #[arg(long, env = "METRICS_ADDR", value_parser = address)]
    pub metrics_addr: Option<SocketAddr>,

    /// The Dapr bindings.smtp component e-mails go through (make run sets notify-email with SMTP_HOST); unset: no e-mail
    #[arg(long, env = "NOTIFY_EMAIL_BINDING", value_parser = trimmed)]
    pub notify_email_binding: Option<String>,

    /// The Dapr bindings.http component outcome events go through (make run sets notify-webhook with WEBHOOK_URL); unset: no webhook
    #[arg(long, env = "NOTIFY_WEBHOOK_BINDING", value_parser = trimmed)]
    pub notify_webhook_binding: Option<String>,

    /// The Dapr output binding attached files are kept through (dapr/start-sidecar.sh makes attachments, local storage under the data directory); off: no attachments
    #[arg(long, env = "ATTACHMENTS_BINDING", default_value = "attachments", value_parser = trimmed)]
    pub attachments_binding: String,

    /// The key webhook events are signed with (16 characters at least; needed with NOTIFY_WEBHOOK_BINDING)
    #[arg(long, env = "WEBHOOK_SECRET", value_parser = trimmed, hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// Where the app listens
    // Leptos reads this variable too (in `get_configuration`); the server sets what it
    // found with the value checked here, so the two cannot differ.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000", value_parser = address)]
    pub leptos_site_addr: SocketAddr,

    /// How log lines are written
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Which log lines are written (tracing's filter syntax: info, warn,sqlx=debug, …)
    #[arg(
        long,
        env = "RUST_LOG",
        default_value = "info,dapr_durabletask=warn,sqlx=warn",
        value_parser = log_filter
    )]
    pub rust_log: String,

    /// Export traces over OTLP/gRPC to this collector (http://127.0.0.1:4317); unset: none
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_parser = trimmed)]
    pub otel_exporter_otlp_endpoint: Option<String>,

    /// The service name traces carry
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "approvals")]
    pub otel_service_name: String,

    /// The levels read from APPROVAL_POLICY, by [`Config::check`]: loading them needs
    /// APPROVAL_TIMEOUT (their default timeout), which one value's parser cannot see.
    #[arg(skip)]
    pub policy: Option<ApprovalPolicy>,
}

impl Config {
    /// The rules between settings and what is read from files, after parsing; the
    /// error is clap's (exit code 2), naming the variable. Call once logging is on:
    /// armed test faults are logged.
    pub fn check(mut self) -> Result<Self, clap::Error> {
        if let Ok(faults) = std::env::var(backend::kernel::fault::VARIABLE) {
            let armed = backend::kernel::fault::parse_list(&faults)
                .map_err(|message| invalid(backend::kernel::fault::VARIABLE, &message))?;
            if !armed.is_empty() {
                tracing::warn!(faults = %faults, "test faults are armed: for tests only");
            }
        }
        if let Some(path) = &self.approval_policy {
            let policy = ApprovalPolicy::load(path, self.approval_timeout)
                .map_err(|e| invalid("APPROVAL_POLICY", &e.to_string()))?;
            self.policy = Some(policy);
        }
        if self.notify_webhook_binding.is_some()
            && self.webhook_secret.as_ref().is_none_or(|s| s.len() < 16)
        {
            return Err(invalid(
                "WEBHOOK_SECRET",
                "set it to at least 16 characters (receivers check the signature with it) \
                 when NOTIFY_WEBHOOK_BINDING is set",
            ));
        }
        Ok(self)
    }

    /// The gRPC address of the Dapr sidecar.
    /// The binding attached files go through, unless they are off.
    pub fn attachments_binding(&self) -> Option<&str> {
        match self.attachments_binding.as_str() {
            "" | "off" => None,
            name => Some(name),
        }
    }

    pub fn dapr_endpoint(&self) -> String {
        match (&self.dapr_grpc_endpoint, self.dapr_grpc_port) {
            (Some(endpoint), _) => endpoint.clone(),
            (None, port) => format!("http://127.0.0.1:{}", port.unwrap_or(50001)),
        }
    }

    /// The origin browsers use, for same-origin checks and links. Only serving needs
    /// it: the account commands run anywhere.
    pub fn site(&self) -> Result<Site, clap::Error> {
        let addr = self.leptos_site_addr;
        match &self.app_public_url {
            Some(site) => Ok(site.clone().listening_on(addr)),
            // Browsers never use 0.0.0.0 as an origin: every form post would be refused.
            None if addr.ip().is_unspecified() => Err(invalid(
                "APP_PUBLIC_URL",
                &format!(
                    "the app listens on {addr}; set APP_PUBLIC_URL to the address browsers \
                     use (e.g. https://approvals.example.com)"
                ),
            )),
            None => Ok(Site::for_listen_address(addr)),
        }
    }

    /// The webhook's binding and signing key, when both are set ([`Config::check`]
    /// refused a binding without a key).
    pub fn webhook(&self) -> Option<(String, Vec<u8>)> {
        let binding = self.notify_webhook_binding.clone()?;
        let secret = self.webhook_secret.as_ref()?;
        Some((binding, secret.as_bytes().to_vec()))
    }

    /// Which notifications are on.
    pub fn notify(&self) -> backend::notify::Channels {
        backend::notify::Channels {
            email: self.notify_email_binding.is_some(),
            webhook: self.webhook().is_some(),
        }
    }
}

/// A bad setting as clap reports bad values.
fn invalid(variable: &str, message: &str) -> clap::Error {
    clap::Error::raw(ErrorKind::ValueValidation, format!("{variable}: {message}"))
}

fn duration(raw: &str) -> Result<Duration, String> {
    let parsed = humantime::parse_duration(raw.trim())
        .map_err(|e| format!("{raw:?} is not a duration like 30s, 15m or 24h ({e})"))?;
    if parsed.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(parsed)
}

fn approval_timeout(raw: &str) -> Result<Duration, String> {
    let parsed = duration(raw)?;
    let most = backend::model::workflow::MAX_APPROVAL_TIMEOUT;
    if parsed > most {
        return Err(format!(
            "at most {} (a decision that may wait longer waits for nobody)",
            humantime::format_duration(most)
        ));
    }
    Ok(parsed)
}

fn port(raw: &str) -> Result<u16, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a port number"))
}

fn address(raw: &str) -> Result<SocketAddr, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not an address like 127.0.0.1:9464"))
}

fn path(raw: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(raw.trim()))
}

fn trimmed(raw: &str) -> Result<String, String> {
    Ok(raw.trim().to_owned())
}

/// A filter `tracing` understands; a typo would otherwise silence the logs unnoticed.
fn log_filter(raw: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(raw)
        .map(|_| raw.to_owned())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    /// Variables in the README's table that the server does not read, with the script
    /// that does: each must really occur there.
    const READ_BY_SCRIPTS: &[(&str, &str)] = &[
        // read by scripts/run.sh, scripts/cluster.sh, scripts/bench.sh, not by the server
        ("APP_NICE", "scripts/stack-lib.sh"),
        // read by scripts/stack-lib.sh and dapr/start-sidecar.sh, not by the server
        ("DATA_DIR", "scripts/stack-lib.sh"),
        // read by dapr/start-sidecar.sh, not by the server
        ("DAPR_STATE", "dapr/start-sidecar.sh"),
        // read by dapr/start-sidecar.sh, not by the server
        ("WORKFLOW_RETENTION", "dapr/start-sidecar.sh"),
        // read by dapr/start-sidecar.sh (the attachments binding's directory)
        ("ATTACHMENTS_DIR", "dapr/start-sidecar.sh"),
        // read by dapr/build.sh and dapr/start-sidecar.sh, not by the server
        ("DAPR_BIN_DIR", "dapr/start-sidecar.sh"),
        // read by scripts/stack-lib.sh (it sets NOTIFY_EMAIL_BINDING), not by the server
        ("SMTP_HOST", "scripts/stack-lib.sh"),
        // read by scripts/stack-lib.sh (it sets NOTIFY_WEBHOOK_BINDING), not by the server
        ("WEBHOOK_URL", "scripts/stack-lib.sh"),
    ];

    fn repo_file(path: &str) -> String {
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(path);
        std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
    }

    /// The names in the first column of the table under "## Two commands".
    fn readme_variables(readme: &str) -> BTreeSet<String> {
        let section = readme
            .split("\n## ")
            .find(|s| s.starts_with("Two commands"))
            .expect("README.md has a section \"## Two commands\"");
        let mut lines = section
            .lines()
            .skip_while(|l| l.trim() != "| variable | default | meaning |")
            .skip(2); // the header and the line under it
        let mut names = BTreeSet::new();
        for line in lines.by_ref().take_while(|l| l.starts_with('|')) {
            let first = line.split('|').nth(1).unwrap_or_default();
            // `DAPR_GRPC_PORT` / `DAPR_GRPC_ENDPOINT`: every quoted name counts.
            names.extend(first.split('`').skip(1).step_by(2).map(str::to_owned));
        }
        assert!(
            !names.is_empty(),
            "no variable table under \"## Two commands\""
        );
        names
    }

    /// Every `env = "…"` of the command line, subcommands included.
    fn declared_variables(command: &clap::Command, into: &mut BTreeSet<String>) {
        for arg in command.get_arguments() {
            if let Some(name) = arg.get_env() {
                into.insert(name.to_string_lossy().into_owned());
            }
        }
        for sub in command.get_subcommands() {
            declared_variables(sub, into);
        }
    }

    #[test]
    fn the_readme_lists_exactly_the_variables_the_server_declares() {
        let listed = readme_variables(&repo_file("README.md"));
        let mut declared = BTreeSet::new();
        declared_variables(&<Cli as clap::CommandFactory>::command(), &mut declared);
        for (name, script) in READ_BY_SCRIPTS {
            assert!(
                repo_file(script).contains(name),
                "{script} no longer reads {name}: take it off READ_BY_SCRIPTS"
            );
            assert!(!declared.contains(*name), "{name} is the server's now");
        }
        let expected: BTreeSet<String> = declared
            .iter()
            .cloned()
            .chain(READ_BY_SCRIPTS.iter().map(|(name, _)| (*name).to_owned()))
            .collect();
        let missing: Vec<_> = expected.difference(&listed).collect();
        let unknown: Vec<_> = listed.difference(&expected).collect();
        assert!(
            missing.is_empty() && unknown.is_empty(),
            "README.md's variable table is missing {missing:?} and lists {unknown:?}, which \
             neither the server declares (server/src/config.rs) nor READ_BY_SCRIPTS names"
        );
    }

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Cli::try_parse_from(std::iter::once("server").chain(args.iter().copied()))
            .map(|cli| cli.config)
    }

    #[test]
    fn a_bad_value_is_refused_naming_its_variable() {
        for (args, variable, says) in [
            (
                &["--approval-timeout", "soon"][..],
                "APPROVAL_TIMEOUT",
                "not a duration like 30s",
            ),
            (
                &["--approval-timeout", "1000years"],
                "APPROVAL_TIMEOUT",
                "at most",
            ),
            (
                &["--reconcile-interval", "0s"],
                "RECONCILE_INTERVAL",
                "longer than zero",
            ),
            (&["--dapr-grpc-port", "http"], "DAPR_GRPC_PORT", "port"),
            (
                &["--trusted-proxies", "10.0.0.1, proxy.internal"],
                "TRUSTED_PROXIES",
                "`proxy.internal` is neither an IP address nor a network",
            ),
            (
                &["--metrics-addr", "9464"],
                "METRICS_ADDR",
                "127.0.0.1:9464",
            ),
            (
                &["--leptos-site-addr", "here"],
                "LEPTOS_SITE_ADDR",
                "address",
            ),
            (&["--app-demo-users", "yes"], "APP_DEMO_USERS", "force"),
            (&["--log-format", "xml"], "LOG_FORMAT", "json"),
            (
                &["--app-public-url", "ftp://x"],
                "APP_PUBLIC_URL",
                "http or https",
            ),
            (
                &["--app-server-timing", "maybe"],
                "APP_SERVER_TIMING",
                "maybe",
            ),
        ] {
            let error = parse(args).expect_err("refused").to_string();
            assert!(
                error.contains(variable) && error.contains(says),
                "{args:?}: {error}"
            );
        }
    }

    #[test]
    fn values_are_read_as_before() {
        let config = parse(&[
            "--approval-timeout",
            " 30s ",
            "--app-demo-users",
            "true",
            "--dapr-grpc-port",
            "50123",
            "--metrics-addr",
            "127.0.0.1:9464",
        ])
        .expect("valid");
        assert_eq!(config.approval_timeout, Duration::from_secs(30));
        assert_eq!(config.app_demo_users, DemoUsers::OnLoopback);
        assert_eq!(config.dapr_endpoint(), "http://127.0.0.1:50123");
        assert_eq!(config.metrics_addr, Some(([127, 0, 0, 1], 9464).into()));
        let config = parse(&[
            "--dapr-grpc-endpoint",
            "http://dapr:50001",
            "--dapr-grpc-port",
            "50123",
            "--app-demo-users",
            "force",
        ])
        .expect("valid");
        assert_eq!(config.dapr_endpoint(), "http://dapr:50001");
        assert_eq!(config.app_demo_users, DemoUsers::Forced);
    }

    #[test]
    fn a_webhook_needs_a_long_secret_and_a_policy_a_readable_file() {
        let short = parse(&[
            "--notify-webhook-binding",
            "hook",
            "--webhook-secret",
            "short",
        ])
        .expect("parsed")
        .check()
        .expect_err("refused")
        .to_string();
        assert!(short.contains("WEBHOOK_SECRET"), "{short}");
        let policy = parse(&["--approval-policy", "/nonexistent/policy.toml"])
            .expect("parsed")
            .check()
            .expect_err("refused")
            .to_string();
        assert!(policy.contains("APPROVAL_POLICY"), "{policy}");
    }

    #[test]
    fn listening_everywhere_needs_a_public_url() {
        let config = parse(&["--leptos-site-addr", "0.0.0.0:3000"]).expect("parsed");
        let error = config.site().expect_err("refused").to_string();
        assert!(error.contains("APP_PUBLIC_URL"), "{error}");
        let config = parse(&[
            "--leptos-site-addr",
            "0.0.0.0:3000",
            "--app-public-url",
            "https://approvals.example.com/",
        ])
        .expect("parsed");
        assert!(config.site().is_ok());
    }
}
