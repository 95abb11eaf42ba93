//! The recording file's writer: lines go into a buffer that is flushed at least once a
//! second (by a thread of its own), when the recorder is dropped, and from the panic hook,
//! so a crash still leaves everything up to it on disk.

use super::{COMMAND_TYPE, Header};
use crate::session::Command;
use crate::session_record::Stamped;
use chanwatch_core::record::LineWriter;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::{Duration, SystemTime};

/// How often buffered lines reach the file at the latest.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

const BUFFER: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("--record: cannot create {path}")]
    Create { path: PathBuf, source: io::Error },
    #[error("--record: cannot write {path}")]
    Write { path: PathBuf, source: io::Error },
}

/// A recording in progress. Clones write to the same file.
#[derive(Clone)]
pub struct Recorder {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    sink: Mutex<Sink>,
}

struct Sink {
    out: BufWriter<File>,
    lines: LineWriter,
    line: Vec<u8>,
    /// The first failed write; recording stops there, the session goes on.
    failed: bool,
}

/// Every live recording, for the panic hook.
static LIVE: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

impl Recorder {
    /// Create (or truncate) `path` and write the header line.
    pub fn create(path: &Path, header: &Header) -> Result<Recorder, RecorderError> {
        let create = |source| RecorderError::Create {
            path: path.to_path_buf(),
            source,
        };
        // Events may be private: the file is its owner's, like the log file.
        let file = crate::private_file::open(path, crate::private_file::Existing::Truncate)
            .map_err(create)?;
        let mut out = BufWriter::with_capacity(BUFFER, file);
        let head = serde_json::to_string(header).expect("the header serialises");
        writeln!(out, "{head}")
            .and_then(|()| out.flush())
            .map_err(create)?;
        let shared = Arc::new(Shared {
            path: path.to_path_buf(),
            sink: Mutex::new(Sink {
                out,
                lines: LineWriter::default(),
                line: Vec::with_capacity(1024),
                failed: false,
            }),
        });
        install_panic_flush();
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|w| w.strong_count() > 0);
            live.push(Arc::downgrade(&shared));
        }
        start_flusher(Arc::downgrade(&shared));
        Ok(Recorder { shared })
    }

    /// Append records, each exactly as headless mode prints it.
    pub fn records(&self, records: &[Stamped]) {
        self.with_sink(|sink| {
            for r in records {
                sink.line.clear();
                sink.lines.write(r, &mut sink.line);
                sink.line.push(b'\n');
                sink.out.write_all(&sink.line)?;
            }
            Ok(())
        });
    }

    /// Append a command the user issued.
    pub fn command(&self, ts: SystemTime, command: &Command) {
        self.with_sink(|sink| {
            sink.line.clear();
            let ts = humantime::format_rfc3339_millis(ts);
            write!(
                sink.line,
                "{{\"ts\":\"{ts}\",\"type\":\"{COMMAND_TYPE}\",\"command\":"
            )?;
            serde_json::to_writer(&mut sink.line, command)?;
            sink.line.extend_from_slice(b"}\n");
            sink.out.write_all(&sink.line)
        });
    }

    /// Write out what is buffered.
    pub fn flush(&self) -> Result<(), RecorderError> {
        let mut sink = self.shared.sink.lock().unwrap_or_else(|p| p.into_inner());
        sink.out.flush().map_err(|source| RecorderError::Write {
            path: self.shared.path.clone(),
            source,
        })
    }

    fn with_sink(&self, f: impl FnOnce(&mut Sink) -> io::Result<()>) {
        let mut sink = self.shared.sink.lock().unwrap_or_else(|p| p.into_inner());
        if sink.failed {
            return;
        }
        if let Err(e) = f(&mut sink) {
            sink.failed = true;
            tracing::error!(
                "recording stopped: cannot write {}: {e}",
                self.shared.path.display()
            );
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let sink = self.sink.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = sink.out.flush();
    }
}

/// The at-least-once-a-second flush. The thread ends with the recording.
fn start_flusher(shared: Weak<Shared>) {
    let spawned = std::thread::Builder::new()
        .name("record-flush".into())
        .spawn(move || {
            loop {
                std::thread::sleep(FLUSH_INTERVAL);
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let mut sink = shared.sink.lock().unwrap_or_else(|p| p.into_inner());
                let _ = sink.out.flush();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(
            "recording: no flush thread ({e}); lines reach the file when the buffer fills"
        );
    }
}

/// Flush every recording before the panic is reported: the process may end before any
/// destructor runs (a panic in another thread, the runtime shutting down without waiting).
fn install_panic_flush() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            flush_all();
            previous(info);
        }));
    });
}

/// Flush every live recording. A recording whose lock is held (the panic happened while
/// writing it, on this very thread) is skipped rather than waited for.
fn flush_all() {
    let Ok(live) = LIVE.try_lock() else { return };
    for shared in live.iter().filter_map(Weak::upgrade) {
        let guard = match shared.sink.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => continue,
        };
        let mut sink = guard;
        let _ = sink.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_record::SessionRecord;
    use chanwatch_core::record::Record;
    use std::time::UNIX_EPOCH;

    fn header() -> Header {
        let info = crate::session::DashboardInfo {
            nodes: Vec::new(),
            host: "h".into(),
            key: "k".into(),
            tls: true,
            demo: false,
        };
        Header::new(&info, vec![], UNIX_EPOCH)
    }

    #[test]
    fn lines_are_the_headless_lines_and_commands_their_own_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.ndjson");
        let rec = Recorder::create(&path, &header()).unwrap();
        let s = Stamped {
            node: None,
            ts: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            record: SessionRecord::Fault {
                fault: "cut".into(),
            },
        };
        rec.records(std::slice::from_ref(&s));
        rec.command(s.ts, &Command::Fault(crate::faults::FaultKind::Cut));
        // Nothing but the header is on disk before a flush.
        let before = std::fs::read_to_string(&path).unwrap();
        assert_eq!(before.lines().count(), 1);
        rec.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], s.to_json_line());
        assert_eq!(
            lines[2],
            r#"{"ts":"2023-11-14T22:13:20.123Z","type":"command","command":{"cmd":"fault","kind":"cut"}}"#
        );
    }

    #[test]
    fn the_flusher_writes_within_a_second_or_two() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.ndjson");
        let rec = Recorder::create(&path, &header()).unwrap();
        rec.records(&[Stamped::now(SessionRecord::Client(Record::Pong {
            rtt_ms: 1,
        }))]);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(&path).unwrap().lines().count() < 2 {
            assert!(std::time::Instant::now() < deadline, "not flushed");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn a_missing_directory_is_a_create_error_naming_the_path() {
        let err = Recorder::create(Path::new("/nonexistent-dir/x.ndjson"), &header())
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("/nonexistent-dir/x.ndjson"),
            "{err}"
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
