//! A small signed client for the Pusher Channels HTTP API (protocol notes §9): trigger
//! events, list occupied channels, list presence users. The signing is a pure function,
//! [`sign_query`], so it can be checked against the published worked example; [`HttpApi`]
//! wraps it around reqwest.
//!
//! The secret never leaves this module except as an HMAC key: it is not in any URL, error or
//! `Debug` output.

use crate::auth::signature::hmac_hex;
use crate::http_client::{BodyError, read_capped};
use md5::{Digest, Md5};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Query parameters the signing owns; a caller's parameter with one of these names would
/// either be overwritten or forge part of the signature, so [`sign_query`] drops it.
const RESERVED_PARAMS: [&str; 5] = [
    "auth_key",
    "auth_timestamp",
    "auth_version",
    "auth_signature",
    "body_md5",
];

/// How much of an error response body an [`HttpApiError`] keeps.
const BODY_EXCERPT_CHARS: usize = 300;

/// Bodies larger than this are refused: the largest answer, a channel listing, is a few
/// KiB even for thousands of channels.
const MAX_BODY: usize = 4 << 20;

/// The whole request may take this long; servers answer these calls in milliseconds, so
/// anything longer means the server is stuck or unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Build the signed query string for one HTTP API request: the caller's `params`, then
/// `auth_key`, `auth_timestamp`, `auth_version=1.0`, and `body_md5` when `body` is non-empty,
/// all with lower-cased keys sorted by key and URL-encoded, followed by `auth_signature`.
///
/// The signature is HMAC-SHA256(secret, "METHOD\nPATH\nQUERY") where QUERY is the same
/// sorted list joined with `&` but *not* URL-encoded, as servers rebuild it from the decoded
/// parameters. `path` is the full path, e.g. `/apps/3/events`.
pub fn sign_query(
    method: &str,
    path: &str,
    key: &str,
    secret: &str,
    timestamp: u64,
    body: Option<&[u8]>,
    params: &[(String, String)],
) -> String {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .filter(|(k, _)| !RESERVED_PARAMS.contains(&k.as_str()))
        .collect();
    all.push(("auth_key".into(), key.into()));
    all.push(("auth_timestamp".into(), timestamp.to_string()));
    all.push(("auth_version".into(), "1.0".into()));
    if let Some(body) = body.filter(|b| !b.is_empty()) {
        all.push(("body_md5".into(), hex::encode(Md5::digest(body))));
    }
    // Stable sort: repeated keys keep the caller's order, as a server's decoded list would.
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let signature = hmac_hex(secret, &string_to_sign(method, path, &all));

    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &all {
        query.append_pair(k, v);
    }
    query.append_pair("auth_signature", &signature);
    query.finish()
}

/// The string an HTTP API signature covers: `METHOD\nPATH\nk=v&...` with every parameter
/// but `auth_signature`, keys lower-cased and sorted (stably), values not URL-escaped. Servers
/// rebuild it from the decoded query, so signing and checking share this one definition.
pub fn string_to_sign(method: &str, path: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, &str)> = params
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("auth_signature"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!("{}\n{}\n{}", method.to_ascii_uppercase(), path, query)
}

/// Why an HTTP API call failed. Messages name the request (method and path) but never the
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum HttpApiError {
    /// The arguments were rejected before anything was sent.
    #[error("invalid HTTP API request: {0}")]
    InvalidInput(String),
    /// No HTTP answer: connection refused, timeout, TLS, bad base URL.
    #[error(
        "{method} {path}: request failed: {}",
        crate::auth::http_error_chain(source)
    )]
    Transport {
        method: &'static str,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a non-2xx status.
    #[error("{method} {path}: HTTP {status}: {body}")]
    Status {
        method: &'static str,
        path: String,
        status: u16,
        /// The start of the response body, for the server's explanation.
        body: String,
    },
    /// The answer's body was larger than the client accepts.
    #[error("{method} {path}: HTTP {status}: the body is over {} KiB", .limit / 1024)]
    TooLarge {
        method: &'static str,
        path: String,
        status: u16,
        limit: usize,
    },
    /// A 2xx answer whose body was not the JSON expected.
    #[error("{method} {path}: unexpected response: {message}")]
    Decode {
        method: &'static str,
        path: String,
        message: String,
    },
}

