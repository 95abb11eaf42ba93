//! `chanwatch check`, the real binary: exit codes in the Nagios convention and what it
//! prints, against the demo server (in this process), a real sockudo (with the fault proxy
//! for a real delay), a closed port, a server that never answers, and bad flags.

use crate::support::cluster::{NAMES, SockudoCluster};
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

/// `chanwatch check` with a `--node` per node of a real sockudo cluster (Redis and three
/// nodes): `cluster.args()` and the user id that makes each node's member its own.
fn cluster_args(cluster: &SockudoCluster, extra: &[&str]) -> Vec<String> {
    let mut args = cluster.args();
    args.extend(["--user-id", "watcher"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A healthy three-node cluster: every node's steps, every publisher/receiver pair
/// delivered, exit 0, in the text and in the JSON.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo (with redis) and redis-server: run with --features real-servers"
)]
#[tokio::test]
async fn a_healthy_sockudo_cluster_is_ok_with_every_pair() {
    let cluster = SockudoCluster::start(3);
    let run = check(&strs(&cluster_args(&cluster, &[]))).await;
    assert_nagios_text(&run, "OK", 0);
    eprintln!("healthy cluster check:\n{}", run.stdout);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.contains(" - 3 nodes (a, b, c) connected in ")
            && first.contains("9/9 pairs delivered 27/27 probes"),
        "{first}"
    );
    for node in NAMES[..3].iter() {
        for step in [
            "tcp",
            "connection_established",
            "subscribe",
            "subscribe_private",
            "subscribe_presence",
            "publish",
        ] {
            let line = format!("\n{node}  {step:<22} ok ");
            assert!(run.stdout.contains(&line), "{line:?} in\n{}", run.stdout);
        }
        for to in NAMES[..3].iter() {
            let pair = format!("\npair {node}->{to}  delivered 3/3  p50 ");
            assert!(run.stdout.contains(&pair), "{pair:?} in\n{}", run.stdout);
            assert!(first.contains(&format!(" '{node}->{to}_p99'=")), "{first}");
        }
    }
    // Each node's presence member is its own.
    assert!(
        run.stdout.contains("ours (watcher@c) among them"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(sockudo::SECRET));

    let run = check(&strs(&cluster_args(
        &cluster,
        &["--json", "--samples", "5"],
    )))
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, cluster.logs());
    let doc = run.json();
    assert_eq!(doc["status"], "OK");
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().all(|n| n["connected"] == true), "{doc}");
    let pairs = doc["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 9);
    for p in pairs {
        assert_eq!(
            (p["sent"].as_u64(), p["received"].as_u64()),
            (Some(5), Some(5)),
            "{p}"
        );
        assert!(p["p99_ms"].as_f64().unwrap() > 0.0, "{p}");
    }
    let p99 = |same: bool| {
        pairs
            .iter()
            .filter(|p| (p["from"] == p["to"]) == same)
            .map(|p| p["p99_ms"].as_f64().unwrap())
            .fold(0.0, f64::max)
    };
    eprintln!(
        "healthy cluster check: slowest p99 {:.1} ms within a node, {:.1} ms across nodes, in {:.0} ms",
        p99(true),
        p99(false),
        doc["duration_ms"].as_f64().unwrap()
    );
}

/// Redis killed: each node delivers only its own publishes. CRITICAL, and the reason says
/// the adapter is failing.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo (with redis) and redis-server: run with --features real-servers"
)]
#[tokio::test]
async fn a_sockudo_cluster_without_its_redis_is_critical_adapter_failing() {
    let mut cluster = SockudoCluster::start(3);
    cluster.redis.kill();
    // Without its Redis, sockudo 5.2 takes about 4.3 s to establish a connection, never
    // answers a presence subscription nor a publish, and delivers a publish to its own
    // sockets only, after 3.5 s. The default --timeout of 10 s and --crit-latency of 2 s
    // (a probe is lost after 4 s) said so in our runs, with little to spare: a loaded
    // machine gets room.
    let run = check(&strs(&cluster_args(
        &cluster,
        &["--timeout", "20s", "--crit-latency", "3s"],
    )))
    .await;
    eprintln!("cluster check without Redis:\n{}", run.stdout);
    assert_nagios_text(&run, "CRITICAL", 2);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.contains(" - adapter failing: each node delivers only its own publishes"),
        "{first}\n{}",
        cluster.logs()
    );
    assert!(
        first.contains("; node a: subscribe_presence failed: no answer within "),
        "{first}"
    );
    for from in NAMES[..3].iter() {
        for to in NAMES[..3].iter() {
            let line = run
                .stdout
                .lines()
                .find(|l| l.starts_with(&format!("pair {from}->{to}  delivered ")))
                .unwrap_or_else(|| panic!("no pair {from}->{to} in\n{}", run.stdout));
            assert_eq!(from != to, line.contains(" delivered 0/"), "{line}");
            assert_eq!(from != to, line.ends_with(" loss 100%"), "{line}");
        }
    }
}

