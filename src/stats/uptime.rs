//! Time in each connection state, uptime, outages and a per-second state band for charts.
//!
//! An outage starts when the connection leaves `connected` and ends when it is `connected`
//! again; its cause is the cause of the state change that started it. Time before the first
//! `connected` is not an outage (nothing was lost yet) but is not uptime either.

use super::rates::WINDOW_SECS;
use chanwatch_core::record::State;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Outages kept with their cause; older ones still count in the totals.
pub const OUTAGES_KEPT: usize = 100;

/// The band's classes, worst last: a second shows the worst state it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Band {
    /// Nothing known yet (before the first record).
    Unknown,
    Connected,
    /// `initialized` and `connecting`.
    Connecting,
    /// `unavailable`, `failed` and `disconnected`: no connection and none on the way soon.
    Down,
}

impl Band {
    pub fn of(state: State) -> Band {
        match state {
            State::Connected => Band::Connected,
            State::Initialized | State::Connecting => Band::Connecting,
            State::Unavailable | State::Failed | State::Disconnected => Band::Down,
        }
    }
}

/// One second of the band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandCell {
    pub band: Band,
    /// A fault was injected in this second.
    pub fault: bool,
}

const EMPTY: BandCell = BandCell {
    band: Band::Unknown,
    fault: false,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub started: Instant,
    pub duration: Duration,
    pub cause: Option<String>,
}

#[derive(Debug)]
pub struct Uptime {
    state: State,
    since: Option<Instant>,
    first: Option<Instant>,
    time_in: [Duration; 6],
    open: Option<(Instant, Option<String>)>,
    outages: VecDeque<Outage>,
    outage_count: u64,
    outage_total: Duration,
    been_connected: bool,
    band: Box<[BandCell]>,
    band_head: Option<u64>,
}

impl Default for Uptime {
    fn default() -> Self {
        Uptime {
            state: State::Initialized,
            since: None,
            first: None,
            time_in: [Duration::ZERO; 6],
            open: None,
            outages: VecDeque::new(),
            outage_count: 0,
            outage_total: Duration::ZERO,
            been_connected: false,
            band: vec![EMPTY; WINDOW_SECS].into_boxed_slice(),
            band_head: None,
        }
    }
}

fn slot(state: State) -> usize {
    match state {
        State::Initialized => 0,
        State::Connecting => 1,
        State::Connected => 2,
        State::Unavailable => 3,
        State::Failed => 4,
        State::Disconnected => 5,
    }
}

pub const STATES: [State; 6] = [
    State::Initialized,
    State::Connecting,
    State::Connected,
    State::Unavailable,
    State::Failed,
    State::Disconnected,
];

impl Uptime {
    pub fn state(&self) -> State {
        self.state
    }

    /// A state change seen at `now` (second `sec` of the model).
    pub fn on_state(&mut self, now: Instant, sec: u64, current: State, cause: Option<&str>) {
        if let Some(since) = self.since {
            self.time_in[slot(self.state)] += now.saturating_duration_since(since);
        }
        self.first.get_or_insert(now);
        let was = self.state;
        self.fill_band(sec);
        self.state = current;
        self.since = Some(now);
        let cell = &mut self.band[(sec % WINDOW_SECS as u64) as usize];
        cell.band = cell.band.max(Band::of(current));
        if current == State::Connected {
            self.been_connected = true;
            if let Some((started, cause)) = self.open.take() {
                let duration = now.saturating_duration_since(started);
                self.outage_count += 1;
                self.outage_total += duration;
                if self.outages.len() == OUTAGES_KEPT {
                    self.outages.pop_front();
                }
                self.outages.push_back(Outage {
                    started,
                    duration,
                    cause,
                });
            }
        } else if was == State::Connected && self.open.is_none() {
            self.open = Some((now, cause.map(str::to_string)));
        }
    }

    /// A fault injected at second `sec`.
    pub fn on_fault(&mut self, sec: u64) {
        self.fill_band(sec);
        self.band[(sec % WINDOW_SECS as u64) as usize].fault = true;
    }

    /// Bring the band up to second `sec`: the seconds since the last write were spent in the
    /// current state.
    fn fill_band(&mut self, sec: u64) {
        let fill = if self.since.is_some() {
            BandCell {
                band: Band::of(self.state),
                fault: false,
            }
        } else {
            EMPTY
        };
        match self.band_head {
            Some(head) if sec <= head => {}
            Some(head) => {
                let gap = (sec - head).min(WINDOW_SECS as u64);
                for i in 1..=gap {
                    self.band[((head + i) % WINDOW_SECS as u64) as usize] = fill;
                }
                self.band_head = Some(sec);
            }
            None => {
                self.band[(sec % WINDOW_SECS as u64) as usize] = fill;
                self.band_head = Some(sec);
            }
        }
    }

