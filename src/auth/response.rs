//! Turning an auth endpoint's HTTP answer into a grant or a failure that says what is wrong.
//!
//! pusher-js passes any 200 JSON body through and lets the server (or a silent hang, for
//! presence) reveal mistakes later; we check the shape here so the subscription error names
//! the actual problem.

use crate::connection::{AuthFailure, AuthGrant};
use crate::protocol::ChannelKind;
use base64::Engine;
use serde_json::{Map, Value};

/// How much of a response body an error message quotes.
pub const EXCERPT_CHARS: usize = 200;

const EXPECTED_SHAPE: &str = r#"{"auth":"key:signature"}"#;

/// Interprets the status and body the endpoint returned for `channel`.
/// Only 200 is success, as in pusher-js.
pub fn interpret_response(
    channel: &str,
    status: u16,
    body: &[u8],
) -> Result<AuthGrant, AuthFailure> {
    if status != 200 {
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(|r| format!(" {r}"))
            .unwrap_or_default();
        return Err(AuthFailure {
            status: Some(status),
            message: format!(
                "auth endpoint answered HTTP {status}{reason}: {}",
                excerpt(body)
            ),
        });
    }
    let fail = |message: String| AuthFailure {
        status: Some(200),
        message,
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        fail(format!(
            "auth endpoint answered 200 but the body is not valid JSON ({e}): {}",
            excerpt(body)
        ))
    })?;
    let Value::Object(obj) = value else {
        return Err(fail(format!(
            "auth response must be a JSON object like {EXPECTED_SHAPE}, got: {}",
            excerpt(body)
        )));
    };
    let auth = match obj.get("auth") {
        Some(Value::String(a)) => a.clone(),
        Some(_) => {
            return Err(fail(format!(
                "auth response field `auth` must be a string like {EXPECTED_SHAPE}, got: {}",
                excerpt(body)
            )));
        }
        None => {
            return Err(fail(format!(
                "auth response has no `auth` field; expected {EXPECTED_SHAPE}, got: {}",
                excerpt(body)
            )));
        }
    };
    if !auth.contains(':') {
        return Err(fail(format!(
            "auth value {} is not of the form key:signature",
            excerpt(auth.as_bytes())
        )));
    }
    let channel_data = optional_string(&obj, "channel_data").map_err(fail)?;
    let shared_secret = optional_string(&obj, "shared_secret").map_err(fail)?;

    match ChannelKind::of(channel) {
        ChannelKind::Presence => {
            let Some(data) = &channel_data else {
                return Err(fail(format!(
                    "presence authorization has no channel_data: the endpoint must answer \
                     {{\"auth\":\"key:signature\",\"channel_data\":\"{{\\\"user_id\\\":\\\"...\\\"}}\"}}, \
                     got: {}",
                    excerpt(body)
                )));
            };
            check_presence_data(data).map_err(fail)?;
        }
        ChannelKind::Encrypted => match &shared_secret {
            None => {
                return Err(fail(format!(
                    "No shared_secret key in auth payload for encrypted channel: {channel}"
                )));
            }
            Some(s) => check_shared_secret(s).map_err(fail)?,
        },
        ChannelKind::Private | ChannelKind::Public => {}
    }
    Ok(AuthGrant {
        auth,
        channel_data,
        shared_secret,
    })
}

/// A string field, absent or null meaning `None`. Anything else is a mistake worth naming:
/// `channel_data` in particular must be JSON *encoded as a string*, and returning the
/// object itself is a common slip.
fn optional_string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "auth response field `{field}` must be a string (JSON-encoded if it holds JSON), got {}",
            kind_of(other)
        )),
    }
}

/// pusher-js reads `JSON.parse(channel_data).user_id` for the member list.
fn check_presence_data(data: &str) -> Result<(), String> {
    let parsed: Value = serde_json::from_str(data).map_err(|e| {
        format!(
            "presence channel_data is not valid JSON ({e}): {}",
            excerpt(data.as_bytes())
        )
    })?;
    match parsed.get("user_id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(()),
        Some(Value::Number(_)) => Ok(()),
        _ => Err(format!(
            "presence channel_data needs a non-empty user_id (string or number): {}",
            excerpt(data.as_bytes())
        )),
    }
}

