//! Opening a WebSocket: TCP, TLS for `wss`, and tungstenite's HTTP upgrade, after which the
//! raw stream is ours ([`super::codec`] reads and writes its frames).
//!
//! The upgrade runs over [`UpToHeaders`], which gives tungstenite the server's bytes only up
//! to the end of the HTTP response. A server may send its first frame in the same packet as
//! the response; those bytes stay in our buffer instead of in tungstenite's, which would
//! keep them when we take the stream back.

use bytes::BytesMut;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{TlsError, UrlError};
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, client::uri_mode, stream::Mode};

pub type Stream = MaybeTlsStream<TcpStream>;

/// What goes into every upgrade besides the URL: the `Origin` a browser would send (servers
/// with an origin allow-list refuse connections without it), extra headers (a reverse
/// proxy's credentials, a cookie) and the certificate authorities trusted for `wss`.
#[derive(Clone)]
pub struct Dial {
    pub origin: Option<String>,
    /// Checked when configured (by whoever configures them: chanwatch refuses the upgrade's own headers); sent in this order.
    pub headers: Vec<(String, String)>,
    pub tls: Arc<rustls::ClientConfig>,
}

impl Default for Dial {
    fn default() -> Dial {
        Dial {
            origin: None,
            headers: Vec::new(),
            tls: crate::tls::default_config(),
        }
    }
}

/// Header values may be credentials: only their names are shown.
impl std::fmt::Debug for Dial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Dial")
            .field("origin", &self.origin)
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

impl Dial {
    /// The upgrade request for `url`: tungstenite's, with our origin and headers added.
    fn request(&self, url: &str) -> Result<http::Request<()>, WsError> {
        // Checked when configured; an error here is still reported rather than unwrapped.
        fn format<E: Into<http::Error>>(e: E) -> WsError {
            WsError::HttpFormat(e.into())
        }
        let mut request = url.into_client_request()?;
        let headers = request.headers_mut();
        if let Some(origin) = &self.origin {
            let value = http::HeaderValue::from_str(origin).map_err(format)?;
            headers.insert(http::header::ORIGIN, value);
        }
        for (name, value) in &self.headers {
            let name = http::header::HeaderName::from_bytes(name.as_bytes()).map_err(format)?;
            let value = http::HeaderValue::from_str(value).map_err(format)?;
            headers.append(name, value);
        }
        Ok(request)
    }
}

/// Connect to `url` (through `via` when given: TCP there, TLS and HTTP for the URL's host)
/// and upgrade. Returns the stream and the bytes the server sent after its response.
pub async fn open(
    url: &str,
    via: Option<SocketAddr>,
    dial: &Dial,
    config: WebSocketConfig,
) -> Result<(Stream, BytesMut), WsError> {
    open_timed(url, via, dial, config, &mut OpenTimings::default()).await
}

/// The phases of opening a WebSocket, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenPhase {
    /// Looking the host up (skipped when dialling a given address).
    #[default]
    Resolve,
    /// The TCP connection.
    Tcp,
    /// The TLS handshake (`wss` only).
    Tls,
    /// The HTTP upgrade to a WebSocket.
    Upgrade,
}

/// How long each phase of [`open_timed`] took: `None` for a phase skipped or not finished.
/// `phase` is the last phase begun, so after a failure it names the one that failed.
/// Measured with tokio's clock, so paused time in tests measures virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenTimings {
    pub phase: OpenPhase,
    pub resolve: Option<Duration>,
    pub tcp: Option<Duration>,
    pub tls: Option<Duration>,
    pub upgrade: Option<Duration>,
    /// The address the TCP connection went to, once connected.
    pub peer: Option<SocketAddr>,
}

