//! Playback of a recording for the dashboard: which records are due, stepping, seeking by
//! time and jumping between marks. No clock and no screen: instants come in, records go out
//! to a sink. Seeking backwards rebuilds: the sink is told to start afresh ([`Item::Reset`])
//! and the file is read again from its start up to the target, so nothing but the index is
//! kept in memory. Every call reads within a [`Budget`]: a seek, a run of bad lines or one
//! huge line goes on over as many calls as it needs, and the caller answers keys between.

use super::file::{LineError, Next, Reader};
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

/// How much playback may do in one call: lines read (good or bad) and bytes read, so that
/// a call ends soon whatever the file holds and the dashboard's loop gets back to its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub lines: usize,
    pub bytes: usize,
}

impl Budget {
    /// No bound: for tests and tools that read a whole file at once.
    pub const UNLIMITED: Budget = Budget {
        lines: usize::MAX,
        bytes: usize::MAX,
    };
}

/// A record read ahead of its time.
struct Ahead {
    line: u64,
    at: Duration,
    stamped: Stamped,
}

/// What the next record is, once the budget allows reading it.
enum Peeked {
    Ready {
        line: u64,
        at: Duration,
    },
    /// The budget ran out first.
    Pending,
    End,
}

/// Where a seek, a jump or a step is going: records are applied up to it over as many
/// [`Player::play`] calls as the budget needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seek {
    /// The position once there (`None`: the last record applied, for a step).
    at: Option<Duration>,
    upto: Upto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upto {
    /// Every record at or before the time.
    Time(Duration),
    /// Every record up to and including the line.
    Line(u64),
    /// One more record.
    Step,
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
    seek: Option<Seek>,
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
            seek: None,
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

    /// A seek, jump or step is still applying records.
    pub fn seeking(&self) -> bool {
        self.seek.is_some()
    }

    /// Read up to the next record within the budget; bad lines on the way go to the sink.
    fn peek(&mut self, budget: &mut Budget, sink: &mut impl FnMut(Item)) -> Peeked {
        loop {
            if let Some(a) = &self.ahead {
                return Peeked::Ready {
                    line: a.line,
                    at: a.at,
                };
            }
            if self.ended {
                return Peeked::End;
            }
            if budget.lines == 0 {
                return Peeked::Pending;
            }
            match self.reader.next_within(&mut budget.bytes) {
                Next::Pending => return Peeked::Pending,
                Next::End => self.ended = true,
                Next::Bad(e) => {
                    budget.lines -= 1;
                    sink(Item::Bad(e));
                }
                Next::Line(line) => {
                    budget.lines -= 1;
                    if line.is_command() {
                        continue;
                    }
                    match line.record() {
                        Ok(stamped) => {
                            self.ahead = Some(Ahead {
                                line: line.no,
                                at: offset(self.origin, line.ts),
                                stamped,
                            })
                        }
                        Err(e) => sink(Item::Bad(e)),
                    }
                }
            }
        }
    }

    fn apply_ahead(&mut self, sink: &mut impl FnMut(Item)) {
        if let Some(a) = self.ahead.take() {
            self.applied_line = a.line;
            self.applied_at = self.applied_at.max(a.at);
            sink(Item::Record(a.stamped, a.at));
        }
    }

    /// Go on with a seek, within the budget: `Some(Due::Now)` while it is not done.
    fn go_on_seeking(
        &mut self,
        now: Instant,
        budget: &mut Budget,
        sink: &mut impl FnMut(Item),
    ) -> Option<Due> {
        let seek = self.seek?;
        let mut stepped = false;
        loop {
            match self.peek(budget, sink) {
                Peeked::Pending => {
                    self.clock.set(seek.at.unwrap_or(self.applied_at), now);
                    return Some(Due::Now);
                }
                Peeked::End => break,
                Peeked::Ready { line, at } => {
                    let go = match seek.upto {
                        Upto::Time(t) => at <= t,
                        Upto::Line(l) => line <= l,
                        Upto::Step => !stepped,
                    };
                    if !go {
                        break;
                    }
                    stepped = true;
                    self.apply_ahead(sink);
                }
            }
        }
        self.seek = None;
        self.clock.set(seek.at.unwrap_or(self.applied_at), now);
        None
    }

    /// Apply the records due at `now` within the budget (a seek under way first); when the
    /// next one is due (`Due::Now` also when the budget ran out).
    pub fn play(&mut self, now: Instant, budget: &mut Budget, sink: &mut impl FnMut(Item)) -> Due {
        if let Some(due) = self.go_on_seeking(now, budget, sink) {
            return due;
        }
        loop {
            let at = match self.peek(budget, sink) {
                Peeked::Pending => return Due::Now,
                Peeked::End => return Due::End,
                Peeked::Ready { at, .. } => at,
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
    }

    /// Pause, and apply the next record whatever its time (over the next [`Player::play`]
    /// calls); false at the end.
    pub fn step(&mut self, now: Instant) -> bool {
        self.clock.pause(now);
        if self.at_end() {
            return false;
        }
        self.seek = Some(Seek {
            at: None,
            upto: Upto::Step,
        });
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

    /// Go to `target`: every record up to it applied, none after, over the next
    /// [`Player::play`] calls. Backwards, playback starts again from the first line.
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
        self.seek = Some(Seek {
            at: Some(target),
            upto: Upto::Time(target),
        });
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
        self.seek = Some(Seek {
            at: Some(mark.at),
            upto: Upto::Line(mark.line),
        });
        self.clock.set(mark.at, now);
        Ok(())
    }

    /// Jump to the next (`forward`) or previous state change or fault; `None` when there is
    /// none. From where a jump under way is going, so that pressing twice goes two marks.
    pub fn jump(
        &mut self,
        forward: bool,
        now: Instant,
        sink: &mut impl FnMut(Item),
    ) -> Result<Option<Mark>, ReplayError> {
        let from = match self.seek {
            Some(Seek {
                upto: Upto::Line(l),
                ..
            }) => l,
            _ => self.applied_line,
        };
        let mark = if forward {
            self.index.next_after(from)
        } else {
            self.index.prev_before(from)
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

    fn lines(n: usize) -> Budget {
        Budget {
            lines: n,
            bytes: usize::MAX,
        }
    }

    /// Let a seek, jump or step under way finish (at `now`).
    fn settle(p: &mut Player<Mem>, now: Instant, seen: &mut Seen) -> Due {
        let mut unlimited = Budget::UNLIMITED;
        p.play(now, &mut unlimited, &mut seen.sink())
    }

    fn ev(n: u64) -> String {
        format!("e{{\"n\":{n}}}@{}", n * 1000)
    }

    #[test]
    fn records_come_at_the_recorded_pace_times_the_speed() {
        let t0 = Instant::now();
        let mut p = player(Speed::Times(2.0), t0);
        let mut seen = Seen::default();
        assert_eq!(
            p.play(t0, &mut lines(100), &mut seen.sink()),
            Due::In(S / 2)
        );
        assert_eq!(seen.take(), vec!["connecting@0"]);
        assert_eq!(
            p.play(t0 + S, &mut lines(100), &mut seen.sink()),
            Due::In(S / 2)
        );
        assert_eq!(seen.take(), vec![ev(1), ev(2)]);
        assert_eq!(p.position(t0 + S), 2 * S);
        // Paused, nothing comes however long it waits.
        p.clock.pause(t0 + S);
        assert_eq!(
            p.play(t0 + 100 * S, &mut lines(100), &mut seen.sink()),
            Due::Paused
        );
        assert!(seen.take().is_empty());
        p.clock.resume(t0 + 100 * S);
        // The fault at 4.5 s is next.
        assert_eq!(
            p.play(t0 + 101 * S, &mut lines(100), &mut seen.sink()),
            Due::In(S / 4)
        );
        assert_eq!(seen.take(), vec![ev(3), ev(4)]);
        assert_eq!(
            p.play(t0 + 1000 * S, &mut lines(100), &mut seen.sink()),
            Due::End
        );
        assert!(p.at_end());
        assert_eq!(p.position(t0 + 1000 * S), 9 * S);
    }

    #[test]
    fn max_speed_plays_in_batches_and_the_position_follows_the_records() {
        let t0 = Instant::now();
        let mut p = player(Speed::Max, t0);
        let mut seen = Seen::default();
        assert_eq!(p.play(t0, &mut lines(3), &mut seen.sink()), Due::Now);
        assert_eq!(seen.take().len(), 3);
        assert_eq!(p.position(t0), 2 * S);
        assert_eq!(p.play(t0, &mut lines(100), &mut seen.sink()), Due::End);
        assert_eq!(seen.take().len(), 9);
    }

    #[test]
    fn step_applies_one_record_and_pauses() {
        let t0 = Instant::now();
        let mut p = player(Speed::Times(1.0), t0);
        let mut seen = Seen::default();
        assert!(p.step(t0));
        settle(&mut p, t0, &mut seen);
        assert!(p.step(t0));
        settle(&mut p, t0, &mut seen);
        assert_eq!(seen.take(), vec!["connecting@0".to_string(), ev(1)]);
        assert!(p.clock.is_paused());
        assert_eq!(p.position(t0 + 50 * S), S);
        assert_eq!(
            p.play(t0 + 50 * S, &mut lines(100), &mut seen.sink()),
            Due::Paused
        );
    }

    #[test]
    fn seeking_forward_applies_up_to_the_target_and_backward_rebuilds() {
        let t0 = Instant::now();
        let mut p = player(Speed::Times(1.0), t0);
        let mut seen = Seen::default();
        p.seek_time(3 * S, t0, &mut seen.sink()).unwrap();
        settle(&mut p, t0, &mut seen);
        assert_eq!(
            seen.take(),
            vec!["connecting@0".to_string(), ev(1), ev(2), ev(3)]
        );
        assert_eq!(p.position(t0), 3 * S);
        p.seek_time(5 * S, t0, &mut seen.sink()).unwrap();
        settle(&mut p, t0, &mut seen);
        assert_eq!(seen.take(), vec![ev(4), "cut@4500".into(), ev(5)]);
        // Backwards: start afresh and re-apply from the first line.
        p.seek_time(S + S / 2, t0, &mut seen.sink()).unwrap();
        settle(&mut p, t0, &mut seen);
        assert_eq!(
            seen.take(),
            vec!["reset".to_string(), "connecting@0".into(), ev(1)]
        );
        assert_eq!(p.position(t0), S + S / 2);
        // Playing on continues from there, in virtual time.
        assert_eq!(
            p.play(t0 + S / 2, &mut lines(100), &mut seen.sink()),
            Due::In(S)
        );
        assert_eq!(seen.take(), vec![ev(2)]);
        // Past the end: everything, and the position stops at the end.
        p.seek_time(100 * S, t0, &mut seen.sink()).unwrap();
        settle(&mut p, t0, &mut seen);
        assert_eq!(seen.take().len(), 9);
        assert_eq!(p.position(t0 + S), 9 * S);
    }

    #[test]
    fn jumps_go_from_mark_to_mark() {
        let t0 = Instant::now();
        let mut p = player(Speed::Times(1.0), t0);
        let mut seen = Seen::default();
        let m = p.jump(true, t0, &mut seen.sink()).unwrap().unwrap();
        settle(&mut p, t0, &mut seen);
        assert_eq!(m.at, Duration::ZERO);
        assert_eq!(seen.take(), vec!["connecting@0"]);
        let m = p.jump(true, t0, &mut seen.sink()).unwrap().unwrap();
        settle(&mut p, t0, &mut seen);
        assert_eq!(m.at, Duration::from_millis(4_500));
        assert_eq!(
            seen.take(),
            vec![ev(1), ev(2), ev(3), ev(4), "cut@4500".into()]
        );
        let m = p.jump(true, t0, &mut seen.sink()).unwrap().unwrap();
        settle(&mut p, t0, &mut seen);
        assert_eq!(m.at, Duration::from_millis(6_500));
        assert_eq!(seen.take(), vec![ev(5), ev(6), "connected@6500".into()]);
        assert_eq!(p.jump(true, t0, &mut seen.sink()).unwrap(), None);
        // Back to the fault: a rebuild up to and including it.
        let m = p.jump(false, t0, &mut seen.sink()).unwrap().unwrap();
        settle(&mut p, t0, &mut seen);
        assert_eq!(m.at, Duration::from_millis(4_500));
        let got = seen.take();
        assert_eq!(got.first().map(String::as_str), Some("reset"));
        assert_eq!(got.last().map(String::as_str), Some("cut@4500"));
        assert_eq!(p.position(t0), Duration::from_millis(4_500));
    }

    #[test]
    fn bad_lines_are_reported_and_playback_goes_on() {
        let t0 = Instant::now();
        let mut lines_in = recording();
        lines_in.insert(
            2,
            "{\"ts\":\"2023-11-14T22:13:21.000Z\",\"type\":\"ev".into(),
        );
        let source = Mem(file(&lines_in).into_bytes());
        let origin = UNIX_EPOCH + Duration::from_millis(T0);
        let mut p = Player::new(source, origin, Index::default(), Speed::Max, t0).unwrap();
        let mut seen = Seen::default();
        assert_eq!(p.play(t0, &mut lines(100), &mut seen.sink()), Due::End);
        let got = seen.take();
        assert_eq!(got[2], "bad 4");
        assert_eq!(got.len(), 13);
    }

    #[test]
    fn bad_lines_and_seeks_back_go_in_bounded_steps() {
        let t0 = Instant::now();
        let mut lines_in = recording();
        for _ in 0..1_000 {
            lines_in.insert(0, "garbage".into());
        }
        let source = Mem(file(&lines_in).into_bytes());
        let origin = UNIX_EPOCH + Duration::from_millis(T0);
        let mut r = source.reopen().unwrap();
        let index = Index::build(&mut r, origin);
        assert_eq!(index.bad_lines, 1_000);
        let mut p = Player::new(source, origin, index, Speed::Times(1.0), t0).unwrap();
        let mut seen = Seen::default();
        // Each call reads at most 100 lines, however many bad ones come in a row.
        let run = |p: &mut Player<Mem>, seen: &mut Seen| {
            let mut calls = 0;
            loop {
                let due = p.play(t0, &mut lines(100), &mut seen.sink());
                assert!(seen.0.len() <= 100 * (calls + 1) + 1);
                calls += 1;
                if due != Due::Now {
                    return (calls, due);
                }
            }
        };
        assert_eq!(run(&mut p, &mut seen), (11, Due::In(S)));
        let got = seen.take();
        assert_eq!(got.iter().filter(|s| s.starts_with("bad")).count(), 1_000);
        assert_eq!(got.last().map(String::as_str), Some("connecting@0"));
        p.seek_time(5 * S, t0, &mut seen.sink()).unwrap();
        run(&mut p, &mut seen);
        assert_eq!(seen.take().last(), Some(&ev(5)));
        // Back: a rebuild, read again in the same bounded steps, the seek still under way
        // between them.
        p.seek_time(S, t0, &mut seen.sink()).unwrap();
        assert_eq!(seen.take(), vec!["reset"]);
        assert!(p.play(t0, &mut lines(100), &mut seen.sink()) == Due::Now && p.seeking());
        assert_eq!(seen.take().len(), 100);
        assert_eq!(p.position(t0), S, "the bar shows where the seek goes");
        assert_eq!(run(&mut p, &mut seen), (10, Due::In(S)));
        assert!(!p.seeking());
        assert_eq!(seen.take().last(), Some(&ev(1)));
    }
}
