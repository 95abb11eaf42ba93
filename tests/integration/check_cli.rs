//! `chanwatch check`, the real binary: exit codes in the Nagios convention and what it
//! prints, against the demo server (in this process), a real sockudo (with the fault proxy
//! for a real delay), a closed port, a server that never answers, and bad flags.

use crate::support::isolated;
use crate::support::sockudo::{self, Sockudo};
use chanwatch::demo::{DemoConfig, DemoServer};
use chanwatch::faults::FaultProxy;
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;

/// Only stops a hang: every check here bounds itself with its --timeout, far below this.
const BOUND: Duration = Duration::from_secs(120);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}", self.stdout))
    }

    fn step<'a>(doc: &'a Value, name: &str) -> &'a Value {
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step {name}: {doc}"))
    }
}

async fn check(args: &[&str]) -> Run {
    let child = tokio::process::Command::from(isolated::chanwatch())
        .arg("check")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start chanwatch check");
    let out = tokio::time::timeout(BOUND, child.wait_with_output())
        .await
        .expect("chanwatch check ends by itself")
        .unwrap();
    Run {
        code: out.status.code().expect("an exit code, not a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn server_args(port: u16, key: &str) -> Vec<String> {
    [
        "--no-tls",
        "--host",
        "127.0.0.1",
        "--ws-port",
        &port.to_string(),
        "--key",
        key,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn sockudo_args(port: u16, extra: &[&str]) -> Vec<String> {
    let mut args = server_args(port, sockudo::KEY);
    args.extend(["--app-id", sockudo::APP_ID, "--secret", sockudo::SECRET].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The status line is first, Nagios-shaped, with perfdata; the last line is the verdict.
fn assert_nagios_text(run: &Run, status: &str, code: i32) {
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("CHANWATCH CHECK {status} - ")),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, code, "{}\n{}", run.stdout, run.stderr);
    let last = run.stdout.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("verdict: {status} (exit {code})")),
        "{last}"
    );
}

/// Against the built-in demo server: every step including the private channel, every
/// probe delivered, exit 0, and the secret nowhere in what it printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_server_is_healthy() {
    let server = DemoServer::start(DemoConfig::default()).await.unwrap();
    let mut args = server_args(server.addr().port(), server.key());
    args.extend(
        [
            "--app-id",
            server.app_id(),
            "--secret",
            server.secret(),
            "--json",
        ]
        .map(String::from),
    );
    let run = check(&strs(&args)).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(
        (doc["status"].as_str(), doc["exit_code"].as_u64()),
        (Some("OK"), Some(0))
    );
    let names: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "resolve",
            "tcp",
            "websocket",
            "connection_established",
            "subscribe",
            "auth",
            "subscribe_private",
            "auth_presence",
            "subscribe_presence",
            "delivery"
        ]
    );
    assert!(
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["ok"] == true && s["duration_ms"].as_f64().is_some())
    );
    assert_eq!(doc["samples"].as_array().unwrap().len(), 3);
    assert_eq!(doc["latency_ms"]["delivered"], 3);
    assert_eq!(doc["reasons"], serde_json::json!([]));
    assert!(!run.stdout.contains(server.secret()) && !run.stderr.contains(server.secret()));

    let presence = Run::step(&doc, "subscribe_presence");
    assert!(
        presence["detail"].as_str().unwrap().contains("ours ("),
        "{presence}"
    );

    // Without API credentials: connect and subscribe only, still OK, and it says so.
    let run = check(&strs(&server_args(server.addr().port(), server.key()))).await;
    assert_nagios_text(&run, "OK", 0);
    assert!(
        run.stdout
            .lines()
            .next()
            .unwrap()
            .contains("delivery not checked"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("subscribe              ok"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("delivery   "), "{}", run.stdout);

    // --no-presence: the private twin only.
    let mut args = server_args(server.addr().port(), server.key());
    args.extend(["--secret", server.secret(), "--no-presence"].map(String::from));
    let run = check(&strs(&args)).await;
    assert_nagios_text(&run, "OK", 0);
    assert!(
        run.stdout.contains("\nsubscribe_private      ok"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("presence"), "{}", run.stdout);
}

/// A port nobody listens on: CRITICAL, the TCP step named.
#[tokio::test]
async fn a_closed_port_is_critical() {
    let port = sockudo::free_port();
    let run = check(&strs(&server_args(port, "k"))).await;
    assert_nagios_text(&run, "CRITICAL", 2);
    assert!(
        run.stdout.lines().next().unwrap().contains(&format!(
            "tcp failed: connection refused (127.0.0.1:{port})"
        )),
        "{}",
        run.stdout
    );
}

/// A server that accepts and never answers: the run ends at --timeout, CRITICAL, naming
/// the step that hung.
#[tokio::test]
async fn a_hung_step_is_critical_and_named() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut args = server_args(port, "k");
    args.extend(["--timeout", "2s", "--json"].map(String::from));
    let args = strs(&args);
    let (run, _held) = tokio::join!(check(&args), async {
        // Keep the accepted socket open and silent until the check has given up.
        let accepted = listener.accept().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        accepted
    });
    assert_eq!(run.code, 2, "{}", run.stdout);
    let doc = run.json();
    assert_eq!(doc["status"], "CRITICAL");
    let ws = Run::step(&doc, "websocket");
    assert_eq!(ws["ok"], false);
    assert_eq!(ws["detail"], "no answer within the --timeout of 2s");
    assert!(ws["duration_ms"].as_f64().unwrap() >= 1900.0, "{ws}");
    assert_eq!(Run::step(&doc, "tcp")["ok"], true);
}

/// Bad usage is UNKNOWN (3), not clap's 2, with a status line on stdout; help is still 0.
#[tokio::test]
async fn bad_flags_are_unknown() {
    for args in [
        &["--bogus"][..],
        &["--samples", "0"],
        &["--samples", "many"],
        &["--channel", "private-x"],
        &["--warn-latency", "3s", "--key", "k", "--host", "h"],
        // A configuration the session could not start with (no key).
        &["--host", "127.0.0.1"],
    ] {
        let run = check(args).await;
        assert_nagios_text(&run, "UNKNOWN", 3);
        assert_eq!(run.stdout.lines().count(), 2, "{args:?}: {}", run.stdout);
    }
    let run = check(&["--bogus", "--json"]).await;
    assert_eq!(run.code, 3);
    assert_eq!(run.json()["status"], "UNKNOWN");
    let run = check(&["--help"]).await;
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("--warn-latency"));
    // Other commands keep clap's usage exit code.
    let other = isolated::chanwatch().arg("--bogus").output().unwrap();
    assert_eq!(other.status.code(), Some(2));
}

