//! Asking an HTTP auth endpoint, the way pusher-js's ajax transport does: a form POST of
//! `socket_id`, `channel_name` and the configured params, with the configured headers.

use super::response::interpret_response;
use crate::connection::{AuthFailure, AuthGrant, AuthRequest};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use std::fmt;
use std::time::Duration;
use url::Url;

/// pusher-js has no timeout at all; a hung endpoint would leave a subscription pending forever.
pub const DEFAULT_AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Bodies larger than this are refused: an auth answer is a few hundred bytes.
const MAX_BODY: usize = 1 << 20;

const FORM: &str = "application/x-www-form-urlencoded";

#[derive(Clone)]
pub struct EndpointAuthorizer {
    url: Url,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    header_map: HeaderMap,
    timeout: Duration,
    client: reqwest::Client,
}

impl EndpointAuthorizer {
    /// Checks the URL (absolute http/https) and headers up front, so a bad option is reported
    /// at start-up rather than on the first private subscription.
    pub fn new(
        url: &str,
        params: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        timeout: Duration,
    ) -> Result<EndpointAuthorizer, String> {
        let url = Url::parse(url).map_err(|e| {
            format!("auth endpoint `{url}` is not an absolute http:// or https:// URL ({e})")
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "auth endpoint `{}` must be an http:// or https:// URL with a host",
                display_url(&url)
            ));
        }
        if timeout.is_zero() {
            return Err("the auth timeout must be longer than zero".into());
        }
        let mut header_map = HeaderMap::new();
        header_map.insert(CONTENT_TYPE, HeaderValue::from_static(FORM));
        for (name, value) in &headers {
            let (name, value) = header_pair(name, value)?;
            // A configured Content-Type replaces ours; other names may repeat.
            if name == CONTENT_TYPE {
                header_map.insert(name, value);
            } else {
                header_map.append(name, value);
            }
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("chanwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {}", error_chain(&e)))?;
        Ok(EndpointAuthorizer {
            url,
            params,
            headers,
            header_map,
            timeout,
            client,
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The request body: `socket_id`, `channel_name`, then the extra params in order.
    pub fn form_body(&self, req: &AuthRequest) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("socket_id", &req.socket_id);
        form.append_pair("channel_name", &req.channel);
        for (k, v) in &self.params {
            form.append_pair(k, v);
        }
        form.finish()
    }

    /// POSTs the form and interprets the answer. Bounded by the timeout as a whole
    /// (connect, send and reading the body).
    pub async fn authorize(&self, req: &AuthRequest) -> Result<AuthGrant, AuthFailure> {
        match tokio::time::timeout(self.timeout, self.exchange(req)).await {
            Ok(Ok((status, body))) => interpret_response(&req.channel, status, &body),
            Ok(Err(message)) => Err(AuthFailure {
                status: None,
                message,
            }),
            Err(_) => Err(AuthFailure {
                status: None,
                message: format!(
                    "auth endpoint did not answer within {}",
                    humantime::format_duration(self.timeout)
                ),
            }),
        }
    }

    async fn exchange(&self, req: &AuthRequest) -> Result<(u16, Vec<u8>), String> {
        let failed = |e: reqwest::Error| {
            format!(
                "auth request to {} failed: {}",
                display_url(&self.url),
                error_chain(&e)
            )
        };
        let mut response = self
            .client
            .post(self.url.clone())
            .headers(self.header_map.clone())
            .body(self.form_body(req))
            .send()
            .await
            .map_err(failed)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!(
                    "auth endpoint answered HTTP {status} with a body over {} KiB",
                    MAX_BODY / 1024
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}

/// Header names and values are shown (they help when debugging), values are not: they are
/// often bearer tokens.
impl fmt::Debug for EndpointAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("EndpointAuthorizer")
            .field("url", &display_url(&self.url))
            .field("params", &self.params)
            .field("headers", &names)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Validates one header for the wire.
pub(super) fn header_pair(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not a valid HTTP header name"))?;
    let header_value = HeaderValue::from_str(value).map_err(|_| {
        format!("the value of header `{name}` contains characters not allowed in HTTP headers")
    })?;
    Ok((header_name, header_value))
}

/// The URL without user info or query, which may carry credentials.
fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// reqwest's top-level message is generic ("error sending request"); the cause
/// (refused, DNS, TLS) is further down the source chain.
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let top = e.to_string();
    // reqwest appends " for url (...)"; the URL is shown separately, without credentials.
    let top = match top.find(" for url (") {
        Some(i) => top[..i].to_string(),
        None => top,
    };
    parts.push(top);
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(params: Vec<(&str, &str)>) -> EndpointAuthorizer {
        EndpointAuthorizer::new(
            "http://127.0.0.1:9/pusher/auth",
            params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            vec![],
            DEFAULT_AUTH_TIMEOUT,
        )
        .unwrap()
    }

    #[test]
    fn form_body_is_url_encoded_in_order() {
        let e = endpoint(vec![("team", "a&b=c"), ("note", "x y/é")]);
        let req = AuthRequest {
            channel: "private-a#1".into(),
            socket_id: "1.2".into(),
        };
        let body = e.form_body(&req);
        assert_eq!(
            body,
            "socket_id=1.2&channel_name=private-a%231&team=a%26b%3Dc&note=x+y%2F%C3%A9"
        );
        let back: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(back[3], ("note".into(), "x y/é".into()));
    }

    #[test]
    fn bad_urls_are_refused_up_front() {
        let new = |u: &str| EndpointAuthorizer::new(u, vec![], vec![], DEFAULT_AUTH_TIMEOUT);
        assert!(new("/pusher/auth").unwrap_err().contains("not an absolute"));
        assert!(
            new("ftp://h/x")
                .unwrap_err()
                .contains("http:// or https://")
        );
        assert!(new("https://example.test/auth").is_ok());
        let zero = EndpointAuthorizer::new("http://h/", vec![], vec![], Duration::ZERO);
        assert!(zero.unwrap_err().contains("timeout"));
    }

    #[test]
    fn bad_headers_are_refused_up_front() {
        let new = |n: &str, v: &str| {
            EndpointAuthorizer::new(
                "http://h/",
                vec![],
                vec![(n.into(), v.into())],
                DEFAULT_AUTH_TIMEOUT,
            )
        };
        assert!(new("Bad Name", "v").unwrap_err().contains("header name"));
        assert!(new("X-A", "line\nbreak").unwrap_err().contains("`X-A`"));
        let e = new("Content-Type", "application/json").unwrap();
        assert_eq!(e.header_map.get_all(CONTENT_TYPE).iter().count(), 1);
    }

    #[test]
    fn urls_in_messages_drop_credentials() {
        let url = Url::parse("https://user:pw@h.test:8443/auth?token=t#f").unwrap();
        assert_eq!(display_url(&url), "https://h.test:8443/auth");
    }

    #[test]
    fn debug_hides_header_values() {
        let e = EndpointAuthorizer::new(
            "http://h/",
            vec![],
            vec![("Authorization".into(), "Bearer s3cr3t".into())],
            DEFAULT_AUTH_TIMEOUT,
        )
        .unwrap();
        let shown = format!("{e:?}");
        assert!(
            shown.contains("Authorization") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
