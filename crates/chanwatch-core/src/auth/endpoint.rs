//! Asking an HTTP auth endpoint the way pusher-js does: with the `ajax` transport a form POST
//! of `socket_id`, `channel_name` and the configured params, with the configured headers; with
//! the `jsonp` transport a GET carrying the same fields in the query string plus a `callback`,
//! answered by `callback({...})`. The same endpoint type serves user authentication
//! (`pusher:signin`), whose form has no `channel_name`.

use super::jsonp::{JSONP_CALLBACK, unwrap_callback};
use super::response::{excerpt, interpret_response, interpret_user_response};
use super::user::UserGrant;
use crate::connection::{AuthFailure, AuthFailureKind, AuthGrant, AuthRequest};
use crate::http_client::{BodyError, read_capped};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use url::Url;

/// How long an authorization may take unless configured otherwise. pusher-js has no timeout
/// at all; a hung endpoint would leave a subscription pending forever.
pub const DEFAULT_AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Bodies larger than this are refused: an auth answer is a few hundred bytes.
const MAX_BODY: usize = 1 << 20;

const FORM: &str = "application/x-www-form-urlencoded";

/// How the request reaches the endpoint (pusher-js's `transport` option), named as
/// pusher-js names it in configuration: `ajax` or `jsonp`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthTransport {
    /// POST with a form body and the configured headers.
    #[default]
    Ajax,
    /// GET with the form fields and `callback` in the query string; no custom headers, as a
    /// browser's script tag cannot send any.
    Jsonp,
}

impl AuthTransport {
    /// `ajax` or `jsonp`, in any case, with spaces around.
    pub fn parse(s: &str) -> Result<AuthTransport, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ajax" => Ok(AuthTransport::Ajax),
            "jsonp" => Ok(AuthTransport::Jsonp),
            _ => Err(format!("unknown auth transport \"{s}\"; use ajax or jsonp")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthTransport::Ajax => "ajax",
            AuthTransport::Jsonp => "jsonp",
        }
    }
}

impl fmt::Display for AuthTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthTransport {
    type Err = String;

    fn from_str(s: &str) -> Result<AuthTransport, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ajax" => Ok(AuthTransport::Ajax),
            "jsonp" => Ok(AuthTransport::Jsonp),
            _ => Err(format!(
                "unknown auth transport `{s}`; use `ajax` (form POST) or `jsonp` (GET with a callback)"
            )),
        }
    }
}

#[derive(Clone)]
pub struct EndpointAuthorizer {
    url: Url,
    transport: AuthTransport,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    header_map: HeaderMap,
    timeout: Duration,
    client: reqwest::Client,
}

