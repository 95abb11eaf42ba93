//! The value types of the configuration and their checks. Every check is a plain function on
//! a string so that the file, the environment and the CLI reject the same things with the
//! same words; the serde helpers below only wrap them (serde then attaches the file position).
//!
//! The types that hold credentials ([`Secret`], [`Pairs`], [`AuthUrl`]) are masked in both
//! `Debug` and `Serialize`: printing or serialising a configuration can never leak them.

use chanwatch_core::connection::transport::KNOWN_TRANSPORTS;
use chanwatch_core::mask::{MASK, mask, shown_argv, shown_command_line, shown_url};
use chanwatch_core::pairs::Headers;
use chanwatch_core::protocol::channel::validate_channel_name;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// The longest duration accepted anywhere: longer is surely a typo, and keeps every
/// `Instant + duration` far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The largest event log ring accepted (each entry holds an event; this is already GiBs).
pub const MAX_LOG_RING: usize = 10_000_000;

// ---- checks: &str in, the value or a message out ----

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        format!("\"{s}\" is not a duration: {e} (examples: \"500ms\", \"2s\", \"1m\")")
    })?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    if d > MAX_DURATION {
        return Err("must be at most 30 days".into());
    }
    Ok(d)
}

pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

pub fn check_port(n: i64) -> Result<u16, String> {
    match u16::try_from(n) {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!("{n} is not a port number (1 to 65535)")),
    }
}

pub fn parse_port(s: &str) -> Result<u16, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("\"{s}\" is not a port number (1 to 65535)"))?;
    check_port(n)
}

/// `true/false`, `1/0`, `yes/no`, `on/off`, any case: the forms people put in environments.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("\"{s}\" is not a boolean (true or false)")),
    }
}

pub fn check_key(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("the app key is empty".into());
    }
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.~".contains(*c)))
    {
        return Err(format!(
            "the app key contains {bad:?}, which cannot go in a URL path"
        ));
    }
    Ok(s.to_string())
}

pub fn check_app_id(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("the app id is empty".into());
    }
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.~".contains(*c)))
    {
        return Err(format!(
            "the app id contains {bad:?}, which cannot go in a URL path"
        ));
    }
    Ok(s.to_string())
}

pub fn check_secret(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("the secret is empty".into());
    }
    Ok(s.to_string())
}

pub fn check_cluster(s: &str) -> Result<String, String> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!(
            "\"{s}\" is not a cluster name (letters, digits and '-', e.g. eu, mt1, ap2)"
        ));
    }
    Ok(s.to_string())
}

pub fn check_host(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("the host is empty".into());
    }
    if s.contains("://") {
        return Err(format!(
            "\"{s}\" looks like a URL; give only the host name (ports, TLS and path have their own keys)"
        ));
    }
    if let Some(bad) = s.chars().find(|c| c.is_whitespace() || "/?#@".contains(*c)) {
        return Err(format!("the host \"{s}\" contains {bad:?}"));
    }
    Ok(s.to_string())
}

/// The path before `/app/KEY`: empty, or starting with `/`, without query or fragment.
pub fn check_path(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Ok(String::new());
    }
    if !s.starts_with('/') {
        return Err(format!("the path \"{s}\" must start with '/'"));
    }
    if let Some(bad) = s.chars().find(|c| c.is_whitespace() || "?#".contains(*c)) {
        return Err(format!("the path \"{s}\" contains {bad:?}"));
    }
    Ok(s.trim_end_matches('/').to_string())
}

pub fn check_transport(s: &str) -> Result<String, String> {
    let name = s.trim();
    if KNOWN_TRANSPORTS.contains(&name) {
        Ok(name.to_string())
    } else {
        Err(format!(
            "unknown transport \"{name}\"; known are {}",
            KNOWN_TRANSPORTS.join(", ")
        ))
    }
}

