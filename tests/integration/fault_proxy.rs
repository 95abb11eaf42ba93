//! The fault proxy in front of a TCP echo server and in front of the demo server.
//! Timing is only ever asserted as "at least"; every wait is bounded.

use chanwatch::demo::{DemoConfig, DemoServer};
use chanwatch::faults::{FaultError, FaultHandle, FaultKind, FaultProxy};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);
/// How long "nothing arrives" is watched for.
const QUIET: Duration = Duration::from_millis(400);

/// An echo server on a free loopback port, running until the test ends.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn proxy() -> FaultHandle {
    FaultProxy::start(echo_server().await).await.unwrap()
}

async fn connect(p: &FaultHandle) -> TcpStream {
    timeout(WAIT, TcpStream::connect(p.addr()))
        .await
        .unwrap()
        .unwrap()
}

/// Send `msg` and read the same bytes back (bounded).
async fn round_trip(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(msg).await.unwrap();
    let mut got = vec![0u8; msg.len()];
    timeout(WAIT, s.read_exact(&mut got))
        .await
        .expect("echo in time")
        .expect("echo read");
    assert_eq!(got, msg);
}

/// Nothing readable for [`QUIET`]: no bytes, no EOF, no error.
async fn assert_quiet(s: &mut TcpStream) {
    let mut buf = [0u8; 64];
    if let Ok(r) = timeout(QUIET, s.read(&mut buf)).await {
        panic!("expected nothing, got {r:?}");
    }
}

/// The next read reports a reset or an end (bounded).
async fn assert_ended(s: &mut TcpStream) -> std::io::Result<usize> {
    let mut buf = [0u8; 64];
    let r = timeout(WAIT, s.read(&mut buf))
        .await
        .expect("ended in time");
    assert!(matches!(r, Ok(0) | Err(_)), "expected an end, got {r:?}");
    r
}

#[tokio::test]
async fn bytes_pass_through() {
    let p = proxy().await;
    let mut s = connect(&p).await;
    round_trip(&mut s, b"hello").await;
    round_trip(&mut s, &vec![7u8; 200_000]).await;
    assert_eq!(p.connection_count(), 1);
}

#[tokio::test]
async fn cut_stops_bytes_but_keeps_the_socket_then_restore_delivers() {
    let p = proxy().await;
    let mut s = connect(&p).await;
    round_trip(&mut s, b"before").await;
    p.cut();
    assert!(p.status().cut);
    s.write_all(b"during").await.unwrap();
    assert_quiet(&mut s).await; // no echo, and no EOF or reset either
    // a connection opened while cut is accepted but carries nothing
    let mut late = connect(&p).await;
    late.write_all(b"late").await.unwrap();
    assert_quiet(&mut late).await;
    p.restore();
    let mut got = [0u8; 6];
    timeout(WAIT, s.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got, b"during");
    let mut got = [0u8; 4];
    timeout(WAIT, late.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&got, b"late");
}

#[tokio::test]
async fn drop_resets_every_connection() {
    let p = proxy().await;
    let mut a = connect(&p).await;
    let mut b = connect(&p).await;
    round_trip(&mut a, b"a").await;
    round_trip(&mut b, b"b").await;
    p.drop_all();
    for s in [&mut a, &mut b] {
        let r = assert_ended(s).await;
        assert_eq!(
            r.map_err(|e| e.kind()),
            Err(ErrorKind::ConnectionReset),
            "a reset, not a clean close"
        );
    }
    // the proxy itself keeps working
    let mut c = connect(&p).await;
    round_trip(&mut c, b"after").await;
}

#[tokio::test]
async fn down_refuses_new_connections_until_restored() {
    let p = proxy().await;
    let mut old = connect(&p).await;
    round_trip(&mut old, b"x").await;
    p.down();
    let refused = timeout(WAIT, TcpStream::connect(p.addr())).await.unwrap();
    if let Ok(mut s) = refused {
        // accepted by the kernel, then reset by the proxy: nothing gets through
        let _ = s.write_all(b"hello").await;
        let _reset_or_eof = assert_ended(&mut s).await;
    }
    round_trip(&mut old, b"old connections stay").await;
    p.restore();
    let mut s = connect(&p).await;
    round_trip(&mut s, b"back").await;
}

