//! Checking one webhook request: the app key, the signature over the raw body and the
//! body's shape. Pure: bytes in, a [`Verdict`] out, so every refusal is unit-tested.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Bodies larger than this are refused with 413: a webhook batch is a few kilobytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// The most events one record keeps; a larger batch is counted, not kept whole.
pub const MAX_EVENTS_KEPT: usize = 100;

/// What a request came to: accepted, or the first thing wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Right key, valid signature, a Pusher webhook body.
    Ok,
    MissingKey,
    MissingSignature,
    /// `X-Pusher-Key` is not this app's key.
    WrongKey,
    /// The signature is not the HMAC-SHA256 of the body with the app secret.
    BadSignature,
    /// Signed correctly, but not a webhook body (`time_ms` and an `events` array).
    MalformedJson,
    /// Over [`MAX_BODY`].
    TooLarge,
}

impl Verdict {
    /// The HTTP status the request is answered with.
    pub fn status(self) -> u16 {
        match self {
            Verdict::Ok => 200,
            Verdict::MalformedJson => 400,
            Verdict::TooLarge => 413,
            _ => 401,
        }
    }

    /// Whether the signature (and the key) were right.
    pub fn signed(self) -> bool {
        matches!(self, Verdict::Ok | Verdict::MalformedJson)
    }

    /// In words, for the screen and the answer's body.
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::MissingKey => "no X-Pusher-Key header",
            Verdict::MissingSignature => "no X-Pusher-Signature header",
            Verdict::WrongKey => "X-Pusher-Key is not this app's key",
            Verdict::BadSignature => "X-Pusher-Signature does not match the body",
            Verdict::MalformedJson => "the body is not a webhook (time_ms and events)",
            Verdict::TooLarge => "the body is over 1 MiB",
        }
    }
}

/// One event of a webhook body, as Pusher documents it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub name: String,
    #[serde(default)]
    pub channel: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<String>,
    /// A client event's name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub socket_id: Option<String>,
}

/// A webhook body: when the server sent it and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub time_ms: u64,
    /// How many events the body held.
    pub batch: usize,
    /// The first [`MAX_EVENTS_KEPT`] of them.
    pub events: Vec<WebhookEvent>,
}

#[derive(Deserialize)]
struct Body {
    time_ms: u64,
    events: Vec<RawEvent>,
}

/// An event with a lenient shape: `user_id` may be a number on some servers, `data` is not
/// kept (it may be large, and the screen shows the event's name).
#[derive(Deserialize)]
struct RawEvent {
    name: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    user_id: Option<serde_json::Value>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    socket_id: Option<String>,
}

fn id_text(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Parse a body (already verified: parsing comes after the signature).
pub fn parse(body: &[u8]) -> Result<Payload, String> {
    let body: Body = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let batch = body.events.len();
    let events = body
        .events
        .into_iter()
        .take(MAX_EVENTS_KEPT)
        .map(|e| WebhookEvent {
            name: e.name,
            channel: e.channel.unwrap_or_default(),
            user_id: e.user_id.and_then(id_text),
            event: e.event,
            socket_id: e.socket_id,
        })
        .collect();
    Ok(Payload {
        time_ms: body.time_ms,
        batch,
        events,
    })
}

/// The app this receiver is for. Debug never shows the secret.
#[derive(Clone)]
pub struct App {
    pub key: String,
    pub secret: String,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("key", &self.key)
            .field("secret", &"***")
            .finish()
    }
}

