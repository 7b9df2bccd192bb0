//! Serving connections with bounds a public server needs, which `axum::serve` does not
//! set (see [`Limits`]): a connection that does not say which protocol it speaks in
//! time (nothing at all, or only the start of an HTTP/2 preface: hyper's protocol
//! detection waits for ever, hyper issue 3962) is dropped after 10 s; a client that
//! never finishes its headers, after 30 s; an HTTP/2 peer that stops answering pings,
//! after 20 s more; only so many connections are served at once (1,024; the next ones
//! wait in the kernel's backlog), and, once more than half of those are taken, at most
//! 64 from one address (the next are closed at once), so one client cannot take every
//! slot while a proxy or a busy browser is not turned away when there is room. Every connection gets `TCP_NODELAY` (pages
//! go out in several writes; without it the last waits 40 ms for a delayed ACK) and
//! its peer address as `ConnectInfo`, which the sign-in limits key on. On shutdown,
//! listening stops and open connections finish what they are doing.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The bounds on connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A new connection that has not shown its protocol by then (a first byte of
    /// HTTP/1, or a whole HTTP/2 preface) is dropped.
    pub first_bytes_timeout: Duration,
    /// A client that has not sent all its headers by then is dropped.
    pub header_read_timeout: Duration,
    /// How often an HTTP/2 connection is pinged, and how long an answer may take.
    pub http2_keep_alive: (Duration, Duration),
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections served at once for one peer address while more than half of
    /// `max_connections` are taken. Below that, one address may hold more: a proxy, an
    /// office behind one NAT or a browser on a laptop is one address for many people
    /// or tabs, and has to be turned away only when others need the room.
    pub max_per_address: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            first_bytes_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            http2_keep_alive: (Duration::from_secs(20), Duration::from_secs(20)),
            max_connections: 1024,
            max_per_address: 64,
        }
    }
}

/// What an HTTP/2 client sends first; anything else is HTTP/1.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether `stream` shows its protocol before `within` has passed: a first byte that
/// does not start an HTTP/2 preface (HTTP/1, whose header timer runs from there), or a
/// whole preface. Only looks (`peek`): what it sees is read again by hyper.
async fn shows_its_protocol(stream: &tokio::net::TcpStream, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = [0_u8; HTTP2_PREFACE.len()];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut seen)).await {
            Ok(Ok(n)) if n > 0 => n,
            // Closed, failed, or silent until the deadline.
            _ => return false,
        };
        if n == seen.len() || !HTTP2_PREFACE.starts_with(&seen[..n]) {
            return true;
        }
        // Part of a preface: `peek` would answer at once with the same bytes, so look
        // again a moment later.
        if tokio::time::Instant::now() + Duration::from_millis(20) > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Connections open per peer address.
#[derive(Default)]
struct PerAddress(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One connection's place in [`PerAddress`]; dropping it frees the place.
struct AddressSlot(Arc<PerAddress>, std::net::IpAddr);

impl PerAddress {
    fn take(self: &Arc<Self>, ip: std::net::IpAddr, cap: usize) -> Option<AddressSlot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(AddressSlot(self.clone(), ip))
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = (self.0).0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.1) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.1);
            }
        }
    }
}

/// How long open connections get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let (ping_every, ping_answer) = limits.http2_keep_alive;
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(ping_every)
        .keep_alive_timeout(ping_answer);
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let crowded = slots.available_permits() < limits.max_connections / 2;
        let cap = if crowded {
            limits.max_per_address
        } else {
            usize::MAX
        };
        let Some(address_slot) = per_address.take(peer.ip(), cap) else {
            tracing::warn!(%peer, "refused a connection: too many from this address");
            drop(stream);
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let service = app.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request.map(axum::body::Body::new)
            },
        );
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let first_bytes = limits.first_bytes_timeout;
        tokio::spawn(async move {
            if shows_its_protocol(&stream, first_bytes).await {
                let connection = builder
                    .serve_connection_with_upgrades(
                        TokioIo::new(stream),
                        TowerToHyperService::new(service),
                    )
                    .into_owned();
                if let Err(e) = watcher.watch(connection).await {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
            } else {
                tracing::debug!(%peer, "dropped a connection that did not show its protocol");
            }
            drop((slot, address_slot));
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}
