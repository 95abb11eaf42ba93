//! Headless mode: records become NDJSON lines on stdout, JSON lines on stdin become commands.
//!
//! End of stdin does not stop the program (scripts often close it); SIGINT, SIGTERM or a
//! `quit` command do, after the final `state` record. A reader that goes away (EPIPE) ends
//! the program quietly.
use crate::session_record::SessionRecord;

use crate::session::{Command, SessionHandle};
use crate::session_record::Stamped;
use chanwatch_core::client::Records;
use chanwatch_core::record::Record;
use std::future::Future;
use std::io::BufRead;
use std::time::Duration;
use tokio::sync::mpsc;

mod output;

pub use output::{AsyncSink, RecordSink, StdoutThread};

/// After `quit`, how long to wait for the client's final records before giving up on it.
const QUIT_GRACE: Duration = Duration::from_secs(5);

/// The longest stdin line quoted back in an error record.
const QUOTE_LIMIT: usize = 120;

/// A line read from stdin, or the reason it could not be read.
pub type StdinLine = Result<String, String>;

/// Run headless on the process's stdin, stdout and signals until quit.
pub async fn run(handle: SessionHandle) -> anyhow::Result<()> {
    let lines = stdin_lines();
    let shutdown = signals()?;
    let stdout = StdoutThread::start()?;
    run_with(handle, lines, stdout, shutdown).await
}

/// The same loop over any line source, output and shutdown-request source (for tests).
/// `shutdown` yields once per request: the first quits cleanly, a second one stops at once.
pub async fn run_with<W, S>(
    handle: SessionHandle,
    mut lines: mpsc::Receiver<StdinLine>,
    output: W,
    mut shutdown: S,
) -> anyhow::Result<()>
where
    W: RecordSink,
    S: FnMut() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
{
    let SessionHandle {
        commands,
        mut records,
        task,
    } = handle;
    let mut out = output;
    let mut stdin_open = true;
    let mut quit_deadline: Option<tokio::time::Instant> = None;
    let mut shutdown_request = shutdown();
    loop {
        let grace = quit_deadline.unwrap_or_else(|| tokio::time::Instant::now() + QUIT_GRACE);
        tokio::select! {
            batch = records.recv_batch() => {
                let Some(batch) = batch else { break }; // the client has ended
                if out.write(batch).await.is_err() {
                    return stop_quietly(commands, records, task).await;
                }
            }
            line = lines.recv(), if stdin_open => match line {
                None => stdin_open = false, // EOF: keep running
                Some(line) => match parse_command(line) {
                    Ok(None) => {}
                    Ok(Some(command)) => {
                        let quitting = command == Command::QUIT;
                        if commands.send(command).await.is_err() {
                            // The client task has ended; its records channel is closing.
                            continue;
                        }
                        if quitting && quit_deadline.is_none() {
                            quit_deadline = Some(tokio::time::Instant::now() + QUIT_GRACE);
                        }
                    }
                    Err(message) => {
                        let record = Stamped::now(SessionRecord::Client(Record::Error { code: None, message }));
                        if out.write(vec![record]).await.is_err() {
                            return stop_quietly(commands, records, task).await;
                        }
                    }
                },
            },
            () = &mut shutdown_request => {
                if quit_deadline.is_some() {
                    tracing::warn!("second shutdown request: stopping without waiting");
                    task.abort();
                    // What is already buffered still goes out, unless stdout is stuck.
                    let _ = tokio::time::timeout(Duration::from_secs(1), out.finish()).await;
                    return Ok(());
                }
                tracing::info!("shutdown requested");
                let _ = commands.send(Command::QUIT).await;
                quit_deadline = Some(tokio::time::Instant::now() + QUIT_GRACE);
                shutdown_request = shutdown();
            }
            () = tokio::time::sleep_until(grace), if quit_deadline.is_some() => {
                tracing::warn!("the client did not finish within {QUIT_GRACE:?} of quit");
                task.abort();
                break;
            }
        }
    }
    let _ = out.finish().await;
    if let Err(e) = task.await
        && e.is_panic()
    {
        anyhow::bail!("the client task panicked");
    }
    Ok(())
}

