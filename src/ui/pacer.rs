//! When to draw: only after something changed, and never sooner than one frame interval after
//! the previous frame. Kept apart from the loop so the rule is tested without a terminal.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct FramePacer {
    interval: Duration,
    dirty: bool,
    last_draw: Option<Instant>,
}

impl FramePacer {
    /// A pacer that wants a first frame at once.
    pub fn new(interval: Duration) -> FramePacer {
        FramePacer {
            interval,
            dirty: true,
            last_draw: None,
        }
    }

    /// Something on screen changed.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Should a frame be drawn now? Call [`FramePacer::drawn`] after drawing it.
    pub fn should_draw(&self, now: Instant) -> bool {
        self.dirty && self.last_draw.is_none_or(|t| now >= t + self.interval)
    }

    pub fn drawn(&mut self, now: Instant) {
        self.dirty = false;
        self.last_draw = Some(now);
    }

    /// When a pending change may be drawn; `None` when nothing is pending (sleep until input).
    pub fn wake_at(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        Some(
            self.last_draw
                .map_or_else(Instant::now, |t| t + self.interval),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_costs_one_frame_per_interval() {
        let t0 = Instant::now();
        let iv = Duration::from_millis(33);
        let mut p = FramePacer::new(iv);
        assert!(p.should_draw(t0), "first frame at once");
        p.drawn(t0);
        assert!(!p.should_draw(t0 + iv), "nothing changed");
        assert_eq!(p.wake_at(), None, "idle: no wake-up");
        // 20 000 changes within the interval: still no frame until it has passed.
        let mut frames = 0;
        for i in 0..20_000u64 {
            let now = t0 + Duration::from_micros(50 * i);
            p.mark_dirty();
            if p.should_draw(now) {
                p.drawn(now);
                frames += 1;
            }
        }
        // One second of changes at most 1 frame per 33 ms.
        assert!((28..=31).contains(&frames), "{frames}");
        assert!(p.wake_at().is_some());
    }
}
