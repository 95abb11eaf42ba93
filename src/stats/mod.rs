//! The numbers behind the measures (the `m` screen, `stats` records), kept live for one
//! connection and fed by records: event and byte rates (in total and per
//! channel, one-second buckets over ten minutes), ping round trips, the latency probe's
//! percentiles, time in each state with uptime and outages, and authorization round trips.
//!
//! This layer does no I/O and reads no clock: every call takes the `Instant` it happens at,
//! so it is tested under virtual time. Counting an event is O(1) and allocates nothing (a
//! channel's first event allocates its ring once); everything else is per record of a kind
//! that arrives at most a few times a second. The dashboard keeps one to draw its charts;
//! the session keeps one for headless `stats` records, which carry [`Stats`].

pub mod percentiles;
pub mod rates;
pub mod rtt;
pub mod uptime;

pub use percentiles::{Percentiles, Window};
pub use rates::{Bucket, MAX_TRACKED_CHANNELS, RateRing, Rates, WINDOW_SECS};
pub use rtt::{AuthRoundTrips, AuthTimes, Series};
pub use uptime::{Band, BandCell, Outage, Uptime};

use crate::session_record::SessionRecord;
pub use crate::session_record::{ChannelRate, OutageStat, ProbeStats, Stats};

use chanwatch_core::record::Record;
use std::time::{Duration, Instant};

/// Probe percentiles cover the last this many probes ...
pub const PROBE_WINDOW: usize = 100;
/// ... no older than this.
pub const PROBE_WINDOW_AGE: Duration = Duration::from_secs(60);
/// Ping round trips kept for the chart and their percentiles.
pub const RTT_KEPT: usize = 300;
/// Outages listed in a `stats` record (all of them count in `outages`).
pub const STATS_OUTAGES: usize = 5;

/// One probe as the model keeps it, for the latency chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbePoint {
    /// Latency of this probe, `None` when it was lost.
    pub latency_ms: Option<u64>,
    /// The window's p50 and p99 after this probe.
    pub p50: Option<u64>,
    pub p99: Option<u64>,
}

#[derive(Debug)]
pub struct StatsModel {
    origin: Instant,
    rates: Rates,
    uptime: Uptime,
    rtt: Series<u64>,
    rtt_window: Window,
    probe: Window,
    probe_api: Window,
    probe_points: Series<ProbePoint>,
    auth: AuthRoundTrips,
}

impl StatsModel {
    /// A model whose second 0 starts at `origin`.
    pub fn new(origin: Instant) -> StatsModel {
        StatsModel {
            origin,
            rates: Rates::default(),
            uptime: Uptime::default(),
            rtt: Series::new(RTT_KEPT),
            rtt_window: Window::new(RTT_KEPT, Duration::from_secs(WINDOW_SECS as u64)),
            probe: Window::new(PROBE_WINDOW, PROBE_WINDOW_AGE),
            probe_api: Window::new(PROBE_WINDOW, PROBE_WINDOW_AGE),
            probe_points: Series::new(WINDOW_SECS),
            auth: AuthRoundTrips::default(),
        }
    }

    /// The model's second that `now` falls in.
    pub fn sec(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_secs()
    }

    /// Count one session record: a client record, a fault mark or a probe.
    pub fn on_record(&mut self, now: Instant, record: &SessionRecord) {
        match record {
            SessionRecord::Client(record) => self.on_client(now, record),
            SessionRecord::Fault { .. } => {
                let sec = self.sec(now);
                self.uptime.on_fault(sec);
            }
            SessionRecord::Probe {
                latency_ms,
                api_ms,
                lost,
                ..
            } => {
                let latency = if *lost { None } else { *latency_ms };
                self.probe.push(now, latency);
                if let Some(api) = api_ms {
                    self.probe_api.push(now, Some(*api));
                }
                let p = self.probe.percentiles();
                self.probe_points.push(
                    now,
                    ProbePoint {
                        latency_ms: latency,
                        p50: p.map(|p| p.p50),
                        p99: p.map(|p| p.p99),
                    },
                );
            }
            _ => {}
        }
    }

    /// Count one client record: events, state changes, pongs, authorizations.
    pub fn on_client(&mut self, now: Instant, record: &Record) {
        match record {
            Record::Event { channel, data, .. } => {
                let sec = self.sec(now);
                self.rates
                    .add(sec, channel.as_deref(), data.get().len() as u64);
            }
            Record::State { current, cause, .. } => {
                let sec = self.sec(now);
                self.uptime.on_state(now, sec, *current, cause.as_deref());
            }
            Record::Pong { rtt_ms } => {
                self.rtt.push(now, *rtt_ms);
                self.rtt_window.push(now, Some(*rtt_ms));
            }
            Record::Auth {
                channel,
                duration_ms,
                ..
            } => self.auth.add(channel, *duration_ms),
            _ => {}
        }
    }