impl HttpApiError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpApiError::Status { status, .. } | HttpApiError::TooLarge { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

/// A client for one app on one server, e.g. `HttpApi::new("http://127.0.0.1:6001", "app1",
/// "key", "secret")`. `base_url` is scheme, host and port; paths get `/apps/<app_id>`.
#[derive(Clone)]
pub struct HttpApi {
    pub base_url: String,
    pub app_id: String,
    pub key: String,
    pub secret: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for HttpApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpApi")
            .field("base_url", &self.base_url)
            .field("app_id", &self.app_id)
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl HttpApi {
    pub fn new(
        base_url: impl Into<String>,
        app_id: impl Into<String>,
        key: impl Into<String>,
        secret: impl Into<String>,
    ) -> HttpApi {
        let client = Self::client(crate::tls::default_config());
        HttpApi {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            app_id: app_id.into(),
            key: key.into(),
            secret: secret.into(),
            client,
        }
    }

    /// Trusts the CAs of `tls` (the default trust plus `--ca-file`) for an https API.
    pub fn with_tls(mut self, tls: std::sync::Arc<rustls::ClientConfig>) -> HttpApi {
        self.client = Self::client(tls);
        self
    }

    fn client(tls: std::sync::Arc<rustls::ClientConfig>) -> reqwest::Client {
        // The URL is signed and a trigger has a body: neither may be replayed to another
        // origin by a redirect, nor the signed URL passed on as a Referer.
        crate::http_client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("chanwatch/", env!("CARGO_PKG_VERSION")))
            .use_preconfigured_tls((*tls).clone())
            .build()
            // Only fails when the TLS backend cannot initialise, which is a broken build.
            .expect("reqwest client with rustls builds")
    }

    /// `POST /apps/<id>/events`: send `event` with `data` (sent as the string it is) to every
    /// channel in `channels`, except to the connection `socket_id` when given.
    pub async fn trigger(
        &self,
        channels: &[String],
        event: &str,
        data: &str,
        socket_id: Option<&str>,
    ) -> Result<(), HttpApiError> {
        if channels.is_empty() {
            return Err(HttpApiError::InvalidInput(
                "trigger needs at least one channel".into(),
            ));
        }
        for channel in channels {
            crate::protocol::channel::validate_channel_name(channel)
                .map_err(|e| HttpApiError::InvalidInput(e.to_string()))?;
        }
        if event.is_empty() {
            return Err(HttpApiError::InvalidInput("event name is empty".into()));
        }
        let mut body = serde_json::json!({
            "name": event,
            "data": data,
            "channels": channels,
        });
        if let Some(socket_id) = socket_id {
            body["socket_id"] = Value::String(socket_id.to_string());
        }
        let body = serde_json::to_vec(&body).expect("a JSON value always serialises");
        self.request("POST", "/events", &[], Some(body)).await?;
        Ok(())
    }

    /// `GET /apps/<id>/channels`: the occupied channels, optionally only those whose name
    /// starts with `prefix`. Returns the whole JSON answer, `{"channels":{"<name>":{..}}}`.
    pub async fn channels(&self, prefix: Option<&str>) -> Result<Value, HttpApiError> {
        self.channels_with_info(prefix, None).await
    }

    /// `GET /apps/<id>/channels` with `info` (a comma list: `subscription_count`,
    /// `user_count`); which attributes a server accepts for a listing varies (chanwatch's
    /// occupancy poll learns it).
    pub async fn channels_with_info(
        &self,
        prefix: Option<&str>,
        info: Option<&str>,
    ) -> Result<Value, HttpApiError> {
        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(p) = prefix {
            params.push(("filter_by_prefix".to_string(), p.to_string()));
        }
        if let Some(i) = info {
            params.push(("info".to_string(), i.to_string()));
        }
        self.request("GET", "/channels", &params, None).await
    }

