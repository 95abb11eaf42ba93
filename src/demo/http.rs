//! Just enough HTTP/1.1 for the demo server: read one request head and body, write one
//! response, and the request routes (trigger API, auth endpoint). One request per
//! connection (`Connection: close`), which every HTTP client handles.

use super::hub::{Hub, NodeId, Publish};
use super::sign;
use chanwatch_core::connection::AuthGrant;
use chanwatch_core::protocol::ChannelKind;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

/// Larger request heads are refused; real ones are a few hundred bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// Larger bodies are refused: an API body holds at most 100 channels and 10 KB of data.
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A WebSocket upgrade request (`Upgrade: websocket`).
    pub fn is_websocket(&self) -> bool {
        self.header("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    }

    pub fn content_length(&self) -> Result<usize, String> {
        match self.header("content-length") {
            None => Ok(0),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| format!("bad Content-Length {v:?}")),
        }
    }
}

/// Where the blank line ending the head is, if the buffer holds a whole head.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Parse a request head (through the blank line). The body is filled in later.
pub fn parse_head(head: &[u8]) -> Result<Request, String> {
    let text = std::str::from_utf8(head).map_err(|_| "request head is not UTF-8".to_string())?;
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("bad request line {first:?}"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("unsupported HTTP version {version:?}"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        query,
        headers,
        body: Vec::new(),
    })
}

/// A complete response with a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    pub fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            body: body.to_string(),
        }
    }

    pub fn error(status: u16, message: &str) -> Response {
        Response::json(status, json!({ "error": message }))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            413 => "Payload Too Large",
            _ => "Error",
        };
        format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.status,
            self.body.len(),
            self.body
        )
        .into_bytes()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Route one plain HTTP request that came to node `node` (0 for a single server): what it
/// publishes starts there, what it lists is what that node sees. Returns the response and
/// the frames to deliver.
pub fn route(hub: &mut Hub, node: NodeId, req: &Request) -> (Response, Vec<super::hub::Delivery>) {
    let app_prefix = format!("/apps/{}/", hub.app().id);
    if req.path == "/pusher/auth" {
        return (auth_endpoint(hub, req), Vec::new());
    }
    let Some(rest) = req.path.strip_prefix(&app_prefix) else {
        return if req.path.starts_with("/apps/") {
            (Response::error(404, "unknown app id"), Vec::new())
        } else {
            (Response::error(404, "not found"), Vec::new())
        };
    };
    let app = hub.app();
    if let Err(e) = sign::verify_api_request(
        &app.key,
        &app.secret,
        &req.method,
        &req.path,
        &req.query,
        &req.body,
        unix_now(),
    ) {
        return (Response::error(401, &e), Vec::new());
    }
    match (req.method.as_str(), rest) {
        ("POST", "events" | "batch_events") => {}
        ("GET", _) => return (query_route(hub, node, req, rest), Vec::new()),
        _ => {
            return (
                Response::error(
                    404,
                    "this demo server has POST events and batch_events, GET channels, \
                     channels/<name> and channels/<name>/users",
                ),
                Vec::new(),
            );
        }
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => {
            return (
                Response::error(400, &format!("body is not JSON: {e}")),
                Vec::new(),
            );
        }
    };
    let items: Vec<&Value> = if rest == "events" {
        vec![&body]
    } else {
        match body.get("batch").and_then(Value::as_array) {
            Some(b) if b.len() <= 10 => b.iter().collect(),
            Some(_) => {
                return (
                    Response::error(400, "at most 10 events per batch"),
                    Vec::new(),
                );
            }
            None => {
                return (
                    Response::error(400, "body needs a \"batch\" array"),
                    Vec::new(),
                );
            }
        }
    };
    let mut publishes = Vec::new();
    for item in items {
        match publish_from_json(item) {
            Ok(p) => publishes.push(p),
            Err(e) => return (Response::error(400, &e), Vec::new()),
        }
    }
    let mut out = Vec::new();
    for p in &publishes {
        match hub.publish_via(node, p) {
            Ok(d) => out.extend(d),
            Err(e) => return (Response::error(e.status, &e.message), out),
        }
    }
    (Response::json(200, json!({})), out)
}

