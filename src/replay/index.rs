//! The index a replay seeks with: where the state changes and faults are, built in one pass
//! over the file and bounded, so a huge recording costs a bounded amount of memory.

use super::file::Reader;
use std::io::BufRead;
use std::time::{Duration, SystemTime};

/// At most this many marks are kept; later ones are not indexed (the replay says so).
pub const MAX_MARKS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkKind {
    State,
    Fault,
}

/// A line to jump to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub line: u64,
    /// From the start of the recording.
    pub at: Duration,
    pub kind: MarkKind,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Index {
    pub marks: Vec<Mark>,
    /// More marks were found than kept.
    pub truncated: bool,
    /// Record lines (commands and bad lines left out).
    pub records: u64,
    /// Lines that could not be read.
    pub bad_lines: u64,
    /// The last record's time from the start: the recording's length.
    pub end: Duration,
}

/// Time from `origin` to `ts`, zero for a record stamped before the recording started.
pub fn offset(origin: SystemTime, ts: SystemTime) -> Duration {
    ts.duration_since(origin).unwrap_or_default()
}

impl Index {
    pub fn build<R: BufRead>(reader: &mut Reader<R>, origin: SystemTime) -> Index {
        Index::build_capped(reader, origin, MAX_MARKS)
    }

    pub fn build_capped<R: BufRead>(
        reader: &mut Reader<R>,
        origin: SystemTime,
        cap: usize,
    ) -> Index {
        let mut index = Index::default();
        while let Some(line) = reader.next_line() {
            let Ok(line) = line else {
                index.bad_lines += 1;
                continue;
            };
            if line.is_command() {
                continue;
            }
            index.records += 1;
            let at = offset(origin, line.ts);
            index.end = index.end.max(at);
            let kind = match line.kind.as_ref() {
                "state" => MarkKind::State,
                "fault" => MarkKind::Fault,
                _ => continue,
            };
            if index.marks.len() < cap {
                index.marks.push(Mark {
                    line: line.no,
                    at,
                    kind,
                });
            } else {
                index.truncated = true;
            }
        }
        index
    }

    /// The first mark after line `line`.
    pub fn next_after(&self, line: u64) -> Option<Mark> {
        let i = self.marks.partition_point(|m| m.line <= line);
        self.marks.get(i).copied()
    }

    /// The last mark before line `line`.
    pub fn prev_before(&self, line: u64) -> Option<Mark> {
        let i = self.marks.partition_point(|m| m.line < line);
        i.checked_sub(1).map(|i| self.marks[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::file::tests::{T0, event, file, line, state};
    use crate::session_record::SessionRecord;
    use chanwatch_core::record::State;
    use std::io::Cursor;
    use std::path::Path;
    use std::time::UNIX_EPOCH;

    fn build(lines: &[String], cap: usize) -> Index {
        let text = file(lines);
        let (_, mut r) = Reader::new(Cursor::new(text.into_bytes()), Path::new("t")).unwrap();
        Index::build_capped(&mut r, UNIX_EPOCH + Duration::from_millis(T0), cap)
    }

    #[test]
    fn marks_state_changes_and_faults_in_one_pass() {
        let lines = [
            state(0, State::Connecting), // line 2
            event(100, 1),               // 3
            line(
                200,
                SessionRecord::Fault {
                    fault: "cut".into(),
                },
            ), // 4
            "{broken".into(),            // 5
            state(5_000, State::Connected), // 6
            event(7_000, 2),             // 7
        ];
        let index = build(&lines, MAX_MARKS);
        assert_eq!(index.records, 5);
        assert_eq!(index.bad_lines, 1);
        assert_eq!(index.end, Duration::from_secs(7));
        let lines_of: Vec<(u64, MarkKind)> = index.marks.iter().map(|m| (m.line, m.kind)).collect();
        assert_eq!(
            lines_of,
            vec![
                (2, MarkKind::State),
                (4, MarkKind::Fault),
                (6, MarkKind::State)
            ]
        );
        assert_eq!(index.next_after(2).map(|m| m.line), Some(4));
        assert_eq!(index.next_after(3).map(|m| m.line), Some(4));
        assert_eq!(index.next_after(6), None);
        assert_eq!(index.prev_before(6).map(|m| m.line), Some(4));
        assert_eq!(index.prev_before(7).map(|m| m.line), Some(6));
        assert_eq!(index.prev_before(2), None);
        assert!(!index.truncated);
    }

    #[test]
    fn the_index_is_capped() {
        let lines: Vec<String> = (0..10).map(|i| state(i * 10, State::Connecting)).collect();
        let index = build(&lines, 4);
        assert_eq!(index.marks.len(), 4);
        assert!(index.truncated);
        assert_eq!(index.records, 10);
        assert_eq!(index.end, Duration::from_millis(90));
    }
}