/// A healthy sockudo: exit 0, and the JSON holds every step, sample and threshold.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn sockudo_healthy_is_ok() {
    let server = Sockudo::start();
    let run = check(&strs(&sockudo_args(
        server.port(),
        &["--json", "--samples", "2"],
    )))
    .await;
    assert_eq!(
        run.code,
        0,
        "{}\n{}\n{}",
        run.stdout,
        run.stderr,
        server.log_tail()
    );
    let doc = run.json();
    assert_eq!(doc["status"], "OK");
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["target"], format!("ws://127.0.0.1:{}", server.port()));
    for name in [
        "tcp",
        "websocket",
        "connection_established",
        "subscribe",
        "auth",
        "subscribe_private",
        "auth_presence",
        "subscribe_presence",
        "delivery",
    ] {
        let step = Run::step(&doc, name);
        assert_eq!(step["ok"], true, "{step}");
        assert!(step["duration_ms"].as_f64().unwrap() >= 0.0);
        assert!(step["detail"].is_string());
    }
    let samples = doc["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 2);
    assert!(
        samples
            .iter()
            .all(|s| s["delivered"] == true && s["latency_ms"].as_f64().unwrap() > 0.0)
    );
    assert_eq!(doc["thresholds"]["warn_latency_ms"], 500.0);
    assert_eq!(doc["thresholds"]["crit_latency_ms"], 2000.0);
    assert!(doc["perfdata"].as_str().unwrap().contains("latency_max="));
    assert!(!run.stdout.contains(sockudo::SECRET));
}

