//! Events and bytes per second in one-second buckets over the last ten minutes, in total and
//! per channel. A bucket is two counters in a fixed ring, so counting an event is O(1) and
//! allocates nothing (a channel's first event allocates its ring, once).

use rustc_hash::FxHashMap;

/// Seconds of history: ten minutes of one-second buckets.
pub const WINDOW_SECS: usize = 600;

/// How many channels get rates of their own. Each costs one ring (about 10 KB); events on
/// channels beyond the cap still count in the total and in [`Rates::untracked_events`].
/// Channels keep their slot for the session: an unsubscribed channel still has ten minutes of
/// history worth showing.
pub const MAX_TRACKED_CHANNELS: usize = 64;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    pub events: u32,
    pub bytes: u64,
}

/// One ring of [`WINDOW_SECS`] buckets, indexed by the second (since the model's origin)
/// they count. `head` is the newest second written; older seconds are cleared as time moves
/// on, each bucket at most once per pass, so advancing is O(1) amortised.
#[derive(Debug, Clone)]
pub struct RateRing {
    buckets: Box<[Bucket]>,
    head: u64,
}

impl Default for RateRing {
    fn default() -> Self {
        RateRing {
            buckets: vec![Bucket::default(); WINDOW_SECS].into_boxed_slice(),
            head: 0,
        }
    }
}

impl RateRing {
    fn advance(&mut self, sec: u64) {
        if sec <= self.head {
            return;
        }
        let gap = (sec - self.head).min(WINDOW_SECS as u64);
        for i in 1..=gap {
            self.buckets[((self.head + i) % WINDOW_SECS as u64) as usize] = Bucket::default();
        }
        self.head = sec;
    }

    /// Count one event of `bytes` in second `sec`. Seconds older than the window are dropped.
    pub fn add(&mut self, sec: u64, bytes: u64) {
        self.add_at(sec, slot(sec), bytes);
    }

    /// [`RateRing::add`] with the bucket index already computed (one division per event
    /// for every ring it is counted in).
    fn add_at(&mut self, sec: u64, slot: usize, bytes: u64) {
        self.advance(sec);
        if self.head - sec >= WINDOW_SECS as u64 {
            return;
        }
        let b = &mut self.buckets[slot];
        b.events = b.events.saturating_add(1);
        b.bytes = b.bytes.saturating_add(bytes);
    }

    /// The bucket of second `sec` (zero when nothing was counted then or it has left the window).
    pub fn get(&self, sec: u64) -> Bucket {
        if sec > self.head || self.head - sec >= WINDOW_SECS as u64 {
            return Bucket::default();
        }
        self.buckets[(sec % WINDOW_SECS as u64) as usize]
    }

    /// Sum of the `n` complete seconds before `now_sec` (the current second is still filling).
    pub fn sum(&self, now_sec: u64, n: u64) -> Bucket {
        let n = n.min(WINDOW_SECS as u64 - 1).min(now_sec);
        let mut total = Bucket::default();
        for sec in now_sec - n..now_sec {
            let b = self.get(sec);
            total.events = total.events.saturating_add(b.events);
            total.bytes = total.bytes.saturating_add(b.bytes);
        }
        total
    }

    /// Events per second of the last `n` complete seconds, oldest first, for charts.
    pub fn series(&self, now_sec: u64, n: u64) -> impl Iterator<Item = Bucket> + '_ {
        let n = n.min(WINDOW_SECS as u64 - 1);
        (0..n).map(move |i| {
            let back = n - i;
            now_sec
                .checked_sub(back)
                .map_or_else(Bucket::default, |s| self.get(s))
        })
    }
}

fn slot(sec: u64) -> usize {
    (sec % WINDOW_SECS as u64) as usize
}

/// Rates in total and per channel (the first [`MAX_TRACKED_CHANNELS`] channels seen).
#[derive(Debug, Default)]
pub struct Rates {
    total: RateRing,
    index: FxHashMap<Box<str>, usize>,
    channels: Vec<(Box<str>, RateRing)>,
    untracked_events: u64,
    /// The channel of the previous event: a busy stream is often one channel, and comparing
    /// names is cheaper than hashing one.
    last: Option<usize>,
}

