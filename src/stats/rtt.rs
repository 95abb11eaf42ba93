//! Round trips over time: ping round trips (from `pong` records), the probe's percentiles as
//! they moved, and authorization round trips per channel. Fixed-size rings, so a chart costs
//! the same after ten minutes as after ten seconds.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// A bounded series of timed values, oldest first.
#[derive(Debug, Clone)]
pub struct Series<T> {
    points: VecDeque<(Instant, T)>,
    capacity: usize,
}

impl<T: Copy> Series<T> {
    pub fn new(capacity: usize) -> Series<T> {
        Series {
            points: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    pub fn push(&mut self, at: Instant, value: T) {
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back((at, value));
    }

    pub fn last(&self) -> Option<T> {
        self.points.back().map(|(_, v)| *v)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (Instant, T)> + '_ {
        self.points.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

pub use crate::session_record::AuthTimes;

/// One channel's times and the sum its mean comes from.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    times: AuthTimes,
    sum_ms: u64,
}

impl Acc {
    fn add(&mut self, ms: u64) {
        let t = &mut self.times;
        t.count += 1;
        t.last_ms = ms;
        self.sum_ms = self.sum_ms.saturating_add(ms);
        t.mean_ms = self.sum_ms / t.count;
        t.max_ms = t.max_ms.max(ms);
    }
}

/// Authorization round trips per channel, for as many channels as rates track.
#[derive(Debug, Default)]
pub struct AuthRoundTrips {
    by_channel: HashMap<String, Acc>,
}

impl AuthRoundTrips {
    pub fn add(&mut self, channel: &str, ms: u64) {
        if let Some(t) = self.by_channel.get_mut(channel) {
            t.add(ms);
        } else if self.by_channel.len() < super::rates::MAX_TRACKED_CHANNELS {
            let mut t = Acc::default();
            t.add(ms);
            self.by_channel.insert(channel.to_string(), t);
        }
    }

    pub fn get(&self, channel: &str) -> Option<&AuthTimes> {
        self.by_channel.get(channel).map(|a| &a.times)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &AuthTimes)> {
        self.by_channel.iter().map(|(k, v)| (k.as_str(), &v.times))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn series_keeps_the_newest() {
        let t0 = Instant::now();
        let mut s = Series::new(2);
        for i in 0..3u64 {
            s.push(t0 + Duration::from_secs(i), i);
        }
        let v: Vec<u64> = s.iter().map(|(_, v)| v).collect();
        assert_eq!(v, [1, 2]);
        assert_eq!(s.last(), Some(2));
    }

    #[test]
    fn auth_round_trips_per_channel() {
        let mut a = AuthRoundTrips::default();
        a.add("private-a", 10);
        a.add("private-a", 30);
        a.add("presence-b", 5);
        let t = a.get("private-a").unwrap();
        assert_eq!((t.count, t.last_ms, t.mean_ms, t.max_ms), (2, 30, 20, 30));
        assert_eq!(a.get("presence-b").unwrap().count, 1);
    }
}
