//! Logs and traces: the `tracing` subscriber of the whole process.
//!
//! Logs go to stderr as text or JSON (`LOG_FORMAT`), filtered by `RUST_LOG`. Traces are exported over OTLP/gRPC
//! only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`http://collector:4317`, Jaeger's
//! OTLP port among others); unset, no exporter, no extra layer and no HTTP request
//! spans exist, so they cost nothing. The spans: each HTTP request (pages, server
//! functions, the API), each call to daprd, and the start, decision, activity and
//! repair of an order (with its `instance_id`).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{Config, LogFormat};

/// The name of our tracer (the service's name is `OTEL_SERVICE_NAME`).
const TRACER: &str = "approvals";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("OTEL_EXPORTER_OTLP_ENDPOINT: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] sends what is still
/// buffered.
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported (and so worth making for every HTTP request).
    pub fn tracing(&self) -> bool {
        self.traces.is_some()
    }

    pub fn shutdown(self) {
        if let Some(provider) = self.traces {
            if let Err(e) = provider.shutdown() {
                eprintln!("traces: the last spans were not sent: {e}");
            }
        }
    }
}

/// Installs the subscriber. Must run inside the tokio runtime (the gRPC exporter's
/// connection lives there).
pub fn init(config: &Config) -> Result<Telemetry, TelemetryError> {
    // The parser checked the filter: this falls back only if that ever changes.
    let filter = EnvFilter::try_new(&config.rust_log)
        .unwrap_or_else(|_| EnvFilter::new("info,dapr_durabletask=warn,sqlx=warn"));
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match config.log_format {
        // Colours only on a terminal: a log file keeps plain `key=value` fields.
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
        // The fields of the spans a line happened in (an order's instance_id) go
        // along with it, so each line can be found by order.
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .boxed(),
    };
    let mut layers = vec![logs];
    let provider = match &config.otel_exporter_otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()?;
            let service = config.otel_service_name.clone();
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    opentelemetry_sdk::Resource::builder()
                        .with_service_name(service)
                        .build(),
                )
                .build();
            layers.push(
                tracing_opentelemetry::layer()
                    .with_tracer(provider.tracer(TRACER))
                    .boxed(),
            );
            Some(provider)
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .init();
    Ok(Telemetry { traces: provider })
}