/// [`open`], with each phase timed into `timings` as it ends (so a caller that gives up
/// on a hung open still knows which phase hung).
pub async fn open_timed(
    url: &str,
    via: Option<SocketAddr>,
    dial: &Dial,
    config: WebSocketConfig,
    timings: &mut OpenTimings,
) -> Result<(Stream, BytesMut), WsError> {
    let request = dial.request(url)?;
    let (host, port) = host_and_port(request.uri())?;
    let mode = uri_mode(request.uri())?;
    let addrs: Vec<SocketAddr> = match via {
        Some(addr) => vec![addr],
        None => {
            timings.phase = OpenPhase::Resolve;
            let started = Instant::now();
            let found = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(WsError::Io)?
                .collect();
            timings.resolve = Some(started.elapsed());
            found
        }
    };
    timings.phase = OpenPhase::Tcp;
    let started = Instant::now();
    let tcp = connect_any(&addrs).await.map_err(WsError::Io)?;
    timings.tcp = Some(started.elapsed());
    timings.peer = tcp.peer_addr().ok();
    // Nagle off: pings, pongs and subscribes are tiny and should leave at once.
    let _ = tcp.set_nodelay(true);
    let stream = match mode {
        Mode::Plain => MaybeTlsStream::Plain(tcp),
        Mode::Tls => {
            timings.phase = OpenPhase::Tls;
            let started = Instant::now();
            let name = rustls::pki_types::ServerName::try_from(host)
                .map_err(|_| WsError::Tls(TlsError::InvalidDnsName))?;
            let tls = tokio_rustls::TlsConnector::from(dial.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(tls_error)?;
            timings.tls = Some(started.elapsed());
            MaybeTlsStream::Rustls(tls)
        }
    };
    timings.phase = OpenPhase::Upgrade;
    let started = Instant::now();
    let mut limited = UpToHeaders::new(stream);
    match tokio_tungstenite::client_async_with_config(request, &mut limited, Some(config)).await {
        Ok(_) => {
            timings.upgrade = Some(started.elapsed());
            Ok(limited.into_parts())
        }
        // tungstenite takes a refusal's body from what it read past the headers, which
        // is ours here: hand it back, so that the server's reason reaches the user.
        Err(WsError::Http(mut response)) => {
            let rest = limited.unread();
            if response.body().as_ref().is_none_or(|b| b.is_empty()) && !rest.is_empty() {
                *response.body_mut() = Some(rest.to_vec());
            }
            Err(WsError::Http(response))
        }
        Err(e) => Err(e),
    }
}

/// Each address in turn, as `TcpStream::connect` does with a host name: the last error
/// when none answers.
async fn connect_any(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolved to no address",
        )
    }))
}

/// tokio-rustls reports a refused handshake as an `io::Error` around the rustls error; the
/// rustls error says why (unknown issuer, expired ...), so it is kept as such.
fn tls_error(e: io::Error) -> WsError {
    match crate::tls::find_rustls_error(&e) {
        Some(tls) => WsError::Tls(TlsError::Rustls(Box::new(tls.clone()))),
        None => WsError::Io(e),
    }
}

/// Where a ws/wss URL points (with the brackets of an IPv6 address removed, so that it
/// resolves).
fn host_and_port(uri: &http::Uri) -> Result<(String, u16), WsError> {
    let host = uri.host().ok_or(WsError::Url(UrlError::NoHostName))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = uri
        .port_u16()
        .or(match uri.scheme_str() {
            Some("wss") => Some(443),
            Some("ws") => Some(80),
            _ => None,
        })
        .ok_or(WsError::Url(UrlError::UnsupportedUrlScheme))?;
    Ok((host.to_owned(), port))
}

/// A stream that reads ahead into its own buffer but hands out only what comes before the
/// end of the first HTTP header block (`\r\n\r\n`); what follows is kept for the caller.
pub struct UpToHeaders<S> {
    inner: S,
    buf: BytesMut,
    /// How much of `buf` has been handed out.
    handed: usize,
    /// The end of the headers in `buf`, once seen.
    end: Option<usize>,
}

impl<S> UpToHeaders<S> {
    pub fn new(inner: S) -> UpToHeaders<S> {
        UpToHeaders {
            inner,
            buf: BytesMut::with_capacity(4096),
            handed: 0,
            end: None,
        }
    }

    /// The stream, and the bytes read after the headers.
    pub fn into_parts(mut self) -> (S, BytesMut) {
        let rest = self.buf.split_off(self.handed);
        (self.inner, rest)
    }

    /// What has been read and not handed out.
    fn unread(&self) -> &[u8] {
        &self.buf[self.handed..]
    }
}

/// The end of the first HTTP header block in `buf`, as httparse (tungstenite's parser)
/// finds it: blank lines before the status line are skipped, and a line may end in
/// `\r\n` or a bare `\n`, so the block ends at `\n\n` or `\n\r\n`.
fn header_end(buf: &[u8]) -> Option<usize> {
    let start = buf.iter().position(|&b| b != b'\r' && b != b'\n')?;
    memchr::memchr_iter(b'\n', &buf[start..])
        .map(|i| start + i + 1)
        .find_map(|after| match buf.get(after..after + 2) {
            Some([b'\n', _]) => Some(after + 1),
            Some([b'\r', b'\n']) => Some(after + 2),
            _ if buf.get(after) == Some(&b'\n') => Some(after + 1),
            _ => None,
        })
}

