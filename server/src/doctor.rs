//! `server doctor`: checks what a server needs before it serves (its settings and
//! policy, the database and its schema, daprd with the token, the state store and the
//! bindings, the clock), and says what to fix. Changes nothing.

use std::time::Duration;

use backend::store::db;
use backend::store::db::Db;
use backend::store::maintenance;

use crate::config::Config;

/// How far in the future a row may have been written before this machine's clock is
/// called behind (replicas' clocks drift a little; a minute is not a little).
const CLOCK_SLACK_MS: i64 = 60_000;

/// One finding: what was checked, and what to do if anything.
pub struct Finding {
    pub what: &'static str,
    pub verdict: Result<String, String>,
}

impl Finding {
    fn ok(what: &'static str, said: impl Into<String>) -> Self {
        Self {
            what,
            verdict: Ok(said.into()),
        }
    }

    fn fix(what: &'static str, said: impl Into<String>) -> Self {
        Self {
            what,
            verdict: Err(said.into()),
        }
    }
}

/// Every check, in the order a newcomer would fix them.
pub async fn examine(config: &Config) -> Vec<Finding> {
    let mut findings = vec![settings(config), policy(config)];
    let db = database(config, &mut findings).await;
    if let Some(db) = &db {
        findings.push(clock(db).await);
    }
    findings.extend(sidecar(config).await);
    findings
}

fn settings(config: &Config) -> Finding {
    match config.site() {
        Ok(site) => Finding::ok(
            "settings",
            format!("read (public origin {})", site.public_origin()),
        ),
        Err(e) => Finding::fix("settings", e.to_string().trim().to_owned()),
    }
}

fn policy(config: &Config) -> Finding {
    match (&config.approval_policy, &config.policy) {
        (Some(path), Some(_)) => {
            Finding::ok("approval policy", format!("{} is valid", path.display()))
        }
        _ => Finding::ok(
            "approval policy",
            "none (the seed's rule: a manager decides from $1,000)",
        ),
    }
}

/// Opens the database without changing it, and compares its schema with this build's.
async fn database(config: &Config, findings: &mut Vec<Finding>) -> Option<Db> {
    let url = &config.database_url;
    let newest = db::newest_migration(url);
    let opened = if db::is_postgres(url) {
        db::connect_postgres(url).await.map(Db::Postgres)
    } else {
        if let Some(file) = db::sqlite_file(url).filter(|f| !f.exists()) {
            findings.push(Finding::ok(
                "database",
                format!(
                    "{} does not exist yet: the server creates it at its first start",
                    file.display()
                ),
            ));
            return None;
        }
        db::connect(url).await.map(Db::Sqlite)
    };
    let db = match opened {
        Ok(db) => db,
        Err(e) => {
            findings.push(Finding::fix(
                "database",
                format!("cannot open DATABASE_URL: {e}"),
            ));
            return None;
        }
    };
    let finding = match maintenance::schema_version(&db).await {
        Ok(version) if version == newest => {
            Finding::ok("database", format!("{}, schema {}", db.kind(), fmt(version)))
        }
        Ok(version) if version < newest => Finding::ok(
            "database",
            format!(
                "{}, schema {} (this build brings it to {} at its start)",
                db.kind(),
                fmt(version),
                fmt(newest)
            ),
        ),
        Ok(version) => Finding::fix(
            "database",
            format!(
                "schema {} is newer than this build's {}: run the release that migrated it, or a later one",
                fmt(version),
                fmt(newest)
            ),
        ),
        Err(e) => Finding::fix("database", format!("cannot read its schema version: {e}")),
    };
    findings.push(finding);
    Some(db)
}

