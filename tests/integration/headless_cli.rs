//! The real `chanwatch --headless` binary against a scripted server on 127.0.0.1: NDJSON on
//! stdout, commands on stdin, signals, exit codes. Every wait is bounded.

use crate::support::isolated;
use crate::support::*;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// A running `chanwatch --headless` and every stdout line it printed.
struct Headless {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    seen: Vec<Value>,
    cursor: usize,
}

fn args(port: u16) -> Vec<String> {
    [
        "--headless",
        "--key",
        KEY,
        "--host",
        "127.0.0.1",
        "--no-tls",
        "--ws-port",
        &port.to_string(),
        "--enabled-transports",
        "ws",
        "--retry-cap",
        "2s",
        "--unavailable-timeout",
        "2s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Headless {
    fn start(port: u16, extra: &[&str]) -> Headless {
        let mut child = Command::from(isolated::chanwatch())
            .args(args(port))
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chanwatch");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Headless {
            child,
            stdin,
            stdout,
            seen: Vec::new(),
            cursor: 0,
        }
    }

    /// Read lines until one matches (bounded); every line must be an NDJSON record.
    async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + BOUND;
        loop {
            if let Some(i) = self.seen[self.cursor..].iter().position(&pred) {
                self.cursor += i + 1;
                return self.seen[self.cursor - 1].clone();
            }
            match tokio::time::timeout_at(deadline, self.stdout.next_line()).await {
                Ok(Ok(Some(line))) => self.seen.push(check_record(&line)),
                Ok(_) => panic!("stdout ended before {what}; saw {:#?}", self.seen),
                Err(_) => panic!("no {what} within {BOUND:?}; saw {:#?}", self.seen),
            }
        }
    }

    async fn wait_type(&mut self, ty: &str) -> Value {
        self.wait_for(ty, |v| v["type"] == ty).await
    }

    async fn wait_state(&mut self, state: &str) -> Value {
        self.wait_for(&format!("state {state}"), |v| {
            v["type"] == "state" && v["current"] == state
        })
        .await
    }

    async fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(line.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
        stdin.flush().await.unwrap();
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Read stdout to its end and wait for the exit status (bounded).
    async fn finish(&mut self) -> std::process::ExitStatus {
        let drained = tokio::time::timeout(BOUND, async {
            while let Ok(Some(line)) = self.stdout.next_line().await {
                self.seen.push(check_record(&line));
            }
        })
        .await;
        assert!(
            drained.is_ok(),
            "stdout did not close; saw {:#?}",
            self.seen
        );
        tokio::time::timeout(BOUND, self.child.wait())
            .await
            .expect("chanwatch exits")
            .unwrap()
    }
}

/// Every stdout line is one JSON object with an RFC 3339 UTC `ts` (ms) and a `type`.
fn check_record(line: &str) -> Value {
    let v: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
    let ts = v["ts"].as_str().unwrap_or_else(|| panic!("no ts: {line}"));
    assert!(
        ts.ends_with('Z') && ts.len() == "2024-01-01T00:00:00.000Z".len(),
        "ts is UTC with milliseconds: {ts}"
    );
    humantime::parse_rfc3339(ts).unwrap_or_else(|e| panic!("bad ts {ts}: {e}"));
    assert!(v["type"].is_string(), "no type: {line}");
    v
}

async fn plain_server() -> Server {
    Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.serve(Serve::default()).await;
    })
    .await
}

#[tokio::test]
async fn ndjson_out_commands_in_quit_exits_zero() {
    let server = plain_server().await;
    // -vv: plenty of logging, none of which may reach stdout.
    let mut h = Headless::start(server.port, &["-s", "news", "-vv"]);
    let first = h.wait_type("state").await;
    assert_eq!(first["previous"], "initialized");
    assert_eq!(first["current"], "connecting");
    let connected = h.wait_state("connected").await;
    assert!(connected["socket_id"].is_string(), "{connected}");
    h.wait_for("subscribed news", |v| {
        v["type"] == "subscribed" && v["channel"] == "news"
    })
    .await;

    h.send_line(r#"{"cmd":"subscribe","channel":"other"}"#)
        .await;
    h.wait_for("subscribed other", |v| {
        v["type"] == "subscribed" && v["channel"] == "other"
    })
    .await;

    h.send_line("").await;
    h.send_line("   ").await;
    h.send_line("this is not a command").await;
    let bad = h.wait_type("error").await;
    assert_eq!(bad["code"], Value::Null);
    let message = bad["message"].as_str().unwrap();
    assert!(message.starts_with("bad command on stdin"), "{message}");

    h.send_line(r#"{"cmd":"unsubscribe","channel":"other"}"#)
        .await;
    h.wait_for("unsubscribed", |v| {
        v["type"] == "unsubscribed" && v["channel"] == "other"
    })
    .await;
    server
        .log
        .wait_for("the unsubscribe", |v| {
            v["event"] == "pusher:unsubscribe" && v["data"]["channel"] == "other"
        })
        .await;

    h.send_line(r#"{"cmd":"quit"}"#).await;
    let status = h.finish().await;
    assert_eq!(status.code(), Some(0));
    let last = h.seen.last().unwrap();
    assert_eq!(last["type"], "state", "{last}");
    assert_eq!(last["current"], "disconnected", "{last}");
    // Blank lines produced nothing: exactly one error record in the whole run.
    let errors = h.seen.iter().filter(|v| v["type"] == "error").count();
    assert_eq!(errors, 1, "{:#?}", h.seen);
}

#[tokio::test]
async fn eof_on_stdin_does_not_stop_and_sigterm_ends_cleanly() {
    let server = Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        // Answer the subscribe, then publish something well after stdin has closed.
        peer.serve_for(Duration::from_millis(1500), Serve::default())
            .await;
        peer.send_event("late", Some("news"), &json!({"n": 1}))
            .await;
        peer.serve(Serve::default()).await;
    })
    .await;
    let mut h = Headless::start(server.port, &["-s", "news"]);
    h.wait_state("connected").await;
    h.stdin = None; // EOF
    let event = h.wait_for("the late event", |v| v["type"] == "event").await;
    assert_eq!(event["channel"], "news");
    assert_eq!(event["event"], "late");
    assert_eq!(event["data"], json!({"n": 1}));
    assert!(h.child.try_wait().unwrap().is_none(), "still running");

    h.signal("TERM");
    let status = h.finish().await;
    assert_eq!(status.code(), Some(0), "SIGTERM exits 0");
    let last = h.seen.last().unwrap();
    assert_eq!(last["current"], "disconnected", "{last}");
    let (_, close) = server
        .log
        .wait_for("a close frame", |v| v.get("close").is_some())
        .await;
    assert_eq!(close["close"], 1000);
}

#[tokio::test]
async fn sigint_ends_cleanly_even_while_unreachable() {
    // Nothing listens: the client keeps retrying; Ctrl-C must still end it at once.
    let server = Server::down(|_conn| async {}).await;
    let mut h = Headless::start(server.port, &[]);
    h.wait_type("connecting_in").await;
    let refused = h.wait_type("error").await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("connection refused"),
        "{refused}"
    );
    h.signal("INT");
    let status = h.finish().await;
    assert_eq!(status.code(), Some(0));
    assert_eq!(h.seen.last().unwrap()["current"], "disconnected");
}

