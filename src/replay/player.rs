//! Playback of a recording for the dashboard: which records are due, stepping, seeking by
//! time and jumping between marks. No clock and no screen: instants come in, records go out
//! to a sink. Seeking backwards rebuilds: the sink is told to start afresh ([`Item::Reset`])
//! and the file is read again from its start up to the target, so nothing but the index is
//! kept in memory.

use super::file::{LineError, Reader};
use super::index::{Index, Mark, offset};
use super::pace::{Clock, Due};
use super::{ReplayError, Speed};
use crate::session_record::Stamped;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// Where the lines come from, as often as a rebuild needs them.
pub trait Source {
    type Read: BufRead;
    /// The lines after the header, from the start.
    fn reopen(&self) -> Result<Reader<Self::Read>, ReplayError>;
}

/// A recording on disk.
pub struct FileSource(pub PathBuf);

impl Source for FileSource {
    type Read = BufReader<std::fs::File>;
    fn reopen(&self) -> Result<Reader<Self::Read>, ReplayError> {
        super::file::open(&self.0).map(|(_, r)| r)
    }
}

/// What playback hands to the dashboard.
#[derive(Debug)]
pub enum Item {
    /// A record, and its time from the start of the recording.
    Record(Stamped, Duration),
    Bad(LineError),
    /// Forget every record so far: a rebuild starts.
    Reset,
}

/// A record read ahead of its time.
struct Ahead {
    line: u64,
    at: Duration,
    stamped: Stamped,
}

pub struct Player<S: Source> {
    source: S,
    reader: Reader<S::Read>,
    origin: SystemTime,
    pub clock: Clock,
    pub index: Index,
    ahead: Option<Ahead>,
    /// The line of the last record applied (0: none yet).
    applied_line: u64,
    applied_at: Duration,
    ended: bool,
}

impl<S: Source> Player<S> {
    pub fn new(
        source: S,
        origin: SystemTime,
        index: Index,
        speed: Speed,
        now: Instant,
    ) -> Result<Player<S>, ReplayError> {
        let reader = source.reopen()?;
        Ok(Player {
            source,
            reader,
            origin,
            clock: Clock::new(speed, now),
            index,
            ahead: None,
            applied_line: 0,
            applied_at: Duration::ZERO,
            ended: false,
        })
    }

    /// Where playback is, for the status bar: the clock, held between the last record
    /// applied and the end.
    pub fn position(&self, now: Instant) -> Duration {
        self.clock
            .position(now)
            .max(self.applied_at)
            .min(self.index.end.max(self.applied_at))
    }

    pub fn at_end(&self) -> bool {
        self.ended && self.ahead.is_none()
    }

    /// The next record, read ahead; bad lines on the way go to the sink.
    fn peek(&mut self, sink: &mut impl FnMut(Item)) -> Option<&Ahead> {
        while self.ahead.is_none() && !self.ended {
            match self.reader.next_line() {
                None => self.ended = true,
                Some(Err(e)) => sink(Item::Bad(e)),
                Some(Ok(line)) if line.is_command() => {}
                Some(Ok(line)) => match line.record() {
                    Ok(stamped) => {
                        self.ahead = Some(Ahead {
                            line: line.no,
                            at: offset(self.origin, line.ts),
                            stamped,
                        })
                    }
                    Err(e) => sink(Item::Bad(e)),
                },
            }
        }
        self.ahead.as_ref()
    }

    fn apply_ahead(&mut self, sink: &mut impl FnMut(Item)) {
        if let Some(a) = self.ahead.take() {
            self.applied_line = a.line;
            self.applied_at = self.applied_at.max(a.at);
            sink(Item::Record(a.stamped, a.at));
        }
    }

