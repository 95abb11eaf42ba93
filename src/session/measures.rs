//! What the session runs on timers beside the connection: the latency probe, the occupancy
//! poll and the headless `stats` record. [`crate::session`] hands it every batch of client
//! records ([`Measures::observe`], which also hides probe events) and awaits
//! [`Measures::next`] for the records it produces; the logic lives in [`crate::probe`],
//! [`crate::occupancy`] and [`crate::stats`], this module does the timing and the calls.
use crate::session_record::SessionRecord;

use crate::occupancy::{OccupiedChannel, Poller};
use crate::probe::{ProbeConfig, Tracker};
use crate::stats::StatsModel;
use chanwatch_core::connection::Command;
use chanwatch_core::http_api::HttpApi;
use chanwatch_core::record::{Record, Stamped};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Default time between occupancy polls.
pub const DEFAULT_OCCUPANCY_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasuresOptions {
    /// The latency probe, when asked for.
    pub probe: Option<ProbeConfig>,
    pub occupancy_interval: Duration,
    /// Poll occupancy from the start (headless with `--occupancy-interval`); the dashboard
    /// turns it on and off with `Command::Occupancy` instead.
    pub occupancy_at_start: bool,
    /// Emit a `stats` record this often.
    pub stats_interval: Option<Duration>,
}

impl Default for MeasuresOptions {
    fn default() -> Self {
        MeasuresOptions {
            probe: None,
            occupancy_interval: DEFAULT_OCCUPANCY_INTERVAL,
            occupancy_at_start: false,
            stats_interval: None,
        }
    }
}

const NO_API: &str =
    "needs the HTTP API: an app id and secret (--app-id and --secret, or the config file)";

enum Done {
    Probe {
        seq: u64,
        at: Instant,
        result: Result<(), String>,
    },
    Poll {
        poller: Box<Poller>,
        result: Result<Vec<OccupiedChannel>, String>,
        status: Option<u16>,
    },
}

struct Probe {
    config: ProbeConfig,
    tracker: Tracker,
    next: Instant,
}

pub struct Measures {
    api: Option<HttpApi>,
    probe: Option<Probe>,
    occupancy_interval: Duration,
    /// `Some` while polling: when the next poll is due (`None` inside while one runs).
    occupancy: Option<Option<Instant>>,
    /// The poller between polls (it remembers what the server accepts).
    poller: Option<Poller>,
    stats: Option<(StatsModel, Duration, Instant)>,
    done_tx: mpsc::Sender<Done>,
    done_rx: mpsc::Receiver<Done>,
}

impl Measures {
    /// Set up; returns the records to emit at once (what cannot run, and why) and the
    /// commands for the client (subscribing the probe channel).
    pub fn start(
        options: MeasuresOptions,
        api: Option<HttpApi>,
        now: Instant,
    ) -> (Measures, Vec<SessionRecord>, Vec<Command>) {
        let (done_tx, done_rx) = mpsc::channel(8);
        let mut records = Vec::new();
        let mut commands = Vec::new();
        let probe = match (options.probe, &api) {
            (Some(config), Some(_)) => {
                commands.push(Command::Subscribe {
                    channel: config.channel.clone(),
                });
                Some(Probe {
                    tracker: Tracker::new(&config, rand::random()),
                    next: now,
                    config,
                })
            }
            (Some(_), None) => {
                records.push(no_api("probe", "the latency probe"));
                None
            }
            (None, _) => None,
        };
        let mut measures = Measures {
            poller: api.clone().map(Poller::new),
            api,
            probe,
            occupancy_interval: options.occupancy_interval,
            occupancy: None,
            stats: options
                .stats_interval
                .map(|every| (StatsModel::new(now), every, now + every)),
            done_tx,
            done_rx,
        };
        if options.occupancy_at_start {
            records.extend(measures.set_occupancy(true, now));
        }
        (measures, records, commands)
    }

    /// Turn the occupancy poll on (the first poll is due at once) or off.
    pub fn set_occupancy(&mut self, on: bool, now: Instant) -> Option<SessionRecord> {
        if !on {
            self.occupancy = None;
            return None;
        }
        if self.api.is_none() {
            return Some(no_api("occupancy", "polling occupancy"));
        }
        if self.occupancy.is_none() {
            // A poll still running from before keeps its slot: the next is due after it.
            self.occupancy = Some(self.poller.is_some().then_some(now));
        }
        None
    }

