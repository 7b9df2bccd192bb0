//! A trace collector for the tests: a real OTLP/gRPC endpoint (the protocol Jaeger and
//! the OpenTelemetry Collector speak on 4317) that keeps every span it is sent.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;

/// One received span, flattened: its name, trace, parent and string attributes.
#[derive(Debug, Clone)]
pub struct Span {
    pub name: String,
    pub trace_id: Vec<u8>,
    pub attributes: Vec<(String, String)>,
}

impl Span {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Default)]
pub struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let received = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .map(|span| Span {
                name: span.name,
                trace_id: span.trace_id,
                attributes: span
                    .attributes
                    .into_iter()
                    .filter_map(|kv| match kv.value?.value? {
                        Value::StringValue(v) => Some((kv.key, v)),
                        _ => None,
                    })
                    .collect(),
            });
        self.spans.lock().expect("spans").extend(received);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Collector {
    /// Starts one on a free loopback port; returns it and its endpoint URL.
    pub async fn start() -> (Collector, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("bound"));
        let collector = Collector::default();
        let service = TraceServiceServer::new(collector.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        (collector, endpoint)
    }

    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().expect("spans").clone()
    }
}
