//! Reading a recording: the header, then one line at a time through a `BufRead`, so a file
//! of any size is read in constant memory. A line that cannot be read is an error naming
//! its number, and reading goes on with the next line.
use crate::session_record::SessionRecord;

use super::ReplayError;
use crate::recording::{COMMAND_TYPE, FORMAT_VERSION, HEADER_TYPE, Header};
use crate::session_record::Stamped;
use serde::Deserialize;
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::time::SystemTime;

/// A longer line is skipped with an error: one corrupt file without line breaks must not
/// be read into memory whole. As large as a frame the client accepts: an event's data is
/// kept as text, so such a line costs about its own size.
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// A record other than an event longer than this is skipped as a bad line: its JSON is
/// parsed into values, which take up to some 16 times the text (an array of small numbers),
/// and no record the client writes comes near it (an HTTP API answer is at most 4 MiB).
pub const MAX_PARSED_LINE: usize = 8 * 1024 * 1024;

/// What reading within a budget found.
#[derive(Debug)]
pub enum Next<'a> {
    Line(Line<'a>),
    Bad(LineError),
    /// The budget ran out before the line did: call again (the line read so far is kept).
    Pending,
    End,
}

enum Raw {
    End,
    Line,
    TooLong,
    Pending,
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

/// One line of a recording, borrowed from the reader's buffer.
#[derive(Debug)]
pub struct Line<'a> {
    /// 1-based; the header is line 1.
    pub no: u64,
    pub ts: SystemTime,
    /// The record's `type`, or `command`.
    pub kind: Cow<'a, str>,
    pub channel: Option<Cow<'a, str>>,
    pub event: Option<Cow<'a, str>>,
    /// The node the record came from, in a recording of several nodes.
    pub node: Option<Cow<'a, str>>,
    /// The line as written, without its line break.
    pub text: &'a str,
}

impl Line<'_> {
    pub fn is_command(&self) -> bool {
        self.kind == COMMAND_TYPE
    }

    /// The record on this line (not for command lines); a line over [`MAX_PARSED_LINE`]
    /// that is not an event is refused before it is parsed.
    pub fn record(&self) -> Result<Stamped, LineError> {
        if self.text.len() > MAX_PARSED_LINE && self.kind != "event" {
            let kind: String = self.kind.chars().take(40).collect();
            return Err(self.error(format!(
                "a {kind:?} line longer than {} MiB; skipped",
                MAX_PARSED_LINE >> 20
            )));
        }
        let record = serde_json::from_str::<SessionRecord>(self.text).map_err(|e| self.error(e))?;
        Ok(Stamped {
            node: self
                .node
                .as_deref()
                .map(chanwatch_core::record::NodeName::from),
            ts: self.ts,
            record,
        })
    }

    fn error(&self, e: impl std::fmt::Display) -> LineError {
        LineError {
            line: self.no,
            message: e.to_string(),
        }
    }
}

/// The fields every line is looked at for. Parsing it also checks the whole line is JSON.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow)]
    ts: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    channel: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    node: Option<Cow<'a, str>>,
}

/// The lines after the header.
pub struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    line: u64,
    /// Part of the current line has been consumed (a read ran out of budget mid-line).
    partial: bool,
    /// The current line is over [`MAX_LINE`]: the rest of it is skipped.
    too_long: bool,
    /// The last timestamp text and its value: a busy stream has many records a millisecond.
    last_ts: (String, SystemTime),
}

