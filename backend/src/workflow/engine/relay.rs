//! The way to a daprd that demands its API token.
//!
//! daprd refuses every API call without the `dapr-api-token` header when it runs with
//! `DAPR_API_TOKEN`, so that no other local process can raise a decision or terminate a
//! workflow. The Rust SDK's workflow client and worker, though, connect by address
//! (`http://host:port` only: its channel takes no Unix socket) and have no way to add
//! metadata. So the server listens on a loopback port of its own, relays every HTTP/2
//! stream that arrives there to daprd with the token added, unchanged otherwise
//! (streams, trailers, cancellation), and gives the SDK that address.
//!
//! The relay's port would be a way around the token, so it serves only connections
//! made by our own user: the kernel's socket table (`/proc/net/tcp`) names the owner of
//! the connecting socket. That is the protection the token file (mode 0600) has too.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use http_body_util::{Either, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::http::uri::{Authority, Scheme};
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

const TOKEN_HEADER: HeaderName = HeaderName::from_static("dapr-api-token");

/// A running relay. It stops listening when dropped.
pub struct TokenRelay {
    address: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("DAPR_API_TOKEN holds characters a header cannot carry")]
    Token,
    #[error("the Dapr sidecar address {0:?} is not of the form http://host:port")]
    Address(String),
    #[error("could not open the relay to the Dapr sidecar: {0}")]
    Io(#[from] std::io::Error),
}

struct Upstream {
    authority: Authority,
    token: HeaderValue,
    client: Client<HttpConnector, Incoming>,
}

type RelayBody = Either<Incoming, Empty<Bytes>>;

impl TokenRelay {
    /// Starts relaying to daprd's gRPC API at `upstream` (`http://host:port`), adding
    /// `token` to every call.
    pub async fn start(upstream: &str, token: &str) -> Result<Self, RelayError> {
        let mut token = HeaderValue::from_str(token).map_err(|_| RelayError::Token)?;
        token.set_sensitive(true);
        let address = || RelayError::Address(upstream.to_owned());
        let uri: Uri = upstream.parse().map_err(|_| address())?;
        if uri.scheme() != Some(&Scheme::HTTP) {
            return Err(address());
        }
        let authority = uri.authority().cloned().ok_or_else(address)?;

        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build(connector);
        let upstream = Arc::new(Upstream {
            authority,
            token,
            client,
        });
        Ok(Self {
            address: listener.local_addr()?,
            accepting: tokio::spawn(accept(listener, upstream)),
        })
    }

    /// The address to give the SDK.
    pub fn address(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Where the SDK should connect for daprd at `endpoint`: through a new relay when
    /// daprd wants `token` (keep the relay as long as the address is in use), else
    /// straight to `endpoint`.
    pub async fn route(
        endpoint: &str,
        token: Option<&str>,
    ) -> Result<(String, Option<Self>), RelayError> {
        match token {
            Some(token) => {
                let relay = Self::start(endpoint, token).await?;
                Ok((relay.address(), Some(relay)))
            }
            None => Ok((endpoint.to_owned(), None)),
        }
    }
}

impl Drop for TokenRelay {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn accept(listener: TcpListener, upstream: Arc<Upstream>) {
    let us = rustix::process::geteuid().as_raw();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "token relay: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        match socket_owner(peer, local) {
            Ok(Some(owner)) if owner == us => {}
            found => {
                tracing::warn!(
                    %peer, ?found,
                    "token relay: refused a connection not made by our own user"
                );
                continue;
            }
        }
        // gRPC messages are small writes: without this each may wait 40 ms for an ACK.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "token relay: could not set TCP_NODELAY");
        }
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let upstream = upstream.clone();
                async move { Ok::<_, Infallible>(upstream.forward(request).await) }
            });
            if let Err(e) = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "token relay: connection ended");
            }
        });
    }
}

/// The user owning the IPv4 TCP socket bound to `local` and connected to `remote`,
/// from the kernel's socket table.
fn socket_owner(local: SocketAddr, remote: SocketAddr) -> std::io::Result<Option<u32>> {
    let table = std::fs::read_to_string("/proc/net/tcp")?;
    Ok(owner_in_table(&table, local, remote))
}

/// Reads `/proc/net/tcp`: `sl local_address rem_address st tx:rx tr:when retrnsmt uid …`,
/// addresses as `%08X:%04X` of the address in memory order and the port.
fn owner_in_table(table: &str, local: SocketAddr, remote: SocketAddr) -> Option<u32> {
    let parse = |field: &str| -> Option<SocketAddr> {
        let (ip, port) = field.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?.to_ne_bytes();
        Some(SocketAddr::from((ip, u16::from_str_radix(port, 16).ok()?)))
    };
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (l, r, uid) = (fields.get(1)?, fields.get(2)?, fields.get(7)?);
        (parse(l)? == local && parse(r)? == remote)
            .then(|| uid.parse().ok())
            .flatten()
    })
}