/// A real delay on the socket's path (the fault proxy holds every chunk 800 ms; the HTTP
/// API goes straight to the server): the probes arrive late, over the default 500 ms
/// warning threshold and under the critical one, so WARNING.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockudo_behind_a_delay_warns() {
    let server = Sockudo::start();
    let proxy = FaultProxy::start(([127, 0, 0, 1], server.port()).into())
        .await
        .unwrap();
    proxy.delay(Duration::from_millis(800));
    let port = server.port().to_string();
    let mut args = server_args(proxy.addr().port(), sockudo::KEY);
    args.extend(
        [
            "--app-id",
            sockudo::APP_ID,
            "--secret",
            sockudo::SECRET,
            "--api-port",
            &port,
            "--samples",
            "2",
            // Far above the delay: the verdict must come from the warning threshold alone,
            // however slow this machine is today.
            "--crit-latency",
            "10s",
            "--timeout",
            "30s",
        ]
        .map(String::from),
    );
    let run = check(&strs(&args)).await;
    assert_nagios_text(&run, "WARNING", 1);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.contains("over --warn-latency 500 ms"),
        "{}",
        run.stdout
    );
    assert!(!first.contains("lost"), "{}", run.stdout);
}

/// A wrong secret: the private channel's subscription is refused, CRITICAL, and the
/// secret given is printed nowhere.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn sockudo_with_a_wrong_secret_is_critical() {
    let server = Sockudo::start();
    let wrong = "not-the-secret-4711";
    let mut args = server_args(server.port(), sockudo::KEY);
    args.extend(["--app-id", sockudo::APP_ID, "--secret", wrong, "--json"].map(String::from));
    let run = check(&strs(&args)).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    let doc = run.json();
    assert_eq!(doc["status"], "CRITICAL");
    let step = Run::step(&doc, "subscribe_private");
    assert_eq!(step["ok"], false);
    assert!(
        doc["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("subscribe_private failed: "),
        "{doc}"
    );
    assert!(!run.stdout.contains(wrong) && !run.stderr.contains(wrong));
}

/// The server down (killed, its port closed): CRITICAL.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn sockudo_down_is_critical() {
    let server = Sockudo::start();
    let port = server.port();
    drop(server);
    let run = check(&strs(&sockudo_args(port, &[]))).await;
    assert_nagios_text(&run, "CRITICAL", 2);
    assert!(
        run.stdout
            .lines()
            .next()
            .unwrap()
            .contains("tcp failed: connection refused"),
        "{}",
        run.stdout
    );
}

/// `wss://` with a private CA: the TLS step is timed on its own when the CA is trusted
/// (this server never answers a subscribe, so the check then stops at `subscribe`, named);
/// without `--ca-file` the TLS step fails with the reason and the flag that fixes it.
#[tokio::test]
async fn wss_times_the_tls_step_and_names_a_refused_certificate() {
    use crate::support::tls_server::{self, Pki};
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.write_ca(dir.path());
    let server = tls_server::pusher_wss(&pki).await;
    let port = server.port.to_string();
    let base = [
        "--tls",
        "--host",
        "127.0.0.1",
        "--wss-port",
        &port,
        "--key",
        "k",
        "--json",
    ];

    let mut args = base.to_vec();
    args.extend(["--timeout", "5s", "--ca-file", ca.to_str().unwrap()]);
    let run = check(&args).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    let doc = run.json();
    assert_eq!(doc["target"], format!("wss://127.0.0.1:{port}"));
    for name in ["tcp", "tls", "websocket", "connection_established"] {
        assert_eq!(Run::step(&doc, name)["ok"], true, "{name}: {doc}");
    }
    let subscribe = Run::step(&doc, "subscribe");
    assert_eq!(subscribe["ok"], false);
    assert_eq!(subscribe["detail"], "no answer within the --timeout of 5s");

    let run = check(&base).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    let doc = run.json();
    let tls = Run::step(&doc, "tls");
    assert_eq!(tls["ok"], false);
    let detail = tls["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!(
            "TLS handshake with 127.0.0.1:{port} failed: unknown issuer"
        )) && detail.contains("--ca-file"),
        "{detail}"
    );
}
