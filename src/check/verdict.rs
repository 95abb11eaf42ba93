//! From what a check saw to its verdict, with no I/O: the steps and samples in, the Nagios
//! status, exit code, reasons, summary and performance data out.

use serde::Serialize;
use std::fmt::{self, Write as _};
use std::time::Duration;

#[path = "verdict_cluster.rs"]
pub mod cluster;

/// The steps of a check, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    /// The host name looked up.
    Resolve,
    /// The TCP connection.
    Tcp,
    /// The TLS handshake (`wss` only).
    Tls,
    /// The HTTP upgrade to a WebSocket.
    Websocket,
    /// The server's `pusher:connection_established`.
    ConnectionEstablished,
    /// The public channel's subscription.
    Subscribe,
    /// The private channel's authorization round trip.
    Auth,
    /// The private channel's subscription.
    SubscribePrivate,
    /// The presence channel's authorization round trip.
    AuthPresence,
    /// The presence channel's subscription, our user in its member list.
    SubscribePresence,
    /// The probes published through the HTTP API and awaited on the socket.
    Delivery,
    /// A node's HTTP API taking the probes published through it (several nodes).
    Publish,
}

impl StepName {
    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Resolve => "resolve",
            StepName::Tcp => "tcp",
            StepName::Tls => "tls",
            StepName::Websocket => "websocket",
            StepName::ConnectionEstablished => "connection_established",
            StepName::Subscribe => "subscribe",
            StepName::Auth => "auth",
            StepName::SubscribePrivate => "subscribe_private",
            StepName::AuthPresence => "auth_presence",
            StepName::SubscribePresence => "subscribe_presence",
            StepName::Delivery => "delivery",
            StepName::Publish => "publish",
        }
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step as it went: whether it succeeded, how long it took, what it found (never a
/// secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: StepName,
    pub ok: bool,
    pub duration: Duration,
    pub detail: String,
}

/// One probe: how long the HTTP API took to accept it, and how long from publishing it to
/// its arrival on the socket (`None`: lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub seq: u32,
    pub publish: Option<Duration>,
    pub latency: Option<Duration>,
}

/// Whether probes were published; when not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Checked { planned: u32 },
    NotChecked(String),
}

/// Everything one run of the check saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Where it connected (host and port), for the summary.
    pub target: String,
    pub steps: Vec<Step>,
    pub samples: Vec<Sample>,
    pub delivery: Delivery,
    /// What was not checked and why (no authorizer, no API credentials).
    pub notes: Vec<String>,
    pub total: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub warn: Duration,
    pub crit: Duration,
}

/// The Nagios plugin states, in order of severity except UNKNOWN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// The worse of two states (UNKNOWN is not produced by a run, only by bad usage).
    fn worst(self, other: Status) -> Status {
        if other.exit_code() > self.exit_code() {
            other
        } else {
            self
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    /// Why the status is not OK, worst first; empty when OK.
    pub reasons: Vec<String>,
    /// The text after `STATUS - ` on the first line.
    pub summary: String,
    /// Nagios performance data: `label=value[unit];warn;crit;min;max` separated by spaces.
    pub perfdata: String,
}

/// What the delivered samples say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyStats {
    pub delivered: u32,
    pub planned: u32,
    pub min: Duration,
    pub avg: Duration,
    pub max: Duration,
}

impl LatencyStats {
    pub fn of(samples: &[Sample], planned: u32) -> Option<LatencyStats> {
        let latencies: Vec<Duration> = samples.iter().filter_map(|s| s.latency).collect();
        let delivered = u32::try_from(latencies.len()).unwrap_or(u32::MAX);
        let min = *latencies.iter().min()?;
        let max = *latencies.iter().max()?;
        let avg = latencies.iter().sum::<Duration>() / delivered;
        Some(LatencyStats {
            delivered,
            planned,
            min,
            avg,
            max,
        })
    }

    /// The share of probes that did not arrive, in percent.
    pub fn loss_percent(&self) -> f64 {
        if self.planned == 0 {
            return 0.0;
        }
        f64::from(self.planned - self.delivered.min(self.planned)) * 100.0 / f64::from(self.planned)
    }
}