impl EndpointAuthorizer {
    /// An ajax endpoint (see [`EndpointAuthorizer::with_transport`] for JSONP). Checks the URL
    /// (absolute http/https) and headers up front, so a bad option is reported at start-up
    /// rather than on the first private subscription.
    pub fn new(
        url: &str,
        params: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        timeout: Duration,
    ) -> Result<EndpointAuthorizer, String> {
        // The text is not quoted back: a malformed URL may still hold a token.
        let url = Url::parse(url).map_err(|e| {
            format!("the auth endpoint is not an absolute http:// or https:// URL ({e})")
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
        let client = http_client(crate::tls::default_config())?;
        Ok(EndpointAuthorizer {
            url,
            transport: AuthTransport::Ajax,
            params,
            headers,
            header_map,
            timeout,
            client,
        })
    }

    /// Trusts the CAs of `tls` (the default trust plus `--ca-file`) for an https endpoint.
    pub fn with_tls(
        mut self,
        tls: std::sync::Arc<rustls::ClientConfig>,
    ) -> Result<EndpointAuthorizer, String> {
        self.client = http_client(tls)?;
        Ok(self)
    }

    /// Chooses the transport. JSONP cannot carry headers (pusher-js ignores them there), so
    /// configured headers with JSONP are refused rather than silently dropped.
    pub fn with_transport(
        mut self,
        transport: AuthTransport,
    ) -> Result<EndpointAuthorizer, String> {
        if transport == AuthTransport::Jsonp && !self.headers.is_empty() {
            let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format!(
                "auth headers ({}) cannot be sent with the jsonp transport, which is a plain GET \
                 as a browser script tag makes; pass them as params or use the ajax transport",
                names.join(", ")
            ));
        }
        self.transport = transport;
        Ok(self)
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn transport(&self) -> AuthTransport {
        self.transport
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

    /// `socket_id`, `channel_name` (channel authorization only), then the params in order.
    fn fields(&self, socket_id: &str, channel: Option<&str>) -> Vec<(String, String)> {
        let mut fields = vec![("socket_id".to_string(), socket_id.to_string())];
        if let Some(channel) = channel {
            fields.push(("channel_name".into(), channel.into()));
        }
        fields.extend(self.params.iter().cloned());
        fields
    }

    /// The ajax request body of a channel authorization.
    pub fn form_body(&self, req: &AuthRequest) -> String {
        encode(&self.fields(&req.socket_id, Some(&req.channel)))
    }

    /// The ajax request body of a user authentication: no `channel_name`.
    pub fn user_form_body(&self, socket_id: &str) -> String {
        encode(&self.fields(socket_id, None))
    }

    /// The JSONP request URL: the endpoint's own query kept, then `callback` (first, as
    /// pusher-js puts it) and the fields.
    pub fn jsonp_url(&self, fields: &[(String, String)]) -> Url {
        let mut url = self.url.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("callback", JSONP_CALLBACK);
            for (k, v) in fields {
                query.append_pair(k, v);
            }
        }
        url
    }

    /// What [`authorize`](Self::authorize) sends, for the auth inspector: method, URL (without
    /// credentials), form fields and headers, their values masked as [`crate::mask`]
    /// says.
    pub fn describe(&self, req: &AuthRequest) -> serde_json::Value {
        use crate::mask::{shown_header, shown_param};
        let fields = self.fields(&req.socket_id, Some(&req.channel));
        let form: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(k, v)| (k.clone(), shown_param(k, v).into()))
            .collect();
        let headers: serde_json::Map<String, serde_json::Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), shown_header(k, v).into()))
            .collect();
        let method = match self.transport {
            AuthTransport::Ajax => "POST",
            AuthTransport::Jsonp => "GET",
        };
        serde_json::json!({
            "kind": "endpoint",
            "transport": self.transport.as_str(),
            "method": method,
            "url": display_url(&self.url),
            "form": form,
            "headers": headers,
        })
    }

    /// Authorizes a channel subscription and checks the answer.
    pub async fn authorize(&self, req: &AuthRequest) -> Result<AuthGrant, AuthFailure> {
        super::refuse_bad_socket_id(&req.socket_id)?;
        let fields = self.fields(&req.socket_id, Some(&req.channel));
        let (status, body) = self.fetch(&fields).await?;
        interpret_response(&req.channel, status, &body)
    }

    /// Authenticates the user for `pusher:signin` (this endpoint is then the user-auth one,
    /// `/pusher/user-auth` by pusher-js's convention) and checks the answer.
    pub async fn authenticate_user(&self, socket_id: &str) -> Result<UserGrant, AuthFailure> {
        super::refuse_bad_socket_id(socket_id)?;
        let fields = self.fields(socket_id, None);
        let (status, body) = self.fetch(&fields).await?;
        interpret_user_response(status, &body)
    }

    /// Makes the request, bounded by the timeout as a whole (connect, send, read), and gives
    /// the status with the auth JSON: for JSONP, a 200's callback argument.
    async fn fetch(&self, fields: &[(String, String)]) -> Result<(u16, Vec<u8>), AuthFailure> {
        let (status, body) = match tokio::time::timeout(self.timeout, self.exchange(fields)).await {
            Ok(answer) => answer?,
            Err(_) => {
                return Err(AuthFailure::new(
                    AuthFailureKind::Timeout,
                    format!(
                        "auth endpoint did not answer within {}",
                        humantime::format_duration(self.timeout)
                    ),
                ));
            }
        };
        if self.transport == AuthTransport::Jsonp && status == 200 {
            let inner = unwrap_callback(&body, JSONP_CALLBACK).map_err(|why| {
                AuthFailure::new(
                    AuthFailureKind::BadJson,
                    format!(
                        "auth endpoint answered 200 but not with a JSONP callback ({why}): {}",
                        excerpt(&body)
                    ),
                )
                .with_status(200)
            })?;
            return Ok((status, inner.as_bytes().to_vec()));
        }
        Ok((status, body))
    }

    async fn exchange(&self, fields: &[(String, String)]) -> Result<(u16, Vec<u8>), AuthFailure> {
        let failed = |e: reqwest::Error| {
            AuthFailure::new(
                AuthFailureKind::Unreachable,
                format!(
                    "auth request to {} failed: {}",
                    display_url(&self.url),
                    error_chain(&e)
                ),
            )
        };
        let request = match self.transport {
            AuthTransport::Ajax => self
                .client
                .post(self.url.clone())
                .headers(self.header_map.clone())
                .body(encode(fields)),
            AuthTransport::Jsonp => self.client.get(self.jsonp_url(fields)),
        };
        let response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let body = read_capped(response, MAX_BODY).await.map_err(|e| match e {
            BodyError::TooLarge { .. } => AuthFailure::new(
                AuthFailureKind::AnswerTooLarge,
                format!("auth endpoint answered HTTP {status}: {e}"),
            ),
            BodyError::Read(e) => failed(e),
        })?;
        Ok((status, body))
    }
}