    /// Apply the records due at `now`, at most `max` of them; when the next one is due.
    pub fn play(&mut self, now: Instant, max: usize, sink: &mut impl FnMut(Item)) -> Due {
        for _ in 0..max {
            let Some(at) = self.peek(sink).map(|a| a.at) else {
                return Due::End;
            };
            match self.clock.due(at, now) {
                Due::Now => {
                    self.apply_ahead(sink);
                    if self.clock.speed() == Speed::Max {
                        self.clock.set(self.applied_at, now);
                    }
                }
                other => return other,
            }
        }
        if self.peek(sink).is_none() {
            Due::End
        } else {
            Due::Now
        }
    }

    /// Apply the next record whatever its time, and pause there.
    pub fn step(&mut self, now: Instant, sink: &mut impl FnMut(Item)) -> bool {
        if self.peek(sink).is_none() {
            self.clock.pause(now);
            return false;
        }
        self.apply_ahead(sink);
        self.clock.pause(now);
        self.clock.set(self.applied_at, now);
        true
    }

    /// Start again from the first line, telling the sink to forget what it has.
    fn rebuild(&mut self, sink: &mut impl FnMut(Item)) -> Result<(), ReplayError> {
        self.reader = self.source.reopen()?;
        self.ahead = None;
        self.ended = false;
        self.applied_line = 0;
        self.applied_at = Duration::ZERO;
        sink(Item::Reset);
        Ok(())
    }

    /// Go to `target` from the start: every record up to it applied, none after.
    pub fn seek_time(
        &mut self,
        target: Duration,
        now: Instant,
        sink: &mut impl FnMut(Item),
    ) -> Result<(), ReplayError> {
        let target = target.min(self.index.end);
        if target < self.applied_at {
            self.rebuild(sink)?;
        }
        while self.peek(sink).is_some_and(|a| a.at <= target) {
            self.apply_ahead(sink);
        }
        self.clock.set(target, now);
        Ok(())
    }

    /// Go to a mark: every record up to and including its line applied.
    pub fn seek_mark(
        &mut self,
        mark: Mark,
        now: Instant,
        sink: &mut impl FnMut(Item),
    ) -> Result<(), ReplayError> {
        if mark.line <= self.applied_line {
            self.rebuild(sink)?;
        }
        while self.peek(sink).is_some_and(|a| a.line <= mark.line) {
            self.apply_ahead(sink);
        }
        self.clock.set(mark.at, now);
        Ok(())
    }