/// The verdict: any failed step is CRITICAL; with delivery checked, nothing delivered or a
/// probe slower than the critical threshold is CRITICAL, a lost probe or one slower than
/// the warning threshold a WARNING. The slowest probe is what is held to the thresholds,
/// so one slow delivery in a few is not averaged away.
pub fn judge(outcome: &Outcome, thresholds: Thresholds) -> Verdict {
    let mut status = Status::Ok;
    let mut reasons: Vec<(Status, String)> = Vec::new();
    let mut raise = |s: Status, reason: String| {
        status = status.worst(s);
        reasons.push((s, reason));
    };
    for step in outcome.steps.iter().filter(|s| !s.ok) {
        raise(
            Status::Critical,
            format!("{} failed: {}", step.name, step.detail),
        );
    }
    let stats = match outcome.delivery {
        Delivery::Checked { planned } => LatencyStats::of(&outcome.samples, planned),
        Delivery::NotChecked(_) => None,
    };
    let steps_ok = outcome.steps.iter().all(|s| s.ok);
    if let (Delivery::Checked { planned }, true) = (&outcome.delivery, steps_ok) {
        match stats {
            None => raise(
                Status::Critical,
                format!("nothing delivered: none of {planned} probes arrived"),
            ),
            Some(st) => {
                if st.delivered < st.planned {
                    raise(
                        Status::Warning,
                        format!(
                            "{} of {} probes lost",
                            st.planned - st.delivered,
                            st.planned
                        ),
                    );
                }
                if st.max > thresholds.crit {
                    raise(
                        Status::Critical,
                        format!(
                            "latency {} over --crit-latency {}",
                            human_ms(st.max),
                            human_ms(thresholds.crit)
                        ),
                    );
                } else if st.max > thresholds.warn {
                    raise(
                        Status::Warning,
                        format!(
                            "latency {} over --warn-latency {}",
                            human_ms(st.max),
                            human_ms(thresholds.warn)
                        ),
                    );
                }
            }
        }
    }
    // Worst first; equal ones keep the order they happened in.
    reasons.sort_by_key(|(s, _)| std::cmp::Reverse(s.exit_code()));
    let reasons: Vec<String> = reasons.into_iter().map(|(_, r)| r).collect();
    let summary = if reasons.is_empty() {
        ok_summary(outcome, stats.as_ref())
    } else {
        reasons.join("; ")
    };
    Verdict {
        status,
        reasons,
        summary,
        perfdata: perfdata(outcome, stats.as_ref(), thresholds),
    }
}

fn ok_summary(outcome: &Outcome, stats: Option<&LatencyStats>) -> String {
    let connected: Duration = outcome
        .steps
        .iter()
        .filter(|s| {
            !matches!(
                s.name,
                StepName::Subscribe
                    | StepName::Auth
                    | StepName::SubscribePrivate
                    | StepName::Delivery
            )
        })
        .map(|s| s.duration)
        .sum();
    let has = |name| outcome.steps.iter().any(|s| s.name == name);
    let private = match (
        has(StepName::SubscribePrivate),
        has(StepName::SubscribePresence),
    ) {
        (true, true) => " (public, private and presence)",
        (true, false) => " (public and private)",
        _ => "",
    };
    let mut text = format!(
        "{} connected in {} and subscribed{private}",
        outcome.target,
        human_ms(connected)
    );
    match (&outcome.delivery, stats) {
        (Delivery::Checked { .. }, Some(st)) => {
            let _ = write!(
                text,
                ", {}/{} probes delivered, latency max {}",
                st.delivered,
                st.planned,
                human_ms(st.max)
            );
        }
        (Delivery::NotChecked(why), _) => {
            let _ = write!(text, "; delivery not checked ({why})");
        }
        (Delivery::Checked { .. }, None) => {}
    }
    text
}