fn fmt(version: Option<i64>) -> String {
    version.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

/// This machine's clock against the latest write anyone made: a row written in the
/// future means this clock (or that writer's) is behind, and deadlines would be
/// judged wrong.
async fn clock(db: &Db) -> Finding {
    let now = chrono::Utc::now().timestamp_millis();
    match maintenance::newest_write(db).await {
        Ok(Some(at)) if at > now + CLOCK_SLACK_MS => Finding::fix(
            "clock",
            format!(
                "an order was written {} s in this machine's future: set this clock (or the \
                 other replicas') right, by NTP",
                (at - now) / 1000
            ),
        ),
        Ok(_) => Finding::ok(
            "clock",
            format!(
                "{} (no order written in its future)",
                chrono::Utc::now().to_rfc3339()
            ),
        ),
        Err(e) => Finding::fix("clock", format!("cannot read the orders: {e}")),
    }
}

/// daprd with the token: its metadata names its version, components and scheduler.
async fn sidecar(config: &Config) -> Vec<Finding> {
    let endpoint = config.dapr_endpoint();
    let options = dapr::client::ClientOptions::new()
        .with_address(&endpoint)
        .with_timeout(config.dapr_call_timeout);
    let options = match &config.dapr_api_token {
        Some(token) => options.with_api_token(token),
        None => options.without_api_token(),
    };
    let limit = config.dapr_call_timeout.max(Duration::from_secs(1));
    let metadata = tokio::time::timeout(limit, async {
        let mut client = dapr::Client::from_options(options)
            .await
            .map_err(|e| e.to_string())?;
        client.get_metadata().await.map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {limit:?}")));
    let metadata = match metadata {
        Ok(m) => m,
        Err(e) if e.to_lowercase().contains("unauthenticated") || e.contains("api token") => {
            return vec![Finding::fix(
                "daprd",
                format!(
                    "{endpoint} refused the token: set DAPR_API_TOKEN to daprd's \
                     (make run keeps it in data/dapr-api-token)"
                ),
            )]
        }
        Err(e) => {
            return vec![Finding::fix(
                "daprd",
                format!(
                    "not reachable at {endpoint} ({e}): start it (dapr/start-sidecar.sh, or \
                     make run), or set DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT"
                ),
            )]
        }
    };
    let mut findings = vec![Finding::ok(
        "daprd",
        format!(
            "{} at {endpoint}, app id {}, the token accepted",
            metadata.runtime_version, metadata.id
        ),
    )];
    let actors = metadata
        .registered_components
        .iter()
        .find(|c| c.r#type.starts_with("state.") && c.capabilities.iter().any(|c| c == "ACTOR"));
    findings.push(match actors {
        Some(store) => Finding::ok(
            "state store",
            format!(
                "{} ({}), the actors' and workflows' store",
                store.name, store.r#type
            ),
        ),
        None => Finding::fix(
            "state store",
            "daprd has no state store with actorStateStore: \"true\": workflows cannot run \
             (see dapr/resources/statestore.yaml)",
        ),
    });
    for (setting, binding, made) in [
        (
            "NOTIFY_EMAIL_BINDING",
            config.notify_email_binding.as_deref(),
            "add the component (make run makes notify-email from SMTP_HOST) or unset it",
        ),
        (
            "NOTIFY_WEBHOOK_BINDING",
            config.notify_webhook_binding.as_deref(),
            "add the component (make run makes notify-webhook from WEBHOOK_URL) or unset it",
        ),
        (
            "ATTACHMENTS_BINDING",
            config.attachments_binding(),
            "add the component (make run makes attachments, local storage under the data \
             directory; a deployment, deploy/k8s/dapr-attachments.yaml) or set it to off",
        ),
    ] {
        let Some(name) = binding else { continue };
        let found = metadata
            .registered_components
            .iter()
            .find(|c| c.name == name && c.r#type.starts_with("bindings."));
        findings.push(match found {
            Some(c) => Finding::ok("binding", format!("{name} ({}) for {setting}", c.r#type)),
            None => Finding::fix(
                "binding",
                format!("{setting} names {name}, which daprd does not have: {made}"),
            ),
        });
    }
    let scheduler = metadata
        .scheduler
        .as_ref()
        .is_some_and(|s| !s.connected_addresses.is_empty());
    findings.push(if scheduler {
        Finding::ok("scheduler", "connected (workflow timers fire)")
    } else {
        Finding::fix(
            "scheduler",
            "daprd is connected to no scheduler: approval deadlines would never fire; \
             start it (dapr/start-sidecar.sh starts one) and point daprd at it",
        )
    });
    findings
}
