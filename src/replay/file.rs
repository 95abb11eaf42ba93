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
/// be read into memory whole.
pub const MAX_LINE: usize = 64 * 1024 * 1024;

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
    /// The line as written, without its line break.
    pub text: &'a str,
}

impl Line<'_> {
    pub fn is_command(&self) -> bool {
        self.kind == COMMAND_TYPE
    }

    /// The record on this line (not for command lines).
    pub fn record(&self) -> Result<Stamped, LineError> {
        let record = serde_json::from_str::<SessionRecord>(self.text).map_err(|e| self.error(e))?;
        Ok(Stamped {
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
}

/// The lines after the header.
pub struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    line: u64,
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
            last_ts: (String::new(), SystemTime::UNIX_EPOCH),
        };
        let not_a_recording = |why: String| ReplayError::NotARecording {
            path: path.to_path_buf(),
            why,
        };
        let first = match reader.read_raw() {
            Ok(Some(Ok(()))) => std::str::from_utf8(&reader.buf)
                .map_err(|_| not_a_recording("its first line is not UTF-8".into()))?,
            Ok(Some(Err(e))) => return Err(not_a_recording(e.message)),
            Ok(None) => return Err(not_a_recording("the file is empty".into())),
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
        loop {
            match self.read_raw() {
                Ok(None) => return None,
                Ok(Some(Err(e))) => return Some(Err(e)),
                Err(e) => {
                    return Some(Err(LineError {
                        line: self.line,
                        message: format!("cannot read: {e}"),
                    }));
                }
                Ok(Some(Ok(()))) if self.buf.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(Some(Ok(()))) => break,
            }
        }
        let no = self.line;
        let err = |message: String| LineError { line: no, message };
        let text = std::str::from_utf8(&self.buf).map_err(|_| err("not UTF-8".into()));
        let text = match text {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        let peek: Peek = match serde_json::from_str(text) {
            Ok(p) => p,
            Err(e) if e.is_eof() => return Some(Err(err(format!("truncated: {e}")))),
            Err(e) => return Some(Err(err(format!("not a record: {e}")))),
        };
        let ts = if self.last_ts.0 == peek.ts {
            self.last_ts.1
        } else {
            match humantime::parse_rfc3339_weak(&peek.ts) {
                Ok(t) => {
                    self.last_ts = (peek.ts.to_string(), t);
                    t
                }
                Err(e) => return Some(Err(err(format!("bad ts {:?}: {e}", peek.ts)))),
            }
        };
        Some(Ok(Line {
            no,
            ts,
            kind: peek.kind,
            channel: peek.channel,
            event: peek.event,
            text,
        }))
    }

    /// Read one line into `buf` without its line break: `Ok(None)` at the end of the file,
    /// an inner error for a line over [`MAX_LINE`] (which is skipped).
    fn read_raw(&mut self) -> io::Result<Option<Result<(), LineError>>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (part, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], Some(i + 1)),
                None => (chunk, None),
            };
            if !too_long {
                if self.buf.len() + part.len() > MAX_LINE {
                    too_long = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            let used = done.unwrap_or(chunk.len());
            self.inner.consume(used);
            if done.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line += 1;
        if too_long {
            return Ok(Some(Err(LineError {
                line: self.line,
                message: format!("longer than {} MiB; skipped", MAX_LINE >> 20),
            })));
        }
        Ok(Some(Ok(())))
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