/// `time` (the whole run), one value per step, then the probes' latency (the maximum held
/// to the thresholds) and loss when delivery was checked.
fn perfdata(outcome: &Outcome, stats: Option<&LatencyStats>, t: Thresholds) -> String {
    let mut out = format!("time={}ms", perf_ms(outcome.total));
    for step in &outcome.steps {
        let _ = write!(out, " {}={}ms", step.name, perf_ms(step.duration));
    }
    if let Delivery::Checked { planned } = outcome.delivery {
        let (warn, crit) = (perf_ms(t.warn), perf_ms(t.crit));
        match stats {
            Some(st) => {
                let _ = write!(
                    out,
                    " latency_max={}ms;{warn};{crit};0 latency_avg={}ms;;;0 loss={}%;0;;0;100 delivered={};;;0;{planned}",
                    perf_ms(st.max),
                    perf_ms(st.avg),
                    perf_number(st.loss_percent()),
                    st.delivered
                );
            }
            None if !outcome.samples.is_empty() => {
                let _ = write!(out, " loss=100%;0;;0;100 delivered=0;;;0;{planned}");
            }
            None => {}
        }
    }
    out
}

/// Milliseconds for perfdata: up to three decimals, no trailing zeros.
fn perf_ms(d: Duration) -> String {
    perf_number(d.as_secs_f64() * 1000.0)
}

