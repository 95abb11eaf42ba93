//! The end-to-end latency probe, sans-IO: a small event is published through the signed HTTP
//! API on a dedicated channel this connection subscribes to, and the time from publishing to
//! receiving it here is its latency. The session ([`crate::session::measures`]) does the I/O: it asks
//! [`Tracker::start`] for a probe once per interval, publishes it, and reports the API's
//! answer and the received events back.
//!
//! A probe is sent only while connected and subscribed to the probe channel, and only when
//! the previous publish has been answered, so there is never more than one HTTP request per
//! interval. A probe not received within the timeout is lost. Probe events carry this run's
//! id, so two chanwatch processes probing one app do not take each other's probes for theirs.
use crate::session_record::SessionRecord;

use chanwatch_core::record::{Record, State};
use serde::Deserialize;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The event name of probes.
pub const PROBE_EVENT: &str = "chanwatch-probe";
/// The channel probes go through unless `--probe-channel` names another.
pub const DEFAULT_CHANNEL: &str = "chanwatch-probe";
/// One probe a second unless `--probe` says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// A probe not back within this long is lost.
pub const LOSS_TIMEOUT: Duration = Duration::from_secs(5);

/// One probe per interval at most: whether a new interval has begun at `now` (`next` is when
/// it was due), moving `next` past `now`. Intervals missed while a publish was unanswered or
/// the runtime was busy are skipped, not made up, so a late wake-up never sends a burst.
pub fn interval_due(next: &mut Instant, interval: Duration, now: Instant) -> bool {
    if *next > now {
        return false;
    }
    while *next <= now {
        *next += interval;
    }
    true
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    pub interval: Duration,
    pub channel: String,
    /// Leave probe events in the record stream (`--show-probe`).
    pub show: bool,
    pub timeout: Duration,
}

impl ProbeConfig {
    pub fn new(interval: Duration) -> ProbeConfig {
        ProbeConfig {
            interval,
            channel: DEFAULT_CHANNEL.to_string(),
            show: false,
            timeout: LOSS_TIMEOUT,
        }
    }
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    sent: Instant,
    api_ms: Option<u64>,
    api_done: bool,
    latency_ms: Option<u64>,
}

#[derive(Deserialize)]
struct Payload {
    seq: u64,
    #[serde(default)]
    run: Option<u32>,
}

#[derive(Debug)]
pub struct Tracker {
    run: u32,
    next_seq: u64,
    pending: VecDeque<Pending>,
    in_flight: bool,
    timeout: Duration,
    connected: bool,
    subscribed: bool,
    channel: String,
}

impl Tracker {
    pub fn new(config: &ProbeConfig, run: u32) -> Tracker {
        Tracker {
            run,
            next_seq: 1,
            pending: VecDeque::new(),
            in_flight: false,
            timeout: config.timeout,
            connected: false,
            subscribed: false,
            channel: config.channel.clone(),
        }
    }

    /// Whether a probe may be sent now.
    pub fn ready(&self) -> bool {
        self.connected && self.subscribed && !self.in_flight
    }

    /// Begin a probe at `now` (`wall_ms`: milliseconds since the epoch, carried as
    /// `sent_at` for other readers): its sequence number and the event data to publish.
    pub fn start(&mut self, now: Instant, wall_ms: u64) -> (u64, String) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight = true;
        self.pending.push_back(Pending {
            seq,
            sent: now,
            api_ms: None,
            api_done: false,
            latency_ms: None,
        });
        let data = format!(r#"{{"seq":{seq},"sent_at":{wall_ms},"run":{}}}"#, self.run);
        (seq, data)
    }

    /// The HTTP API answered the publish of `seq` at `now` (`Err`: why it failed).
    pub fn on_api(
        &mut self,
        seq: u64,
        now: Instant,
        result: Result<(), String>,
    ) -> Option<SessionRecord> {
        self.in_flight = false;
        let i = self.pending.iter().position(|p| p.seq == seq)?;
        let p = &mut self.pending[i];
        p.api_done = true;
        p.api_ms = Some(now.saturating_duration_since(p.sent).as_millis() as u64);
        match result {
            Err(error) => {
                let p = self.pending.remove(i)?;
                Some(SessionRecord::Probe {
                    seq,
                    latency_ms: None,
                    lost: true,
                    api_ms: p.api_ms,
                    error: Some(error),
                })
            }
            Ok(()) if p.latency_ms.is_some() => self.finish(i),
            Ok(()) => None,
        }
    }

    /// Whether an event is a probe (to be hidden from the log), and the record it completes.
    pub fn is_probe(&self, channel: Option<&str>, event: &str) -> bool {
        event == PROBE_EVENT && channel == Some(self.channel.as_str())
    }