    /// `GET /apps/<id>/channels/<channel>/users`: the user ids on a presence channel, as
    /// strings (numeric ids are converted).
    pub async fn channel_users(&self, channel: &str) -> Result<Vec<String>, HttpApiError> {
        crate::protocol::channel::validate_channel_name(channel)
            .map_err(|e| HttpApiError::InvalidInput(e.to_string()))?;
        let sub_path = format!("/channels/{channel}/users");
        let answer = self.request("GET", &sub_path, &[], None).await?;
        let path = self.full_path(&sub_path);
        let users = answer
            .get("users")
            .and_then(Value::as_array)
            .ok_or_else(|| HttpApiError::Decode {
                method: "GET",
                path: path.clone(),
                message: format!("no \"users\" array in {}", excerpt(&answer.to_string())),
            })?;
        users
            .iter()
            .map(|user| {
                user.get("id")
                    .and_then(crate::protocol::frame::id_string)
                    .ok_or_else(|| HttpApiError::Decode {
                        method: "GET",
                        path: path.clone(),
                        message: format!("user without a string or number id: {user}"),
                    })
            })
            .collect()
    }

    fn full_path(&self, sub_path: &str) -> String {
        format!("/apps/{}{}", self.app_id, sub_path)
    }

    /// Sign and send one request; a 2xx answer is parsed as JSON (an empty body is `{}`).
    async fn request(
        &self,
        method: &'static str,
        sub_path: &str,
        params: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Value, HttpApiError> {
        let path = self.full_path(sub_path);
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let query = sign_query(
            method,
            &path,
            &self.key,
            &self.secret,
            timestamp,
            body.as_deref(),
            params,
        );
        let url = format!("{}{}?{}", self.base_url, path, query);
        let mut builder = match method {
            "POST" => self.client.post(&url),
            _ => self.client.get(&url),
        };
        if let Some(body) = body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let transport = |source: reqwest::Error| HttpApiError::Transport {
            method,
            path: path.clone(),
            // reqwest errors print their URL; ours carries the key and signature, which are
            // not secret but are noise next to the method and path already reported.
            source: source.without_url(),
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let body = read_capped(response, MAX_BODY).await.map_err(|e| match e {
            BodyError::TooLarge { limit } => HttpApiError::TooLarge {
                method,
                path: path.clone(),
                status: status.as_u16(),
                limit,
            },
            BodyError::Read(e) => transport(e),
        })?;
        let text = String::from_utf8_lossy(&body);
        if !status.is_success() {
            return Err(HttpApiError::Status {
                method,
                path,
                status: status.as_u16(),
                body: excerpt(&text),
            });
        }
        if text.trim().is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_str(&text).map_err(|e| HttpApiError::Decode {
            method,
            path,
            message: format!("{e}: {}", excerpt(&text)),
        })
    }
}

/// The first [`BODY_EXCERPT_CHARS`] characters of `s`, marked when cut.
fn excerpt(s: &str) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(BODY_EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "278d425bdf160c739803";
    const SECRET: &str = "7ad3773142a6692b25b8";
    const BODY: &str = r#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;

    #[test]
    fn worked_example_from_the_rest_docs() {
        let query = sign_query(
            "POST",
            "/apps/3/events",
            KEY,
            SECRET,
            1353088179,
            Some(BODY.as_bytes()),
            &[],
        );
        assert_eq!(
            query,
            "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0\
             &body_md5=ec365a775a4cd0599faeb73354201b6f\
             &auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
        );
    }

    #[test]
    fn lower_case_method_signs_like_upper_case() {
        let a = sign_query("post", "/apps/3/events", KEY, SECRET, 1, Some(b"{}"), &[]);
        let b = sign_query("POST", "/apps/3/events", KEY, SECRET, 1, Some(b"{}"), &[]);
        assert_eq!(a, b);
    }

    #[test]
    fn empty_body_has_no_md5() {
        let none = sign_query("GET", "/apps/3/channels", KEY, SECRET, 1, None, &[]);
        let empty = sign_query("GET", "/apps/3/channels", KEY, SECRET, 1, Some(b""), &[]);
        assert_eq!(none, empty);
        assert!(!none.contains("body_md5"), "{none}");
    }

    /// Recompute the signature from the documented rule, independently of sign_query's own
    /// string building, for a request with parameters that sort before and after `auth_*`
    /// and a value that needs URL-encoding.
    #[test]
    fn params_are_sorted_lowercased_and_signed_unescaped() {
        let params = vec![
            ("Filter_By_Prefix".to_string(), "presence-".to_string()),
            (
                "info".to_string(),
                "user_count,subscription_count".to_string(),
            ),
        ];
        let query = sign_query("GET", "/apps/3/channels", KEY, SECRET, 42, None, &params);

        let to_sign = "GET\n/apps/3/channels\nauth_key=278d425bdf160c739803&auth_timestamp=42\
                       &auth_version=1.0&filter_by_prefix=presence-\
                       &info=user_count,subscription_count";
        let expected = hmac_hex(SECRET, to_sign);

        assert_eq!(
            query,
            format!(
                "auth_key=278d425bdf160c739803&auth_timestamp=42&auth_version=1.0\
                 &filter_by_prefix=presence-&info=user_count%2Csubscription_count\
                 &auth_signature={expected}"
            )
        );
    }

    #[test]
    fn reserved_params_from_the_caller_are_ignored() {
        let forged = vec![
            ("auth_key".to_string(), "other".to_string()),
            ("AUTH_SIGNATURE".to_string(), "x".to_string()),
        ];
        let with = sign_query("GET", "/apps/3/channels", KEY, SECRET, 7, None, &forged);
        let without = sign_query("GET", "/apps/3/channels", KEY, SECRET, 7, None, &[]);
        assert_eq!(with, without);
    }

    #[test]
    fn debug_hides_the_secret() {
        let api = HttpApi::new("http://127.0.0.1:1/", "app1", "key", "s3cr3t-value");
        let shown = format!("{api:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert_eq!(api.base_url, "http://127.0.0.1:1");
    }

    #[test]
    fn excerpt_cuts_long_bodies() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(BODY_EXCERPT_CHARS + 5);
        let cut = excerpt(&long);
        assert!(cut.ends_with("..."));
        assert_eq!(cut.chars().count(), BODY_EXCERPT_CHARS + 3);
    }

    #[tokio::test]
    async fn trigger_without_channels_is_refused_before_sending() {
        let api = HttpApi::new("http://127.0.0.1:1", "app1", "key", "secret");
        let err = api.trigger(&[], "e", "{}", None).await.unwrap_err();
        assert!(matches!(err, HttpApiError::InvalidInput(_)), "{err}");
        let err = api
            .trigger(&["bad channel".to_string()], "e", "{}", None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("bad channel"), "{err}");
    }

    /// A one-shot HTTP server on loopback that answers with `status` and `body`, and hands
    /// back the request head it saw.
    async fn one_shot_server(
        status: &'static str,
        body: &'static str,
    ) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the head; these test requests are GETs without a body.
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
            }
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&seen).into_owned()
        });
        (base, task)
    }

    #[tokio::test]
    async fn error_status_carries_status_and_body_but_not_the_secret() {
        let (base, server) =
            one_shot_server("401 Unauthorized", r#"{"error":"Invalid API signature"}"#).await;
        let api = HttpApi::new(base, "app1", "key", "the-secret");
        let err = tokio::time::timeout(Duration::from_secs(20), api.channels(Some("presence-")))
            .await
            .expect("bounded")
            .unwrap_err();
        assert_eq!(err.status(), Some(401));
        let shown = err.to_string();
        assert!(shown.contains("GET /apps/app1/channels"), "{shown}");
        assert!(shown.contains("Invalid API signature"), "{shown}");
        assert!(!shown.contains("the-secret"), "{shown}");
        let head = server.await.unwrap();
        assert!(
            head.starts_with("GET /apps/app1/channels?auth_key=key&"),
            "{head}"
        );
        assert!(head.contains("filter_by_prefix=presence-"), "{head}");
        assert!(!head.contains("the-secret"), "{head}");
    }

    #[tokio::test]
    async fn users_are_returned_as_strings() {
        let (base, _server) = one_shot_server("200 OK", r#"{"users":[{"id":"a"},{"id":7}]}"#).await;
        let api = HttpApi::new(base, "app1", "key", "secret");
        let users = tokio::time::timeout(Duration::from_secs(20), api.channel_users("presence-x"))
            .await
            .expect("bounded")
            .unwrap();
        assert_eq!(users, vec!["a".to_string(), "7".to_string()]);
    }

    #[tokio::test]
    async fn an_oversized_answer_is_refused() {
        let huge: &'static str =
            Box::leak(format!("[{}]", "0,".repeat(MAX_BODY / 2) + "0").into_boxed_str());
        let (base, _server) = one_shot_server("200 OK", huge).await;
        let api = HttpApi::new(base, "app1", "key", "secret");
        let err = tokio::time::timeout(Duration::from_secs(20), api.channels(None))
            .await
            .expect("bounded")
            .unwrap_err();
        assert!(matches!(err, HttpApiError::TooLarge { .. }), "{err}");
        assert_eq!(err.status(), Some(200));
        assert!(err.to_string().contains("over 4096 KiB"), "{err}");
    }

    /// A loopback HTTP server that answers every request with `reply(n, head)` (`n` counts
    /// from 0) and keeps each request it saw: head and body.
    async fn recording_server(
        reply: impl Fn(usize, &str) -> String + Send + Sync + 'static,
    ) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => break raw.len(),
                        Ok(k) => raw.extend_from_slice(&buf[..k]),
                    }
                };
                let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while raw.len() < head_end + length {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => raw.extend_from_slice(&buf[..k]),
                    }
                }
                let answer = reply(n, &head);
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&raw).into_owned());
                let _ = sock.write_all(answer.as_bytes()).await;
                n += 1;
            }
        });
        (base, seen)
    }

    fn ok_json(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn redirect_to(location: &str) -> String {
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
    }

    #[tokio::test]
    async fn a_redirect_to_another_origin_is_not_followed() {
        // The other origin: same host, another port. It must see nothing at all.
        let (other, other_seen) = recording_server(|_, _| ok_json("{}")).await;
        let target = format!("{other}/apps/app1/events");
        let (base, seen) = recording_server(move |_, _| redirect_to(&target)).await;
        let api = HttpApi::new(base, "app1", "key", "secret");
        let err = tokio::time::timeout(
            Duration::from_secs(20),
            api.trigger(&["news".to_string()], "e", "{\"secret\":1}", None),
        )
        .await
        .expect("bounded")
        .unwrap_err();
        assert!(matches!(err, HttpApiError::Transport { .. }), "{err}");
        let shown = err.to_string();
        assert!(shown.contains("another origin"), "{shown}");
        assert!(shown.contains(&other), "{shown}");
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(
            other_seen.lock().unwrap().is_empty(),
            "{:?}",
            other_seen.lock().unwrap()
        );
    }

    #[tokio::test]
    async fn a_same_origin_redirect_is_followed_without_a_referer() {
        let (base, seen) = recording_server(|n, _| match n {
            0 => redirect_to("/apps/app1/channels?moved=1"),
            _ => ok_json(r#"{"channels":{"news":{}}}"#),
        })
        .await;
        let api = HttpApi::new(base, "app1", "key", "secret");
        let answer = tokio::time::timeout(Duration::from_secs(20), api.channels(None))
            .await
            .expect("bounded")
            .unwrap();
        assert_eq!(answer["channels"]["news"], serde_json::json!({}));
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(
            seen[1].starts_with("GET /apps/app1/channels?moved=1 "),
            "{}",
            seen[1]
        );
        for request in seen.iter() {
            assert!(
                !request.to_ascii_lowercase().contains("\r\nreferer:"),
                "{request}"
            );
        }
    }

    #[tokio::test]
    async fn refused_connection_is_a_transport_error() {
        // Bind then drop to get a loopback port that is very likely closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let api = HttpApi::new(format!("http://127.0.0.1:{port}"), "app1", "key", "secret");
        let err = tokio::time::timeout(Duration::from_secs(40), api.channels(None))
            .await
            .expect("bounded")
            .unwrap_err();
        assert!(matches!(err, HttpApiError::Transport { .. }), "{err}");
        assert_eq!(err.status(), None);
    }
}
