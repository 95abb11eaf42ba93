//! Headless output: batches of records become NDJSON lines on a sink.
//!
//! On the real stdout the sink is a thread of its own ([`StdoutThread`]) that formats and
//! writes: the client's thread only hands over each batch as it came, a write blocked on a
//! slow reader never holds up the client, and the work runs beside it on a second core.

use chanwatch_core::record::LineWriter;

use crate::session_record::Stamped;
use std::future::Future;
use std::io;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// Lines are gathered up to about this many bytes before a write.
pub const OUTPUT_CHUNK: usize = 256 * 1024;

/// How many batches may wait for the stdout thread before the client has to wait.
const QUEUED_BATCHES: usize = 16;

/// Where batches of records go, to be written as NDJSON lines in order.
pub trait RecordSink {
    /// Write `records` (or hand them to what will write them soon, without waiting for
    /// more to come).
    fn write(&mut self, records: Vec<Stamped>) -> impl Future<Output = io::Result<()>> + Send;
    /// Wait until everything handed over has been written.
    fn finish(&mut self) -> impl Future<Output = io::Result<()>> + Send;
}

/// Lines for records, appended to a buffer that is kept from growing for good.
#[derive(Debug, Default)]
struct Lines {
    writer: LineWriter,
    buf: Vec<u8>,
}

impl Lines {
    fn push(&mut self, record: &Stamped) {
        self.writer.write(record, &mut self.buf);
        self.buf.push(b'\n');
    }

    /// Empty the buffer after a write. One huge record (a 16 MiB event) must not pin its
    /// memory for the whole run.
    fn written(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > 4 * OUTPUT_CHUNK {
            self.buf = Vec::with_capacity(OUTPUT_CHUNK);
        }
    }
}

/// Any async writer as a sink, written to batch by batch (tests use in-memory pipes).
pub struct AsyncSink<W> {
    inner: W,
    lines: Lines,
}

impl<W> AsyncSink<W> {
    pub fn new(inner: W) -> Self {
        AsyncSink {
            inner,
            lines: Lines::default(),
        }
    }
}

impl<W: AsyncWrite + Unpin + Send> RecordSink for AsyncSink<W> {
    async fn write(&mut self, records: Vec<Stamped>) -> io::Result<()> {
        for record in &records {
            self.lines.push(record);
        }
        self.inner.write_all(&self.lines.buf).await?;
        self.lines.written();
        self.inner.flush().await
    }

    async fn finish(&mut self) -> io::Result<()> {
        self.inner.flush().await
    }
}

/// Standard output, formatted and written by a thread of its own. It writes whenever no
/// more batches are waiting (so a quiet stream's lines go out at once) or its buffer is
/// full (so a busy one is written in big pieces). A failed write (the reader has gone) ends
/// the thread, and the next `write` reports it.
pub struct StdoutThread {
    batches: Option<mpsc::Sender<Vec<Stamped>>>,
    /// The thread's end: `Ok` when everything was written.
    ended: Option<oneshot::Receiver<io::Result<()>>>,
}

impl StdoutThread {
    pub fn start() -> io::Result<StdoutThread> {
        let (batches, rx) = mpsc::channel::<Vec<Stamped>>(QUEUED_BATCHES);
        let (end_tx, ended) = oneshot::channel();
        std::thread::Builder::new()
            .name("stdout".into())
            .spawn(move || {
                grow_pipe();
                let _ = end_tx.send(write_batches(rx, &mut raw_stdout()));
            })?;
        Ok(StdoutThread {
            batches: Some(batches),
            ended: Some(ended),
        })
    }

    /// Why the thread stopped taking batches.
    async fn failure(&mut self) -> io::Error {
        self.batches = None;
        match self.ended.take() {
            Some(ended) => match ended.await {
                Ok(Err(e)) => e,
                _ => io::Error::new(io::ErrorKind::BrokenPipe, "the stdout writer has ended"),
            },
            None => io::Error::new(io::ErrorKind::BrokenPipe, "stdout is closed"),
        }
    }
}

/// The stdout thread's loop, over any writer.
fn write_batches(mut rx: mpsc::Receiver<Vec<Stamped>>, out: &mut impl io::Write) -> io::Result<()> {
    let mut lines = Lines::default();
    while let Some(batch) = rx.blocking_recv() {
        let mut next = Some(batch);
        while let Some(batch) = next.take() {
            for record in &batch {
                lines.push(record);
            }
            drop(batch);
            if lines.buf.len() >= OUTPUT_CHUNK {
                out.write_all(&lines.buf)?;
                lines.written();
            }
            next = rx.try_recv().ok();
        }
        if !lines.buf.is_empty() {
            out.write_all(&lines.buf)?;
            lines.written();
        }
    }
    out.flush()
}

impl RecordSink for StdoutThread {
    async fn write(&mut self, records: Vec<Stamped>) -> io::Result<()> {
        let sent = match &self.batches {
            Some(tx) => tx.send(records).await.is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(self.failure().await)
        }
    }

    async fn finish(&mut self) -> io::Result<()> {
        self.batches = None; // the thread ends once it has written what it holds
        match self.ended.take() {
            Some(ended) => ended.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

/// Standard output as a `File` of its own: std's `Stdout` would add a line buffer and a
/// lock to every write. It is a duplicate of fd 1 (same pipe or file, same offset), so
/// closing it leaves fd 1 open; if it cannot be made, std's `Stdout` serves.
#[cfg(unix)]
fn raw_stdout() -> Box<dyn std::io::Write + Send> {
    use std::os::fd::AsFd;
    match std::io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(std::io::stdout()),
    }
}

#[cfg(not(unix))]
fn raw_stdout() -> Box<std::io::Stdout> {
    Box::new(std::io::stdout())
}

/// A pipe's default 64 KiB means a context switch every few dozen large lines; ask for
/// 1 MiB (the unprivileged limit). Quietly keeps the default where that is refused.
fn grow_pipe() {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{FileType, fstat};
        let stdout = rustix::stdio::stdout();
        if fstat(stdout).is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Fifo) {
            let _ = rustix::pipe::fcntl_setpipe_size(stdout, 1 << 20);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_record::SessionRecord;
    use chanwatch_core::record::Record;

    fn batch(from: u64, n: u64) -> Vec<Stamped> {
        (from..from + n)
            .map(|i| {
                Stamped::now(SessionRecord::Client(Record::ConnectingIn {
                    delay_ms: i,
                    reason: None,
                }))
            })
            .collect()
    }

    #[test]
    fn the_writer_loop_writes_every_batch_in_order_then_flushes() {
        let (tx, rx) = mpsc::channel(64);
        tx.try_send(batch(0, 3)).unwrap();
        // Enough records to pass OUTPUT_CHUNK, so the loop also writes mid-way.
        tx.try_send(batch(3, 5000)).unwrap();
        drop(tx);
        let mut out = Vec::new();
        write_batches(rx, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let delays: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["delay_ms"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(delays, (0..5003).collect::<Vec<_>>());
    }

    #[test]
    fn a_failed_write_ends_the_loop_with_its_error() {
        struct Broken;
        impl io::Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(batch(0, 1)).unwrap();
        let err = write_batches(rx, &mut Broken).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