fn perf_number(v: f64) -> String {
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// Milliseconds for people: one decimal under 10 ms, whole ones above.
pub fn human_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        warn: Duration::from_millis(500),
        crit: Duration::from_secs(2),
    };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn step(name: StepName, n: u64) -> Step {
        Step {
            name,
            ok: true,
            duration: ms(n),
            detail: String::new(),
        }
    }

    fn connected() -> Vec<Step> {
        vec![
            step(StepName::Resolve, 1),
            step(StepName::Tcp, 2),
            step(StepName::Websocket, 3),
            step(StepName::ConnectionEstablished, 4),
            step(StepName::Subscribe, 5),
        ]
    }

    fn sample(seq: u32, latency: Option<u64>) -> Sample {
        Sample {
            seq,
            publish: Some(ms(1)),
            latency: latency.map(ms),
        }
    }

    fn outcome(samples: Vec<Sample>) -> Outcome {
        let planned = 3;
        let mut steps = connected();
        steps.push(step(StepName::Delivery, 30));
        Outcome {
            target: "127.0.0.1:6001".into(),
            steps,
            samples,
            delivery: Delivery::Checked { planned },
            notes: vec![],
            total: ms(100),
        }
    }

    #[test]
    fn healthy_is_ok_with_every_number_in_the_perfdata() {
        let o = outcome(vec![
            sample(1, Some(10)),
            sample(2, Some(20)),
            sample(3, Some(30)),
        ]);
        let v = judge(&o, T);
        assert_eq!((v.status, v.status.exit_code()), (Status::Ok, 0));
        assert!(v.reasons.is_empty());
        assert_eq!(
            v.summary,
            "127.0.0.1:6001 connected in 10 ms and subscribed, 3/3 probes delivered, latency max 30 ms"
        );
        assert_eq!(
            v.perfdata,
            "time=100ms resolve=1ms tcp=2ms websocket=3ms connection_established=4ms subscribe=5ms \
             delivery=30ms latency_max=30ms;500;2000;0 latency_avg=20ms;;;0 loss=0%;0;;0;100 \
             delivered=3;;;0;3"
        );
    }

    #[test]
    fn a_slow_probe_warns_and_a_slower_one_is_critical() {
        let v = judge(
            &outcome(vec![
                sample(1, Some(10)),
                sample(2, Some(600)),
                sample(3, Some(10)),
            ]),
            T,
        );
        assert_eq!((v.status, v.status.exit_code()), (Status::Warning, 1));
        assert_eq!(v.reasons, ["latency 600 ms over --warn-latency 500 ms"]);
        assert_eq!(v.summary, v.reasons[0]);

        let v = judge(
            &outcome(vec![
                sample(1, Some(2001)),
                sample(2, Some(10)),
                sample(3, Some(10)),
            ]),
            T,
        );
        assert_eq!((v.status, v.status.exit_code()), (Status::Critical, 2));
        assert_eq!(v.reasons, ["latency 2001 ms over --crit-latency 2000 ms"]);
        // At the threshold is not over it.
        let v = judge(
            &outcome(vec![
                sample(1, Some(500)),
                sample(2, Some(1)),
                sample(3, Some(1)),
            ]),
            T,
        );
        assert_eq!(v.status, Status::Ok);
    }

    #[test]
    fn loss_warns_and_nothing_delivered_is_critical() {
        let v = judge(
            &outcome(vec![
                sample(1, Some(10)),
                sample(2, None),
                sample(3, Some(10)),
            ]),
            T,
        );
        assert_eq!(v.status, Status::Warning);
        assert_eq!(v.reasons, ["1 of 3 probes lost"]);
        assert!(
            v.perfdata
                .contains(" loss=33.333%;0;;0;100 delivered=2;;;0;3"),
            "{}",
            v.perfdata
        );

        let v = judge(
            &outcome(vec![sample(1, None), sample(2, None), sample(3, None)]),
            T,
        );
        assert_eq!((v.status, v.status.exit_code()), (Status::Critical, 2));
        assert_eq!(v.reasons, ["nothing delivered: none of 3 probes arrived"]);
        assert!(
            v.perfdata
                .ends_with(" loss=100%;0;;0;100 delivered=0;;;0;3"),
            "{}",
            v.perfdata
        );
    }

    #[test]
    fn reasons_come_worst_first() {
        let v = judge(
            &outcome(vec![
                sample(1, None),
                sample(2, Some(3000)),
                sample(3, Some(10)),
            ]),
            T,
        );
        assert_eq!(v.status, Status::Critical);
        assert_eq!(
            v.reasons,
            [
                "latency 3000 ms over --crit-latency 2000 ms",
                "1 of 3 probes lost"
            ]
        );
        assert_eq!(v.summary, v.reasons.join("; "));
    }

    #[test]
    fn a_failed_step_is_critical_and_named() {
        let mut o = outcome(vec![]);
        o.steps.truncate(1);
        o.steps.push(Step {
            name: StepName::Tcp,
            ok: false,
            duration: ms(1),
            detail: "connection refused (127.0.0.1:9)".into(),
        });
        let v = judge(&o, T);
        assert_eq!((v.status, v.status.exit_code()), (Status::Critical, 2));
        // The samples say nothing once a step failed: no second reason about them.
        assert_eq!(v.reasons, ["tcp failed: connection refused (127.0.0.1:9)"]);
        assert_eq!(v.perfdata, "time=100ms resolve=1ms tcp=1ms");
    }

    #[test]
    fn without_api_credentials_delivery_is_not_checked_and_that_is_ok() {
        let o = Outcome {
            delivery: Delivery::NotChecked("no app id and secret".into()),
            steps: connected(),
            samples: vec![],
            ..outcome(vec![])
        };
        let v = judge(&o, T);
        assert_eq!(v.status, Status::Ok);
        assert_eq!(
            v.summary,
            "127.0.0.1:6001 connected in 10 ms and subscribed; delivery not checked (no app id and secret)"
        );
        assert!(!v.perfdata.contains("latency"), "{}", v.perfdata);
    }

    #[test]
    fn the_summary_says_when_the_private_channel_was_checked_too() {
        let mut o = outcome(vec![
            sample(1, Some(1)),
            sample(2, Some(1)),
            sample(3, Some(1)),
        ]);
        o.steps.insert(5, step(StepName::Auth, 1));
        o.steps.insert(6, step(StepName::SubscribePrivate, 1));
        let v = judge(&o, T);
        assert!(
            v.summary.contains("subscribed (public and private)"),
            "{}",
            v.summary
        );
        assert!(
            v.perfdata.contains(" auth=1ms subscribe_private=1ms "),
            "{}",
            v.perfdata
        );
    }

    #[test]
    fn numbers_are_written_short() {
        assert_eq!(perf_ms(Duration::from_micros(1500)), "1.5");
        assert_eq!(perf_ms(Duration::from_nanos(123_456)), "0.123");
        assert_eq!(perf_ms(Duration::ZERO), "0");
        assert_eq!(human_ms(Duration::from_micros(2340)), "2.3 ms");
        assert_eq!(human_ms(Duration::from_millis(712)), "712 ms");
    }
}