pub fn check_channel(s: &str) -> Result<String, String> {
    validate_channel_name(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

/// The dashboard log's memory bound, besides its event count.
pub const DEFAULT_LOG_BYTES: u64 = 64 << 20;
pub const MIN_LOG_BYTES: u64 = 1 << 20;
pub const MAX_LOG_BYTES: u64 = 16 << 30;

/// A byte size such as `64MiB`, `512 KB` or `1048576`, between `MIN_LOG_BYTES` and
/// `MAX_LOG_BYTES`.
pub fn check_log_bytes(text: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = text
        .trim()
        .parse()
        .map_err(|_| format!("\"{text}\" is not a size (write e.g. 64MiB, 512KiB or 1048576)"))?;
    let n = size.as_u64();
    if (MIN_LOG_BYTES..=MAX_LOG_BYTES).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{text} is not a log size in bytes (1MiB to 16GiB)"))
    }
}

pub fn check_log_ring(n: i64) -> Result<usize, String> {
    match usize::try_from(n) {
        Ok(size) if (1..=MAX_LOG_RING).contains(&size) => Ok(size),
        _ => Err(format!(
            "{n} is not a log size (1 to {MAX_LOG_RING} events)"
        )),
    }
}

pub fn check_header(name: &str, value: &str) -> Result<(), String> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("\"{name}\" is not a valid HTTP header name"))?;
    reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        format!("the value of header \"{name}\" contains characters not allowed in HTTP headers")
    })?;
    Ok(())
}

/// The headers of a header file: one `Name: value` per line, split at the first `:` with
/// surrounding spaces trimmed; blank lines and lines starting with `#` are skipped. Errors
/// name the line by number and never quote it: its value is likely a token.
pub fn parse_header_lines(text: &str) -> Result<Headers, String> {
    let mut headers = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let n = i + 1;
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("line {n}: not 'Name: value' (no ':' found)"));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return Err(format!("line {n}: the header name is empty"));
        }
        check_header(name, value).map_err(|e| format!("line {n}: {e}"))?;
        headers.insert(name.to_string(), value.to_string());
    }
    Ok(headers.into_iter().collect())
}

/// Why an extra header for the WebSocket upgrade is refused, if it is: the headers the
/// upgrade itself is made of, and those that frame or route the request (a second
/// `Content-Length` or a `Transfer-Encoding` lets a proxy read a different request than the
/// server does). Names are compared case-insensitively.
fn forbidden_ws_header(lower: &str) -> Option<&'static str> {
    Some(match lower {
        "host" => "the server's address, set by chanwatch from --host",
        "upgrade" | "connection" => "part of the WebSocket upgrade, set by chanwatch itself",
        _ if lower.starts_with("sec-websocket-") => {
            "part of the WebSocket handshake, set by chanwatch itself"
        }
        "content-length" | "transfer-encoding" | "te" | "trailer" => {
            "it frames the request body: an upgrade has none, and a proxy could read the \
             request differently from the server (request smuggling)"
        }
        "expect" => "the handshake would wait for an interim answer the server may never send",
        "keep-alive" | "proxy-connection" => {
            "a hop-by-hop header that conflicts with the upgrade's Connection header"
        }
        _ => return None,
    })
}

/// An extra header for the WebSocket upgrade: a valid HTTP header that is not part of the
/// upgrade itself, does not frame the request, and is not `Origin`, which has a key of its
/// own.
pub fn check_ws_header(name: &str, value: &str) -> Result<(), String> {
    check_header(name, value)?;
    let lower = name.to_ascii_lowercase();
    if lower == "origin" {
        return Err("set the Origin header with --origin (config key origin)".into());
    }
    if let Some(why) = forbidden_ws_header(&lower) {
        return Err(format!(
            "header \"{name}\" cannot be sent with the WebSocket upgrade: {why}"
        ));
    }
    Ok(())
}