    /// A probe event arrived at `now` with this data.
    pub fn on_event(&mut self, now: Instant, data: &str) -> Option<SessionRecord> {
        let payload: Payload = serde_json::from_str(data).ok()?;
        if payload.run != Some(self.run) {
            return None; // someone else's probe
        }
        let i = self.pending.iter().position(|p| p.seq == payload.seq)?;
        let p = &mut self.pending[i];
        if p.latency_ms.is_some() {
            return None; // delivered twice
        }
        p.latency_ms = Some(now.saturating_duration_since(p.sent).as_millis() as u64);
        if p.api_done { self.finish(i) } else { None }
    }

    fn finish(&mut self, i: usize) -> Option<SessionRecord> {
        let p = self.pending.remove(i)?;
        Some(SessionRecord::Probe {
            seq: p.seq,
            latency_ms: p.latency_ms,
            lost: false,
            api_ms: p.api_ms,
            error: None,
        })
    }

    /// Probes older than the timeout: lost unless received (then reported without the API
    /// time, which has not come back).
    pub fn expire(&mut self, now: Instant) -> Vec<SessionRecord> {
        let mut out = Vec::new();
        while let Some(p) = self.pending.front() {
            if now.saturating_duration_since(p.sent) < self.timeout {
                break;
            }
            let p = self.pending.pop_front().expect("front exists");
            out.push(SessionRecord::Probe {
                seq: p.seq,
                latency_ms: p.latency_ms,
                lost: p.latency_ms.is_none(),
                api_ms: p.api_ms,
                error: None,
            });
        }
        out
    }