/// The hex HMAC-SHA256 signature a server puts on `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Check a request's headers and raw body. The signature is compared in constant time
/// over the bytes received, never over a re-serialisation.
pub fn check(
    app: &App,
    key: Option<&[u8]>,
    signature: Option<&[u8]>,
    body: &[u8],
) -> (Verdict, Option<Payload>) {
    let Some(key) = key else {
        return (Verdict::MissingKey, None);
    };
    let Some(signature) = signature else {
        return (Verdict::MissingSignature, None);
    };
    if key.trim_ascii() != app.key.as_bytes() {
        return (Verdict::WrongKey, None);
    }
    let Ok(expected) = hex::decode(signature.trim_ascii()) else {
        return (Verdict::BadSignature, None);
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app.secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    if mac.verify_slice(&expected).is_err() {
        return (Verdict::BadSignature, None);
    }
    match parse(body) {
        Ok(payload) => (Verdict::Ok, Some(payload)),
        Err(_) => (Verdict::MalformedJson, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        App {
            key: "app-key".into(),
            secret: "app-secret".into(),
        }
    }

    const BODY: &[u8] = br#"{"time_ms":1700000000123,"events":[{"name":"channel_occupied","channel":"chat"},{"name":"member_added","channel":"presence-x","user_id":42},{"name":"client_event","channel":"private-a","event":"client-typing","data":"{}","socket_id":"1.2"}]}"#;

    #[test]
    fn a_signed_batch_is_accepted_and_parsed() {
        let sig = sign("app-secret", BODY);
        let (verdict, payload) = check(&app(), Some(b"app-key"), Some(sig.as_bytes()), BODY);
        assert_eq!(verdict, Verdict::Ok);
        assert_eq!(verdict.status(), 200);
        let payload = payload.unwrap();
        assert_eq!(payload.time_ms, 1_700_000_000_123);
        assert_eq!(payload.batch, 3);
        assert_eq!(payload.events[0].name, "channel_occupied");
        assert_eq!(payload.events[1].user_id.as_deref(), Some("42"));
        assert_eq!(payload.events[2].event.as_deref(), Some("client-typing"));
        assert_eq!(payload.events[2].socket_id.as_deref(), Some("1.2"));
    }

    #[test]
    fn the_signature_is_of_the_raw_bytes() {
        // The same JSON with other spacing has another signature: no re-serialisation.
        let sig = sign("app-secret", BODY);
        let spaced = String::from_utf8(BODY.to_vec()).unwrap().replace(',', ", ");
        let (verdict, _) = check(
            &app(),
            Some(b"app-key"),
            Some(sig.as_bytes()),
            spaced.as_bytes(),
        );
        assert_eq!(verdict, Verdict::BadSignature);
    }

    #[test]
    fn each_refusal_says_what_was_wrong() {
        let sig = sign("app-secret", BODY);
        let other = sign("other-secret", BODY);
        type Case<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Verdict);
        let cases: [Case; 6] = [
            (None, Some(sig.as_bytes()), Verdict::MissingKey),
            (Some(b"app-key"), None, Verdict::MissingSignature),
            (Some(b"other-key"), Some(sig.as_bytes()), Verdict::WrongKey),
            (
                Some(b"app-key"),
                Some(other.as_bytes()),
                Verdict::BadSignature,
            ),
            (Some(b"app-key"), Some(b"not hex"), Verdict::BadSignature),
            (
                Some(b"app-key"),
                Some(&sig.as_bytes()[..10]),
                Verdict::BadSignature,
            ),
        ];
        for (key, signature, want) in cases {
            let (verdict, payload) = check(&app(), key, signature, BODY);
            assert_eq!(verdict, want);
            assert_eq!(verdict.status(), 401);
            assert!(payload.is_none());
        }
    }

    #[test]
    fn a_signed_body_that_is_not_a_webhook_is_malformed() {
        for body in [
            &b"not json"[..],
            br#"{"events":[]}"#,
            br#"{"time_ms":1,"events":{}}"#,
        ] {
            let sig = sign("app-secret", body);
            let (verdict, _) = check(&app(), Some(b"app-key"), Some(sig.as_bytes()), body);
            assert_eq!(verdict, Verdict::MalformedJson, "{body:?}");
            assert_eq!(verdict.status(), 400);
        }
    }

    #[test]
    fn a_huge_batch_is_counted_but_kept_short() {
        let events: Vec<String> = (0..250)
            .map(|i| format!(r#"{{"name":"channel_occupied","channel":"c{i}"}}"#))
            .collect();
        let body = format!(r#"{{"time_ms":5,"events":[{}]}}"#, events.join(","));
        let payload = parse(body.as_bytes()).unwrap();
        assert_eq!(payload.batch, 250);
        assert_eq!(payload.events.len(), MAX_EVENTS_KEPT);
    }

    #[test]
    fn debug_hides_the_secret() {
        assert!(!format!("{:?}", app()).contains("app-secret"));
    }
}
