//! Headless output: records become NDJSON lines in a buffer, and full buffers go to a sink.
//!
//! On the real stdout the sink is a thread of its own ([`StdoutThread`]): a write blocked on
//! a slow reader never holds up the client, buffers change hands instead of being copied,
//! and writing runs beside the client on a second core.

use crate::record::{LineWriter, Stamped};
use std::future::Future;
use std::io;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// How many bytes of lines are gathered before they go to the sink.
pub const OUTPUT_CHUNK: usize = 256 * 1024;

/// Where full buffers of NDJSON lines go.
pub trait ChunkSink {
    /// Write all of `chunk` (or hand it to what will); gives back an empty buffer to fill.
    fn write_chunk(&mut self, chunk: Vec<u8>) -> impl Future<Output = io::Result<Vec<u8>>> + Send;
    /// Wait until everything handed over has been written.
    fn finish(&mut self) -> impl Future<Output = io::Result<()>> + Send;
}

/// Any async writer as a sink (tests write into in-memory pipes).
pub struct AsyncSink<W>(pub W);

impl<W: AsyncWrite + Unpin + Send> ChunkSink for AsyncSink<W> {
    async fn write_chunk(&mut self, mut chunk: Vec<u8>) -> io::Result<Vec<u8>> {
        self.0.write_all(&chunk).await?;
        self.0.flush().await?;
        chunk.clear();
        Ok(chunk)
    }

    async fn finish(&mut self) -> io::Result<()> {
        self.0.flush().await
    }
}

/// Standard output, written by a thread of its own. Up to two full buffers wait for it; a
/// third makes the client wait (backpressure, as before). A failed write (the reader has
/// gone) ends the thread, and the next `write_chunk` reports it.
pub struct StdoutThread {
    chunks: Option<mpsc::Sender<Vec<u8>>>,
    /// Buffers the thread has written and cleared, for re-use.
    spares: std::sync::mpsc::Receiver<Vec<u8>>,
    /// The thread's end: `Ok` when every buffer was written.
    ended: Option<oneshot::Receiver<io::Result<()>>>,
}

impl StdoutThread {
    pub fn start() -> io::Result<StdoutThread> {
        let (chunks, mut rx) = mpsc::channel::<Vec<u8>>(2);
        let (spare_tx, spares) = std::sync::mpsc::channel();
        let (end_tx, ended) = oneshot::channel();
        std::thread::Builder::new()
            .name("stdout".into())
            .spawn(move || {
                use std::io::Write;
                grow_pipe();
                // Our own handle on fd 1: std's `Stdout` would add a line buffer and a lock.
                let mut out = raw_stdout();
                let result = (|| {
                    while let Some(mut chunk) = rx.blocking_recv() {
                        out.write_all(&chunk)?;
                        chunk.clear();
                        let _ = spare_tx.send(chunk);
                    }
                    Ok(())
                })();
                let _ = end_tx.send(result);
            })?;
        Ok(StdoutThread {
            chunks: Some(chunks),
            spares,
            ended: Some(ended),
        })
    }

    /// Why the thread stopped taking buffers.
    async fn failure(&mut self) -> io::Error {
        self.chunks = None;
        match self.ended.take() {
            Some(ended) => match ended.await {
                Ok(Err(e)) => e,
                _ => io::Error::new(io::ErrorKind::BrokenPipe, "the stdout writer has ended"),
            },
            None => io::Error::new(io::ErrorKind::BrokenPipe, "stdout is closed"),
        }
    }
}

impl ChunkSink for StdoutThread {
    async fn write_chunk(&mut self, chunk: Vec<u8>) -> io::Result<Vec<u8>> {
        let sent = match &self.chunks {
            Some(tx) => tx.send(chunk).await.is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.failure().await);
        }
        Ok(self.spares.try_recv().unwrap_or_default())
    }

    async fn finish(&mut self) -> io::Result<()> {
        self.chunks = None; // the thread ends once it has written what it holds
        match self.ended.take() {
            Some(ended) => ended.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

/// fd 1 as a `File` that is never closed by us.
#[cfg(unix)]
fn raw_stdout() -> std::mem::ManuallyDrop<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: fd 1 stays open for the life of the process; ManuallyDrop never closes it.
    std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) })
}

#[cfg(not(unix))]
fn raw_stdout() -> std::io::Stdout {
    std::io::stdout()
}

/// A pipe's default 64 KiB means a context switch every few dozen large lines; ask for
/// 1 MiB (the unprivileged limit). Quietly keeps the default where that is refused.
fn grow_pipe() {
    #[cfg(target_os = "linux")]
    // SAFETY: fstat and fcntl on fd 1 with a valid stat buffer; no memory is shared.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(1, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO {
            libc::fcntl(1, libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
}

/// Lines gathered into one buffer, which goes to the sink when it holds [`OUTPUT_CHUNK`]
/// bytes or on flush.
pub struct Output<S: ChunkSink> {
    sink: S,
    buf: Vec<u8>,
    lines: LineWriter,
}

impl<S: ChunkSink> Output<S> {
    pub fn new(sink: S) -> Self {
        Output {
            sink,
            buf: Vec::with_capacity(OUTPUT_CHUNK + 8 * 1024),
            lines: LineWriter::default(),
        }
    }

    pub async fn write(&mut self, record: &Stamped) -> io::Result<()> {
        self.lines.write(record, &mut self.buf);
        self.buf.push(b'\n');
        if self.buf.len() >= OUTPUT_CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    /// Hand over what is buffered.
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let full = std::mem::take(&mut self.buf);
            let next = self.sink.write_chunk(full).await?;
            // One huge record (a 16 MiB event) must not pin its buffer for the whole run.
            self.buf = if (OUTPUT_CHUNK..=4 * OUTPUT_CHUNK).contains(&next.capacity()) {
                next
            } else {
                Vec::with_capacity(OUTPUT_CHUNK + 8 * 1024)
            };
        }
        Ok(())
    }

    /// Flush and wait until everything is written.
    pub async fn finish(&mut self) -> io::Result<()> {
        self.flush().await?;
        self.sink.finish().await
    }
}
