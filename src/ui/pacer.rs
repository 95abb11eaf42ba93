//! When to draw: only after something changed, and never sooner than one frame interval after
//! the previous frame, except that the user's own input is shown at once (after a much
//! shorter floor): under a flood of events a key press would otherwise wait for the next
//! frame slot, up to a whole interval. Kept apart from the loop so the rules are tested
//! without a terminal.

use std::time::{Duration, Instant};

/// The shortest gap between frames drawn for input: a held key or a paste still cannot
/// draw more than about 125 frames a second.
pub const INPUT_FLOOR: Duration = Duration::from_millis(8);

#[derive(Debug, Clone)]
pub struct FramePacer {
    interval: Duration,
    dirty: bool,
    /// The pending change came from the user (a key, the mouse, a resize).
    input: bool,
    last_draw: Option<Instant>,
}

impl FramePacer {
    /// A pacer that wants a first frame at once.
    pub fn new(interval: Duration) -> FramePacer {
        FramePacer {
            interval,
            dirty: true,
            input: false,
            last_draw: None,
        }
    }

    /// Something on screen changed.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// The user changed something: draw it as soon as [`INPUT_FLOOR`] allows.
    pub fn mark_input(&mut self) {
        self.dirty = true;
        self.input = true;
    }

    fn gap(&self) -> Duration {
        if self.input {
            INPUT_FLOOR.min(self.interval)
        } else {
            self.interval
        }
    }

    /// Should a frame be drawn now? Call [`FramePacer::drawn`] after drawing it.
    pub fn should_draw(&self, now: Instant) -> bool {
        self.dirty && self.last_draw.is_none_or(|t| now >= t + self.gap())
    }

    pub fn drawn(&mut self, now: Instant) {
        self.dirty = false;
        self.input = false;
        self.last_draw = Some(now);
    }

    /// When a pending change may be drawn; `None` when nothing is pending (sleep until input).
    pub fn wake_at(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        Some(self.last_draw.map_or_else(Instant::now, |t| t + self.gap()))
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

    #[test]
    fn input_is_drawn_without_waiting_for_the_frame_slot() {
        let t0 = Instant::now();
        let iv = Duration::from_millis(33);
        let mut p = FramePacer::new(iv);
        p.drawn(t0);
        // A flood keeps the pacer dirty; a key 10 ms after the last frame is drawn at once.
        p.mark_dirty();
        assert!(!p.should_draw(t0 + Duration::from_millis(10)));
        p.mark_input();
        assert!(p.should_draw(t0 + Duration::from_millis(10)));
        p.drawn(t0 + Duration::from_millis(10));
        // ... but never sooner than the input floor after the previous frame.
        p.mark_input();
        assert!(!p.should_draw(t0 + Duration::from_millis(12)));
        assert_eq!(
            p.wake_at(),
            Some(t0 + Duration::from_millis(10) + INPUT_FLOOR)
        );
        p.drawn(t0 + Duration::from_millis(18));
        // Back to the normal interval for changes that are not input.
        p.mark_dirty();
        assert!(!p.should_draw(t0 + Duration::from_millis(30)));
        assert!(p.should_draw(t0 + Duration::from_millis(18) + iv));
    }
}
