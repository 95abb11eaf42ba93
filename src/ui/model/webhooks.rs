//! What the webhooks screen shows: the receiver's requests (with their forward's outcome)
//! and the expectation checks, newest last and bounded, plus running counts; and the one
//! line each puts in the timeline.

use crate::session_record::SessionRecord;
use crate::webhook::{Check, Forwarded, Outcome, Received, Verdict};
use std::collections::VecDeque;
use std::time::SystemTime;

/// Rows kept for the screen.
pub const WEBHOOK_ROWS: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum WebhookRow {
    Request {
        ts: SystemTime,
        received: Box<Received>,
        forward: Option<Forwarded>,
    },
    Check {
        ts: SystemTime,
        check: Check,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub refused: u64,
    pub met: u64,
    pub missed: u64,
    pub contradicted: u64,
}

#[derive(Debug, Default)]
pub struct Webhooks {
    rows: VecDeque<WebhookRow>,
    listening: Option<(String, Option<String>)>,
    counts: Counts,
}

impl Webhooks {
    pub fn rows(&self) -> &VecDeque<WebhookRow> {
        &self.rows
    }
    /// Where the receiver listens and forwards, once it said so.
    pub fn listening(&self) -> Option<&(String, Option<String>)> {
        self.listening.as_ref()
    }
    pub fn counts(&self) -> Counts {
        self.counts
    }

    fn push(&mut self, row: WebhookRow) {
        if self.rows.len() == WEBHOOK_ROWS {
            self.rows.pop_front();
        }
        self.rows.push_back(row);
    }

    /// Take a webhook record; the timeline's line for it and whether it is flagged. Other
    /// records are not taken (`None`).
    pub fn apply(&mut self, ts: SystemTime, record: SessionRecord) -> Option<(String, bool)> {
        match record {
            SessionRecord::WebhookListening { url, forward } => {
                let text = match &forward {
                    Some(f) => format!("webhook receiver on {url}, forwarding to {f}"),
                    None => format!("webhook receiver on {url}"),
                };
                self.listening = Some((url, forward));
                Some((text, false))
            }
            SessionRecord::Webhook(received) => {
                self.counts.requests += 1;
                let flagged = received.verdict != Verdict::Ok;
                if flagged {
                    self.counts.refused += 1;
                }
                let text = request_line(&received);
                self.push(WebhookRow::Request {
                    ts,
                    received,
                    forward: None,
                });
                Some((text, flagged))
            }
            SessionRecord::WebhookForward(forward) => {
                let text = match (forward.status, &forward.error) {
                    (Some(s), _) => format!(
                        "webhook #{} forwarded: backend {s} in {} ms",
                        forward.seq, forward.duration_ms
                    ),
                    (None, e) => format!(
                        "webhook #{} forward failed: {}",
                        forward.seq,
                        e.as_deref().unwrap_or("no answer")
                    ),
                };
                let flagged = forward.status.is_none_or(|s| s >= 300);
                // The request is recent: look from the newest back.
                for row in self.rows.iter_mut().rev() {
                    if let WebhookRow::Request {
                        received,
                        forward: f,
                        ..
                    } = row
                        && received.seq == forward.seq
                    {
                        *f = Some(forward);
                        break;
                    }
                }
                Some((text, flagged))
            }
            SessionRecord::WebhookCheck(check) => {
                match check.outcome {
                    Outcome::Met => self.counts.met += 1,
                    Outcome::Missed => self.counts.missed += 1,
                    Outcome::Contradicted => self.counts.contradicted += 1,
                }
                let text = check_line(&check);
                let flagged = check.outcome != Outcome::Met;
                self.push(WebhookRow::Check { ts, check });
                Some((text, flagged))
            }
            _ => None,
        }
    }
}

fn request_line(r: &Received) -> String {
    if r.verdict != Verdict::Ok {
        return format!(
            "webhook #{} refused {}: {}",
            r.seq,
            r.status,
            r.verdict.describe()
        );
    }
    let names: Vec<String> = r
        .events
        .iter()
        .take(3)
        .map(|e| format!("{} {}", e.name, e.channel))
        .collect();
    let more = if r.batch > 3 {
        format!(" +{} more", r.batch - 3)
    } else {
        String::new()
    };
    let delay = r
        .delay_ms
        .map(|d| format!(", {d} ms after the server's time"))
        .unwrap_or_default();
    format!("webhook #{}: {}{more}{delay}", r.seq, names.join(", "))
}

fn check_line(c: &Check) -> String {
    let who = c
        .user_id
        .as_ref()
        .map(|u| format!(" ({u})"))
        .unwrap_or_default();
    let what = c
        .event
        .as_ref()
        .map(|e| format!(" {e}"))
        .unwrap_or_default();
    match c.outcome {
        Outcome::Met => format!(
            "expected {}{what} on {}{who}: met after {} ms",
            c.expect,
            c.channel,
            c.delay_ms.unwrap_or(0)
        ),
        Outcome::Missed | Outcome::Contradicted => format!(
            "expected {}{what} on {}{who}: {} ({})",
            c.expect,
            c.channel,
            outcome_word(c.outcome),
            c.detail.as_deref().unwrap_or("")
        ),
    }
}

pub fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Met => "met",
        Outcome::Missed => "MISSED",
        Outcome::Contradicted => "CONTRADICTED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::WebhookEvent;

    fn received(seq: u64, verdict: Verdict) -> Box<Received> {
        let mut r = Received::refused(seq, verdict, 10);
        if verdict == Verdict::Ok {
            r.events = vec![WebhookEvent {
                name: "channel_occupied".into(),
                channel: "news".into(),
                user_id: None,
                event: None,
                socket_id: None,
            }];
            r.batch = 1;
            r.delay_ms = Some(16);
        }
        Box::new(r)
    }

    #[test]
    fn requests_checks_and_forwards_are_counted_and_flagged() {
        let mut w = Webhooks::default();
        let ts = SystemTime::UNIX_EPOCH;
        let (text, flagged) = w
            .apply(ts, SessionRecord::Webhook(received(1, Verdict::Ok)))
            .unwrap();
        assert_eq!(
            text,
            "webhook #1: channel_occupied news, 16 ms after the server's time"
        );
        assert!(!flagged);
        let (text, flagged) = w
            .apply(
                ts,
                SessionRecord::Webhook(received(2, Verdict::BadSignature)),
            )
            .unwrap();
        assert!(flagged && text.contains("refused 401"), "{text}");
        let forward = Forwarded {
            seq: 1,
            status: Some(500),
            duration_ms: 3,
            error: None,
        };
        let (_, flagged) = w
            .apply(ts, SessionRecord::WebhookForward(forward.clone()))
            .unwrap();
        assert!(flagged, "a backend's 500 is flagged");
        match &w.rows()[0] {
            WebhookRow::Request { forward: f, .. } => assert_eq!(f.as_ref(), Some(&forward)),
            other => panic!("{other:?}"),
        }
        let check = Check {
            expect: "channel_vacated".into(),
            channel: "news".into(),
            user_id: None,
            event: None,
            outcome: Outcome::Contradicted,
            delay_ms: None,
            detail: Some("channel_vacated while we are still subscribed".into()),
        };
        let (text, flagged) = w.apply(ts, SessionRecord::WebhookCheck(check)).unwrap();
        assert!(flagged && text.contains("CONTRADICTED"), "{text}");
        assert_eq!(
            w.counts(),
            Counts {
                requests: 2,
                refused: 1,
                met: 0,
                missed: 0,
                contradicted: 1
            }
        );
        assert!(
            w.apply(
                ts,
                SessionRecord::Fault {
                    fault: "cut".into()
                }
            )
            .is_none()
        );
    }

    #[test]
    fn rows_are_bounded() {
        let mut w = Webhooks::default();
        for seq in 0..(WEBHOOK_ROWS as u64 + 5) {
            w.apply(
                SystemTime::UNIX_EPOCH,
                SessionRecord::Webhook(received(seq, Verdict::Ok)),
            );
        }
        assert_eq!(w.rows().len(), WEBHOOK_ROWS);
    }
}