    /// Let windowed values age; call about once a second.
    pub fn tick(&mut self, now: Instant) {
        self.probe.expire(now);
        self.probe_api.expire(now);
        self.rtt_window.expire(now);
    }

    pub fn rates(&self) -> &Rates {
        &self.rates
    }
    pub fn uptime(&self) -> &Uptime {
        &self.uptime
    }
    pub fn rtt(&self) -> &Series<u64> {
        &self.rtt
    }
    pub fn rtt_percentiles(&self) -> Option<Percentiles> {
        self.rtt_window.percentiles()
    }
    pub fn probe(&self) -> &Window {
        &self.probe
    }
    pub fn probe_api(&self) -> &Window {
        &self.probe_api
    }
    pub fn probe_points(&self) -> &Series<ProbePoint> {
        &self.probe_points
    }
    pub fn auth(&self) -> &AuthRoundTrips {
        &self.auth
    }

    /// Events in the last complete second, all channels.
    pub fn events_per_s(&self, now: Instant) -> u64 {
        u64::from(self.rates.total().sum(self.sec(now), 1).events)
    }

    /// The numbers of a `stats` record at `now`.
    pub fn stats(&self, now: Instant) -> Stats {
        let sec = self.sec(now);
        let last = self.rates.total().sum(sec, 1);
        let minute = |r: &RateRing| {
            let n = sec.clamp(1, 60);
            f64::from(r.sum(sec, n).events) / n as f64
        };
        let round1 = |x: f64| (x * 10.0).round() / 10.0;
        let channels = self
            .rates
            .channels()
            .filter(|(_, r)| r.sum(sec, 60).events > 0)
            .map(|(name, r)| {
                let b = r.sum(sec, 1);
                (
                    name.to_string(),
                    ChannelRate {
                        events_per_s: u64::from(b.events),
                        bytes_per_s: b.bytes,
                        events_per_s_1m: round1(minute(r)),
                    },
                )
            })
            .collect();
        let probe = (!self.probe.is_empty()).then(|| {
            let p = self.probe.percentiles();
            let api = self.probe_api.percentiles();
            ProbeStats {
                received: p.map_or(0, |p| p.count),
                lost: self.probe.lost(),
                p50_ms: p.map(|p| p.p50),
                p95_ms: p.map(|p| p.p95),
                p99_ms: p.map(|p| p.p99),
                max_ms: p.map(|p| p.max),
                api_p50_ms: api.map(|a| a.p50),
                api_max_ms: api.map(|a| a.max),
            }
        });
        let mut recent: Vec<OutageStat> = self
            .uptime
            .outages()
            .rev()
            .take(STATS_OUTAGES)
            .rev()
            .map(|o| OutageStat {
                duration_ms: o.duration.as_millis() as u64,
                cause: o.cause.clone(),
                ongoing: false,
            })
            .collect();
        if let Some((started, cause)) = self.uptime.open_outage() {
            recent.push(OutageStat {
                duration_ms: now.saturating_duration_since(started).as_millis() as u64,
                cause: cause.map(str::to_string),
                ongoing: true,
            });
        }
        Stats {
            events_per_s: u64::from(last.events),
            bytes_per_s: last.bytes,
            events_per_s_1m: round1(minute(self.rates.total())),
            channels,
            rtt_ms: self.rtt_window.percentiles(),
            probe,
            state: self.uptime.state(),
            uptime_pct: self
                .uptime
                .uptime_pct(now)
                .map(|p| (p * 100.0).round() / 100.0),
            time_in_state_ms: uptime::STATES
                .iter()
                .map(|s| (s.as_str().to_string(), self.uptime.time_in(*s, now)))
                .filter(|(_, d)| !d.is_zero())
                .map(|(s, d)| (s, d.as_millis() as u64))
                .collect(),
            outages: self.uptime.outage_count(),
            mean_reconnect_ms: self
                .uptime
                .mean_time_to_reconnect()
                .map(|d| d.as_millis() as u64),
            recent_outages: recent,
            auth_ms: self.auth.iter().map(|(c, t)| (c.to_string(), *t)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chanwatch_core::protocol::RawJson;
    use chanwatch_core::record::State;

    fn event(channel: &str, data: &str) -> SessionRecord {
        SessionRecord::Client(Record::Event {
            channel: Some(channel.into()),
            event: "e".into(),
            data: RawJson::parse(data).unwrap(),
            user_id: None,
            decrypted: false,
        })
    }

    fn state(current: State, cause: Option<&str>) -> SessionRecord {
        SessionRecord::Client(Record::State {
            previous: State::Initialized,
            current,
            socket_id: None,
            cause: cause.map(str::to_string),
        })
    }

    fn probe(seq: u64, latency_ms: Option<u64>, api_ms: u64) -> SessionRecord {
        SessionRecord::Probe {
            seq,
            latency_ms,
            lost: latency_ms.is_none(),
            api_ms: Some(api_ms),
            error: None,
        }
    }

    #[test]
    fn a_session_under_virtual_time() {
        let t0 = Instant::now();
        let t = |ms: u64| t0 + Duration::from_millis(ms);
        let mut m = StatsModel::new(t0);
        m.on_record(t(0), &state(State::Connecting, None));
        m.on_record(t(500), &state(State::Connected, None));
        // 10 events/s on "a" (data "1", one byte) and 2 on "b" for 5 seconds.
        for s in 0..5u64 {
            for i in 0..10 {
                m.on_record(t(1000 + s * 1000 + i * 50), &event("a", "1"));
            }
            for i in 0..2 {
                m.on_record(t(1000 + s * 1000 + i * 50), &event("b", "\"xy\""));
            }
        }
        m.on_record(t(6000), &SessionRecord::Client(Record::Pong { rtt_ms: 12 }));
        m.on_record(
            t(6100),
            &SessionRecord::Client(Record::Auth {
                channel: "private-x".into(),
                socket_id: "1.2".into(),
                request: serde_json::json!({}),
                ok: true,
                status: None,
                response: serde_json::json!({}),
                duration_ms: 40,
                failure: None,
            }),
        );
        for (i, lat) in [Some(5), Some(7), None, Some(9)].into_iter().enumerate() {
            m.on_record(t(6000 + i as u64 * 1000), &probe(i as u64, lat, 3));
        }
        m.on_record(
            t(7000),
            &SessionRecord::Fault {
                fault: "cut".into(),
            },
        );
        m.on_record(t(8000), &state(State::Connecting, Some("pong timeout")));
        m.on_record(t(10_000), &state(State::Connected, None));

        let now = t(10_500);
        let s = m.stats(now);
        assert_eq!(s.events_per_s, 0, "second 9 was quiet");
        assert_eq!(m.rates().total().sum(m.sec(now), 10).events, 60);
        assert_eq!(s.channels["a"].events_per_s_1m, 5.0, "50 events over 10 s");
        assert_eq!(s.channels["b"].bytes_per_s, 0);
        assert_eq!(m.rates().channel("b").unwrap().get(3).bytes, 8);
        assert_eq!(s.rtt_ms.unwrap().p50, 12);
        let p = s.probe.unwrap();
        assert_eq!((p.received, p.lost), (3, 1));
        assert_eq!((p.p50_ms, p.p99_ms, p.max_ms), (Some(7), Some(9), Some(9)));
        assert_eq!(p.api_p50_ms, Some(3));
        assert_eq!(s.state, State::Connected);
        assert_eq!(s.outages, 1);
        assert_eq!(s.mean_reconnect_ms, Some(2000));
        assert_eq!(s.recent_outages[0].cause.as_deref(), Some("pong timeout"));
        assert_eq!(s.time_in_state_ms["connected"], 7500 + 500);
        assert_eq!(s.uptime_pct, Some(76.19), "8 s of 10.5 s");
        assert_eq!(s.auth_ms["private-x"].last_ms, 40);
        let band: Vec<BandCell> = m.uptime().band(m.sec(now), 11).collect();
        assert!(band[7].fault);
        assert_eq!(band[9].band, Band::Connecting);
        // The probe points carry the window's percentiles as they moved.
        let pts: Vec<ProbePoint> = m.probe_points().iter().map(|(_, p)| p).collect();
        assert_eq!(pts[2].latency_ms, None);
        assert_eq!(pts[3].p50, Some(7));
        // The stats record has the shape the README documents.
        let v = serde_json::to_value(m.stats(now)).unwrap();
        assert!(
            v["rtt_ms"]["p99"].is_u64() && v["probe"]["p50_ms"].is_u64(),
            "{v}"
        );
        // A minute later the probe window has emptied.
        m.tick(t(80_000));
        assert!(m.probe().is_empty());
    }
}