    /// When the oldest pending probe times out.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.pending.front().map(|p| p.sent + self.timeout)
    }

    /// Follow the connection: probes go out only while connected and subscribed.
    pub fn on_record(&mut self, record: &Record) {
        match record {
            Record::State { current, .. } => {
                self.connected = *current == State::Connected;
                if !self.connected {
                    self.subscribed = false;
                }
            }
            Record::Subscribed { channel } if *channel == self.channel => self.subscribed = true,
            Record::Unsubscribed { channel } | Record::SubscriptionError { channel, .. }
                if *channel == self.channel =>
            {
                self.subscribed = false
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready_tracker() -> Tracker {
        let mut t = Tracker::new(&ProbeConfig::new(DEFAULT_INTERVAL), 7);
        assert!(!t.ready());
        t.on_record(&Record::State {
            previous: State::Connecting,
            current: State::Connected,
            socket_id: None,
            cause: None,
        });
        t.on_record(&Record::Subscribed {
            channel: DEFAULT_CHANNEL.into(),
        });
        assert!(t.ready());
        t
    }

    #[test]
    fn a_probe_is_timed_from_publish_to_receipt() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut t = ready_tracker();
        let (seq, data) = t.start(ms(0), 1_700_000_000_000);
        assert_eq!(data, r#"{"seq":1,"sent_at":1700000000000,"run":7}"#);
        assert!(!t.ready(), "one request at a time");
        // The event can overtake the API's answer.
        assert_eq!(t.on_event(ms(4), &data), None);
        let r = t.on_api(seq, ms(6), Ok(())).unwrap();
        assert_eq!(
            r,
            SessionRecord::Probe {
                seq: 1,
                latency_ms: Some(4),
                lost: false,
                api_ms: Some(6),
                error: None
            }
        );
        assert!(t.ready());
        // Another run's probe and garbage are ignored.
        let (seq, _) = t.start(ms(1000), 0);
        assert_eq!(
            t.on_event(ms(1001), r#"{"seq":2,"sent_at":0,"run":8}"#),
            None
        );
        assert_eq!(t.on_event(ms(1001), "nope"), None);
        assert_eq!(t.on_api(seq, ms(1002), Ok(())), None);
        assert!(t.is_probe(Some(DEFAULT_CHANNEL), PROBE_EVENT));
        assert!(!t.is_probe(Some("news"), PROBE_EVENT));
    }

    #[test]
    fn unanswered_probes_are_lost_and_failed_publishes_say_why() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut t = ready_tracker();
        let (seq, _) = t.start(ms(0), 0);
        t.on_api(seq, ms(3), Ok(()));
        assert_eq!(t.next_expiry(), Some(ms(5000)));
        assert!(t.expire(ms(4999)).is_empty());
        let lost = t.expire(ms(5000));
        assert_eq!(
            lost,
            [SessionRecord::Probe {
                seq: 1,
                latency_ms: None,
                lost: true,
                api_ms: Some(3),
                error: None
            }]
        );
        let (seq, _) = t.start(ms(6000), 0);
        let r = t.on_api(seq, ms(6010), Err("HTTP 500".into())).unwrap();
        assert!(matches!(
            r,
            SessionRecord::Probe {
                lost: true,
                error: Some(_),
                ..
            }
        ));
        assert_eq!(t.next_expiry(), None);
        // Losing the connection stops the probes until subscribed again.
        t.on_record(&Record::State {
            previous: State::Connected,
            current: State::Connecting,
            socket_id: None,
            cause: None,
        });
        assert!(!t.ready());
    }

    fn probe(seq: u64, latency_ms: Option<u64>, lost: bool, api_ms: Option<u64>) -> SessionRecord {
        SessionRecord::Probe {
            seq,
            latency_ms,
            lost,
            api_ms,
            error: None,
        }
    }

    #[test]
    fn a_probe_received_after_its_timeout_stays_lost() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut t = ready_tracker();
        let (seq, data) = t.start(ms(0), 0);
        assert_eq!(t.on_api(seq, ms(10), Ok(())), None);
        assert_eq!(t.expire(ms(5000)), [probe(1, None, true, Some(10))]);
        // The event turns up late: it was counted lost once and is not counted again.
        assert_eq!(t.on_event(ms(5200), &data), None);
        assert_eq!(t.next_expiry(), None);
        assert!(t.expire(ms(60_000)).is_empty());
    }

    #[test]
    fn a_probe_delivered_twice_is_counted_once() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut t = ready_tracker();
        // Twice before the API's answer: the first delivery's time is kept.
        let (seq, data) = t.start(ms(0), 0);
        assert_eq!(t.on_event(ms(5), &data), None);
        assert_eq!(t.on_event(ms(9), &data), None);
        assert_eq!(
            t.on_api(seq, ms(12), Ok(())),
            Some(probe(1, Some(5), false, Some(12)))
        );
        // Twice after it: the second finds nothing pending.
        let (seq, data) = t.start(ms(1000), 0);
        assert_eq!(t.on_api(seq, ms(1002), Ok(())), None);
        assert_eq!(
            t.on_event(ms(1004), &data),
            Some(probe(2, Some(4), false, Some(2)))
        );
        assert_eq!(t.on_event(ms(1006), &data), None);
        assert!(t.expire(ms(60_000)).is_empty());
    }

    #[test]
    fn a_probe_that_times_out_before_the_api_answers() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut t = ready_tracker();
        // Never received, the API still busy: lost, with no API time.
        let (seq, _) = t.start(ms(0), 0);
        assert_eq!(t.expire(ms(5000)), [probe(1, None, true, None)]);
        assert!(!t.ready(), "its request is still unanswered");
        // The answer comes at last: nothing more to report, and the next probe may go.
        assert_eq!(t.on_api(seq, ms(7000), Ok(())), None);
        assert!(t.ready());
        // Received, the API still busy at the timeout: reported with its latency, not lost.
        let (seq, data) = t.start(ms(8000), 0);
        assert_eq!(t.on_event(ms(8020), &data), None);
        assert_eq!(t.expire(ms(13_000)), [probe(2, Some(20), false, None)]);
        assert_eq!(t.on_api(seq, ms(14_000), Ok(())), None);
        // A failed answer after the timeout reports nothing twice either.
        let (seq, _) = t.start(ms(15_000), 0);
        assert_eq!(t.expire(ms(20_000)), [probe(3, None, true, None)]);
        assert_eq!(t.on_api(seq, ms(21_000), Err("HTTP 500".into())), None);
        assert!(t.ready());
    }

    #[test]
    fn intervals_missed_are_skipped_not_made_up() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let every = Duration::from_secs(1);
        let mut next = ms(0);
        assert!(interval_due(&mut next, every, ms(0)));
        assert_eq!(next, ms(1000));
        assert!(
            !interval_due(&mut next, every, ms(999)),
            "not before its time"
        );
        assert!(interval_due(&mut next, every, ms(1000)));
        assert!(
            !interval_due(&mut next, every, ms(1000)),
            "once per interval"
        );
        // Woken 4.5 intervals late: one interval is due, not five, and the next stays on
        // the original beat.
        assert!(interval_due(&mut next, every, ms(6500)));
        assert_eq!(next, ms(7000));
        assert!(!interval_due(&mut next, every, ms(6999)));
    }

    /// The session's loop as the measures runs it, on virtual time: a probe goes out when its
    /// interval is due and the last publish was answered, never two at once.
    #[test]
    fn one_request_per_interval_and_one_at_a_time() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let every = Duration::from_millis(200);
        let mut t = ready_tracker();
        let mut next = ms(0);
        let mut sent: Vec<u64> = Vec::new();
        let mut answer_at: Option<(u64, u64)> = None;
        // The API takes 250 ms for the first five probes, then 50 ms.
        for now in 0..4000u64 {
            if let Some((seq, at)) = answer_at
                && at == now
            {
                t.on_api(seq, ms(now), Ok(()));
                answer_at = None;
            }
            if interval_due(&mut next, every, ms(now)) && t.ready() {
                let (seq, _) = t.start(ms(now), 0);
                assert!(answer_at.is_none(), "a second request while one is out");
                let took = if sent.len() < 5 { 250 } else { 50 };
                answer_at = Some((seq, now + took));
                sent.push(now);
            }
            t.expire(ms(now));
        }
        assert_eq!(&sent[..6], [0, 400, 800, 1200, 1600, 2000]);
        assert_eq!(sent.len(), 5 + 10, "{sent:?}");
        assert!(sent.windows(2).all(|w| w[1] - w[0] >= 200), "{sent:?}");
    }
}