/// The `Origin` to send: `scheme://host[:port]`, as a browser sends it; a path or a trailing
/// slash is dropped rather than sent (servers compare origins exactly).
pub fn check_origin(s: &str) -> Result<String, String> {
    let url = url::Url::parse(s.trim())
        .map_err(|e| format!("\"{s}\" is not an origin like https://app.example.com ({e})"))?;
    match url.origin() {
        url::Origin::Tuple(..) => Ok(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => Err(format!(
            "\"{s}\" is not an origin like https://app.example.com (it needs a scheme and a host)"
        )),
    }
}

/// A `ca_file` path; whether it holds certificates is checked when the session starts.
pub fn check_ca_file(s: &str) -> Result<PathBuf, String> {
    if s.trim().is_empty() {
        Err("the CA file path is empty".into())
    } else {
        Ok(PathBuf::from(s))
    }
}

/// A presence `user_info` or sign-in `user_data`: a JSON object.
pub fn check_object(what: &str, v: serde_json::Value) -> Result<serde_json::Value, String> {
    if v.is_object() {
        Ok(v)
    } else {
        Err(format!("{what} must be a table / JSON object, not {v}"))
    }
}

/// Sign-in `user_data` must carry a non-empty string `id` (pusher-js refuses it otherwise).
pub fn check_user_data(v: serde_json::Value) -> Result<serde_json::Value, String> {
    let v = check_object("user_data", v)?;
    match v.get("id") {
        Some(serde_json::Value::String(id)) if !id.is_empty() => Ok(v),
        _ => Err("user_data needs an \"id\" that is a non-empty string".into()),
    }
}

// ---- value types ----

/// The app secret. Shown only masked, in `Debug` and when serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Result<Secret, String> {
        let s = s.into();
        check_secret(&s)?;
        Ok(Secret(s))
    }

    /// The real value, for signing. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(&self.0))
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&mask(&self.0))
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        let s = String::deserialize(d)?;
        Secret::new(s).map_err(de::Error::custom)
    }
}

/// An http(s) URL for an auth endpoint. Shown as [`chanwatch_core::mask::shown_url`] says:
/// user info masked whole, query values masked as params are.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthUrl(pub Url);

impl AuthUrl {
    pub fn parse(s: &str) -> Result<AuthUrl, String> {
        // The text is not quoted back: a malformed URL may still hold a token.
        let url = Url::parse(s.trim()).map_err(|e| {
            format!("not an absolute URL ({e}); use e.g. http://127.0.0.1:8080/pusher/auth")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "\"{}\" must be an http:// or https:// URL",
                AuthUrl(url).masked()
            ));
        }
        Ok(AuthUrl(url))
    }

    pub fn masked(&self) -> String {
        shown_url(&self.0)
    }
}

impl fmt::Debug for AuthUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.masked())
    }
}

impl fmt::Display for AuthUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for AuthUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked())
    }
}

impl<'de> Deserialize<'de> for AuthUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<AuthUrl, D::Error> {
        let s = String::deserialize(d)?;
        AuthUrl::parse(&s).map_err(de::Error::custom)
    }
}

/// The external command that authorizes (the terminal's `customHandler`): it reads
/// `{socket_id, channel_name}` JSON on stdin and prints the auth JSON.
/// A string runs through `sh -c`; an array is the argument vector, run directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternalCommand {
    Shell(String),
    Argv(Vec<String>),
}

impl ExternalCommand {
    /// The program and its arguments.
    pub fn argv(&self) -> Vec<String> {
        match self {
            ExternalCommand::Shell(line) => vec!["sh".into(), "-c".into(), line.clone()],
            ExternalCommand::Argv(argv) => argv.clone(),
        }
    }
}

impl ExternalCommand {
    /// The program, every argument masked: how the command is shown anywhere.
    pub fn shown(&self) -> String {
        match self {
            ExternalCommand::Shell(line) => shown_command_line(line),
            ExternalCommand::Argv(argv) => shown_argv(argv),
        }
    }
}