/// The read-only API: `channels`, `channels/<name>`, `channels/<name>/users`.
fn query_route(hub: &Hub, node: NodeId, req: &Request, rest: &str) -> Response {
    let info: Vec<&str> = req
        .query_param("info")
        .map(|i| {
            i.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if rest == "channels" {
        let prefix = req.query_param("filter_by_prefix").unwrap_or("");
        let user_count = info.contains(&"user_count");
        if user_count && !prefix.starts_with("presence-") {
            return Response::error(400, "info=user_count needs filter_by_prefix=presence-");
        }
        // As sockudo does: subscription_count for every channel in a listing.
        let subscription_count = info.contains(&"subscription_count");
        let mut channels = serde_json::Map::new();
        for (name, members) in hub.occupied_via(node, prefix) {
            let mut attrs = json!({});
            if user_count {
                attrs["user_count"] = Value::from(members);
            }
            if subscription_count {
                attrs["subscription_count"] = Value::from(hub.subscriber_count_via(node, &name));
            }
            channels.insert(name, attrs);
        }
        return Response::json(200, json!({ "channels": channels }));
    }
    let Some(name) = rest.strip_prefix("channels/") else {
        return Response::error(404, "not found");
    };
    if let Some(name) = name.strip_suffix("/users") {
        if ChannelKind::of(name) != ChannelKind::Presence {
            return Response::error(400, "users are only listed for presence channels");
        }
        let users: Vec<Value> = hub
            .member_ids_via(node, name)
            .into_iter()
            .map(|id| json!({ "id": id }))
            .collect();
        return Response::json(200, json!({ "users": users }));
    }
    let presence = ChannelKind::of(name) == ChannelKind::Presence;
    let occupied = hub.occupied_via(node, name).iter().any(|(n, _)| n == name);
    let mut body = json!({ "occupied": occupied });
    for attr in info {
        match attr {
            "user_count" if presence => {
                body["user_count"] = Value::from(hub.member_ids_via(node, name).len());
            }
            "subscription_count" if !presence => {
                body["subscription_count"] = Value::from(hub.subscriber_count_via(node, name));
            }
            other => {
                return Response::error(
                    400,
                    &format!("info={other} is not available for {name:?} on this server"),
                );
            }
        }
    }
    Response::json(200, body)
}

/// The API body of one event: `{name, data, channels | channel, socket_id?}`.
pub fn publish_from_json(v: &Value) -> Result<Publish, String> {
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or("event needs a string \"name\"")?
        .to_string();
    let data = match v.get("data") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("\"data\" must be a string (JSON-encode it first)".into()),
        None => return Err("event needs \"data\"".into()),
    };
    let channels = match (v.get("channels"), v.get("channel")) {
        (Some(Value::Array(a)), _) => a
            .iter()
            .map(|c| c.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or("\"channels\" must be an array of strings")?,
        (None, Some(Value::String(c))) => vec![c.clone()],
        _ => return Err("event needs \"channels\" (array) or \"channel\" (string)".into()),
    };
    let exclude_socket = v
        .get("socket_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Publish {
        name,
        data,
        channels,
        exclude_socket,
    })
}

/// The demo's own auth endpoint, the part of an app's backend pusher-js would POST to:
/// form `socket_id`, `channel_name`, optional `user_id` and `user_info` (JSON) for presence.
fn auth_endpoint(hub: &Hub, req: &Request) -> Response {
    if req.method != "POST" {
        return Response::error(405, "POST a form with socket_id and channel_name");
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(socket_id), Some(channel)) = (get("socket_id"), get("channel_name")) else {
        return Response::error(400, "form needs socket_id and channel_name");
    };
    let user_info = match get("user_info").map(serde_json::from_str::<Value>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => return Response::error(400, &format!("user_info is not JSON: {e}")),
    };
    match authorize(hub.app(), socket_id, channel, get("user_id"), user_info) {
        Ok(grant) => {
            let mut body = json!({ "auth": grant.auth });
            if let Some(cd) = grant.channel_data {
                body["channel_data"] = Value::from(cd);
            }
            if let Some(s) = grant.shared_secret {
                body["shared_secret"] = Value::from(s);
            }
            Response::json(200, body)
        }
        Err(e) => Response::error(403, &e),
    }
}

/// Sign a subscription the way an app's auth endpoint would, for the demo app: presence gets
/// `channel_data` (user id given or random), encrypted channels get their `shared_secret`.
pub fn authorize(
    app: &super::hub::App,
    socket_id: &str,
    channel: &str,
    user_id: Option<&str>,
    user_info: Option<Value>,
) -> Result<AuthGrant, String> {
    chanwatch_core::protocol::channel::validate_channel_name(channel).map_err(|e| e.to_string())?;
    let kind = ChannelKind::of(channel);
    if !kind.needs_auth() {
        return Err(format!("{channel:?} is public and needs no authorization"));
    }
    let channel_data = (kind == ChannelKind::Presence).then(|| {
        let id = user_id
            .map(str::to_string)
            .unwrap_or_else(|| format!("guest-{}", rand::random_range(1000..10000u32)));
        let mut cd = json!({ "user_id": id });
        if let Some(info) = user_info {
            cd["user_info"] = info;
        }
        cd.to_string()
    });
    let auth = sign::channel_auth(
        &app.key,
        &app.secret,
        socket_id,
        channel,
        channel_data.as_deref(),
    );
    let shared_secret = (kind == ChannelKind::Encrypted)
        .then(|| sign::channel_shared_secret(channel, &app.master_key));
    Ok(AuthGrant {
        auth,
        channel_data,
        shared_secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_head() {
        let raw = b"POST /apps/1/events?auth_key=a%20b&x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
        let end = head_end(raw).unwrap();
        let req = parse_head(&raw[..end]).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/apps/1/events");
        assert_eq!(req.query_param("auth_key"), Some("a b"));
        assert_eq!(req.content_length(), Ok(5));
        assert!(!req.is_websocket());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
        assert!(parse_head(b"GET / SPDY/3\r\n\r\n").is_err());
    }

    #[test]
    fn publish_body_shapes() {
        let p = publish_from_json(&json!({"name":"e","data":"{}","channel":"a","socket_id":"1.2"}))
            .unwrap();
        assert_eq!(p.channels, vec!["a"]);
        assert_eq!(p.exclude_socket.as_deref(), Some("1.2"));
        assert!(publish_from_json(&json!({"name":"e","data":{},"channel":"a"})).is_err());
        assert!(publish_from_json(&json!({"name":"e","data":"x"})).is_err());
        assert!(publish_from_json(&json!({"data":"x","channel":"a"})).is_err());
    }
}