    /// The last `n` seconds up to and including `now_sec`, oldest first.
    pub fn band(&self, now_sec: u64, n: u64) -> impl Iterator<Item = BandCell> + '_ {
        let n = n.min(WINDOW_SECS as u64);
        let current = BandCell {
            band: if self.since.is_some() {
                Band::of(self.state)
            } else {
                Band::Unknown
            },
            fault: false,
        };
        (0..n).map(move |i| {
            let Some(sec) = (now_sec + 1 + i).checked_sub(n) else {
                return EMPTY;
            };
            match self.band_head {
                Some(head) if sec > head => current,
                Some(head) if head - sec < WINDOW_SECS as u64 => {
                    self.band[(sec % WINDOW_SECS as u64) as usize]
                }
                _ => EMPTY,
            }
        })
    }

    /// Time spent in `state` up to `now`.
    pub fn time_in(&self, state: State, now: Instant) -> Duration {
        let mut t = self.time_in[slot(state)];
        if state == self.state
            && let Some(since) = self.since
        {
            t += now.saturating_duration_since(since);
        }
        t
    }

    /// Share of the time since the first state change spent connected, in percent.
    pub fn uptime_pct(&self, now: Instant) -> Option<f64> {
        let first = self.first?;
        let total = now.saturating_duration_since(first).as_secs_f64();
        if total <= 0.0 {
            return None;
        }
        let up = self.time_in(State::Connected, now).as_secs_f64();
        Some((up / total * 100.0).clamp(0.0, 100.0))
    }

    /// Finished outages, oldest first (the last [`OUTAGES_KEPT`]).
    pub fn outages(&self) -> impl DoubleEndedIterator<Item = &Outage> + ExactSizeIterator {
        self.outages.iter()
    }

    /// The outage going on now: when it began and its cause.
    pub fn open_outage(&self) -> Option<(Instant, Option<&str>)> {
        self.open.as_ref().map(|(t, c)| (*t, c.as_deref()))
    }

    /// Finished outages since the start (including those no longer kept).
    pub fn outage_count(&self) -> u64 {
        self.outage_count
    }

    /// Mean time from losing the connection to having it again.
    pub fn mean_time_to_reconnect(&self) -> Option<Duration> {
        (self.outage_count > 0).then(|| self.outage_total / self.outage_count as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn states_outages_and_uptime_under_virtual_time() {
        let t0 = Instant::now();
        let mut u = Uptime::default();
        u.on_state(at(t0, 0), 0, State::Connecting, None);
        u.on_state(at(t0, 2), 2, State::Connected, None);
        u.on_state(at(t0, 10), 10, State::Connecting, Some("pong timeout"));
        u.on_state(at(t0, 14), 14, State::Unavailable, None);
        u.on_state(at(t0, 16), 16, State::Connected, None);
        u.on_state(at(t0, 20), 20, State::Connecting, Some("closed 4200"));
        u.on_state(at(t0, 21), 21, State::Connected, None);
        let now = at(t0, 30);
        assert_eq!(
            u.time_in(State::Connected, now),
            Duration::from_secs(8 + 4 + 9)
        );
        assert_eq!(
            u.time_in(State::Connecting, now),
            Duration::from_secs(2 + 4 + 1)
        );
        assert_eq!(u.time_in(State::Unavailable, now), Duration::from_secs(2));
        assert_eq!(u.uptime_pct(now), Some(70.0));
        let outages: Vec<_> = u.outages().cloned().collect();
        assert_eq!(outages.len(), 2, "the first connect is not an outage");
        assert_eq!(outages[0].duration, Duration::from_secs(6));
        assert_eq!(outages[0].cause.as_deref(), Some("pong timeout"));
        assert_eq!(outages[1].duration, Duration::from_secs(1));
        assert_eq!(
            u.mean_time_to_reconnect(),
            Some(Duration::from_millis(3500))
        );
        assert!(u.open_outage().is_none());
        u.on_state(at(t0, 31), 31, State::Disconnected, Some("user"));
        assert_eq!(u.open_outage().unwrap().1, Some("user"));
    }

    #[test]
    fn the_band_shows_the_worst_state_of_each_second_and_faults() {
        let t0 = Instant::now();
        let mut u = Uptime::default();
        u.on_state(at(t0, 0), 0, State::Connected, None);
        u.on_fault(3);
        u.on_state(at(t0, 5), 5, State::Connecting, Some("cut"));
        u.on_state(at(t0, 5), 5, State::Unavailable, None);
        u.on_state(at(t0, 7), 7, State::Connected, None);
        let cells: Vec<_> = u.band(9, 10).collect();
        use Band::*;
        let bands: Vec<Band> = cells.iter().map(|c| c.band).collect();
        assert_eq!(
            bands,
            // Second 7 was partly spent unavailable: the band shows the worst.
            [
                Connected, Connected, Connected, Connected, Connected, Down, Down, Down, Connected,
                Connected
            ]
        );
        assert!(cells[3].fault && !cells[4].fault);
        // Before the first record there is nothing to show.
        let early: Vec<_> = u.band(2, 5).map(|c| c.band).collect();
        assert_eq!(early, [Unknown, Unknown, Connected, Connected, Connected]);
        // After ten quiet minutes the band is the current state throughout.
        assert!(u.band(2000, 600).all(|c| c.band == Connected));
    }
}