/// The encrypted-channel key: base64 of 32 bytes (NaCl secretbox key length).
fn check_shared_secret(secret: &str) -> Result<(), String> {
    // The key itself is never quoted: it is a secret.
    match base64::engine::general_purpose::STANDARD.decode(secret) {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        Ok(bytes) => Err(format!(
            "shared_secret must be the base64 of a 32-byte key, it decodes to {} bytes",
            bytes.len()
        )),
        Err(_) => Err("shared_secret is not valid base64".into()),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short, single-line quote of a body for error messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return "(empty body)".into();
    }
    let mut chars = flat.chars();
    let head: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(channel: &str, body: &str) -> AuthGrant {
        interpret_response(channel, 200, body.as_bytes()).unwrap()
    }

    fn err(channel: &str, status: u16, body: &str) -> AuthFailure {
        interpret_response(channel, status, body.as_bytes()).unwrap_err()
    }

    const KEY32: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn private_grant() {
        let g = ok("private-a", r#"{"auth":"k:abc"}"#);
        assert_eq!(g.auth, "k:abc");
        assert_eq!(g.channel_data, None);
        assert_eq!(g.shared_secret, None);
    }

    #[test]
    fn presence_grant_keeps_channel_data_verbatim() {
        let g = ok(
            "presence-a",
            r#"{"auth":"k:abc","channel_data":"{\"user_id\":7, \"user_info\":{}}"}"#,
        );
        assert_eq!(
            g.channel_data.as_deref(),
            Some(r#"{"user_id":7, "user_info":{}}"#)
        );
    }

    #[test]
    fn presence_without_channel_data_is_explained() {
        for channel in ["presence-a", "presence-cache-a"] {
            let f = err(channel, 200, r#"{"auth":"k:abc"}"#);
            assert_eq!(f.status, Some(200));
            assert!(
                f.message
                    .contains("presence authorization has no channel_data"),
                "{}",
                f.message
            );
        }
    }

    #[test]
    fn presence_channel_data_must_be_a_string_with_a_user_id() {
        let f = err(
            "presence-a",
            200,
            r#"{"auth":"k:a","channel_data":{"user_id":"1"}}"#,
        );
        assert!(
            f.message.contains("`channel_data` must be a string"),
            "{}",
            f.message
        );
        assert!(f.message.contains("an object"), "{}", f.message);
        let f = err(
            "presence-a",
            200,
            r#"{"auth":"k:a","channel_data":"{nope"}"#,
        );
        assert!(f.message.contains("not valid JSON"), "{}", f.message);
        let f = err(
            "presence-a",
            200,
            r#"{"auth":"k:a","channel_data":"{\"user_info\":{}}"}"#,
        );
        assert!(f.message.contains("user_id"), "{}", f.message);
    }

    #[test]
    fn encrypted_needs_a_32_byte_shared_secret() {
        let body = format!(r#"{{"auth":"k:a","shared_secret":"{KEY32}"}}"#);
        let g = ok("private-encrypted-a", &body);
        assert_eq!(g.shared_secret.as_deref(), Some(KEY32));
        let f = err("private-encrypted-a", 200, r#"{"auth":"k:a"}"#);
        assert_eq!(
            f.message,
            "No shared_secret key in auth payload for encrypted channel: private-encrypted-a"
        );
        let f = err(
            "private-encrypted-a",
            200,
            r#"{"auth":"k:a","shared_secret":"AAEC"}"#,
        );
        assert!(f.message.contains("decodes to 3 bytes"), "{}", f.message);
        let f = err(
            "private-encrypted-a",
            200,
            r#"{"auth":"k:a","shared_secret":"!!"}"#,
        );
        assert!(f.message.contains("not valid base64"), "{}", f.message);
        assert!(!f.message.contains("!!"), "the key is never quoted");
    }

    #[test]
    fn non_200_quotes_the_body() {
        let f = err("private-a", 403, "  Forbidden:\n not   yours ");
        assert_eq!(f.status, Some(403));
        assert_eq!(
            f.message,
            "auth endpoint answered HTTP 403 Forbidden: Forbidden: not yours"
        );
        let f = err("private-a", 500, "");
        assert_eq!(
            f.message,
            "auth endpoint answered HTTP 500 Internal Server Error: (empty body)"
        );
        // 2xx other than 200 is a failure in pusher-js too.
        assert_eq!(err("private-a", 204, "").status, Some(204));
        assert!(
            err("private-a", 599, "x")
                .message
                .starts_with("auth endpoint answered HTTP 599: x")
        );
    }

    #[test]
    fn bad_200_bodies_name_the_problem() {
        let f = err("private-a", 200, "<html>oops</html>");
        assert_eq!(f.status, Some(200));
        assert!(f.message.contains("not valid JSON"), "{}", f.message);
        assert!(f.message.contains("<html>oops</html>"), "{}", f.message);

        let f = err("private-a", 200, r#"{"token":"x"}"#);
        assert!(f.message.contains("no `auth` field"), "{}", f.message);
        assert!(
            f.message.contains(r#"{"auth":"key:signature"}"#),
            "{}",
            f.message
        );

        let f = err("private-a", 200, r#"["k:a"]"#);
        assert!(f.message.contains("must be a JSON object"), "{}", f.message);

        let f = err("private-a", 200, r#"{"auth":5}"#);
        assert!(f.message.contains("must be a string"), "{}", f.message);

        let f = err("private-a", 200, r#"{"auth":"nocolon"}"#);
        assert!(f.message.contains("key:signature"), "{}", f.message);
    }

    #[test]
    fn excerpts_are_short_and_single_line() {
        let long = "é".repeat(500);
        let e = excerpt(long.as_bytes());
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(b"a\r\nb"), "a b");
        assert_eq!(excerpt(&[0xff, b'x']), "\u{fffd}x");
    }
}