    /// Jump to the next (`forward`) or previous state change or fault; `None` when there is none.
    pub fn jump(
        &mut self,
        forward: bool,
        now: Instant,
        sink: &mut impl FnMut(Item),
    ) -> Result<Option<Mark>, ReplayError> {
        let mark = if forward {
            self.index.next_after(self.applied_line)
        } else {
            self.index.prev_before(self.applied_line)
        };
        if let Some(m) = mark {
            self.seek_mark(m, now, sink)?;
        }
        Ok(mark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::file::tests::{T0, event, file, line, state};
    use crate::session_record::SessionRecord;
    use chanwatch_core::record::{Record, State};
    use std::io::Cursor;
    use std::path::Path;
    use std::time::UNIX_EPOCH;

    struct Mem(Vec<u8>);

    impl Source for Mem {
        type Read = Cursor<Vec<u8>>;
        fn reopen(&self) -> Result<Reader<Self::Read>, ReplayError> {
            Reader::new(Cursor::new(self.0.clone()), Path::new("mem")).map(|(_, r)| r)
        }
    }

    const S: Duration = Duration::from_secs(1);

    /// Lines 2..: connecting at 0, events every second 1..=9 s, a fault at 4.5 s,
    /// connected at 6.5 s.
    fn recording() -> Vec<String> {
        let mut lines = vec![state(0, State::Connecting)];
        for n in 1..=9 {
            if n == 5 {
                lines.push(line(
                    4_500,
                    SessionRecord::Fault {
                        fault: "cut".into(),
                    },
                ));
            }
            if n == 7 {
                lines.push(state(6_500, State::Connected));
            }
            lines.push(event(n * 1000, n));
        }
        lines
    }

    fn player(speed: Speed, t0: Instant) -> Player<Mem> {
        let source = Mem(file(&recording()).into_bytes());
        let mut r = source.reopen().unwrap();
        let origin = UNIX_EPOCH + Duration::from_millis(T0);
        let index = Index::build(&mut r, origin);
        Player::new(source, origin, index, speed, t0).unwrap()
    }

    /// What the sink saw, as short words: "r<line>" for a record, "reset", "bad".
    #[derive(Default)]
    struct Seen(Vec<String>);

    impl Seen {
        fn sink(&mut self) -> impl FnMut(Item) + '_ {
            |item| {
                self.0.push(match item {
                    Item::Record(s, at) => match s.record {
                        SessionRecord::Client(Record::Event { data, .. }) => {
                            format!("e{}@{}", data.get(), at.as_millis())
                        }
                        SessionRecord::Client(Record::State { current, .. }) => {
                            format!("{current}@{}", at.as_millis())
                        }
                        SessionRecord::Fault { fault } => format!("{fault}@{}", at.as_millis()),
                        other => format!("{other:?}"),
                    },
                    Item::Bad(e) => format!("bad {}", e.line),
                    Item::Reset => "reset".into(),
                })
            }
        }
        fn take(&mut self) -> Vec<String> {
            std::mem::take(&mut self.0)
        }
    }

    fn ev(n: u64) -> String {
        format!("e{{\"n\":{n}}}@{}", n * 1000)
    }

    #[test]
    fn records_come_at_the_recorded_pace_times_the_speed() {
        let t0 = Instant::now();
        let mut p = player(Speed::Times(2.0), t0);
        let mut seen = Seen::default();
        assert_eq!(p.play(t0, 100, &mut seen.sink()), Due::In(S / 2));
        assert_eq!(seen.take(), vec!["connecting@0"]);
        assert_eq!(p.play(t0 + S, 100, &mut seen.sink()), Due::In(S / 2));
        assert_eq!(seen.take(), vec![ev(1), ev(2)]);
        assert_eq!(p.position(t0 + S), 2 * S);
        // Paused, nothing comes however long it waits.
        p.clock.pause(t0 + S);
        assert_eq!(p.play(t0 + 100 * S, 100, &mut seen.sink()), Due::Paused);
        assert!(seen.take().is_empty());
        p.clock.resume(t0 + 100 * S);
        // The fault at 4.5 s is next.
        assert_eq!(p.play(t0 + 101 * S, 100, &mut seen.sink()), Due::In(S / 4));
        assert_eq!(seen.take(), vec![ev(3), ev(4)]);
        assert_eq!(p.play(t0 + 1000 * S, 100, &mut seen.sink()), Due::End);
        assert!(p.at_end());
        assert_eq!(p.position(t0 + 1000 * S), 9 * S);
    }

    #[test]
    fn max_speed_plays_in_batches_and_the_position_follows_the_records() {
        let t0 = Instant::now();
        let mut p = player(Speed::Max, t0);
        let mut seen = Seen::default();
        assert_eq!(p.play(t0, 3, &mut seen.sink()), Due::Now);
        assert_eq!(seen.take().len(), 3);
        assert_eq!(p.position(t0), 2 * S);
        assert_eq!(p.play(t0, 100, &mut seen.sink()), Due::End);
        assert_eq!(seen.take().len(), 9);
    }

    #[test]
    fn step_applies_one_record_and_pauses() {
        let t0 = Instant::now();
        let mut p = player(Speed::Times(1.0), t0);
        let mut seen = Seen::default();
        assert!(p.step(t0, &mut seen.sink()));
        assert!(p.step(t0, &mut seen.sink()));
        assert_eq!(seen.take(), vec!["connecting@0".to_string(), ev(1)]);
        assert!(p.clock.is_paused());
        assert_eq!(p.position(t0 + 50 * S), S);
        assert_eq!(p.play(t0 + 50 * S, 100, &mut seen.sink()), Due::Paused);
    }

    #[test]
    fn seeking_forward_applies_up_to_the_target_and_backward_rebuilds() {
        let t0 = Instant::now();
        let mut p = player(Speed::Times(1.0), t0);
        let mut seen = Seen::default();
        p.seek_time(3 * S, t0, &mut seen.sink()).unwrap();
        assert_eq!(
            seen.take(),
            vec!["connecting@0".to_string(), ev(1), ev(2), ev(3)]
        );
        assert_eq!(p.position(t0), 3 * S);
        p.seek_time(5 * S, t0, &mut seen.sink()).unwrap();
        assert_eq!(seen.take(), vec![ev(4), "cut@4500".into(), ev(5)]);
        // Backwards: start afresh and re-apply from the first line.
        p.seek_time(S + S / 2, t0, &mut seen.sink()).unwrap();
        assert_eq!(
            seen.take(),
            vec!["reset".to_string(), "connecting@0".into(), ev(1)]
        );
        assert_eq!(p.position(t0), S + S / 2);
        // Playing on continues from there, in virtual time.
        assert_eq!(p.play(t0 + S / 2, 100, &mut seen.sink()), Due::In(S));
        assert_eq!(seen.take(), vec![ev(2)]);
        // Past the end: everything, and the position stops at the end.
        p.seek_time(100 * S, t0, &mut seen.sink()).unwrap();
        assert_eq!(seen.take().len(), 9);
        assert_eq!(p.position(t0 + S), 9 * S);
    }

    #[test]
    fn jumps_go_from_mark_to_mark() {
        let t0 = Instant::now();
        let mut p = player(Speed::Times(1.0), t0);
        let mut seen = Seen::default();
        let m = p.jump(true, t0, &mut seen.sink()).unwrap().unwrap();
        assert_eq!(m.at, Duration::ZERO);
        assert_eq!(seen.take(), vec!["connecting@0"]);
        let m = p.jump(true, t0, &mut seen.sink()).unwrap().unwrap();
        assert_eq!(m.at, Duration::from_millis(4_500));
        assert_eq!(
            seen.take(),
            vec![ev(1), ev(2), ev(3), ev(4), "cut@4500".into()]
        );
        let m = p.jump(true, t0, &mut seen.sink()).unwrap().unwrap();
        assert_eq!(m.at, Duration::from_millis(6_500));
        assert_eq!(seen.take(), vec![ev(5), ev(6), "connected@6500".into()]);
        assert_eq!(p.jump(true, t0, &mut seen.sink()).unwrap(), None);
        // Back to the fault: a rebuild up to and including it.
        let m = p.jump(false, t0, &mut seen.sink()).unwrap().unwrap();
        assert_eq!(m.at, Duration::from_millis(4_500));
        let got = seen.take();
        assert_eq!(got.first().map(String::as_str), Some("reset"));
        assert_eq!(got.last().map(String::as_str), Some("cut@4500"));
        assert_eq!(p.position(t0), Duration::from_millis(4_500));
    }

    #[test]
    fn bad_lines_are_reported_and_playback_goes_on() {
        let t0 = Instant::now();
        let mut lines = recording();
        lines.insert(
            2,
            "{\"ts\":\"2023-11-14T22:13:21.000Z\",\"type\":\"ev".into(),
        );
        let source = Mem(file(&lines).into_bytes());
        let origin = UNIX_EPOCH + Duration::from_millis(T0);
        let mut p = Player::new(source, origin, Index::default(), Speed::Max, t0).unwrap();
        let mut seen = Seen::default();
        assert_eq!(p.play(t0, 100, &mut seen.sink()), Due::End);
        let got = seen.take();
        assert_eq!(got[2], "bad 4");
        assert_eq!(got.len(), 13);
    }
}