impl Rates {
    /// Count one event. `channel` is `None` for events on the connection itself.
    pub fn add(&mut self, sec: u64, channel: Option<&str>, bytes: u64) {
        let slot = slot(sec);
        self.total.add_at(sec, slot, bytes);
        let Some(name) = channel else { return };
        if let Some(i) = self.last
            && *self.channels[i].0 == *name
        {
            self.channels[i].1.add_at(sec, slot, bytes);
            return;
        }
        let i = match self.index.get(name) {
            Some(&i) => i,
            None if self.channels.len() < MAX_TRACKED_CHANNELS => {
                let i = self.channels.len();
                self.channels.push((name.into(), RateRing::default()));
                self.index.insert(name.into(), i);
                i
            }
            None => {
                self.untracked_events += 1;
                return;
            }
        };
        self.last = Some(i);
        self.channels[i].1.add_at(sec, slot, bytes);
    }

    pub fn total(&self) -> &RateRing {
        &self.total
    }

    pub fn channel(&self, name: &str) -> Option<&RateRing> {
        self.index.get(name).map(|&i| &self.channels[i].1)
    }

    /// Tracked channels in the order they were first seen.
    pub fn channels(&self) -> impl Iterator<Item = (&str, &RateRing)> {
        self.channels.iter().map(|(n, r)| (&**n, r))
    }

    /// Events on channels past the cap, counted only in the total.
    pub fn untracked_events(&self) -> u64 {
        self.untracked_events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_count_per_second_and_expire_after_the_window() {
        let mut r = RateRing::default();
        r.add(0, 10);
        r.add(0, 5);
        r.add(1, 1);
        assert_eq!(
            r.get(0),
            Bucket {
                events: 2,
                bytes: 15
            }
        );
        assert_eq!(
            r.sum(2, 2),
            Bucket {
                events: 3,
                bytes: 16
            }
        );
        // The current second is not complete: sum(1, ..) sees only second 0.
        assert_eq!(r.sum(1, 10).events, 2);
        r.add(600, 1);
        assert_eq!(r.get(0), Bucket::default(), "second 0 has left the window");
        assert_eq!(r.get(1).events, 1);
        r.add(5000, 1);
        assert_eq!(r.get(600), Bucket::default());
        assert_eq!(r.get(5000).events, 1);
        // A late event older than the window is dropped, not counted in a wrong bucket.
        r.add(10, 1);
        assert_eq!(r.get(5000).events, 1);
        assert_eq!(r.get(10).events, 0);
    }

    #[test]
    fn series_is_oldest_first_and_zero_filled() {
        let mut r = RateRing::default();
        r.add(3, 1);
        r.add(4, 1);
        r.add(4, 1);
        let s: Vec<u32> = r.series(5, 4).map(|b| b.events).collect();
        assert_eq!(s, [0, 0, 1, 2]);
        let s: Vec<u32> = r.series(2, 4).map(|b| b.events).collect();
        assert_eq!(s, [0, 0, 0, 0], "before the origin there is nothing");
    }

    #[test]
    fn channels_are_capped_and_the_rest_counts_in_the_total() {
        let mut rates = Rates::default();
        for i in 0..MAX_TRACKED_CHANNELS + 3 {
            rates.add(0, Some(&format!("ch-{i}")), 1);
        }
        rates.add(0, None, 1);
        assert_eq!(rates.channels().count(), MAX_TRACKED_CHANNELS);
        assert_eq!(rates.untracked_events(), 3);
        assert_eq!(
            rates.total().get(0).events as usize,
            MAX_TRACKED_CHANNELS + 4
        );
        assert_eq!(rates.channel("ch-0").unwrap().get(0).events, 1);
        assert!(rates.channel("ch-70").is_none());
    }
}
