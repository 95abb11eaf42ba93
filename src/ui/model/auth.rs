//! The latest authorization exchange of each channel, as the auth inspector shows it: what
//! was asked and what came back, and a hint that names the usual cause of a failure.

use super::Model;
use chanwatch_core::protocol::channel::{ChannelKind, MAX_CHANNEL_NAME};
use chanwatch_core::record::AuthFailureKind;
use serde_json::Value;
use std::time::SystemTime;

/// Channels whose exchanges are kept; the oldest goes first.
pub const AUTH_CAPACITY: usize = 256;

/// One `auth` record, as the inspector shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthExchange {
    pub ts: SystemTime,
    pub socket_id: String,
    pub request: Value,
    pub ok: bool,
    pub status: Option<u16>,
    pub response: Value,
    pub duration_ms: u64,
    /// What went wrong, when it did.
    pub failure: Option<AuthFailureKind>,
}

impl AuthExchange {
    /// `ok (12 ms)`, `failed 403 (12 ms)` or `failed (12 ms)`.
    pub fn summary(&self) -> String {
        let outcome = match (self.ok, self.status) {
            (true, _) => "ok".to_string(),
            (false, Some(s)) => format!("failed {s}"),
            (false, None) => "failed".to_string(),
        };
        format!("{outcome} ({} ms)", self.duration_ms)
    }

    /// The failure's message, as the authorizer worded it.
    pub fn error(&self) -> Option<&str> {
        self.response.get("error").and_then(Value::as_str)
    }
}

/// What to look at when an exchange failed; `None` when it succeeded or nothing specific
/// is known.
pub fn auth_hint(channel: &str, x: &AuthExchange) -> Option<String> {
    use AuthFailureKind as K;
    if x.ok {
        return None;
    }
    let hint = match x.failure? {
        K::HttpStatus(401) => {
            "the endpoint wants credentials: send them with auth headers or params \
             (no browser cookie travels from here)"
        }
        K::HttpStatus(403) => {
            "the endpoint refused: check its logs and middleware (is the user \
             logged in, and allowed on this channel?)"
        }
        K::HttpStatus(404) => "nothing answers at this URL: check the endpoint's path",
        K::HttpStatus(405) => "wrong method for this URL: ajax sends a POST, jsonp a GET",
        K::HttpStatus(419) => {
            "CSRF token mismatch (Laravel): send X-CSRF-TOKEN or exempt the route"
        }
        K::HttpStatus(422) => {
            "the endpoint rejected the form; it should read socket_id and channel_name"
        }
        K::HttpStatus(s) if s >= 500 => "the endpoint failed: its logs hold the error",
        // Another status, or a 200 whose body is no grant: the endpoint answered, but not
        // what it should.
        K::HttpStatus(_) => ANSWER_200,
        _ if x.status.is_some() => ANSWER_200,
        K::BadChannelData => {
            if ChannelKind::of(channel) == ChannelKind::Presence {
                "presence channels need channel_data in the answer: a JSON string \
                 holding {\"user_id\":...,\"user_info\":...}"
            } else {
                "the answer's channel_data is unusable"
            }
        }
        K::BadSharedSecret => {
            "encrypted channels need shared_secret in the answer (from the server \
             library's encryption master key)"
        }
        K::Timeout => {
            "the endpoint did not answer in time: is it stuck, or is the URL a \
             black hole?"
        }
        K::NotConfigured => {
            "no authorizer is configured: pass --secret (sign locally) or --auth-endpoint"
        }
        K::Unreachable => "the endpoint could not be reached: is it running at that URL?",
        K::BadJson => {
            "the answer is not the JSON expected; a login or error page is the usual cause"
        }
        K::CommandFailed => {
            "the auth command failed: run it by hand with {\"socket_id\":..,\
             \"channel_name\":..} on stdin"
        }
        K::BadSocketId => {
            "the server's socket_id is not digits.digits, so nothing was signed with it: \
             the server is broken or not a Pusher-protocol server"
        }
        K::BadGrant | K::AnswerTooLarge | K::Internal => return None,
    };
    Some(hint.to_string())
}

const ANSWER_200: &str = "the endpoint must answer 200 with {\"auth\":\"key:signature\"}";

impl Model {
    pub(super) fn keep_auth(&mut self, channel: String, exchange: AuthExchange) {
        if channel.len() > MAX_CHANNEL_NAME {
            return;
        }
        // Newest last, so the oldest is the one to forget.
        self.auth.shift_remove(&channel);
        if self.auth.len() == AUTH_CAPACITY {
            self.auth.shift_remove_index(0);
        }
        self.auth.insert(channel, exchange);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failed(kind: AuthFailureKind, status: Option<u16>) -> AuthExchange {
        AuthExchange {
            ts: SystemTime::UNIX_EPOCH,
            socket_id: "1.2".into(),
            request: json!({}),
            ok: false,
            status,
            response: json!({ "error": "words that the hint does not read" }),
            duration_ms: 12,
            failure: Some(kind),
        }
    }

    #[test]
    fn hints_name_the_usual_cause() {
        use AuthFailureKind as K;
        let h = |ch: &str, x: &AuthExchange| auth_hint(ch, x).unwrap_or_default();
        let status = |s: u16| failed(K::HttpStatus(s), Some(s));
        assert!(h("private-a", &status(403)).contains("refused"));
        assert!(h("private-a", &status(503)).contains("logs"));
        assert!(h("private-a", &status(302)).contains("must answer 200"));
        assert!(
            h("presence-a", &failed(K::BadChannelData, None))
                .contains("presence channels need channel_data")
        );
        assert!(
            h("private-a", &failed(K::BadChannelData, None)).contains("channel_data is unusable")
        );
        assert!(
            h("private-encrypted-a", &failed(K::BadSharedSecret, None)).contains("shared_secret")
        );
        assert!(h("private-a", &failed(K::Timeout, None)).contains("in time"));
        assert!(h("private-a", &failed(K::NotConfigured, None)).contains("--secret"));
        assert!(h("private-a", &failed(K::Unreachable, None)).contains("could not be reached"));
        assert!(h("private-a", &failed(K::BadJson, None)).contains("login or error page"));
        assert!(h("private-a", &failed(K::CommandFailed, None)).contains("by hand"));
        // An endpoint's 200 that is no grant gets the endpoint's hint, whatever is wrong.
        assert!(h("presence-a", &failed(K::BadChannelData, Some(200))).contains("must answer 200"));
        for kind in [K::BadGrant, K::AnswerTooLarge, K::Internal] {
            assert_eq!(
                auth_hint("private-a", &failed(kind, None)),
                None,
                "{kind:?}"
            );
        }
        let mut ok = failed(K::Internal, None);
        ok.ok = true;
        ok.failure = None;
        assert_eq!(auth_hint("private-a", &ok), None);
        assert_eq!(ok.summary(), "ok (12 ms)");
        assert_eq!(status(403).summary(), "failed 403 (12 ms)");
    }
}