#[tokio::test]
async fn closed_stdout_ends_quietly() {
    let server = Server::start(|conn| async move {
        let mut peer = Peer::established(conn, Some(120)).await;
        peer.serve_for(Duration::from_millis(300), Serve::default())
            .await;
        // Keep talking so the client keeps writing into the dead pipe.
        for n in 0..600 {
            peer.send_event("tick", Some("news"), &json!({ "n": n }))
                .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let mut child = Command::from(isolated::chanwatch())
        .args(args(server.port))
        .args(["-s", "news"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(BOUND, stdout.next_line()).await;
    assert!(matches!(first, Ok(Ok(Some(_)))), "{first:?}");
    drop(stdout);
    let output = tokio::time::timeout(BOUND, child.wait_with_output())
        .await
        .expect("chanwatch stops once nobody reads stdout")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn log_file_gets_the_logs_and_stdout_stays_ndjson() {
    let server = plain_server().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("chanwatch.log");
    let log_arg = log.to_str().unwrap().to_owned();
    let mut h = Headless::start(server.port, &["-vv", "--log-file", &log_arg]);
    h.wait_state("connected").await;
    h.send_line(r#"{"cmd":"quit"}"#).await;
    assert_eq!(h.finish().await.code(), Some(0));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("DEBUG"), "debug logs in the file: {text}");
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--key", "k", "--host", "h", "--activity-timeout", "5x"],
            "--activity-timeout",
        ),
        (
            &["--key", "k", "--host", "h", "-s", "bad name"],
            "--subscribe",
        ),
        (
            &[
                "--key",
                "k",
                "--host",
                "h",
                "--enabled-transports",
                "pigeon",
            ],
            "--enabled-transports",
        ),
        (
            &["--key", "k", "--host", "h", "--user-info", "{oops"],
            "--user-info",
        ),
        (&["--host", "h", "--headless"], "--key"),
        (
            &["--key", "k", "--host", "h", "--no-such-flag"],
            "--no-such-flag",
        ),
    ];
    for (args, flag) in cases {
        let out = isolated::chanwatch()
            .args(*args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag),
            "{args:?} should name {flag}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "nothing on stdout for {args:?}");
    }
}

#[tokio::test]
async fn a_panic_in_the_client_exits_70_with_final_records_and_one_line() {
    let server = plain_server().await;
    let mut child = Command::from(isolated::chanwatch())
        .args(args(server.port))
        .env("CHANWATCH_DEBUG_PANIC", "client")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start chanwatch");
    let output = tokio::time::timeout(Duration::from_secs(30), async {
        let mut stdout = String::new();
        let mut stderr = String::new();
        use tokio::io::AsyncReadExt;
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (a, b) = tokio::join!(
            out.read_to_string(&mut stdout),
            err.read_to_string(&mut stderr)
        );
        a.unwrap();
        b.unwrap();
        (child.wait().await.unwrap(), stdout, stderr)
    })
    .await
    .expect("chanwatch ends by itself after a panic");
    let (status, stdout, stderr) = output;
    assert_eq!(status.code(), Some(70), "stderr: {stderr}");
    let lines: Vec<Value> = stdout.lines().map(check_record).collect();
    let [.., error, state] = lines.as_slice() else {
        panic!("too few records: {stdout}");
    };
    assert_eq!(error["type"], "error", "{stdout}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("internal error")
    );
    assert_eq!(state["type"], "state");
    assert_eq!(state["current"], "disconnected");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("chanwatch: internal error:"), "{stderr}");
}
