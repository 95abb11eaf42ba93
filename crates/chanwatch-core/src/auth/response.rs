//! Turning an auth endpoint's HTTP answer into a grant or a failure that says what is wrong.
//!
//! pusher-js passes any 200 JSON body through and lets the server (or a silent hang, for
//! presence) reveal mistakes later; we check the shape here so the subscription error names
//! the actual problem.

use super::user::UserGrant;
use crate::connection::{AuthFailure, AuthFailureKind, AuthGrant};
use crate::protocol::ChannelKind;
use crate::protocol::frame::json_kind as kind_of;
use base64::Engine;
use serde_json::{Map, Value};

/// How much of a response body an error message quotes.
pub const EXCERPT_CHARS: usize = 200;

const EXPECTED_SHAPE: &str = r#"{"auth":"key:signature"}"#;
const EXPECTED_USER_SHAPE: &str = r#"{"auth":"key:signature","user_data":"{\"id\":\"...\"}"}"#;

/// Who produced the auth JSON, for the wording of errors and the failure's status.
#[derive(Clone, Copy, Debug)]
pub(super) enum Origin<'a> {
    /// The 200 body of an auth endpoint (ajax, or the unwrapped JSONP callback argument).
    Endpoint,
    /// The standard output of an auth command, shown as given.
    Command(&'a str),
}

impl Origin<'_> {
    fn status(self) -> Option<u16> {
        match self {
            Origin::Endpoint => Some(200),
            Origin::Command(_) => None,
        }
    }

    fn not_json(self) -> String {
        match self {
            Origin::Endpoint => "auth endpoint answered 200 but the body is not valid JSON".into(),
            Origin::Command(cmd) => {
                format!("auth command {cmd} printed something that is not valid JSON")
            }
        }
    }

    fn fail(self, kind: AuthFailureKind, message: String) -> AuthFailure {
        AuthFailure {
            kind,
            status: self.status(),
            message,
        }
    }
}

/// Interprets the status and body the endpoint returned for `channel`.
/// Only 200 is success, as in pusher-js.
pub fn interpret_response(
    channel: &str,
    status: u16,
    body: &[u8],
) -> Result<AuthGrant, AuthFailure> {
    check_status(status, body)?;
    interpret_grant(channel, body, Origin::Endpoint)
}

/// Interprets the answer of a user-authentication endpoint: `{auth, user_data}` where
/// `user_data` is a JSON string holding an object with a non-empty string `id`.
pub fn interpret_user_response(status: u16, body: &[u8]) -> Result<UserGrant, AuthFailure> {
    check_status(status, body)?;
    interpret_user_grant(body, Origin::Endpoint)
}

fn check_status(status: u16, body: &[u8]) -> Result<(), AuthFailure> {
    if status == 200 {
        return Ok(());
    }
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    Err(AuthFailure::new(
        AuthFailureKind::HttpStatus(status),
        format!(
            "auth endpoint answered HTTP {status}{reason}: {}",
            excerpt(body)
        ),
    )
    .with_status(status))
}

/// The JSON object and its `auth` string, common to channel and user answers.
fn parse_auth_object(
    body: &[u8],
    origin: Origin,
    expected: &str,
) -> Result<(Map<String, Value>, String), AuthFailure> {
    let fail = |kind, message: String| origin.fail(kind, message);
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        let message = format!("{} ({e}): {}", origin.not_json(), excerpt(body));
        fail(AuthFailureKind::BadJson, message)
    })?;
    let Value::Object(obj) = value else {
        return Err(fail(
            AuthFailureKind::BadGrant,
            format!(
                "auth response must be a JSON object like {expected}, got: {}",
                excerpt(body)
            ),
        ));
    };
    let auth = match obj.get("auth") {
        Some(Value::String(a)) => a.clone(),
        Some(_) => {
            return Err(fail(
                AuthFailureKind::BadGrant,
                format!(
                    "auth response field `auth` must be a string like {EXPECTED_SHAPE}, got: {}",
                    excerpt(body)
                ),
            ));
        }
        None => {
            return Err(fail(
                AuthFailureKind::BadGrant,
                format!(
                    "auth response has no `auth` field; expected {expected}, got: {}",
                    excerpt(body)
                ),
            ));
        }
    };
    if !auth.contains(':') {
        return Err(fail(
            AuthFailureKind::BadGrant,
            format!(
                "auth value {} is not of the form key:signature",
                excerpt(auth.as_bytes())
            ),
        ));
    }
    Ok((obj, auth))
}