/// Serialised for `--print-config`: the program and masked arguments, in the form it was
/// given (a string, or an array with each argument masked).
impl Serialize for ExternalCommand {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ExternalCommand::Shell(line) => s.serialize_str(&shown_command_line(line)),
            ExternalCommand::Argv(argv) => argv
                .iter()
                .enumerate()
                .map(|(i, a)| if i == 0 { a.as_str() } else { MASK })
                .collect::<Vec<_>>()
                .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ExternalCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ExternalCommand, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExternalCommand;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command line string or an array of arguments")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ExternalCommand, E> {
                if s.trim().is_empty() {
                    return Err(E::custom("the command is empty"));
                }
                Ok(ExternalCommand::Shell(s.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ExternalCommand, A::Error> {
                let mut argv: Vec<String> = Vec::new();
                while let Some(arg) = seq.next_element()? {
                    argv.push(arg);
                }
                if argv.first().is_none_or(|p| p.is_empty()) {
                    return Err(de::Error::custom(
                        "the command array must start with a program name",
                    ));
                }
                Ok(ExternalCommand::Argv(argv))
            }
        }
        d.deserialize_any(V)
    }
}

// ---- serde helpers for `Option` fields: called only when the key is present ----

pub(super) mod de_opt {
    use super::*;

    fn checked<'de, D, T>(d: D, check: fn(&str) -> Result<T, String>) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
    {
        let s = String::deserialize(d)?;
        check(&s).map(Some).map_err(de::Error::custom)
    }