/// stdout is gone: nobody can read our records, so end without fuss, but still let the
/// client close its socket cleanly.
async fn stop_quietly(
    commands: mpsc::Sender<Command>,
    records: Records<Stamped>,
    task: tokio::task::JoinHandle<()>,
) -> anyhow::Result<()> {
    tracing::info!("stdout closed; stopping");
    let _ = commands.try_send(Command::QUIT);
    drop(records);
    drop(commands);
    if tokio::time::timeout(QUIT_GRACE, task).await.is_err() {
        tracing::warn!("the client did not stop in time after stdout closed");
    }
    Ok(())
}

/// One stdin line to a command; `Ok(None)` for a blank line.
pub fn parse_command(line: StdinLine) -> Result<Option<Command>, String> {
    let line = line.map_err(|e| format!("bad command on stdin: {e}"))?;
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    serde_json::from_str::<Command>(trimmed)
        .map(Some)
        .map_err(|e| format!("bad command on stdin: {e}: {}", quote(trimmed)))
}

fn quote(line: &str) -> String {
    if line.chars().count() <= QUOTE_LIMIT {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(QUOTE_LIMIT).collect();
        format!("{cut}…")
    }
}

/// Read stdin on a plain thread: a blocking read there never holds up the runtime's
/// shutdown, unlike tokio's stdin. The thread ends at EOF or when nobody listens.
fn stdin_lines() -> mpsc::Receiver<StdinLine> {
    let (tx, rx) = mpsc::channel(64);
    let spawned = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut stdin = stdin.lock();
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match stdin.read_until(b'\n', &mut buf) {
                    Ok(0) => return,
                    Ok(_) => {
                        let line = String::from_utf8(std::mem::take(&mut buf))
                            .map_err(|_| "the line is not valid UTF-8".to_owned());
                        if tx.blocking_send(line).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(format!("cannot read stdin: {e}")));
                        return;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot read commands from stdin: {e}");
    }
    rx
}