/// Checks a channel authorization's JSON (the body of a 200, or a command's output).
pub(super) fn interpret_grant(
    channel: &str,
    body: &[u8],
    origin: Origin,
) -> Result<AuthGrant, AuthFailure> {
    let fail = |kind, message: String| origin.fail(kind, message);
    let (obj, auth) = parse_auth_object(body, origin, EXPECTED_SHAPE)?;
    let bad_channel_data = |m| fail(AuthFailureKind::BadChannelData, m);
    let bad_shared_secret = |m| fail(AuthFailureKind::BadSharedSecret, m);
    let channel_data = optional_string(&obj, "channel_data").map_err(bad_channel_data)?;
    let shared_secret = optional_string(&obj, "shared_secret").map_err(bad_shared_secret)?;

    match ChannelKind::of(channel) {
        ChannelKind::Presence => {
            let Some(data) = &channel_data else {
                return Err(bad_channel_data(format!(
                    "presence authorization has no channel_data: the endpoint must answer \
                     {{\"auth\":\"key:signature\",\"channel_data\":\"{{\\\"user_id\\\":\\\"...\\\"}}\"}}, \
                     got: {}",
                    excerpt(body)
                )));
            };
            check_presence_data(data).map_err(bad_channel_data)?;
        }
        ChannelKind::Encrypted => match &shared_secret {
            None => {
                return Err(bad_shared_secret(format!(
                    "No shared_secret key in auth payload for encrypted channel: {channel}"
                )));
            }
            Some(s) => check_shared_secret(s).map_err(bad_shared_secret)?,
        },
        ChannelKind::Private | ChannelKind::Public => {}
    }
    Ok(AuthGrant {
        auth,
        channel_data,
        shared_secret,
    })
}

/// Checks a user authentication's JSON: `auth` plus a `user_data` string.
pub(super) fn interpret_user_grant(body: &[u8], origin: Origin) -> Result<UserGrant, AuthFailure> {
    let fail = |message: String| origin.fail(AuthFailureKind::BadGrant, message);
    let (obj, auth) = parse_auth_object(body, origin, EXPECTED_USER_SHAPE)?;
    let Some(user_data) = optional_string(&obj, "user_data").map_err(fail)? else {
        return Err(fail(format!(
            "user authentication has no user_data; expected {EXPECTED_USER_SHAPE}, got: {}",
            excerpt(body)
        )));
    };
    check_user_data(&user_data).map_err(fail)?;
    Ok(UserGrant { auth, user_data })
}

