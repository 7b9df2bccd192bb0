//! The connection loop (`server::serve`) on a real loopback socket: the bounds a public
//! server needs before any request reaches the router.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use server::serve::{serve, Limits};

/// Serves a one-route app with `limits`; returns its port.
async fn start(limits: Limits) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("bound").port();
    let app = Router::new().route("/", get(|| async { "ok" }));
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    port
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    stream
}

/// Reads until the server closes the connection; `None` if it is still open when the
/// read times out. A reset is a close too: closing a socket with unread bytes in it
/// resets the connection.
fn read_to_close(stream: &mut TcpStream) -> Option<String> {
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {
            Some(String::from_utf8_lossy(&answer).into_owned())
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(e) => panic!("read: {e}"),
    }
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_dropped() {
    let port = start(Limits {
        header_read_timeout: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    let dropped = tokio::task::spawn_blocking(move || {
        let mut slow = connect(port);
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .expect("write");
        read_to_close(&mut slow)
    })
    .await
    .expect("join");
    let answer = dropped.expect("the connection was still open after 20 s");
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let port = start(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    tokio::task::spawn_blocking(move || {
        let held: Vec<TcpStream> = (0..2).map(|_| connect(port)).collect();
        let mut third = connect(port);
        third.write_all(REQUEST).expect("write");
        third
            .set_read_timeout(Some(Duration::from_secs(1)))
            .expect("read timeout");
        assert_eq!(
            read_to_close(&mut third),
            None,
            "a third connection was served while two held both slots"
        );
        drop(held);
        third
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("read timeout");
        let answer = read_to_close(&mut third).expect("served once a slot was free");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    })
    .await
    .expect("join");
}

/// How long a connection stays open when the server must close it, given `limits`.
fn seconds_until_closed(port: u16, send: &'static [u8]) -> Option<f64> {
    let started = std::time::Instant::now();
    let mut stream = connect(port);
    stream.write_all(send).expect("write");
    read_to_close(&mut stream).map(|_| started.elapsed().as_secs_f64())
}

/// A socket that connects and says nothing, or only the start of an HTTP/2 preface,
/// is closed once the first-bytes deadline passes: it never reaches hyper's protocol
/// detection, which would wait for ever. A whole preface goes on to HTTP/2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_shows_no_protocol_in_time_is_closed() {
    let port = start(Limits {
        first_bytes_timeout: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    tokio::task::spawn_blocking(move || {
        for (what, send) in [
            ("nothing", &b""[..]),
            ("half a preface", &b"PRI * HTTP/2.0\r\n"[..]),
        ] {
            let closed = seconds_until_closed(port, send)
                .unwrap_or_else(|| panic!("{what}: still open after 20 s"));
            assert!(
                (0.9..5.0).contains(&closed),
                "{what}: closed after {closed} s"
            );
        }
        // A whole preface is HTTP/2: the server answers with its SETTINGS frame.
        let mut h2 = connect(port);
        h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
            .expect("write");
        let mut frame = [0_u8; 9];
        h2.read_exact(&mut frame).expect("a frame");
        assert_eq!(frame[3], 0x4, "a SETTINGS frame: {frame:?}");
    })
    .await
    .expect("join");
}

/// One address holds at most `max_per_address` connections: the next one is closed at
/// once, while another address would still be served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    // Two held of four: the server is half full, and the address at its share.
    let port = start(Limits {
        max_connections: 4,
        max_per_address: 2,
        ..Limits::default()
    })
    .await;
    tokio::task::spawn_blocking(move || {
        let held: Vec<TcpStream> = (0..2).map(|_| connect(port)).collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut third = connect(port);
        third.write_all(REQUEST).expect("write");
        let answer = read_to_close(&mut third).expect("closed");
        assert!(answer.is_empty(), "a third connection was served: {answer}");
        drop(held);
        std::thread::sleep(Duration::from_millis(200));
        let mut next = connect(port);
        next.write_all(REQUEST).expect("write");
        let answer = read_to_close(&mut next).expect("served");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    })
    .await
    .expect("join");
}

/// While the server has room, one address is not held to its share: a proxy or an
/// office behind one NAT is many people (CI once saw a browser's tabs turned away).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_may_hold_more_while_there_is_room() {
    let port = start(Limits {
        max_connections: 100,
        max_per_address: 2,
        ..Limits::default()
    })
    .await;
    tokio::task::spawn_blocking(move || {
        let _held: Vec<TcpStream> = (0..5).map(|_| connect(port)).collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut sixth = connect(port);
        sixth.write_all(REQUEST).expect("write");
        let answer = read_to_close(&mut sixth).expect("served");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    })
    .await
    .expect("join");
}

/// A kept-alive connection that goes quiet after its answer is closed within the
/// header deadline: waiting for a next request that never comes holds no slot for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed() {
    let port = start(Limits {
        header_read_timeout: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    let answer = tokio::task::spawn_blocking(move || {
        let mut idle = connect(port);
        idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        read_to_close(&mut idle)
    })
    .await
    .expect("join");
    let answer = answer.expect("the idle connection was still open after 20 s");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