/// SIGINT and SIGTERM, each delivery completing one future.
fn signals() -> anyhow::Result<impl FnMut() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>> {
    use std::sync::Arc;
    use tokio::signal::unix::{SignalKind, signal};
    use tokio::sync::Notify;
    let notify = Arc::new(Notify::new());
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let n = notify.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(()) = interrupt.recv() => {}
                Some(()) = terminate.recv() => {}
                else => return,
            }
            n.notify_one();
        }
    });
    Ok(move || {
        let notify = notify.clone();
        Box::pin(async move { notify.notified().await })
            as std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chanwatch_core::record::State;
    use serde_json::Value;
    use std::pin::Pin;
    use std::sync::Arc;
    use tokio::io::AsyncBufReadExt;
    use tokio::sync::Notify;

    type Shutdown = Box<dyn FnMut() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

    /// A fake client: echoes every command as an `event` record, and on quit emits the
    /// final state record and ends, like the real one.
    fn fake_client() -> SessionHandle {
        let (commands, mut command_rx) = mpsc::channel::<Command>(8);
        let (record_tx, records) = chanwatch_core::client::batch::channel(8);
        let task = tokio::spawn(async move {
            while let Some(command) = command_rx.recv().await {
                if command == Command::QUIT {
                    let _ = record_tx
                        .send(Stamped::now(SessionRecord::Client(Record::State {
                            previous: State::Connected,
                            current: State::Disconnected,
                            socket_id: None,
                            cause: None,
                        })))
                        .await;
                    return;
                }
                let data = serde_json::to_value(&command).unwrap();
                let record = SessionRecord::Client(Record::Event {
                    channel: None,
                    event: "echo".into(),
                    data: data.into(),
                    user_id: None,
                    decrypted: false,
                });
                if record_tx.send(Stamped::now(record)).await.is_err() {
                    return;
                }
            }
        });
        SessionHandle {
            commands,
            records,
            task,
        }
    }

    fn manual_shutdown() -> (Arc<Notify>, Shutdown) {
        let notify = Arc::new(Notify::new());
        let n = notify.clone();
        let f: Shutdown = Box::new(move || {
            let n = n.clone();
            Box::pin(async move { n.notified().await })
        });
        (notify, f)
    }

    async fn next_json(
        reader: &mut tokio::io::Lines<tokio::io::BufReader<tokio::io::DuplexStream>>,
    ) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), reader.next_line())
            .await
            .expect("a line within 10 s")
            .unwrap()
            .expect("output still open");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    #[test]
    fn commands_are_parsed_and_blank_lines_skipped() {
        assert_eq!(parse_command(Ok("   \n".into())), Ok(None));
        assert_eq!(
            parse_command(Ok("{\"cmd\":\"connect\"}\n".into())),
            Ok(Some(chanwatch_core::connection::Command::Connect.into()))
        );
        let err = parse_command(Ok("{\"cmd\":\"fly\"}".into())).unwrap_err();
        assert!(err.starts_with("bad command on stdin: "), "{err}");
        assert!(err.contains("fly"), "{err}");
        let err = parse_command(Ok("x".repeat(1000))).unwrap_err();
        assert!(err.chars().count() < 400, "long lines are cut: {err}");
        let err = parse_command(Err("the line is not valid UTF-8".into())).unwrap_err();
        assert_eq!(err, "bad command on stdin: the line is not valid UTF-8");
    }

    #[tokio::test]
    async fn stdin_commands_reach_the_client_and_bad_lines_become_error_records() {
        let (line_tx, lines) = mpsc::channel(8);
        let (out_w, out_r) = tokio::io::duplex(1 << 16);
        let (_notify, shutdown) = manual_shutdown();
        let run = tokio::spawn(run_with(
            fake_client(),
            lines,
            AsyncSink::new(out_w),
            shutdown,
        ));
        let mut reader = tokio::io::BufReader::new(out_r).lines();

        line_tx
            .send(Ok("{\"cmd\":\"subscribe\",\"channel\":\"a\"}".into()))
            .await
            .unwrap();
        let v = next_json(&mut reader).await;
        assert_eq!(v["type"], "event");
        assert_eq!(v["data"]["cmd"], "subscribe");
        assert!(v["ts"].as_str().unwrap().ends_with('Z'));

        line_tx.send(Ok(String::new())).await.unwrap();
        line_tx.send(Ok("not json".into())).await.unwrap();
        let v = next_json(&mut reader).await;
        assert_eq!(v["type"], "error");
        assert_eq!(v["code"], Value::Null);
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("bad command on stdin")
        );

        // EOF on stdin does not stop the program: quit still works afterwards via a signal.
        drop(line_tx);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !run.is_finished(),
            "EOF on stdin must not stop headless mode"
        );
        _notify.notify_one();
        let v = next_json(&mut reader).await;
        assert_eq!(v["type"], "state");
        assert_eq!(v["current"], "disconnected");
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("ends after the final record")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn quit_command_ends_after_the_final_record() {
        let (line_tx, lines) = mpsc::channel(8);
        let (out_w, out_r) = tokio::io::duplex(1 << 16);
        let (_notify, shutdown) = manual_shutdown();
        let run = tokio::spawn(run_with(
            fake_client(),
            lines,
            AsyncSink::new(out_w),
            shutdown,
        ));
        let mut reader = tokio::io::BufReader::new(out_r).lines();
        line_tx.send(Ok("{\"cmd\":\"quit\"}".into())).await.unwrap();
        let v = next_json(&mut reader).await;
        assert_eq!(v["current"], "disconnected");
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("ends")
            .unwrap()
            .unwrap();
        // The line channel is still open: quitting did not depend on stdin closing.
        drop(line_tx);
    }

    #[tokio::test]
    async fn a_closed_stdout_ends_quietly() {
        let (line_tx, lines) = mpsc::channel(8);
        let (out_w, out_r) = tokio::io::duplex(64);
        drop(out_r);
        let (_notify, shutdown) = manual_shutdown();
        let run = tokio::spawn(run_with(
            fake_client(),
            lines,
            AsyncSink::new(out_w),
            shutdown,
        ));
        line_tx
            .send(Ok("{\"cmd\":\"connect\"}".into()))
            .await
            .unwrap();
        let result = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("ends when stdout is gone")
            .unwrap();
        assert!(result.is_ok(), "{result:?}");
    }
}