    /// Look at a batch of client records: follow the connection for the probe, take the
    /// probes that came back (hiding them unless `--show-probe`) and count for `stats`.
    /// Returns the probe records completed by this batch.
    pub fn observe(&mut self, batch: &mut Vec<Stamped>, now: Instant) -> Vec<SessionRecord> {
        let mut out = Vec::new();
        if let Some(probe) = &mut self.probe {
            let mut seen = false;
            for s in batch.iter() {
                match &s.record {
                    Record::Event {
                        channel,
                        event,
                        data,
                        ..
                    } if probe.tracker.is_probe(channel.as_deref(), event) => {
                        seen = true;
                        out.extend(probe.tracker.on_event(now, data.get()));
                    }
                    Record::Event { .. } => {}
                    other => probe.tracker.on_record(other),
                }
            }
            if seen && !probe.config.show {
                let tracker = &probe.tracker;
                batch.retain(|s| match &s.record {
                    Record::Event { channel, event, .. } => {
                        !tracker.is_probe(channel.as_deref(), event)
                    }
                    _ => true,
                });
            }
        }
        if let Some((stats, ..)) = &mut self.stats {
            for s in batch.iter() {
                stats.on_client(now, &s.record);
            }
            for r in &out {
                stats.on_record(now, r);
            }
        }
        out
    }

    fn next_deadline(&self) -> Option<Instant> {
        let probe = self.probe.as_ref().map(|p| match p.tracker.next_expiry() {
            Some(e) => e.min(p.next),
            None => p.next,
        });
        let poll = self.occupancy.flatten();
        let stats = self.stats.as_ref().map(|(_, _, at)| *at);
        [probe, poll, stats].into_iter().flatten().min()
    }

    /// Wait for the next thing to do and do it; returns the records it produced (often none).
    /// Cancel-safe: state changes only after a wait has completed.
    pub async fn next(&mut self) -> Vec<SessionRecord> {
        let deadline = self.next_deadline();
        tokio::select! {
            () = sleep_until(deadline) => self.on_timer(runtime_now()),
            Some(done) = self.done_rx.recv() => self.on_done(done, runtime_now()),
        }
    }

    fn on_timer(&mut self, now: Instant) -> Vec<SessionRecord> {
        let mut out = Vec::new();
        if let Some(p) = &mut self.probe {
            out.extend(p.tracker.expire(now));
            // The interval is used up whether or not a probe can go: one request per
            // interval at most, and none while the last is unanswered.
            if crate::probe::interval_due(&mut p.next, p.config.interval, now)
                && p.tracker.ready()
                && let Some(api) = &self.api
            {
                let wall_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let (seq, data) = p.tracker.start(now, wall_ms);
                let api = api.clone();
                let channels = [p.config.channel.clone()];
                let done = self.done_tx.clone();
                tokio::spawn(async move {
                    let result = api
                        .trigger(&channels, crate::probe::PROBE_EVENT, &data, None)
                        .await
                        .map_err(|e| e.to_string());
                    let at = runtime_now();
                    let _ = done.send(Done::Probe { seq, at, result }).await;
                });
            }
        }
        if let Some(Some(due)) = self.occupancy
            && due <= now
            && let Some(mut poller) = self.poller.take()
        {
            self.occupancy = Some(None);
            let done = self.done_tx.clone();
            tokio::spawn(async move {
                let (result, status) = match poller.poll().await {
                    Ok(c) => (Ok(c), None),
                    Err(e) => (Err(e.to_string()), e.status()),
                };
                let poller = Box::new(poller);
                let _ = done
                    .send(Done::Poll {
                        poller,
                        result,
                        status,
                    })
                    .await;
            });
        }
        if let Some((stats, every, at)) = &mut self.stats
            && *at <= now
        {
            while *at <= now {
                *at += *every;
            }
            stats.tick(now);
            out.push(SessionRecord::Stats(Box::new(stats.stats(now))));
        }
        self.count(&out, now);
        out
    }

    fn on_done(&mut self, done: Done, now: Instant) -> Vec<SessionRecord> {
        let mut out = Vec::new();
        match done {
            Done::Probe { seq, at, result } => {
                if let Some(p) = &mut self.probe {
                    out.extend(p.tracker.on_api(seq, at, result));
                }
            }
            Done::Poll {
                poller,
                result,
                status,
            } => {
                self.poller = Some(*poller);
                if let Some(next) = &mut self.occupancy {
                    *next = Some(now + self.occupancy_interval);
                }
                out.push(match result {
                    Ok(channels) => SessionRecord::Occupancy { channels },
                    Err(message) => SessionRecord::CommandError {
                        cmd: "occupancy".into(),
                        channel: None,
                        status,
                        message: format!("polling occupancy failed: {message}"),
                    },
                });
            }
        }
        self.count(&out, now);
        out
    }

    /// Its own records count in `stats` too (probe latencies).
    fn count(&mut self, records: &[SessionRecord], now: Instant) {
        if let Some((stats, ..)) = &mut self.stats {
            for r in records {
                if matches!(r, SessionRecord::Probe { .. }) {
                    stats.on_record(now, r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;

fn no_api(cmd: &str, what: &str) -> SessionRecord {
    SessionRecord::CommandError {
        cmd: cmd.into(),
        channel: None,
        status: None,
        message: format!("{what} {NO_API}; it is off"),
    }
}

/// The runtime's clock: the wall's `Instant::now()` in a running program, and the virtual
/// time of a paused runtime in tests, so the timers and what they measure agree.
fn runtime_now() -> Instant {
    tokio::time::Instant::now().into_std()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