impl Upstream {
    async fn forward(&self, mut request: Request<Incoming>) -> Response<RelayBody> {
        let mut target = Uri::builder()
            .scheme(Scheme::HTTP)
            .authority(self.authority.clone());
        if let Some(path) = request.uri().path_and_query() {
            target = target.path_and_query(path.clone());
        }
        match target.build() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(e) => return grpc_unavailable(&format!("token relay: bad request path: {e}")),
        }
        request
            .headers_mut()
            .insert(TOKEN_HEADER, self.token.clone());
        match self.client.request(request).await {
            Ok(response) => response.map(Either::Left),
            // The words `classify` reads as "the call never left": nothing reached daprd.
            Err(e) if e.is_connect() => grpc_unavailable(&format!(
                "error trying to connect to the Dapr sidecar: {}",
                source_chain(&e)
            )),
            Err(e) => grpc_unavailable(&format!(
                "the Dapr sidecar connection broke during the call: {}",
                source_chain(&e)
            )),
        }
    }
}

/// A gRPC "trailers-only" answer with status UNAVAILABLE, as tonic itself reports a
/// sidecar it cannot reach.
fn grpc_unavailable(message: &str) -> Response<RelayBody> {
    let mut response = Response::new(Either::Right(Empty::new()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", HeaderValue::from_static("14"));
    if let Ok(message) = HeaderValue::from_str(&grpc_message(message)) {
        headers.insert("grpc-message", message);
    }
    response
}

/// gRPC carries its message percent-encoded outside printable ASCII.
fn grpc_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut words = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        words.push_str(": ");
        words.push_str(&cause.to_string());
        source = cause.source();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn grpc_messages_are_percent_encoded() {
        assert_eq!(grpc_message("plain words: ok"), "plain words: ok");
        assert_eq!(grpc_message("100% é\n"), "100%25 %C3%A9%0A");
    }

    #[tokio::test]
    async fn refuses_addresses_it_cannot_relay_to() {
        for bad in ["127.0.0.1:50001", "https://127.0.0.1:1", "unix:///tmp/x"] {
            assert!(
                matches!(
                    TokenRelay::start(bad, "t").await,
                    Err(RelayError::Address(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            TokenRelay::start("http://127.0.0.1:1", "bad\ntoken").await,
            Err(RelayError::Token)
        ));
    }

    #[test]
    fn reads_the_owner_from_the_socket_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
             0: 0100007F:C350 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 4242 1\n   \
             1: 0100007F:9C40 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4243 1\n";
        let a: SocketAddr = "127.0.0.1:50000".parse().expect("address");
        let b: SocketAddr = "127.0.0.1:40000".parse().expect("address");
        assert_eq!(owner_in_table(table, a, b), Some(1000));
        assert_eq!(owner_in_table(table, b, a), Some(0));
        assert_eq!(owner_in_table(table, a, a), None);
    }

    /// What the relay's first answer to a client is: the bytes it sends back after the
    /// HTTP/2 preface, or nothing when it hangs up.
    fn first_answer(mut connection: std::net::TcpStream) -> usize {
        connection
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
            .expect("write");
        connection
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        let mut buffer = [0u8; 64];
        connection.read(&mut buffer).unwrap_or(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_our_own_user_and_nobody_else() {
        let relay = TokenRelay::start("http://127.0.0.1:1", "t")
            .await
            .expect("relay");
        let port = relay.address.port();
        let ours = tokio::task::spawn_blocking(move || {
            first_answer(std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        })
        .await
        .expect("join");
        assert!(ours > 0, "the relay did not answer our own connection");

        // Another user's connection: only root can make one here.
        if !rustix::process::geteuid().is_root() {
            eprintln!("SKIPPED: a connection from another user needs root to make (setpriv)");
            return;
        }
        // The relay may drop the connection before the preface is written: the write
        // then fails (EPIPE) instead of killing the shell with SIGPIPE.
        let script = format!(
            "trap '' PIPE; exec 3<>/dev/tcp/127.0.0.1/{port}; \
             printf 'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n' >&3; \
             timeout 5 head -c 1 <&3 | wc -c"
        );
        let theirs = tokio::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "bash",
                "-c",
            ])
            .arg(&script)
            .output()
            .await
            .expect("setpriv runs");
        assert!(theirs.status.success(), "{theirs:?}");
        assert_eq!(
            String::from_utf8_lossy(&theirs.stdout).trim(),
            "0",
            "the relay answered a connection made by another user"
        );
    }
}