fn encode(fields: &[(String, String)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        form.append_pair(k, v);
    }
    form.finish()
}

/// Names are shown (they help when debugging), values only as [`crate::mask`]
/// allows: they are often tokens.
impl fmt::Debug for EndpointAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::pairs::{Headers, Params};
        let params: Params = self.params.iter().cloned().collect();
        let headers: Headers = self.headers.iter().cloned().collect();
        f.debug_struct("EndpointAuthorizer")
            .field("url", &display_url(&self.url))
            .field("transport", &self.transport)
            .field("params", &params)
            .field("headers", &headers)
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

/// The endpoint as messages and records show it: [`crate::mask::shown_url`].
fn display_url(url: &Url) -> String {
    crate::mask::shown_url(url)
}

fn http_client(tls: std::sync::Arc<rustls::ClientConfig>) -> Result<reqwest::Client, String> {
    // The request carries the configured headers and params: they must not follow a
    // redirect to a server they were not meant for (the shared builder's rule).
    crate::http_client::builder()
        .user_agent(concat!("chanwatch/", env!("CARGO_PKG_VERSION")))
        .use_preconfigured_tls((*tls).clone())
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", error_chain(&e)))
}

/// reqwest's top-level message is generic ("error sending request"); the cause
/// (refused, DNS, TLS) is further down the source chain. A refused certificate is told in
/// words, with the flag that fixes it.
pub(crate) fn error_chain(e: &reqwest::Error) -> String {
    if let Some(tls) = crate::tls::find_rustls_error(e) {
        let host = e.url().and_then(|u| u.host_str()).unwrap_or("the server");
        return crate::tls::describe_failure(host, tls);
    }
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
    fn transports_parse_by_name() {
        assert_eq!("ajax".parse(), Ok(AuthTransport::Ajax));
        assert_eq!(" JSONP ".parse(), Ok(AuthTransport::Jsonp));
        assert_eq!(AuthTransport::default(), AuthTransport::Ajax);
        assert_eq!(AuthTransport::Jsonp.to_string(), "jsonp");
        let e = "xhr".parse::<AuthTransport>().unwrap_err();
        assert!(
            e.contains("`xhr`") && e.contains("ajax") && e.contains("jsonp"),
            "{e}"
        );
    }

    #[test]
    fn jsonp_url_keeps_the_endpoint_query_and_adds_callback_then_fields() {
        let e = EndpointAuthorizer::new(
            "http://127.0.0.1:9/auth?app=1",
            vec![("team".into(), "a b&c".into())],
            vec![],
            DEFAULT_AUTH_TIMEOUT,
        )
        .unwrap()
        .with_transport(AuthTransport::Jsonp)
        .unwrap();
        assert_eq!(e.transport(), AuthTransport::Jsonp);
        let url = e.jsonp_url(&e.fields("1.2", Some("private-a")));
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/auth?app=1&callback=chanwatch_auth&socket_id=1.2\
             &channel_name=private-a&team=a+b%26c"
        );
        let url = e.jsonp_url(&e.fields("1.2", None));
        assert_eq!(
            url.query(),
            Some("app=1&callback=chanwatch_auth&socket_id=1.2&team=a+b%26c")
        );
    }

    #[test]
    fn user_form_has_no_channel_name() {
        let e = endpoint(vec![("team", "x")]);
        assert_eq!(e.user_form_body("1.2"), "socket_id=1.2&team=x");
    }

    #[test]
    fn jsonp_refuses_headers_it_could_not_send() {
        let e = EndpointAuthorizer::new(
            "http://h/",
            vec![],
            vec![("Authorization".into(), "Bearer s3cr3t".into())],
            DEFAULT_AUTH_TIMEOUT,
        )
        .unwrap();
        let err = e.clone().with_transport(AuthTransport::Jsonp).unwrap_err();
        assert!(
            err.contains("(Authorization)") && err.contains("jsonp") && !err.contains("s3cr3t"),
            "{err}"
        );
        assert!(e.with_transport(AuthTransport::Ajax).is_ok());
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
        assert_eq!(
            display_url(&url),
            "https://••••@h.test:8443/auth?token=••••"
        );
        // Not quoted back when it does not parse.
        let e = EndpointAuthorizer::new(
            "http://user:pw@h st/auth?token=t0k3n",
            vec![],
            vec![],
            DEFAULT_AUTH_TIMEOUT,
        )
        .unwrap_err();
        assert!(!e.contains("t0k3n") && !e.contains("pw"), "{e}");
    }

    #[tokio::test]
    async fn malformed_socket_ids_are_not_sent() {
        // Port 9 (discard) is never asked: the refusal comes first.
        let e = endpoint(vec![]);
        let f = e
            .authorize(&AuthRequest {
                channel: "private-a".into(),
                socket_id: "1.2&channel_name=private-b".into(),
            })
            .await
            .unwrap_err();
        assert!(f.message.contains("socket id"), "{}", f.message);
        let f = e.authenticate_user("12").await.unwrap_err();
        assert!(f.message.contains("socket id"), "{}", f.message);
    }

    fn with_secrets() -> EndpointAuthorizer {
        EndpointAuthorizer::new(
            "http://h/",
            vec![("token".into(), "p4r4m".into())],
            vec![
                ("Authorization".into(), "Bearer s3cr3t".into()),
                ("X-Team-Token".into(), "sekrit".into()),
                ("accept".into(), "application/json".into()),
            ],
            DEFAULT_AUTH_TIMEOUT,
        )
        .unwrap()
    }

    #[test]
    fn debug_hides_header_and_param_values() {
        let shown = format!("{:?}", with_secrets());
        assert!(
            shown.contains("Authorization") && shown.contains("X-Team-Token"),
            "{shown}"
        );
        for secret in ["s3cr3t", "sekrit", "p4r4m"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("application/json"), "{shown}");
    }

    #[test]
    fn describe_masks_all_but_the_allowlist() {
        let described = with_secrets().describe(&AuthRequest {
            channel: "private-a".into(),
            socket_id: "1.2".into(),
        });
        let text = described.to_string();
        for secret in ["s3cr3t", "sekrit", "p4r4m"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(described["headers"]["accept"], "application/json");
        assert_eq!(described["form"]["socket_id"], "1.2");
        assert_eq!(described["form"]["channel_name"], "private-a");
        assert_eq!(described["form"]["token"], crate::mask::MASK);
        assert_eq!(described["headers"]["X-Team-Token"], crate::mask::MASK);
    }
}
