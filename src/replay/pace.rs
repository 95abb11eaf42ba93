//! The replay clock: where in the recording playback is, at a given instant. Pure: every
//! method takes the current instant, so tests drive it with made-up instants.

use super::args::Speed;
use std::time::{Duration, Instant};

/// When the next record is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Now,
    In(Duration),
    /// Paused: nothing is due until playback resumes.
    Paused,
    /// Nothing is left.
    End,
}

#[derive(Debug, Clone)]
pub struct Clock {
    speed: Speed,
    paused: bool,
    /// The real instant at which the position was `at`.
    anchor: Instant,
    at: Duration,
}

impl Clock {
    pub fn new(speed: Speed, now: Instant) -> Clock {
        Clock {
            speed,
            paused: false,
            anchor: now,
            at: Duration::ZERO,
        }
    }

    pub fn speed(&self) -> Speed {
        self.speed
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The position in the recording at `now`. At `max` speed it moves only as records are
    /// applied (see [`Clock::set`]).
    pub fn position(&self, now: Instant) -> Duration {
        match self.speed {
            _ if self.paused => self.at,
            Speed::Max => self.at,
            Speed::Times(x) => self.at + now.saturating_duration_since(self.anchor).mul_f64(x),
        }
    }

    /// How long until the record at `at` is due.
    pub fn due(&self, at: Duration, now: Instant) -> Due {
        if self.paused {
            return Due::Paused;
        }
        let Speed::Times(x) = self.speed else {
            return Due::Now;
        };
        let pos = self.position(now);
        if at <= pos {
            Due::Now
        } else {
            Due::In((at - pos).div_f64(x))
        }
    }

    /// Move to `at` (a seek, a step, or a record applied at `max` speed).
    pub fn set(&mut self, at: Duration, now: Instant) {
        self.at = at;
        self.anchor = now;
    }

    pub fn pause(&mut self, now: Instant) {
        self.at = self.position(now);
        self.anchor = now;
        self.paused = true;
    }

    pub fn resume(&mut self, now: Instant) {
        self.anchor = now;
        self.paused = false;
    }

    pub fn toggle(&mut self, now: Instant) {
        if self.paused {
            self.resume(now)
        } else {
            self.pause(now)
        }
    }

    pub fn set_speed(&mut self, speed: Speed, now: Instant) {
        self.at = self.position(now);
        self.anchor = now;
        self.speed = speed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_position_follows_virtual_time_at_the_speed() {
        let t0 = Instant::now();
        let mut c = Clock::new(Speed::Times(4.0), t0);
        assert_eq!(c.position(t0 + S), 4 * S);
        assert_eq!(c.due(8 * S, t0 + S), Due::In(S));
        assert_eq!(c.due(2 * S, t0 + S), Due::Now);
        c.pause(t0 + S);
        assert_eq!(c.position(t0 + 10 * S), 4 * S);
        assert_eq!(c.due(8 * S, t0 + 10 * S), Due::Paused);
        c.resume(t0 + 10 * S);
        assert_eq!(c.position(t0 + 11 * S), 8 * S);
        c.set(30 * S, t0 + 11 * S);
        assert_eq!(c.position(t0 + 12 * S), 34 * S);
        c.set_speed(Speed::Times(0.5), t0 + 12 * S);
        assert_eq!(c.position(t0 + 14 * S), 35 * S);
        assert_eq!(c.due(36 * S, t0 + 14 * S), Due::In(2 * S));
    }

    #[test]
    fn at_max_speed_everything_is_due_and_the_position_moves_with_records() {
        let t0 = Instant::now();
        let mut c = Clock::new(Speed::Max, t0);
        assert_eq!(c.due(3600 * S, t0), Due::Now);
        assert_eq!(c.position(t0 + 100 * S), Duration::ZERO);
        c.set(5 * S, t0);
        assert_eq!(c.position(t0 + 100 * S), 5 * S);
        c.toggle(t0);
        assert!(c.is_paused());
        assert_eq!(c.due(S, t0), Due::Paused);
    }
}