    pub fn key<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        checked(d, check_key)
    }
    pub fn app_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        // pusher app ids are numbers; accept `app_id = 12345` as well as a string.
        string_or_integer(d)?
            .map(|s| check_app_id(&s).map_err(de::Error::custom))
            .transpose()
    }
    pub fn cluster<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        checked(d, check_cluster)
    }
    pub fn host<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        checked(d, check_host)
    }
    pub fn path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        checked(d, check_path)
    }
    pub fn url_form<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        checked(d, |s| {
            super::super::url_form::parse(s)?;
            Ok(s.to_string())
        })
    }
    pub fn user_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match string_or_integer(d)? {
            Some(id) if id.is_empty() => Err(de::Error::custom("the user id is empty")),
            other => Ok(other),
        }
    }
    pub fn user_info<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<serde_json::Value>, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        check_object("user_info", v)
            .map(Some)
            .map_err(de::Error::custom)
    }
    pub fn user_data<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<serde_json::Value>, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        check_user_data(v).map(Some).map_err(de::Error::custom)
    }
    pub fn transports<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|n| check_transport(n))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(de::Error::custom)
    }
    pub fn channels<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|n| check_channel(n))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
            .map_err(de::Error::custom)
    }
    pub fn headers<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Headers>, D::Error> {
        let pairs = Headers::deserialize(d)?;
        for (name, value) in pairs.iter() {
            check_header(name, value).map_err(de::Error::custom)?;
        }
        Ok(Some(pairs))
    }
    pub fn ws_headers<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Headers>, D::Error> {
        let pairs = Headers::deserialize(d)?;
        for (name, value) in pairs.iter() {
            check_ws_header(name, value).map_err(de::Error::custom)?;
        }
        Ok(Some(pairs))
    }
    pub fn origin<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        checked(d, check_origin)
    }
    pub fn ca_file<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
        checked(d, check_ca_file)
    }
    pub fn port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        let n = integer(d, "a port number (1 to 65535)")?;
        check_port(n).map(Some).map_err(de::Error::custom)
    }
    pub fn log_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let text = string_or_integer(d)?.unwrap_or_default();
        check_log_bytes(&text).map(Some).map_err(de::Error::custom)
    }
    pub fn log_ring<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        let n = integer(d, "a number of events")?;
        check_log_ring(n).map(Some).map_err(de::Error::custom)
    }

    pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"500ms\", \"2s\" or \"1m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
                parse_duration(s).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "write durations as strings with a unit, e.g. \"{n}s\" or \"{n}ms\""
                )))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Duration, E> {
                self.visit_i64(n as i64)
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "write durations as strings with a unit, e.g. \"{n}s\""
                )))
            }
        }
        d.deserialize_any(V).map(Some)
    }

    fn integer<'de, D: Deserializer<'de>>(d: D, what: &'static str) -> Result<i64, D::Error> {
        struct V(&'static str);
        impl Visitor<'_> for V {
            type Value = i64;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(self.0)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<i64, E> {
                Ok(n)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<i64, E> {
                Ok(i64::try_from(n).unwrap_or(i64::MAX))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<i64, E> {
                Err(E::custom(format!(
                    "expected {}, found the string \"{s}\" (write numbers without quotes)",
                    self.0
                )))
            }
        }
        d.deserialize_any(V(what))
    }

    fn string_or_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<String, E> {
                Ok(s.to_string())
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<String, E> {
                Ok(n.to_string())
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<String, E> {
                Ok(n.to_string())
            }
        }
        d.deserialize_any(V).map(Some)
    }
}

pub(super) mod ser_opt {
    use super::*;

    pub fn duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format_duration(*d)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chanwatch_core::pairs::Params;

    #[test]
    fn durations_take_human_forms_and_have_bounds() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(
            parse_duration("0s")
                .unwrap_err()
                .contains("longer than zero")
        );
        assert!(parse_duration("31days").unwrap_err().contains("30 days"));
        assert!(parse_duration("soon").unwrap_err().contains("examples"));
        assert!(parse_duration("120").is_err(), "a bare number has no unit");
    }

    #[test]
    fn ws_headers_that_frame_or_make_the_upgrade_are_refused() {
        for name in [
            "Content-Length",
            "content-length",
            "TRANSFER-ENCODING",
            "Transfer-Encoding",
            "TE",
            "Trailer",
            "Expect",
            "Keep-Alive",
            "Proxy-Connection",
            "Sec-WebSocket-Protocol",
            "sec-websocket-key",
            "SEC-WEBSOCKET-VERSION",
            "Sec-WebSocket-Extensions",
            "Sec-WebSocket-Accept",
            "Sec-WebSocket-Anything",
            "Host",
            "host",
            "Connection",
            "Upgrade",
        ] {
            let e = check_ws_header(name, "1").unwrap_err();
            assert!(
                e.contains(&format!("\"{name}\"")) && e.contains("cannot be sent"),
                "{name}: {e}"
            );
        }
        let e = check_ws_header("Transfer-Encoding", "chunked").unwrap_err();
        assert!(e.contains("smuggling"), "{e}");
        // Ordinary extra headers pass, whatever their case.
        for name in [
            "Authorization",
            "cookie",
            "X-Tenant",
            "Sec-Fetch-Mode",
            "Content-Type",
        ] {
            assert_eq!(check_ws_header(name, "v"), Ok(()), "{name}");
        }
    }

    #[test]
    fn ports_bools_and_names() {
        assert_eq!(parse_port("6001"), Ok(6001));
        for bad in ["0", "70000", "-1", "http"] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_bool("TRUE"), Ok(true));
        assert_eq!(parse_bool("off"), Ok(false));
        assert!(parse_bool("maybe").is_err());
        assert!(check_key("app key").is_err());
        assert!(check_host("wss://x.example").unwrap_err().contains("URL"));
        assert_eq!(check_path("/ws/"), Ok("/ws".to_string()));
        assert!(check_path("ws").is_err());
        assert!(
            check_transport("carrier-pigeon")
                .unwrap_err()
                .contains("known are")
        );
        assert!(check_channel("bad channel").is_err());
        assert!(check_log_ring(0).is_err());
        assert_eq!(check_log_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(check_log_bytes(" 2 MiB "), Ok(2 << 20));
        assert_eq!(check_log_bytes("1048576"), Ok(1 << 20));
        for bad in [
            "",
            "lots",
            "1KiB",
            "17GiB",
            "-5MiB",
            "99999999999999999999999",
        ] {
            assert!(check_log_bytes(bad).is_err(), "{bad}");
        }
        assert!(check_header("X Bad", "v").is_err());
        assert!(check_header("X-Ok", "line\nbreak").is_err());
    }

    #[test]
    fn auth_urls_are_checked_and_masked() {
        assert!(
            AuthUrl::parse("/pusher/auth")
                .unwrap_err()
                .contains("absolute")
        );
        assert!(AuthUrl::parse("ftp://x/auth").unwrap_err().contains("http"));
        let u = AuthUrl::parse(
            "https://bob:hunter2@auth.example:8443/auth?tenant=a&token=abc&socket_id=1.2&bare",
        )
        .unwrap();
        let shown = u.to_string();
        assert_eq!(
            shown,
            format!(
                "https://{MASK}@auth.example:8443/auth?tenant={MASK}&token={MASK}\
                 &socket_id=1.2&{MASK}"
            )
        );
        assert!(!format!("{u:?}").contains("hunter2"));
    }

    #[test]
    fn secrets_and_pairs_never_print_credentials() {
        let s = Secret::new("7ad3773142a6692b25b8").unwrap();
        assert!(!format!("{s:?}").contains("7ad3773142"));
        assert_eq!(s.expose(), "7ad3773142a6692b25b8");
        let p: Headers = [
            ("Authorization", "Bearer xyz-123"),
            ("X-Tenant", "blue"),
            ("Accept", "application/json"),
        ]
        .into_iter()
        .collect();
        let dbg = format!("{p:?}");
        assert!(
            !dbg.contains("xyz-123") && !dbg.contains("blue") && dbg.contains("application/json"),
            "{dbg}"
        );
        let p: Params = [("token", "sekrit"), ("socket_id", "1.2")]
            .into_iter()
            .collect();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, format!(r#"{{"socket_id":"1.2","token":"{MASK}"}}"#));
    }

    #[test]
    fn header_files_hold_one_header_per_line() {
        let h = parse_header_lines(
            "# for the staging endpoint\r\nX-Team-Token: a:b\n\n  Accept : application/json \n",
        )
        .unwrap();
        assert_eq!(
            h.to_vec(),
            [
                ("Accept".to_string(), "application/json".to_string()),
                ("X-Team-Token".to_string(), "a:b".to_string()),
            ]
        );
        assert!(parse_header_lines("").unwrap().is_empty());
        let err = parse_header_lines("Accept: x\nBearer sekrit\n").unwrap_err();
        assert!(
            err.starts_with("line 2: ") && !err.contains("sekrit"),
            "{err}"
        );
        let err = parse_header_lines(": sekrit").unwrap_err();
        assert!(err.contains("line 1") && !err.contains("sekrit"), "{err}");
        let err = parse_header_lines("Bad Name: sekrit").unwrap_err();
        assert!(err.contains("line 1") && !err.contains("sekrit"), "{err}");
    }

    #[test]
    fn commands_are_strings_or_argument_arrays() {
        let c: ExternalCommand = serde_json::from_str(r#""./auth.sh --prod""#).unwrap();
        assert_eq!(c.argv(), ["sh", "-c", "./auth.sh --prod"]);
        let c: ExternalCommand = serde_json::from_str(r#"["node", "auth.js"]"#).unwrap();
        assert_eq!(c.argv(), ["node", "auth.js"]);
        assert_eq!(c.shown(), format!("node {MASK}"));
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            format!(r#"["node","{MASK}"]"#)
        );
        let c = ExternalCommand::Shell("helper --token sekrit".into());
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            format!(r#""helper {MASK} {MASK}""#)
        );
        assert!(serde_json::from_str::<ExternalCommand>(r#"[]"#).is_err());
        assert!(serde_json::from_str::<ExternalCommand>(r#""  ""#).is_err());
    }
}
