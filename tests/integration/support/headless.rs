//! The real `chanwatch --headless` binary as a test peer: records are read from its stdout
//! (one JSON object per line), commands written to its stdin. Every wait is bounded, and a
//! failed wait panics with what the client did print, so a red test says why.
//!
//! The `wait_*` methods read *forward*: records read while waiting that do not match are
//! passed over (they stay in [`Headless::seen`]), so a later wait does not see them. That is
//! what "the next state change" needs, but not "both of these, in any order": two
//! subscriptions, or an event and the API answer that caused it, complete in either order.
//! For those use the `seen_or_wait_*` methods, which also accept a record already read.

#![allow(dead_code)] // a kit for every area's tests: not every part is in use at once

use serde_json::Value;
use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// Generous for anything a loopback server should do in milliseconds: CI machines are slow.
pub const WAIT: Duration = Duration::from_secs(30);
const STDERR_KEEP: usize = 100;

/// One line of the client's stdout: a JSON object, or the text that was not one.
type Line = Result<Value, String>;

pub struct Headless {
    /// A name for failure messages ("a", "b", ...).
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Line>,
    /// Every record read so far, in order.
    seen: Vec<Value>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

/// The arguments for a headless client of the sockudo test app on `port`, plus `extra`.
pub fn sockudo_args(port: u16, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless",
        "--no-tls",
        "--host",
        "127.0.0.1",
        "--ws-port",
        &port.to_string(),
        "--key",
        super::sockudo::KEY,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

impl Headless {
    pub fn spawn(name: &str, args: &[String]) -> Headless {
        let mut child = Command::from(super::isolated::chanwatch())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("CHANWATCH_CONFIG")
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the chanwatch binary");

        let (tx, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("piped stdout");
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let parsed = serde_json::from_str::<Value>(&line)
                    .ok()
                    .filter(Value::is_object)
                    .ok_or(line);
                if tx.send(parsed).is_err() {
                    break;
                }
            }
        });

        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let pipe = child.stderr.take().expect("piped stderr");
        let keep = stderr.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let mut keep = keep.lock().unwrap();
                if keep.len() == STDERR_KEEP {
                    keep.pop_front();
                }
                keep.push_back(line);
            }
        });

        Headless {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Write one command line to the client's stdin.
    pub async fn send(&mut self, command: Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        let line = format!("{command}\n");
        let write = async {
            stdin.write_all(line.as_bytes()).await?;
            stdin.flush().await
        };
        match tokio::time::timeout(WAIT, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("client {}: writing {command} failed: {e}", self.name),
            Err(_) => panic!("client {}: writing {command} did not finish", self.name),
        }
    }

    /// Wait for the next record (after those already consumed) that matches `pred`, and
    /// return it. Panics on timeout, on exit, and on a stdout line that is not JSON.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_within(what, WAIT, pred).await
    }

    pub async fn wait_for_within(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(Ok(record))) => {
                    self.seen.push(record.clone());
                    if pred(&record) {
                        return record;
                    }
                }
                Ok(Some(Err(line))) => {
                    panic!(
                        "client {}: stdout line is not a JSON object: {line:?}\n{}",
                        self.name,
                        self.context()
                    )
                }
                Ok(None) => panic!(
                    "client {}: stdout closed while waiting for {what}\n{}",
                    self.name,
                    self.context()
                ),
                Err(_) => panic!(
                    "client {}: no {what} within {within:?}\n{}",
                    self.name,
                    self.context()
                ),
            }
        }
    }

    /// Wait for `{"type":"state","current":<state>}`.
    pub async fn wait_state(&mut self, state: &str) -> Value {
        self.wait_for(&format!("state {state}"), |r| {
            r["type"] == "state" && r["current"] == state
        })
        .await
    }

    /// Wait for a record of `kind` on `channel`. Waiting for `subscribed` or `members` fails
    /// at once on a `subscription_error` for that channel, with its message.
    pub async fn wait_channel(&mut self, kind: &str, channel: &str) -> Value {
        let expects_success = kind == "subscribed" || kind == "members";
        let record = self
            .wait_for(&format!("{kind} on {channel}"), |r| {
                r["channel"] == channel
                    && (r["type"] == kind || (expects_success && r["type"] == "subscription_error"))
            })
            .await;
        if record["type"] != kind {
            panic!(
                "client {}: expected {kind} on {channel}, got {record}\n{}",
                self.name,
                self.context()
            );
        }
        record
    }

    /// Like [`Headless::wait_channel`], but a matching record already read also counts: for
    /// records whose order relative to the last wait is not fixed.
    pub async fn seen_or_wait_channel(&mut self, kind: &str, channel: &str) -> Value {
        self.seen_since_or_wait_channel(0, kind, channel).await
    }

    /// Like [`Headless::seen_or_wait_channel`], counting only records from index `mark` of
    /// [`Headless::seen`] on (take the mark with [`Headless::mark`]).
    pub async fn seen_since_or_wait_channel(
        &mut self,
        mark: usize,
        kind: &str,
        channel: &str,
    ) -> Value {
        match self.already_seen(mark, |r| r["type"] == kind && r["channel"] == channel) {
            Some(record) => record,
            None => self.wait_channel(kind, channel).await,
        }
    }

    /// Like [`Headless::wait_for`], but a matching record already read also counts.
    pub async fn seen_or_wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        match self.already_seen(0, &pred) {
            Some(record) => record,
            None => self.wait_for(what, pred).await,
        }
    }

    /// The position after the records read so far, for the `seen_since_*` waits.
    pub fn mark(&self) -> usize {
        self.seen.len()
    }

    fn already_seen(&self, mark: usize, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        self.seen[mark.min(self.seen.len())..]
            .iter()
            .find(|r| pred(r))
            .cloned()
    }

    /// Every record read so far.
    pub fn seen(&self) -> &[Value] {
        &self.seen
    }

    /// Read whatever arrives within `period` without expecting anything; returns it too.
    pub async fn drain_for(&mut self, period: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + period;
        let mut got = Vec::new();
        while let Ok(Some(line)) = tokio::time::timeout_at(deadline, self.lines.recv()).await {
            match line {
                Ok(record) => {
                    self.seen.push(record.clone());
                    got.push(record);
                }
                Err(line) => panic!(
                    "client {}: stdout line is not a JSON object: {line:?}\n{}",
                    self.name,
                    self.context()
                ),
            }
        }
        got
    }

    /// Ask the client to quit, wait for its final `state` record (to disconnected) and its
    /// exit, and return the exit status.
    pub async fn quit(mut self) -> ExitStatus {
        self.send(serde_json::json!({"cmd": "quit"})).await;
        self.wait_state("disconnected").await;
        self.wait_exit().await
    }

    /// Kill the process (no goodbye: its connection just drops) and reap it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// Wait (bounded) for the process to exit.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        match tokio::time::timeout(WAIT, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("client {}: wait failed: {e}", self.name),
            Err(_) => panic!(
                "client {}: did not exit within {WAIT:?}\n{}",
                self.name,
                self.context()
            ),
        }
    }

    /// The last records and stderr lines, for failure messages.
    pub fn context(&self) -> String {
        let records: Vec<String> = self
            .seen
            .iter()
            .rev()
            .take(30)
            .rev()
            .map(Value::to_string)
            .collect();
        let stderr: Vec<String> = self.stderr.lock().unwrap().iter().cloned().collect();
        format!(
            "--- last records of {}:\n{}\n--- its stderr:\n{}",
            self.name,
            records.join("\n"),
            stderr.join("\n")
        )
    }
}