/// A node killed (`kill -9`): CRITICAL, the node named; the others still checked together.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo (with redis) and redis-server: run with --features real-servers"
)]
#[tokio::test]
async fn a_killed_node_of_a_sockudo_cluster_is_critical_and_named() {
    let mut cluster = SockudoCluster::start(3);
    cluster.nodes[2].kill();
    let run = check(&strs(&cluster_args(&cluster, &[]))).await;
    eprintln!("cluster check with node c killed:\n{}", run.stdout);
    assert_nagios_text(&run, "CRITICAL", 2);
    let first = run.stdout.lines().next().unwrap();
    assert!(first.contains(" - node c: tcp failed: "), "{first}");
    assert!(
        run.stdout.contains("\npair a->b  delivered 3/3")
            && run.stdout.contains("\npair b->a  delivered 3/3"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("pair a->c"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(
                "not checked: delivery through and to node c: not connected and subscribed to the public channel"
            ),
        "{}",
        run.stdout
    );
}

/// The check of several nodes against the built-in demo cluster (in this process, no
/// outside server): healthy, then node b cut off the bus (its pairs with the others deliver
/// nothing, named; a and c still reach each other: not the adapter), then node c killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_cluster_is_checked_pair_by_pair() {
    use chanwatch::demo::DemoCluster;
    use chanwatch::faults::FaultKind;
    let cluster = DemoCluster::start(DemoConfig::default(), 3).await.unwrap();
    let first = cluster.handle("a").unwrap();
    let mut args: Vec<String> = [
        "--no-tls",
        "--key",
        first.key(),
        "--app-id",
        first.app_id(),
        "--secret",
        first.secret(),
        "--samples",
        "2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for name in cluster.names() {
        let node = cluster.handle(name).unwrap();
        args.push("--node".into());
        args.push(format!("{name}=ws://{}", node.addr()));
    }
    let run = check(&strs(&args)).await;
    assert_nagios_text(&run, "OK", 0);
    assert!(
        run.stdout
            .lines()
            .next()
            .unwrap()
            .contains("9/9 pairs delivered 18/18 probes"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(first.secret()));

    cluster
        .inject(&FaultKind::Partition { node: "b".into() })
        .unwrap();
    let run = check(&strs(&args)).await;
    assert_nagios_text(&run, "CRITICAL", 2);
    let status = run.stdout.lines().next().unwrap();
    assert!(
        status.contains(" - nothing delivered on a->b (0/2), b->a (0/2), b->c (0/2), c->b (0/2) |"),
        "{}",
        run.stdout
    );
    assert!(!status.contains("adapter"), "{status}");
    assert!(
        run.stdout.contains("\npair a->c  delivered 2/2"),
        "{}",
        run.stdout
    );

    cluster.inject(&FaultKind::Restore).unwrap();
    cluster
        .inject(&FaultKind::KillNode { node: "c".into() })
        .unwrap();
    let mut json = args.clone();
    json.push("--json".into());
    let run = check(&strs(&json)).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    let doc = run.json();
    assert_eq!(doc["status"], "CRITICAL");
    assert!(
        doc["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("node c: tcp failed: connection refused"),
        "{doc}"
    );
    assert_eq!(doc["nodes"][2]["connected"], false);
    assert_eq!(doc["pairs"].as_array().unwrap().len(), 4, "{doc}");
}

/// One `--node` is one connection: the same report as `--host` and `--ws-port` give.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_is_checked_as_one_connection() {
    let server = DemoServer::start(DemoConfig::default()).await.unwrap();
    let port = server.addr().port();
    let creds = ["--app-id", server.app_id(), "--secret", server.secret()];
    let mut plain = server_args(port, server.key());
    plain.extend(creds.map(String::from));
    let mut node: Vec<String> = ["--no-tls", "--key", server.key()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    node.extend(creds.map(String::from));
    node.extend(["--node".to_string(), format!("a=ws://127.0.0.1:{port}")]);
    // Times, socket ids and random user ids aside, the text is the same.
    let shape = |text: &str| -> String {
        text.split(|c: char| c.is_whitespace())
            .map(|word| {
                if word.chars().any(|c| c.is_ascii_digit()) {
                    "#"
                } else {
                    word
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let a = check(&strs(&plain)).await;
    let b = check(&strs(&node)).await;
    assert_nagios_text(&a, "OK", 0);
    assert_nagios_text(&b, "OK", 0);
    assert_eq!(
        shape(&a.stdout),
        shape(&b.stdout),
        "{}\n---\n{}",
        a.stdout,
        b.stdout
    );
}
