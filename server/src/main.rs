//! The Approvals server: one process that is at once the web server (Leptos SSR,
//! server functions, JSON API), the Dapr workflow worker and the read-model owner.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use app::state::AppState;
use backend::notify::sender::{DaprBindings, Sender};
use backend::notify::Notifier;
use backend::services::orders::OrderService;
use backend::services::session::Site;
use backend::services::sign_in::SignIn;
use backend::store::db::Db;
use backend::store::files::DaprFiles;
use backend::workflow::engine::dapr::DaprEngine;
use backend::workflow::engine::relay::TokenRelay;
use backend::{
    ops::backup, ops::lease, ops::reconcile, services::accounts, store::changes, store::db,
    workflow,
};
use dapr::workflow::WorkflowClient;
use leptos::prelude::*;
use server::cli::{self, Command};
use server::config::{Config, DemoUsers};
use server::serve::Limits;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, thiserror::Error)]
enum StartupError {
    #[error("{0}")]
    Database(#[from] db::OpenError),
    #[error("Dapr sidecar at {0} did not answer within {1:?}; is daprd running?")]
    Dapr(String, Duration),
    #[error("DAPR_API_TOKEN: {0}")]
    Relay(#[from] backend::workflow::engine::relay::RelayError),
    #[error("Dapr workflow worker: {0}")]
    Worker(dapr::workflow::WorkflowError),
    #[error("Leptos configuration: {0}")]
    Leptos(String),
    #[error("listening on {0}: {1}")]
    Listen(std::net::SocketAddr, std::io::Error),
    #[error("serving: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    Cli(#[from] cli::CliError),
    #[error("demo accounts: {0}")]
    Demo(#[from] backend::ServiceError),
    #[error("metrics: {0}")]
    Metrics(#[from] metrics_exporter_prometheus::BuildError),
    #[error("notifications: {0}")]
    Notify(String),
    #[error("{0}")]
    Backup(#[from] backup::BackupError),
    #[error("{0} thing(s) to fix")]
    Doctor(usize),
}

#[tokio::main]
async fn main() -> ExitCode {
    // A bad flag or setting ends here, with clap's message and exit code 2.
    let cli::Cli { config, command } = cli::parse();
    let telemetry = match server::telemetry::init(&config) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // After the logger: armed test faults are logged.
    let config = match config.check() {
        Ok(config) => config,
        Err(e) => settings_error(e, telemetry),
    };
    let result = match command {
        Some(Command::Accounts(command)) => accounts(&config, command).await,
        Some(Command::Order(command)) => order(&config, command).await,
        Some(Command::Backup { to }) => backup(&config, &to).await,
        Some(Command::Restore {
            from,
            workflows_lost,
        }) => restore(&config, &from, workflows_lost).await,
        Some(Command::Doctor) => doctor(&config).await,
        // Only serving needs the origin browsers use: the other commands run anywhere.
        None | Some(Command::Serve) => match config.site() {
            Ok(site) => serve(&config, site, telemetry.tracing()).await,
            Err(e) => settings_error(e, telemetry),
        },
    };
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A setting refused after parsing: clap's message and exit code, as for a bad value.
fn settings_error(error: clap::Error, telemetry: server::telemetry::Telemetry) -> ! {
    telemetry.shutdown();
    error.format(&mut cli::command()).exit()
}

/// The sidecar may still be starting when we do; keep trying for a while.
async fn connect_dapr(endpoint: &str) -> Result<WorkflowClient, StartupError> {
    const PATIENCE: Duration = Duration::from_secs(60);
    let started = tokio::time::Instant::now();
    loop {
        match WorkflowClient::new_with_address(endpoint).await {
            Ok(client) => return Ok(client),
            Err(e) if started.elapsed() < PATIENCE => {
                tracing::info!(error = %e, "waiting for the Dapr sidecar at {endpoint}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(_) => return Err(StartupError::Dapr(endpoint.to_owned(), PATIENCE)),
        }
    }
}

async fn accounts(config: &Config, command: cli::AccountCommand) -> Result<(), StartupError> {
    let db = db::open(&config.database_url).await?;
    cli::run(&db, command).await?;
    Ok(())
}

async fn backup(config: &Config, to: &std::path::Path) -> Result<(), StartupError> {
    let db = db::open(&config.database_url).await?;
    let now = backend::kernel::clock::now_ms();
    let manifest = backup::backup(&db, &config.database_url, to, now).await?;
    println!(
        "backup of the read model ({}, schema {}) taken at {} in {}",
        manifest.database,
        manifest.schema_version.unwrap_or_default(),
        manifest.taken_at,
        to.display()
    );
    println!(
        "Dapr's state store is not in it. Keep it as it is: restored beside it, the \
         reconciler takes what happened after this backup from the workflows. If it is lost \
         too, restore with --workflows-lost: the orders that waited get their workflows \
         again, at their level and deadline (README, \"Upgrading and backups\")."
    );
    Ok(())
}

async fn restore(
    config: &Config,
    from: &std::path::Path,
    workflows_lost: bool,
) -> Result<(), StartupError> {
    let now = backend::kernel::clock::now_ms();
    let restored = backup::restore(&config.database_url, from, workflows_lost, now).await?;
    println!(
        "restored the read model as it was at {} (schema {} then; migrated to this build's)",
        restored.manifest.taken_at,
        restored.manifest.schema_version.unwrap_or_default()
    );
    if workflows_lost {
        println!(
            "{} waiting orders get their workflows again when the server starts",
            restored.reopened
        );
    } else {
        println!("start the server: the reconciler compares every unfinished order with Dapr");
    }
    Ok(())
}

/// Prints each check and what to fix; fails when anything needs fixing.
async fn doctor(config: &Config) -> Result<(), StartupError> {
    let findings = server::doctor::examine(config).await;
    let mut to_fix = 0;
    for finding in &findings {
        match &finding.verdict {
            Ok(said) => println!("ok    {:<16} {said}", finding.what),
            Err(said) => {
                to_fix += 1;
                println!("FIX   {:<16} {said}", finding.what);
            }
        }
    }
    if to_fix > 0 {
        return Err(StartupError::Doctor(to_fix));
    }
    println!("nothing to fix");
    Ok(())
}

/// Operators' commands look at and act on workflows: they need daprd too.
async fn order(config: &Config, command: cli::OrderCommand) -> Result<(), StartupError> {
    let db = db::open(&config.database_url).await?;
    let (client, address, _relay) = connect_engine(config).await?;
    let engine = Arc::new(DaprEngine::new(
        client.scheduling_client(),
        &address,
        config.dapr_call_timeout,
    ));
    let orders = order_service(config, db, engine);
    cli::run_order(&orders, command).await?;
    Ok(())
}

/// The order rules, under the approval policy if there is one.
fn order_service(config: &Config, db: Db, engine: Arc<DaprEngine>) -> OrderService {
    let orders =
        OrderService::new(db, engine, config.approval_timeout).with_notifications(config.notify());
    // A file of 10 MB takes longer to store than a workflow call, in a bucket above all.
    let files_timeout = config.dapr_call_timeout.max(Duration::from_secs(30));
    let orders = match config.attachments_binding() {
        Some(binding) => match DaprFiles::connect(
            &config.dapr_endpoint(),
            config.dapr_api_token.as_deref(),
            binding,
            files_timeout,
        ) {
            Ok(files) => orders.with_files(Arc::new(files)),
            Err(e) => {
                tracing::error!(error = %e, "attached files are off");
                orders
            }
        },
        None => orders,
    };
    match &config.policy {
        Some(policy) => orders.with_policy(policy.clone()),
        None => orders,
    }
}

/// The activities' notifications: none, or, with a binding configured, a sender through
/// daprd's output bindings that the activities deliver with and that retries the rest.
async fn notifier(config: &Config, db: &Db, site: &Site) -> Result<Notifier, StartupError> {
    let channels = config.notify();
    if !channels.any() {
        return Ok(Notifier::default());
    }
    let bindings = DaprBindings::connect(
        &config.dapr_endpoint(),
        config.dapr_api_token.as_deref(),
        config.dapr_call_timeout,
    )
    .await
    .map_err(StartupError::Notify)?;
    tracing::info!(
        email = ?config.notify_email_binding, webhook = ?config.notify_webhook_binding,
        "notifications on"
    );
    let sender = Sender {
        db: db.clone(),
        bindings: Arc::new(bindings),
        email_binding: config.notify_email_binding.clone(),
        webhook: config.webhook(),
        origin: site.public_origin().to_owned(),
    };
    Ok(Notifier {
        channels,
        sender: Some(Arc::new(sender)),
    })
}

/// A workflow client for daprd and the address it reaches daprd at, through the token
/// relay when daprd demands a token; the relay must live as long as the client is used.
async fn connect_engine(
    config: &Config,
) -> Result<(WorkflowClient, String, Option<TokenRelay>), StartupError> {
    if config.dapr_api_token.is_none() {
        tracing::warn!(
            "DAPR_API_TOKEN is not set: calling daprd without a token (then any local \
             process can call daprd's API too)"
        );
    }
    let (address, relay) =
        TokenRelay::route(&config.dapr_endpoint(), config.dapr_api_token.as_deref()).await?;
    Ok((connect_dapr(&address).await?, address, relay))
}

async fn serve(config: &Config, site: Site, traced: bool) -> Result<(), StartupError> {
    let db = db::open(&config.database_url).await?;
    if let Some(addr) = config.metrics_addr {
        let handle = server::metrics::install()?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| StartupError::Listen(addr, e))?;
        tracing::info!("metrics on http://{addr}/metrics");
        let metrics = server::metrics::router(handle, db.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, metrics).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }

    // The relay is kept for as long as the server runs: the SDK reaches daprd through it.
    let (mut client, address, _relay) = connect_engine(config).await?;
    let mut leptos_options = get_configuration(None)
        .map_err(|e| StartupError::Leptos(e.to_string()))?
        .leptos_options;
    // Leptos read LEPTOS_SITE_ADDR itself; ours is the same variable, checked by clap.
    leptos_options.site_addr = config.leptos_site_addr;
    let addr = config.leptos_site_addr;
    tracing::info!("public origin {}", site.public_origin());
    let notifier = notifier(config, &db, &site).await?;
    if let Some(sender) = &notifier.sender {
        tokio::spawn(Arc::clone(sender).run());
    }
    workflow::register(&mut client, db.clone(), notifier);
    let worker = client.start_worker().await.map_err(StartupError::Worker)?;
    let engine = Arc::new(DaprEngine::new(
        client.scheduling_client(),
        &address,
        config.dapr_call_timeout,
    ));
    let orders = order_service(config, db.clone(), engine);

    let demo = match config.app_demo_users {
        DemoUsers::No => false,
        DemoUsers::OnLoopback if !addr.ip().is_loopback() => {
            tracing::warn!(
                "not creating the demo accounts: their password is public and {addr} is \
                 reachable from elsewhere (APP_DEMO_USERS=force to insist)"
            );
            false
        }
        DemoUsers::OnLoopback | DemoUsers::Forced => true,
    };
    if demo && accounts::ensure_demo_users(&db).await? {
        tracing::info!("created the demo accounts");
    }
    let changes = changes::channel();
    tokio::spawn(changes::run(db.clone(), changes.clone()));
    let replica = config.replica_id.clone().unwrap_or_else(|| {
        // The machine's name, not a setting of ours: read here, not in Config.
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        format!("{host}@{addr}")
    });
    tokio::spawn(reconcile::run(
        orders.clone(),
        config.reconcile_interval,
        replica.clone(),
        config.notifications_kept_for,
    ));
    let app = server::app(AppState {
        leptos_options,
        db: db.clone(),
        orders,
        changes,
        site,
        sign_in: SignIn::behind(config.trusted_proxies.clone()),
    });
    let app = if config.app_server_timing {
        app.layer(axum::middleware::from_fn(
            server::http::server_timing::server_timing,
        ))
    } else {
        app
    };
    // A span per request, for the trace exporter only: without one nobody reads them.
    let app = if traced {
        app.layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
            ),
        )
    } else {
        app
    };

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| StartupError::Listen(addr, e))?;
    tracing::info!(
        "listening on http://{addr} (read model on {}; approval timeout {}; {})",
        db.kind(),
        humantime::format_duration(config.approval_timeout),
        if config.policy.is_some() {
            "approval levels from APPROVAL_POLICY"
        } else {
            "the seed's single approval level"
        }
    );
    server::serve::serve(listener, app, Limits::default(), shutdown_signal())
        .await
        .map_err(StartupError::Serve)?;
    if let Err(e) = worker.shutdown().await {
        tracing::warn!(error = %e, "workflow worker did not stop cleanly");
    }
    // Another replica need not wait for the lease to run out.
    if let Err(e) = lease::release(&db, lease::RECONCILER, &replica).await {
        tracing::warn!(error = %e, "giving up the reconciler lease");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}
