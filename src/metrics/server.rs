//! The `--metrics-listen` HTTP server: `/metrics` (Prometheus text, or OpenMetrics when the
//! `Accept` header asks for it), `/ready` (200 only while connected, else 503) and `/` (a
//! short help). What to answer is decided by [`respond`], without sockets; the server around
//! it is hyper's HTTP/1 with a header timeout and a cap on open connections, so a slow or
//! greedy scraper cannot hold the process.

use super::Metrics;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 32;
/// A request's headers must arrive within this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

const OPENMETRICS: &str = "application/openmetrics-text";
const OPENMETRICS_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

const HELP: &str = "chanwatch metrics\n\n\
GET /metrics  Prometheus text format (OpenMetrics with Accept: application/openmetrics-text)\n\
GET /ready    200 while the connection is established (every node's, with several), 503 otherwise\n";

/// The listener could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("--metrics-listen: cannot listen on {addr}: {source}")]
pub struct ServeError {
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// A running metrics server; dropping it stops it and every connection it serves.
pub struct MetricsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MetricsServer {
    /// Listen on `addr` (port 0 picks a free one: see [`MetricsServer::addr`]).
    pub async fn start(
        addr: SocketAddr,
        metrics: Arc<Mutex<Metrics>>,
    ) -> Result<MetricsServer, ServeError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| ServeError { addr, source })?;
        let task = tokio::spawn(accept_loop(listener, metrics));
        Ok(MetricsServer { addr: bound, task })
    }

    /// The address bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn accept_loop(listener: TcpListener, metrics: Arc<Mutex<Metrics>>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Owned here, so that aborting this task ends every connection too.
    let mut connections = JoinSet::new();
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!("metrics endpoint: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let metrics = metrics.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let response = handle(&metrics, &req);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

fn handle(metrics: &Mutex<Metrics>, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let accept = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let head = req.method() == Method::HEAD;
    let method_ok = head || req.method() == Method::GET;
    let (status, content_type, body) = if method_ok {
        respond(metrics, req.uri().path(), accept, Instant::now())
    } else {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "only GET and HEAD\n".to_string(),
        )
    };
    let body = if head { String::new() } else { body };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The answer to a GET of `path` with this `Accept` header, at `now`.
pub fn respond(
    metrics: &Mutex<Metrics>,
    path: &str,
    accept: &str,
    now: Instant,
) -> (StatusCode, &'static str, String) {
    let plain = "text/plain; charset=utf-8";
    // Still numbers after a panic elsewhere: serve them.
    let lock = || metrics.lock().unwrap_or_else(|e| e.into_inner());
    match path {
        "/metrics" => {
            let mut m = lock();
            m.refresh(now);
            let mut body = String::with_capacity(16 * 1024);
            let openmetrics = accept.contains(OPENMETRICS);
            let encoded = if openmetrics {
                m.encode_openmetrics(&mut body)
            } else {
                m.encode_text(&mut body)
            };
            drop(m);
            match encoded {
                Ok(()) if openmetrics => (StatusCode::OK, OPENMETRICS_TYPE, body),
                Ok(()) => (StatusCode::OK, TEXT_TYPE, body),
                Err(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    plain,
                    "the metrics could not be encoded\n".into(),
                ),
            }
        }
        "/ready" => {
            let m = lock();
            if m.is_connected() {
                (StatusCode::OK, plain, "connected\n".into())
            } else {
                let nodes = m.nodes_not_connected();
                let body = if nodes.is_empty() {
                    "not connected\n".to_string()
                } else {
                    format!("not connected: {}\n", nodes.join(", "))
                };
                (StatusCode::SERVICE_UNAVAILABLE, plain, body)
            }
        }
        "/" => (StatusCode::OK, plain, HELP.into()),
        _ => (
            StatusCode::NOT_FOUND,
            plain,
            "not found: see / for the paths served\n".into(),
        ),
    }
}