impl<S: AsyncRead + Unpin> AsyncRead for UpToHeaders<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.end == Some(this.handed) {
            // tungstenite stops reading at a complete response; reading past it would take
            // frames that are ours.
            return Poll::Ready(Err(io::Error::other(
                "read past the end of the HTTP response",
            )));
        }
        if this.handed == this.buf.len() {
            let before = this.buf.len();
            this.buf.resize(before + 4096, 0);
            let mut read = ReadBuf::new(&mut this.buf[before..]);
            let polled = Pin::new(&mut this.inner).poll_read(cx, &mut read);
            let n = read.filled().len();
            this.buf.truncate(before + n);
            ready!(polled)?;
            if n == 0 {
                return Poll::Ready(Ok(()));
            }
            if this.end.is_none() {
                this.end = header_end(&this.buf);
            }
        }
        let limit = this.end.unwrap_or(this.buf.len());
        let n = (limit - this.handed).min(out.remaining());
        out.put_slice(&this.buf[this.handed..this.handed + n]);
        this.handed += n;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for UpToHeaders<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn host_and_port_from_the_url() {
        let at = |url: &str| host_and_port(url.into_client_request().unwrap().uri());
        assert_eq!(
            at("ws://127.0.0.1:6001/app/k").unwrap(),
            ("127.0.0.1".into(), 6001)
        );
        assert_eq!(
            at("wss://ws-eu.pusher.com/app/k").unwrap(),
            ("ws-eu.pusher.com".into(), 443)
        );
        assert_eq!(at("ws://[::1]/app/k").unwrap(), ("::1".into(), 80));
        assert!(at("http://h/app/k").is_err());
    }

    /// A server that answers the upgrade and sends a frame in the same write.
    async fn eager_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = tcp.read(&mut chunk).await.unwrap();
                request.extend_from_slice(&chunk[..n]);
            }
            let request = String::from_utf8(request).unwrap();
            let key = request
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .or_else(|| {
                    request
                        .lines()
                        .find_map(|l| l.strip_prefix("sec-websocket-key: "))
                })
                .unwrap();
            let accept =
                tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            let mut reply = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .into_bytes();
            reply.extend_from_slice(b"\x81\x02hi");
            tcp.write_all(&reply).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        });
        (addr, task)
    }

    #[tokio::test]
    async fn a_frame_in_the_same_packet_as_the_response_is_kept() {
        let (addr, server) = eager_server().await;
        let url = format!("ws://{addr}/app/k?protocol=7");
        let (_stream, rest) = open(&url, None, &Dial::default(), WebSocketConfig::default())
            .await
            .unwrap();
        assert_eq!(&rest[..], b"\x81\x02hi");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn each_phase_is_timed_and_a_failure_names_its_phase() {
        let (addr, server) = eager_server().await;
        let url = format!("ws://{addr}/app/k?protocol=7");
        let mut t = OpenTimings::default();
        open_timed(
            &url,
            None,
            &Dial::default(),
            WebSocketConfig::default(),
            &mut t,
        )
        .await
        .unwrap();
        assert_eq!(t.phase, OpenPhase::Upgrade);
        assert!(
            t.resolve.is_some() && t.tcp.is_some() && t.upgrade.is_some(),
            "{t:?}"
        );
        assert_eq!(t.tls, None, "plain ws has no TLS phase");
        assert_eq!(t.peer, Some(addr));
        server.await.unwrap();

        // A port nobody listens on: the TCP phase failed, and was not timed as done.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let mut t = OpenTimings::default();
        let url = format!("ws://127.0.0.1:{port}/app/k");
        let opened = open_timed(
            &url,
            None,
            &Dial::default(),
            WebSocketConfig::default(),
            &mut t,
        )
        .await;
        assert!(matches!(opened, Err(WsError::Io(_))));
        assert_eq!((t.phase, t.tcp, t.upgrade), (OpenPhase::Tcp, None, None));
        assert!(t.resolve.is_some());
    }

    /// A server that reads the first bytes of one connection, answers with `reply` and
    /// keeps the connection a moment.
    async fn replying(reply: &'static [u8]) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut chunk = [0u8; 4096];
            let _ = tcp.read(&mut chunk).await;
            let _ = tcp.write_all(reply).await;
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        });
        addr
    }

    #[tokio::test]
    async fn tls_to_a_server_that_does_not_speak_it_fails_cleanly() {
        let addr = replying(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        let url = format!("wss://localhost:{}/app/k", addr.port());
        let opened = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            open(
                &url,
                Some(addr),
                &Dial::default(),
                WebSocketConfig::default(),
            ),
        )
        .await
        .expect("fails, does not hang");
        assert!(
            matches!(opened, Err(WsError::Io(_) | WsError::Tls(_))),
            "{:?}",
            opened.err()
        );
    }

    #[test]
    fn the_header_block_ends_where_httparse_says() {
        for text in [
            "HTTP/1.1 101 OK\r\nA: b\r\n\r\nframe",
            "HTTP/1.1 101 OK\nA: b\n\nframe",
            "HTTP/1.1 101 OK\r\nA: b\n\r\nframe",
            "\r\n\r\nHTTP/1.1 101 OK\r\n\r\nx",
            "\n\nHTTP/1.1 101 OK\n\n",
            "HTTP/1.1 101 OK\r\nA: b\r\n",
            "HTTP/1.1 101 OK\r\nA: b\r\n\r",
            "\r\n\r\n",
        ] {
            let mut headers = [httparse::EMPTY_HEADER; 4];
            let expected = match httparse::Response::new(&mut headers).parse(text.as_bytes()) {
                Ok(httparse::Status::Complete(end)) => Some(end),
                Ok(httparse::Status::Partial) => None,
                Err(e) => panic!("{text:?}: {e}"),
            };
            assert_eq!(header_end(text.as_bytes()), expected, "{text:?}");
        }
        assert_eq!(header_end(b"HTTP/1.1 101 OK\r\n\r\n"), Some(19));
    }

    #[tokio::test]
    async fn a_refusal_keeps_its_body() {
        let addr =
            replying(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 12\r\n\r\napp disabled").await;
        let url = format!("ws://{addr}/app/k");
        match open(&url, None, &Dial::default(), WebSocketConfig::default()).await {
            Err(WsError::Http(response)) => {
                assert_eq!(response.status(), 403);
                assert_eq!(response.body().as_deref(), Some(&b"app disabled"[..]));
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    #[tokio::test]
    async fn the_upgrade_carries_the_origin_and_extra_headers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = tcp.read(&mut chunk).await.unwrap();
                request.extend_from_slice(&chunk[..n]);
            }
            let _ = tcp.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
            String::from_utf8(request).unwrap().to_ascii_lowercase()
        });
        let dial = Dial {
            origin: Some("https://app.example.com".into()),
            headers: vec![
                ("X-Proxy-Token".into(), "abc".into()),
                ("Cookie".into(), "s=1".into()),
            ],
            ..Dial::default()
        };
        let url = format!("ws://{addr}/app/k");
        let opened = open(&url, None, &dial, WebSocketConfig::default()).await;
        assert!(matches!(opened, Err(WsError::Http(_))));
        let request = server.await.unwrap();
        for line in [
            "origin: https://app.example.com\r\n",
            "x-proxy-token: abc\r\n",
            "cookie: s=1\r\n",
            "sec-websocket-key: ",
        ] {
            assert!(request.contains(line), "{line:?} in {request}");
        }
        assert!(
            !format!("{dial:?}").contains("abc"),
            "header values stay out of Debug"
        );
    }

    #[tokio::test]
    async fn hands_out_the_headers_and_keeps_what_follows() {
        let (mut server, client) = tokio::io::duplex(1 << 16);
        let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        let mut sent = response.to_vec();
        sent.extend_from_slice(b"\x81\x02hi");
        server.write_all(&sent).await.unwrap();
        let mut limited = UpToHeaders::new(client);
        let mut got = Vec::new();
        let mut chunk = [0u8; 7];
        while got.len() < response.len() {
            let n = limited.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, response);
        assert!(limited.read(&mut chunk).await.is_err(), "no further");
        let (_, rest) = limited.into_parts();
        assert_eq!(&rest[..], b"\x81\x02hi");
    }

    #[tokio::test]
    async fn headers_split_across_reads() {
        let (mut server, client) = tokio::io::duplex(1 << 16);
        let mut limited = UpToHeaders::new(client);
        let writer = tokio::spawn(async move {
            for part in [&b"HTTP/1.1 101 OK\r"[..], b"\n\r", b"\nafter"] {
                server.write_all(part).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            server
        });
        let mut got = Vec::new();
        let mut chunk = [0u8; 64];
        while !got.ends_with(b"\r\n\r\n") {
            let n = limited.read(&mut chunk).await.unwrap();
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, b"HTTP/1.1 101 OK\r\n\r\n");
        let _server = writer.await.unwrap();
        let (_, rest) = limited.into_parts();
        assert_eq!(&rest[..], b"after");
    }
}