#[tokio::test]
async fn delay_holds_bytes_at_least_that_long_each_way() {
    let p = proxy().await;
    let mut s = connect(&p).await;
    p.apply(&FaultKind::Delay { ms: 300 }).unwrap();
    assert_eq!(p.status().delay, Duration::from_millis(300));
    let started = Instant::now();
    round_trip(&mut s, b"slow").await;
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    p.apply(&FaultKind::Restore).unwrap();
    assert_eq!(p.status().delay, Duration::ZERO);
    round_trip(&mut s, b"fast again").await;
}

#[tokio::test]
async fn server_faults_are_not_the_proxys() {
    let p = proxy().await;
    assert!(matches!(
        p.apply(&FaultKind::Close { code: 4200 }),
        Err(FaultError::NeedsDemoServer(_))
    ));
    assert!(matches!(
        p.apply(&FaultKind::NoPong),
        Err(FaultError::NeedsDemoServer(_))
    ));
}

#[tokio::test]
async fn dropping_the_handle_ends_its_connections() {
    let p = proxy().await;
    let mut s = connect(&p).await;
    round_trip(&mut s, b"x").await;
    drop(p);
    let end = assert_ended(&mut s).await;
    assert_eq!(end.map_err(|e| e.kind()), Err(ErrorKind::ConnectionReset));
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn next_text(ws: &mut Ws) -> Value {
    match timeout(WAIT, ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

#[tokio::test]
async fn websocket_through_the_proxy_to_the_demo_server() {
    let server = DemoServer::start(DemoConfig::default()).await.unwrap();
    let p = FaultProxy::start(server.addr()).await.unwrap();
    let url = server
        .ws_url()
        .replace(&server.addr().to_string(), &p.addr().to_string());
    let (mut ws, _) = timeout(WAIT, connect_async(&url)).await.unwrap().unwrap();
    assert_eq!(
        next_text(&mut ws).await["event"],
        "pusher:connection_established"
    );
    let ping = Message::text(r#"{"event":"pusher:ping","data":{}}"#);
    p.cut();
    ws.send(ping.clone()).await.unwrap();
    assert!(
        timeout(QUIET, ws.next()).await.is_err(),
        "no pong while cut"
    );
    p.restore();
    assert_eq!(next_text(&mut ws).await["event"], "pusher:pong");
    p.drop_all();
    let end = timeout(WAIT, ws.next()).await.unwrap();
    assert!(
        matches!(end, None | Some(Err(_))),
        "socket should be gone: {end:?}"
    );
    // the server notices the reset and forgets the socket
    timeout(WAIT, async {
        while server.connection_count() != 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("server saw the reset");
}

#[tokio::test]
async fn apply_routes_each_fault_to_where_it_acts() {
    use chanwatch::session::inject_fault as apply;
    let server = DemoServer::start(DemoConfig::default()).await.unwrap();
    let p = FaultProxy::start(server.addr()).await.unwrap();
    apply(&FaultKind::Cut, Some(&p), Some(&server)).unwrap();
    apply(&FaultKind::NoPong, Some(&p), Some(&server)).unwrap();
    assert!(p.status().cut && !server.answers_pings());
    apply(&FaultKind::Restore, Some(&p), Some(&server)).unwrap();
    assert!(!p.status().cut && server.answers_pings());
    assert!(matches!(
        apply(&FaultKind::Down, None, Some(&server)),
        Err(FaultError::NeedsProxy(_))
    ));
    assert!(matches!(
        apply(&FaultKind::Close { code: 4200 }, Some(&p), None),
        Err(FaultError::NeedsDemoServer(_))
    ));
    assert!(matches!(
        apply(&FaultKind::Delay { ms: 999_999 }, Some(&p), None),
        Err(FaultError::Parse(_))
    ));
}
