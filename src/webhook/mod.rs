//! The app's webhooks beside the socket: checking a request ([`verify`]), what a received
//! webhook looks like in the record stream ([`Received`], [`Forwarded`]) and which webhooks
//! our own connection should have caused ([`expect`]). Pure; the HTTP receiver that feeds
//! it is `crate::webhook_server`.

pub mod expect;
pub mod verify;

pub use expect::{Check, Expectations, Outcome, Timeouts};
pub use verify::{App, Verdict, WebhookEvent};

use serde::{Deserialize, Serialize};

/// One webhook request as received, answered and checked: a `webhook` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// Numbers the requests of this receiver, so a `webhook_forward` names its request.
    pub seq: u64,
    /// What we answered: 200, 401 (key or signature), 400 (not a webhook), 413 (too large).
    pub status: u16,
    pub verdict: Verdict,
    /// The server's `time_ms`, when the body could be read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_ms: Option<u64>,
    /// Our receiving time minus `time_ms` (negative when the clocks disagree).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub delay_ms: Option<i64>,
    /// Events in the body (its first 100 are listed).
    pub batch: usize,
    pub events: Vec<WebhookEvent>,
    pub bytes: usize,
}

/// What the backend said to a forwarded request: a `webhook_forward` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarded {
    pub seq: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    pub duration_ms: u64,
    /// Why no answer came (timeout, refused ...).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// A URL as shown: scheme, host, port and path, never credentials or a query.
pub fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

impl Received {
    /// The request as unsigned or unreadable, before parsing, for a refusal.
    pub fn refused(seq: u64, verdict: Verdict, bytes: usize) -> Received {
        Received {
            seq,
            status: verdict.status(),
            verdict,
            time_ms: None,
            delay_ms: None,
            batch: 0,
            events: Vec::new(),
            bytes,
        }
    }

    /// Checked and parsed, received at `now_ms` (ms since the epoch).
    pub fn from_check(
        seq: u64,
        verdict: Verdict,
        payload: Option<verify::Payload>,
        bytes: usize,
        now_ms: u64,
    ) -> Received {
        let mut r = Received::refused(seq, verdict, bytes);
        if let Some(p) = payload {
            r.time_ms = Some(p.time_ms);
            r.delay_ms = Some(now_ms as i64 - p.time_ms as i64);
            r.batch = p.batch;
            r.events = p.events;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_has_no_credentials() {
        let url = url::Url::parse("http://user:pw@127.0.0.1:9/hooks?token=x").unwrap();
        assert_eq!(shown_url(&url), "http://127.0.0.1:9/hooks");
    }

    #[test]
    fn the_delay_is_receipt_minus_the_servers_time_and_may_be_negative() {
        let payload = verify::parse(br#"{"time_ms":1000,"events":[]}"#).unwrap();
        let r = Received::from_check(1, Verdict::Ok, Some(payload.clone()), 30, 1016);
        assert_eq!(
            (r.time_ms, r.delay_ms, r.status),
            (Some(1000), Some(16), 200)
        );
        let r = Received::from_check(1, Verdict::Ok, Some(payload), 30, 990);
        assert_eq!(r.delay_ms, Some(-10));
    }
}