/// pusher-js parses `user_data` after `pusher:signin_success` and needs a non-empty string
/// `id`; the server's `#server-to-user-<id>` channel is named after it.
pub fn check_user_data(user_data: &str) -> Result<(), String> {
    let parsed: Value = serde_json::from_str(user_data).map_err(|e| {
        format!(
            "user_data is not valid JSON ({e}): {}",
            excerpt(user_data.as_bytes())
        )
    })?;
    match parsed.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(()),
        Some(Value::String(_)) => {
            Err("user_data has an empty `id`; it must be a non-empty string".into())
        }
        Some(other) => Err(format!(
            "user_data `id` must be a non-empty string, got {}: {}",
            kind_of(other),
            excerpt(user_data.as_bytes())
        )),
        None => Err(format!(
            "user_data must be a JSON object with a non-empty string `id`, got: {}",
            excerpt(user_data.as_bytes())
        )),
    }
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

    /// The kind is what the dashboard's hints match on, so each failure names its own.
    #[test]
    fn every_failure_says_its_kind() {
        use AuthFailureKind as K;
        let presence = r#"{"auth":"k:a","channel_data":"{\"user_id\":\"u\"}"}"#;
        for (channel, status, body, kind) in [
            ("private-a", 403, "no", K::HttpStatus(403)),
            ("private-a", 200, "<html>", K::BadJson),
            ("private-a", 200, "[1]", K::BadGrant),
            ("private-a", 200, r#"{"auth":"nocolon"}"#, K::BadGrant),
            ("presence-a", 200, r#"{"auth":"k:a"}"#, K::BadChannelData),
            (
                "presence-a",
                200,
                r#"{"auth":"k:a","channel_data":{}}"#,
                K::BadChannelData,
            ),
            (
                "presence-a",
                200,
                r#"{"auth":"k:a","channel_data":"{}"}"#,
                K::BadChannelData,
            ),
            (
                "private-encrypted-a",
                200,
                r#"{"auth":"k:a"}"#,
                K::BadSharedSecret,
            ),
            ("private-encrypted-a", 200, presence, K::BadSharedSecret),
        ] {
            assert_eq!(
                err(channel, status, body).kind,
                kind,
                "{channel} {status} {body}"
            );
        }
        let f = interpret_user_response(200, br#"{"auth":"k:a"}"#).unwrap_err();
        assert_eq!(f.kind, K::BadGrant);
    }

    #[test]
    fn command_output_is_worded_as_such_and_has_no_status() {
        let f = interpret_grant("private-a", b"oops", Origin::Command("`./auth.sh`")).unwrap_err();
        assert_eq!(f.status, None);
        assert!(
            f.message
                .starts_with("auth command `./auth.sh` printed something that is not valid JSON ("),
            "{}",
            f.message
        );
        assert!(f.message.ends_with("): oops"), "{}", f.message);
        let g =
            interpret_grant("private-a", b"{\"auth\":\"k:s\"}\n", Origin::Command("`x`")).unwrap();
        assert_eq!(g.auth, "k:s");
    }

    #[test]
    fn user_grant() {
        let g = interpret_user_response(200, br#"{"auth":"k:s","user_data":"{\"id\":\"u1\"}"}"#)
            .unwrap();
        assert_eq!(
            g,
            UserGrant {
                auth: "k:s".into(),
                user_data: r#"{"id":"u1"}"#.into()
            }
        );
    }

    #[test]
    fn user_grant_problems_are_named() {
        let f = interpret_user_response(403, b"no").unwrap_err();
        assert_eq!(f.status, Some(403));
        assert_eq!(f.message, "auth endpoint answered HTTP 403 Forbidden: no");

        let f = interpret_user_response(200, br#"{"auth":"k:s"}"#).unwrap_err();
        assert_eq!(f.status, Some(200));
        assert!(
            f.message
                .starts_with("user authentication has no user_data; expected"),
            "{}",
            f.message
        );
        let f = interpret_user_response(200, br#"{"user_data":"{}"}"#).unwrap_err();
        assert!(f.message.contains(r#""user_data":"#), "{}", f.message);
        // The object itself instead of a JSON string.
        let f =
            interpret_user_response(200, br#"{"auth":"k:s","user_data":{"id":"1"}}"#).unwrap_err();
        assert!(
            f.message.contains("`user_data` must be a string"),
            "{}",
            f.message
        );
        let f = interpret_user_response(200, br#"{"auth":"k:s","user_data":"{\"id\":1}"}"#)
            .unwrap_err();
        assert!(
            f.message
                .contains("`id` must be a non-empty string, got a number"),
            "{}",
            f.message
        );
        let f = interpret_user_response(200, br#"{"auth":"k:s","user_data":"{\"id\":\"\"}"}"#)
            .unwrap_err();
        assert!(f.message.contains("empty `id`"), "{}", f.message);
        let f = interpret_user_response(200, br#"{"auth":"k:s","user_data":"nope"}"#).unwrap_err();
        assert!(
            f.message.starts_with("user_data is not valid JSON"),
            "{}",
            f.message
        );
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
