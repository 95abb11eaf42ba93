//! Exponential back-off with jitter, floored at 1 s and capped, deterministic under a seed.

use std::time::Duration;

const FLOOR: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Backoff {
    cap: Duration,
    failures: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(cap: Duration, seed: u64) -> Backoff {
        Backoff {
            cap: cap.max(FLOOR),
            failures: 0,
            rng: seed | 1,
        }
    }

    /// The next delay: 1 s, 2 s, 4 s ... up to the cap, each moved by up to ±25 % so that a
    /// fleet of clients does not reconnect in lock-step, and never under 1 s or over the cap.
    pub fn next_delay(&mut self) -> Duration {
        let base = FLOOR
            .saturating_mul(1u32 << self.failures.min(20))
            .min(self.cap);
        self.failures = self.failures.saturating_add(1);
        let unit = (self.next_random() % 1001) as f64 / 1000.0; // 0.0 ..= 1.0
        let jittered = base.mul_f64(0.75 + 0.5 * unit).clamp(FLOOR, self.cap);
        // Whole milliseconds, so the announced `connecting_in` equals the real wait.
        Duration::from_millis(jittered.as_millis() as u64)
    }

    /// After a successful handshake the next failure starts from 1 s again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: plenty for jitter, and no global RNG in a pure state machine.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps_within_jitter() {
        let mut b = Backoff::new(Duration::from_secs(15), 42);
        let d: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        let bases = [1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0, 15.0];
        for (got, base) in d.iter().zip(bases) {
            let s = got.as_secs_f64();
            assert!((1.0..=15.0).contains(&s), "{s}");
            assert!(
                s >= (base * 0.75f64).max(1.0) - 1e-9 && s <= (base * 1.25f64).min(15.0) + 1e-9,
                "{s} vs {base}"
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(1250));
    }

    #[test]
    fn jitter_varies_between_seeds() {
        let a: Vec<_> = {
            let mut b = Backoff::new(Duration::from_secs(60), 1);
            (0..5).map(|_| b.next_delay()).collect()
        };
        let c: Vec<_> = {
            let mut b = Backoff::new(Duration::from_secs(60), 2);
            (0..5).map(|_| b.next_delay()).collect()
        };
        assert_ne!(a, c);
    }
}
