//! The webhook receiver (`--webhook-listen`): a small HTTP/1.1 server on the session's
//! runtime that answers each request at once after checking it ([`crate::webhook::verify`]),
//! hands a `webhook` record to the session, and, with `--webhook-forward`, passes the
//! request on byte for byte to the real backend and reports its answer. The checking is
//! pure and lives in `crate::webhook`; this is the thin I/O around it.

use crate::session_record::SessionRecord;
use crate::webhook::{App, Forwarded, Received, Verdict, verify};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The path webhooks are posted to unless `--webhook-path` says otherwise.
pub const DEFAULT_PATH: &str = "/webhooks";
/// How long the backend may take to answer a forwarded request.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// Records waiting for the session; past this a request waits (and so does its sender).
const RECORDS_CAPACITY: usize = 256;

/// Headers that belong to one hop and are not passed on (RFC 9110 7.6.1), plus `Host`
/// (the backend's own) and `Content-Length` (set again for the same body).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// What the receiver is for and where it listens.
#[derive(Debug, Clone)]
pub struct Options {
    pub listen: SocketAddr,
    pub path: String,
    pub forward: Option<url::Url>,
    pub app: App,
}

/// A running receiver; dropping it stops the server.
pub struct WebhookServer {
    addr: SocketAddr,
    path: String,
    forward: Option<url::Url>,
    records: Option<mpsc::Receiver<SessionRecord>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why the receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen for webhooks on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot make the HTTP client for --webhook-forward: {0}")]
    Client(reqwest::Error),
}

impl WebhookServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where webhooks are to be posted.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }

    /// The `webhook_listening` record that says where webhooks go.
    pub fn listening_record(&self) -> SessionRecord {
        SessionRecord::WebhookListening {
            url: self.url(),
            forward: self.forward.as_ref().map(crate::webhook::shown_url),
        }
    }

    /// The records of received webhooks (once: the session takes them).
    pub fn take_records(&mut self) -> Option<mpsc::Receiver<SessionRecord>> {
        self.records.take()
    }
}

struct Shared {
    path: String,
    app: App,
    forward: Option<(url::Url, reqwest::Client)>,
    seq: AtomicU64,
    records: mpsc::Sender<SessionRecord>,
}

/// Bind and serve.
pub async fn start(options: Options) -> Result<WebhookServer, StartError> {
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: options.listen,
        source,
    })?;
    let forward = match &options.forward {
        Some(url) => {
            let client = reqwest::Client::builder()
                .timeout(FORWARD_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(StartError::Client)?;
            Some((url.clone(), client))
        }
        None => None,
    };
    let (tx, rx) = mpsc::channel(RECORDS_CAPACITY);
    let shared = Arc::new(Shared {
        path: options.path.clone(),
        app: options.app,
        forward,
        seq: AtomicU64::new(0),
        records: tx,
    });
    let task = tokio::spawn(accept(listener, shared));
    Ok(WebhookServer {
        addr,
        path: options.path,
        forward: options.forward,
        records: Some(rx),
        task,
    })
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors or the like: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let shared = shared.clone();
        // Connections end with the server (the join set aborts them when dropped).
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, shared.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

fn answer(status: u16, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    if req.uri().path() != shared.path {
        return Ok(answer(404, "not the webhook path"));
    }
    if req.method() != hyper::Method::POST {
        return Ok(answer(405, "webhooks are POSTed"));
    }
    let received_ms = now_ms();
    let seq = shared.seq.fetch_add(1, Ordering::Relaxed) + 1;
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, verify::MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                let record = Received::refused(seq, Verdict::TooLarge, verify::MAX_BODY);
                let _ = shared
                    .records
                    .send(SessionRecord::Webhook(Box::new(record)))
                    .await;
                return Ok(answer(413, Verdict::TooLarge.describe()));
            }
            // The client went away mid-body: nothing to show.
            return Ok(answer(400, "the body could not be read"));
        }
    };
    let header = |name: &str| parts.headers.get(name).map(|v| v.as_bytes());
    let (verdict, payload) = verify::check(
        &shared.app,
        header("x-pusher-key"),
        header("x-pusher-signature"),
        &body,
    );
    let record = Received::from_check(seq, verdict, payload, body.len(), received_ms);
    let _ = shared
        .records
        .send(SessionRecord::Webhook(Box::new(record)))
        .await;
    if let Some((url, client)) = &shared.forward {
        // The backend is the judge of what it receives: every request is passed on.
        tokio::spawn(forward(
            seq,
            client.clone(),
            url.clone(),
            parts.headers,
            body,
            shared.records.clone(),
        ));
    }
    Ok(answer(verdict.status(), verdict.describe()))
}

/// The request's headers less the hop-by-hop ones (and those `Connection` names).
pub fn forwarded_headers(headers: &hyper::HeaderMap) -> reqwest::header::HeaderMap {
    let named_by_connection: Vec<String> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let mut out = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        let lower = name.as_str();
        if HOP_BY_HOP.contains(&lower) || named_by_connection.iter().any(|n| n == lower) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

async fn forward(
    seq: u64,
    client: reqwest::Client,
    url: url::Url,
    headers: hyper::HeaderMap,
    body: Bytes,
    records: mpsc::Sender<SessionRecord>,
) {
    let started = Instant::now();
    let result = client
        .post(url)
        .headers(forwarded_headers(&headers))
        .body(body)
        .send()
        .await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let record = match result {
        Ok(response) => Forwarded {
            seq,
            status: Some(response.status().as_u16()),
            duration_ms,
            error: None,
        },
        Err(e) => Forwarded {
            seq,
            status: None,
            duration_ms,
            error: Some(if e.is_timeout() {
                format!("no answer within {} s", FORWARD_TIMEOUT.as_secs())
            } else {
                // Without the URL: it may carry credentials.
                e.without_url().to_string()
            }),
        },
    };
    let _ = records.send(SessionRecord::WebhookForward(record)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_not_forwarded() {
        let mut h = hyper::HeaderMap::new();
        h.insert("x-pusher-key", "k".parse().unwrap());
        h.insert("x-pusher-signature", "abc".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        h.insert("connection", "keep-alive, x-private".parse().unwrap());
        h.insert("x-private", "1".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("host", "here".parse().unwrap());
        let out = forwarded_headers(&h);
        let mut names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            ["content-type", "x-pusher-key", "x-pusher-signature"]
        );
        assert_eq!(out["x-pusher-signature"], "abc");
    }
}