/// Open `path` and read its header.
pub fn open(path: &Path) -> Result<(Header, Reader<BufReader<File>>), ReplayError> {
    let file = File::open(path).map_err(|source| ReplayError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    Reader::new(BufReader::with_capacity(256 * 1024, file), path)
}

impl<R: BufRead> Reader<R> {
    /// Read the header line; what follows it is read with [`Reader::next_line`].
    pub fn new(inner: R, path: &Path) -> Result<(Header, Reader<R>), ReplayError> {
        let mut reader = Reader {
            inner,
            buf: Vec::new(),
            line: 0,
            partial: false,
            too_long: false,
            last_ts: (String::new(), SystemTime::UNIX_EPOCH),
        };
        let not_a_recording = |why: String| ReplayError::NotARecording {
            path: path.to_path_buf(),
            why,
        };
        let mut unlimited = usize::MAX;
        let first = match reader.read_raw(&mut unlimited) {
            Ok(Raw::Line) => std::str::from_utf8(&reader.buf)
                .map_err(|_| not_a_recording("its first line is not UTF-8".into()))?,
            Ok(Raw::TooLong) => return Err(not_a_recording(reader.too_long_error().message)),
            Ok(Raw::End | Raw::Pending) => {
                return Err(not_a_recording("the file is empty".into()));
            }
            Err(source) => {
                return Err(ReplayError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        // The version first: a newer header may not have this one's fields.
        #[derive(Deserialize)]
        struct Version<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
            format: u32,
        }
        let v: Version = serde_json::from_str(first)
            .map_err(|e| not_a_recording(format!("its first line is not a header: {e}")))?;
        if v.kind != HEADER_TYPE {
            return Err(not_a_recording(format!(
                "its first line is a {:?} line, not the header",
                v.kind
            )));
        }
        if v.format > FORMAT_VERSION {
            return Err(ReplayError::NewerFormat {
                path: path.to_path_buf(),
                found: v.format,
                supported: FORMAT_VERSION,
            });
        }
        let header: Header = serde_json::from_str(first)
            .map_err(|e| not_a_recording(format!("its header cannot be read: {e}")))?;
        Ok((header, reader))
    }

    /// The next line; `None` at the end of the file. Blank lines are skipped.
    pub fn next_line(&mut self) -> Option<Result<Line<'_>, LineError>> {
        // No budget: a file can hold nowhere near usize::MAX bytes, so no read is left
        // pending.
        let mut unlimited = usize::MAX;
        match self.next_within(&mut unlimited) {
            Next::Line(line) => Some(Ok(line)),
            Next::Bad(e) => Some(Err(e)),
            Next::Pending | Next::End => None,
        }
    }

    /// The next line, reading at most `budget` more bytes of the file (taken off it): a
    /// line longer than what is left comes whole from a later call, after
    /// [`Next::Pending`]s. Blank lines are skipped.
    pub fn next_within(&mut self, budget: &mut usize) -> Next<'_> {
        loop {
            match self.read_raw(budget) {
                Ok(Raw::End) => return Next::End,
                Ok(Raw::Pending) => return Next::Pending,
                Ok(Raw::TooLong) => return Next::Bad(self.too_long_error()),
                Err(e) => {
                    return Next::Bad(LineError {
                        line: self.line,
                        message: format!("cannot read: {e}"),
                    });
                }
                Ok(Raw::Line) if self.buf.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(Raw::Line) => break,
            }
        }
        let no = self.line;
        let err = |message: String| LineError { line: no, message };
        let Ok(text) = std::str::from_utf8(&self.buf) else {
            return Next::Bad(err("not UTF-8".into()));
        };
        let peek: Peek = match serde_json::from_str(text) {
            Ok(p) => p,
            Err(e) if e.is_eof() => return Next::Bad(err(format!("truncated: {e}"))),
            Err(e) => return Next::Bad(err(format!("not a record: {e}"))),
        };
        let ts = if self.last_ts.0 == peek.ts {
            self.last_ts.1
        } else {
            match humantime::parse_rfc3339_weak(&peek.ts) {
                Ok(t) => {
                    self.last_ts = (peek.ts.to_string(), t);
                    t
                }
                Err(e) => return Next::Bad(err(format!("bad ts {:?}: {e}", peek.ts))),
            }
        };
        Next::Line(Line {
            no,
            ts,
            kind: peek.kind,
            channel: peek.channel,
            event: peek.event,
            node: peek.node,
            text,
        })
    }

    fn too_long_error(&self) -> LineError {
        LineError {
            line: self.line,
            message: format!("longer than {} MiB; skipped", MAX_LINE >> 20),
        }
    }

    /// Read one line into `buf` without its line break, consuming at most `budget` bytes
    /// (taken off it); a line over [`MAX_LINE`] is skipped to its end and comes back as
    /// [`Raw::TooLong`].
    fn read_raw(&mut self, budget: &mut usize) -> io::Result<Raw> {
        if !self.partial {
            self.buf.clear();
            self.too_long = false;
        }
        loop {
            if *budget == 0 {
                return Ok(Raw::Pending);
            }
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) => {
                    self.partial = false;
                    return Err(e);
                }
            };
            if chunk.is_empty() {
                if !self.partial {
                    return Ok(Raw::End);
                }
                break;
            }
            let chunk = &chunk[..chunk.len().min(*budget)];
            let (part, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], Some(i + 1)),
                None => (chunk, None),
            };
            if !self.too_long {
                if self.buf.len() + part.len() > MAX_LINE {
                    self.too_long = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            let used = done.unwrap_or(chunk.len());
            self.inner.consume(used);
            *budget -= used;
            self.partial = true;
            if done.is_some() {
                break;
            }
        }
        self.partial = false;
        self.line += 1;
        Ok(if self.too_long {
            Raw::TooLong
        } else {
            Raw::Line
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chanwatch_core::record::Record;
    use chanwatch_core::record::State;
    use std::io::Cursor;
    use std::time::{Duration, UNIX_EPOCH};

    pub const T0: u64 = 1_700_000_000_000;

    pub fn header_line(format: u32) -> String {
        let started = humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(T0));
        format!(
            r#"{{"type":"chanwatch_recording","format":{format},"chanwatch":"0.1.0","host":"h","key":"k","tls":false,"channels":["news"],"started":"{started}"}}"#
        )
    }

    /// A record line `ms` after the start.
    pub fn line(ms: u64, record: SessionRecord) -> String {
        Stamped {
            node: None,
            ts: UNIX_EPOCH + Duration::from_millis(T0 + ms),
            record,
        }
        .to_json_line()
    }

    pub fn state(ms: u64, current: State) -> String {
        line(
            ms,
            SessionRecord::Client(Record::State {
                previous: State::Connecting,
                current,
                socket_id: None,
                cause: None,
            }),
        )
    }

    pub fn event(ms: u64, n: u64) -> String {
        line(
            ms,
            SessionRecord::Client(Record::Event {
                channel: Some("news".into()),
                event: "tick".into(),
                data: serde_json::json!({ "n": n }).into(),
                user_id: None,
                decrypted: false,
            }),
        )
    }

    pub fn file(lines: &[String]) -> String {
        let mut text = header_line(1);
        for l in lines {
            text.push('\n');
            text.push_str(l);
        }
        text.push('\n');
        text
    }

    fn reader(text: &str) -> Reader<Cursor<Vec<u8>>> {
        Reader::new(Cursor::new(text.as_bytes().to_vec()), Path::new("t"))
            .unwrap()
            .1
    }

    #[test]
    fn lines_are_read_with_their_numbers_and_bad_ones_named() {
        let good = event(10, 1);
        let mut text = file(&[
            good.clone(),
            "{\"ts\":\"x".into(),
            String::new(),
            state(20, State::Connected),
        ]);
        text.push_str(&good[..good.len() / 2]); // truncated, without a line break
        let mut r = reader(&text);
        let first = r.next_line().unwrap().unwrap();
        assert_eq!((first.no, first.text), (2, good.as_str()));
        assert_eq!(first.channel.as_deref(), Some("news"));
        assert_eq!(
            first.record().unwrap().ts,
            UNIX_EPOCH + Duration::from_millis(T0 + 10)
        );
        let bad = r.next_line().unwrap().unwrap_err();
        assert_eq!(bad.line, 3);
        assert!(bad.to_string().starts_with("line 3: truncated"), "{bad}");
        let next = r.next_line().unwrap().unwrap();
        assert_eq!((next.no, next.kind.as_ref()), (5, "state"));
        let cut = r.next_line().unwrap().unwrap_err();
        assert_eq!(cut.line, 6);
        assert!(r.next_line().is_none());
    }

    #[test]
    fn newer_formats_and_non_recordings_are_refused() {
        let newer = format!("{}\n", header_line(FORMAT_VERSION + 1));
        let err = Reader::new(Cursor::new(newer.into_bytes()), Path::new("f"))
            .err()
            .unwrap();
        assert!(
            matches!(err, ReplayError::NewerFormat { found: 2, .. }),
            "{err}"
        );
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("newer"), "{err}");
        for text in [
            "",
            "{\"ts\":\"2023-11-14T22:13:20.000Z\",\"type\":\"pong\",\"rtt_ms\":1}\n",
            "garbage\n",
        ] {
            let err = Reader::new(Cursor::new(text.as_bytes().to_vec()), Path::new("f"))
                .err()
                .unwrap();
            assert!(matches!(err, ReplayError::NotARecording { .. }), "{err}");
        }
    }

    #[test]
    fn a_budget_reads_a_line_in_pieces_and_skips_bad_ones_without_reading_ahead() {
        let long = line(
            5,
            SessionRecord::Fault {
                fault: "x".repeat(10_000),
            },
        );
        let text = file(&[event(1, 1), "garbage".into(), long.clone()]);
        let mut r = reader(&text);
        let mut budget = 1000;
        assert!(matches!(r.next_within(&mut budget), Next::Line(l) if l.no == 2));
        assert!(matches!(r.next_within(&mut budget), Next::Bad(e) if e.line == 3));
        assert_eq!(budget, 1000 - event(1, 1).len() - 1 - "garbage\n".len());
        let mut pending = 0;
        let got = loop {
            let mut budget = 1000;
            match r.next_within(&mut budget) {
                Next::Pending => {
                    assert_eq!(budget, 0);
                    pending += 1;
                }
                Next::Line(l) => break (l.no, l.text.len()),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(got, (4, long.len()));
        assert_eq!(pending, (long.len() + 1).div_ceil(1000) - 1);
        assert!(matches!(r.next_within(&mut 1000), Next::End));
    }

    #[test]
    fn a_record_too_large_to_parse_is_a_bad_line_unless_it_is_an_event() {
        let huge = serde_json::json!(vec![0; MAX_PARSED_LINE / 2 + 1]);
        let auth = line(
            1,
            SessionRecord::Client(Record::Auth {
                channel: "private-a".into(),
                socket_id: "1.2".into(),
                request: huge.clone(),
                ok: true,
                status: None,
                response: serde_json::Value::Null,
                duration_ms: 1,
                failure: None,
            }),
        );
        let big_event = line(
            2,
            SessionRecord::Client(Record::Event {
                channel: Some("news".into()),
                event: "big".into(),
                data: huge.into(),
                user_id: None,
                decrypted: false,
            }),
        );
        let text = file(&[auth, big_event]);
        let mut r = reader(&text);
        let e = r.next_line().unwrap().unwrap().record().unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("\"auth\" line longer than 8 MiB"), "{e}");
        assert!(r.next_line().unwrap().unwrap().record().is_ok());
    }

    #[test]
    fn an_overlong_line_is_skipped_with_an_error() {
        let mut text = header_line(1);
        text.push('\n');
        text.push_str(&"x".repeat(MAX_LINE + 10));
        text.push('\n');
        text.push_str(&event(1, 1));
        text.push('\n');
        let mut r = reader(&text);
        let e = r.next_line().unwrap().unwrap_err();
        assert!(e.message.contains("longer than"), "{e}");
        assert_eq!(r.next_line().unwrap().unwrap().no, 3);
    }
}
