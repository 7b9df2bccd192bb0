//! The Approvals server: one process that is at once the web server (Leptos SSR,
//! server functions, JSON API), the Dapr workflow worker and the read-model owner.

mod changes;
mod cli;
mod config;
mod http;
mod reconciler;

use server::workflow;

use std::process::ExitCode;
use std::time::Duration;

use app::backend::{read_model, AppState, OrderService};
use app::{shell, App};
use axum::serve::ListenerExt;
use axum::Router;
use dapr::workflow::WorkflowClient;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tracing_subscriber::EnvFilter;

use config::Config;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, thiserror::Error)]
enum StartupError {
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("Dapr sidecar at {0} did not answer within {1:?}; is daprd running?")]
    Dapr(String, Duration),
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
    Demo(#[from] app::backend::accounts::AccountError),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,dapr_durabletask=warn,sqlx=warn")),
        )
        .init();
    let result = match cli::parse(std::env::args().skip(1).collect()) {
        cli::Command::Serve => serve().await,
        cli::Command::Admin(args) => admin(&args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
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

fn ensure_sqlite_dir(url: &str) {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p));
    if let Some(parent) = path.and_then(|p| std::path::Path::new(p).parent()) {
        if !parent.as_os_str().is_empty() {
            // A failure surfaces as a clear error when the database is opened.
            let _ = std::fs::create_dir_all(parent);
        }
    }
}

async fn open_database(config: &Config) -> Result<read_model::Db, StartupError> {
    ensure_sqlite_dir(&config.database_url);
    let db = read_model::connect(&config.database_url).await?;
    sqlx::migrate!("../migrations").run(&db).await?;
    Ok(db)
}

async fn admin(args: &[String]) -> Result<(), StartupError> {
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    cli::run(&db, args).await?;
    Ok(())
}

async fn serve() -> Result<(), StartupError> {
    let config = Config::from_env()?;
    let db = open_database(&config).await?;
    if config.demo_users && app::backend::accounts::ensure_demo_users(&db).await? {
        tracing::info!("created demo accounts alice, bob and carol (APP_DEMO_USERS=1)");
    }

    let mut client = connect_dapr(&config.dapr_grpc_endpoint).await?;
    workflow::register(&mut client, db.clone());
    let worker = client.start_worker().await.map_err(StartupError::Worker)?;
    let orders = OrderService::new(
        db.clone(),
        client.scheduling_client(),
        config.approval_timeout,
    );

    let leptos_options = get_configuration(None)
        .map_err(|e| StartupError::Leptos(e.to_string()))?
        .leptos_options;
    let addr = leptos_options.site_addr;
    let changes = changes::channel();
    tokio::spawn(changes::run(db.clone(), changes.clone()));
    let state = AppState {
        leptos_options: leptos_options.clone(),
        db,
        orders: orders.clone(),
        changes,
    };
    tokio::spawn(reconciler::run(orders, config.reconcile_interval));

    let routes = generate_route_list(App);
    let context_state = state.clone();
    let app = Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .merge(http::router())
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);

    // Pages are written in several chunks; without TCP_NODELAY the last one waits for the
    // client's delayed ACK (40 ms on Linux) behind Nagle's algorithm.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| StartupError::Listen(addr, e))?
        .tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
    tracing::info!(
        "listening on http://{addr} (approval timeout {})",
        humantime::format_duration(config.approval_timeout)
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(StartupError::Serve)?;
    if let Err(e) = worker.shutdown().await {
        tracing::warn!(error = %e, "workflow worker did not stop cleanly");
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
