//! Latency percentiles over a sliding window: the last `capacity` samples no older than
//! `max_age`. A sample is a latency in milliseconds or a loss.
//!
//! Hand-written rather than taken from a crate: the window holds at most a few hundred
//! samples (one per probe or ping) and is recomputed only when a sample arrives or ages out,
//! by copying and sorting them (nearest-rank percentiles, exact). Sorting 100 samples took
//! about 1 µs on this project's machines; a histogram crate (hdrhistogram) would give
//! approximate values and has no sliding window of its own.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use crate::session_record::Percentiles;

#[derive(Debug, Clone)]
pub struct Window {
    samples: VecDeque<(Instant, Option<u64>)>,
    capacity: usize,
    max_age: Duration,
    cached: Option<Percentiles>,
    lost: usize,
    scratch: Vec<u64>,
}

impl Window {
    pub fn new(capacity: usize, max_age: Duration) -> Window {
        Window {
            samples: VecDeque::with_capacity(capacity),
            capacity,
            max_age,
            cached: None,
            lost: 0,
            scratch: Vec::with_capacity(capacity),
        }
    }

    /// Add a latency (`Some(ms)`) or a loss (`None`) seen at `now`.
    pub fn push(&mut self, now: Instant, sample: Option<u64>) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back((now, sample));
        self.drop_old(now);
        self.recompute();
    }

    /// Let samples older than the window go; cheap when nothing has aged out.
    pub fn expire(&mut self, now: Instant) {
        if self.drop_old(now) {
            self.recompute();
        }
    }

    fn drop_old(&mut self, now: Instant) -> bool {
        let mut dropped = false;
        while let Some((at, _)) = self.samples.front() {
            if now.saturating_duration_since(*at) > self.max_age {
                self.samples.pop_front();
                dropped = true;
            } else {
                break;
            }
        }
        dropped
    }

    fn recompute(&mut self) {
        self.scratch.clear();
        self.scratch
            .extend(self.samples.iter().filter_map(|(_, s)| *s));
        self.lost = self.samples.len() - self.scratch.len();
        self.scratch.sort_unstable();
        self.cached = percentiles_of_sorted(&self.scratch);
    }

    /// p50 / p95 / p99 / max of the received samples, `None` when there are none.
    pub fn percentiles(&self) -> Option<Percentiles> {
        self.cached
    }

    /// Losses in the window.
    pub fn lost(&self) -> usize {
        self.lost
    }

    /// Samples (received and lost) in the window.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// Nearest-rank percentiles of an ascending slice.
pub fn percentiles_of_sorted(sorted: &[u64]) -> Option<Percentiles> {
    let n = sorted.len();
    let last = *sorted.last()?;
    let rank = |p: u64| {
        // ceil(p/100 * n), 1-based
        let r = (p as usize * n).div_ceil(100).max(1);
        sorted[r - 1]
    };
    Some(Percentiles {
        p50: rank(50),
        p95: rank(95),
        p99: rank(99),
        max: last,
        count: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        let p = percentiles_of_sorted(&v).unwrap();
        assert_eq!(
            (p.p50, p.p95, p.p99, p.max, p.count),
            (50, 95, 99, 100, 100)
        );
        let p = percentiles_of_sorted(&[7]).unwrap();
        assert_eq!((p.p50, p.p99, p.max), (7, 7, 7));
        assert_eq!(percentiles_of_sorted(&[]), None);
    }

    #[test]
    fn the_window_slides_by_count_and_by_age() {
        let t0 = Instant::now();
        let mut w = Window::new(3, Duration::from_secs(60));
        for (i, v) in [10, 20, 30, 40].into_iter().enumerate() {
            w.push(t0 + Duration::from_secs(i as u64), Some(v));
        }
        assert_eq!(w.percentiles().unwrap().count, 3, "capacity 3: 10 is gone");
        assert_eq!(w.percentiles().unwrap().p50, 30);
        w.push(t0 + Duration::from_secs(4), None);
        assert_eq!(w.lost(), 1);
        assert_eq!(w.percentiles().unwrap().count, 2);
        // 63 s after t0 the samples from t0+1..t0+2 are over a minute old.
        w.expire(t0 + Duration::from_secs(63));
        assert_eq!(w.percentiles().unwrap().count, 1);
        assert_eq!(w.percentiles().unwrap().max, 40);
        w.expire(t0 + Duration::from_secs(200));
        assert!(w.is_empty());
        assert_eq!(w.percentiles(), None);
        assert_eq!(w.lost(), 0);
    }
}
