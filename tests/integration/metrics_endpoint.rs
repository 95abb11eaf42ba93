//! `--metrics-listen`: the endpoint of the real binary against the built-in demo (no
//! outside server needed), the shipped monitoring files checked by promtool, a live scrape
//! of a client of sockudo linted by promtool, and a real Prometheus scraping one through a
//! fault proxy cut.

use crate::support::headless::{Headless, WAIT, sockudo_args};
use crate::support::prometheus::{Prometheus, promtool};
use crate::support::sockudo::{APP_ID, SECRET, Sockudo};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The metrics address the client said on stderr (port 0 resolved).
async fn metrics_addr(h: &Headless) -> String {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let context = h.context();
            if let Some(at) = context.find("metrics at http://") {
                let rest = &context[at + "metrics at http://".len()..];
                if let Some(end) = rest.find("/metrics") {
                    return rest[..end].to_string();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no metrics address on stderr\n{}", h.context()))
}

async fn get(url: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    let ty = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ty, r.text().await.unwrap())
}

/// The value of `series` (name and labels exactly as written) in a text exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    let prefix = format!("{series} ");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l[prefix.len()..].parse().ok())
}

/// Scrape until `pred` holds for the exposition (bounded).
async fn scrape_until(addr: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let url = format!("http://{addr}/metrics");
    let mut last = String::new();
    let found = tokio::time::timeout(WAIT, async {
        loop {
            last = get(&url, None).await.2;
            if pred(&last) {
                return last.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("the metrics never showed {what}; last scrape:\n{last}"))
}

/// Every `chanwatch_...` name a monitoring file uses.
fn names_in(path: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap();
    let mut names = BTreeSet::new();
    for (i, _) in text.match_indices("chanwatch_") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        names.insert(name);
    }
    names
}

#[tokio::test]
async fn the_demo_serves_metrics_readiness_and_help() {
    let args: Vec<String> = ["demo", "--headless", "--metrics-listen", "127.0.0.1:0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut h = Headless::spawn("demo-metrics", &args);
    h.wait_state("connected").await;
    let addr = metrics_addr(&h).await;
    // The demo probes every second: wait for a finished probe and a counted event.
    let text = scrape_until(&addr, "a probe and a connection", |t| {
        sample(t, "chanwatch_probes_total").is_some_and(|n| n >= 1.0)
            && sample(t, "chanwatch_connected") == Some(1.0)
    })
    .await;
    assert!(text.contains("# TYPE chanwatch_probe_latency_seconds histogram"));
    assert!(text.contains("chanwatch_reconnects_total{cause=\"abnormal_close\"} 0"));
    // The demo's presence channel, with its members counted.
    assert!(
        sample(
            &text,
            "chanwatch_presence_members{channel=\"presence-lobby\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // Never a socket id (digits.digits) in a label.
    let state = h
        .seen_or_wait_for("connected", |r| r["current"] == "connected")
        .await;
    let socket_id = state["socket_id"].as_str().unwrap().to_string();
    assert!(!text.contains(&socket_id), "{text}");

    let (status, ty, _) = get(&format!("http://{addr}/metrics"), None).await;
    assert_eq!(
        (status, ty.as_str()),
        (200, "text/plain; version=0.0.4; charset=utf-8")
    );
    let (status, ty, body) = get(
        &format!("http://{addr}/metrics"),
        Some("application/openmetrics-text; version=1.0.0"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(ty.starts_with("application/openmetrics-text"), "{ty}");
    assert!(body.ends_with("# EOF\n"));
    let (status, _, body) = get(&format!("http://{addr}/ready"), None).await;
    assert_eq!((status, body.as_str()), (200, "connected\n"));
    let (status, _, body) = get(&format!("http://{addr}/"), None).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("/metrics") && body.contains("/ready"),
        "{body}"
    );
    assert_eq!(get(&format!("http://{addr}/nope"), None).await.0, 404);
    let post = reqwest::Client::new()
        .post(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);

    // Every metric the shipped rules and dashboard use is one the binary exports (the
    // cluster's: a watcher of several nodes, below).
    for file in [
        "assets/monitoring/chanwatch-rules.yml",
        "assets/monitoring/grafana-dashboard.json",
    ] {
        for name in names_in(file)
            .into_iter()
            .filter(|n| !n.starts_with("chanwatch_cluster_"))
        {
            assert!(
                text.lines().any(|l| l.starts_with(&name)),
                "{file} uses {name}, which /metrics does not export"
            );
        }
    }

    // Disconnected: not ready.
    h.send(json!({"cmd": "disconnect"})).await;
    h.wait_state("disconnected").await;
    let (status, _, _) = get(&format!("http://{addr}/ready"), None).await;
    assert_eq!(status, 503);
    assert!(h.quit().await.success());
}

/// A watcher of several nodes (the demo cluster: no outside server): each connection's
/// series by node, the delivery matrix and the divergences as the cluster's gauges; a
/// killed node's API down and its member a ghost; every cluster metric the shipped rules
/// use exported.
#[tokio::test]
async fn a_demo_cluster_serves_metrics_per_node_and_of_the_cluster() {
    let args: Vec<String> = [
        "demo",
        "--nodes",
        "3",
        "--headless",
        "--stats-interval",
        "1s",
        "--metrics-listen",
        "127.0.0.1:0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut h = Headless::spawn("demo-cluster-metrics", &args);
    let addr = metrics_addr(&h).await;
    let text = scrape_until(&addr, "every node connected and a full matrix", |t| {
        ["a", "b", "c"].iter().all(|node| {
            sample(t, &format!("chanwatch_connected{{node=\"{node}\"}}")) == Some(1.0)
                && ["a", "b", "c"].iter().all(|to| {
                    sample(
                        t,
                        &format!(
                            "chanwatch_cluster_delivery_loss_ratio{{from=\"{node}\",to=\"{to}\"}}"
                        ),
                    ) == Some(0.0)
                })
        })
    })
    .await;
    // No connection series without its node; no one-connection probe.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.starts_with("chanwatch_cluster_") || line.contains("node=\""),
            "{line}"
        );
    }
    assert!(!text.contains("chanwatch_probe"), "{text}");
    let p50 = sample(
        &text,
        "chanwatch_cluster_delivery_latency_p50_seconds{from=\"a\",to=\"b\"}",
    )
    .unwrap();
    assert!((0.0..1.0).contains(&p50), "{p50}");
    assert_eq!(
        sample(&text, "chanwatch_cluster_adapter_failing"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "chanwatch_cluster_node_api_up{node=\"c\"}"),
        Some(1.0)
    );
    assert_eq!(get(&format!("http://{addr}/ready"), None).await.0, 200);
    for name in names_in("assets/monitoring/chanwatch-rules.yml")
        .into_iter()
        .filter(|n| n.starts_with("chanwatch_cluster_"))
    {
        assert!(
            text.lines().any(|l| l.starts_with(&name)),
            "chanwatch-rules.yml uses {name}, which a cluster's /metrics does not export"
        );
    }

    // kill_node c: its API stops answering, you@c stays on a's and b's rosters: a ghost
    // once it outlasts --ghost-after (5 s by default).
    h.send(json!({"cmd": "fault", "kind": "kill_node", "node": "c"}))
        .await;
    let killed = std::time::Instant::now();
    scrape_until(&addr, "node c's API down and c not connected", |t| {
        sample(t, "chanwatch_cluster_node_api_up{node=\"c\"}") == Some(0.0)
            && sample(t, "chanwatch_connected{node=\"c\"}") == Some(0.0)
    })
    .await;
    let api_down = killed.elapsed();
    let (status, _, body) = get(&format!("http://{addr}/ready"), None).await;
    assert_eq!((status, body.as_str()), (503, "not connected: c\n"));
    let text = scrape_until(&addr, "a ghost", |t| {
        sample(t, "chanwatch_cluster_ghosts").is_some_and(|n| n >= 1.0)
    })
    .await;
    eprintln!(
        "demo cluster metrics: kill_node c shown as api_up 0 after {api_down:?}, a ghost after {:?}",
        killed.elapsed()
    );
    assert!(
        sample(&text, "chanwatch_cluster_divergences{kind=\"members\"}").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(h.quit().await.success());
}

#[test]
fn a_bad_or_busy_listen_address_is_a_clear_error() {
    let out = crate::support::isolated::chanwatch()
        .args(["demo", "--headless", "--metrics-listen", "localhost"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--metrics-listen") && stderr.contains("IP address and a port"),
        "{stderr}"
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = crate::support::isolated::chanwatch()
        .args(["demo", "--headless", "--metrics-listen", &addr])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("--metrics-listen: cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing connected before the failure"
    );
}

#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs promtool: run with --features real-servers"
)]
#[test]
fn promtool_accepts_the_shipped_rules_and_scrape_config() {
    let rules = format!("{ROOT}/assets/monitoring/chanwatch-rules.yml");
    let (ok, out) = promtool(&["check", "rules", &rules], "");
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS: 12 rules found"), "{out}");
    // The alerts do what they say, the cluster's (cross-node cells only) among them.
    let tests = format!("{ROOT}/assets/monitoring/chanwatch-rules.test.yml");
    let (ok, out) = promtool(&["test", "rules", &tests], "");
    assert!(ok && out.contains("SUCCESS"), "{out}");
    let config = format!("{ROOT}/assets/monitoring/prometheus.yml");
    let (ok, out) = promtool(&["check", "config", &config], "");
    assert!(ok, "{out}");
}

fn probe_args(port: u16, extra: &[&str]) -> Vec<String> {
    let mut all = vec![
        "--app-id",
        APP_ID,
        "--secret",
        SECRET,
        "--metrics-listen",
        "127.0.0.1:0",
    ];
    all.extend_from_slice(extra);
    sockudo_args(port, &all)
}

#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo and promtool: run with --features real-servers"
)]
#[tokio::test]
async fn promtool_lints_a_live_scrape_against_sockudo() {
    let server = Sockudo::start();
    let args = probe_args(
        server.port(),
        &[
            "--probe",
            "200ms",
            "-s",
            "news",
            "--user-id",
            "watcher",
            "-s",
            "presence-room",
        ],
    );
    let mut c = Headless::spawn("lint", &args);
    c.wait_state("connected").await;
    // The event must find the subscription in place, or it is not counted.
    c.seen_or_wait_channel("subscribed", "news").await;
    let addr = metrics_addr(&c).await;
    server
        .api()
        .trigger(&["news".to_string()], "tick", "{\"n\":1}", None)
        .await
        .unwrap();
    let text = scrape_until(&addr, "probes, an event and a member", |t| {
        sample(t, "chanwatch_probes_total").is_some_and(|n| n >= 2.0)
            && sample(t, "chanwatch_events_received_total{channel=\"news\"}") == Some(1.0)
            && sample(t, "chanwatch_presence_members{channel=\"presence-room\"}") == Some(1.0)
    })
    .await;
    let (ok, out) = promtool(&["check", "metrics"], &text);
    assert!(
        ok && out.trim().is_empty(),
        "promtool check metrics:\n{out}\n---\n{text}"
    );
    assert!(c.quit().await.success());
}

#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo and prometheus: run with --features real-servers"
)]
#[tokio::test]
async fn prometheus_scrapes_a_probe_and_sees_a_cut_as_a_reconnect() {
    let server = Sockudo::start();
    // Short ping timings, so that the cut (silence) is noticed within seconds.
    let args = probe_args(
        server.port(),
        &[
            "--probe",
            "1s",
            "--fault-proxy",
            "--activity-timeout",
            "2s",
            "--pong-timeout",
            "2s",
        ],
    );
    let mut c = Headless::spawn("scraped", &args);
    c.wait_state("connected").await;
    let addr = metrics_addr(&c).await;
    let prom = Prometheus::start(std::slice::from_ref(&addr)).await;
    prom.wait_value("the target up", "up{job=\"chanwatch\"}", |v| v == 1.0)
        .await;
    let first = prom
        .wait_value(
            "finished probes",
            "chanwatch_probe_latency_seconds_count",
            |v| v >= 1.0,
        )
        .await;
    prom.wait_value(
        "the probe histogram growing",
        "chanwatch_probe_latency_seconds_count",
        |v| v >= first + 2.0,
    )
    .await;

    c.send(json!({"cmd": "fault", "kind": "cut"})).await;
    c.wait_for("the cut", |r| r["type"] == "fault").await;
    c.wait_for("the loss", |r| {
        r["type"] == "state" && r["current"] == "connecting"
    })
    .await;
    c.send(json!({"cmd": "fault", "kind": "restore"})).await;
    c.wait_state("connected").await;
    prom.wait_value(
        "the reconnect",
        "sum(chanwatch_reconnects_total{job=\"chanwatch\"})",
        |v| v >= 1.0,
    )
    .await;
    let by_cause = prom
        .query("chanwatch_reconnects_total{cause=\"pong_timeout\"}")
        .await;
    assert_eq!(by_cause.first().map(|(_, v)| *v), Some(1.0), "{by_cause:?}");
    prom.wait_value("the connection back", "chanwatch_connected", |v| v == 1.0)
        .await;
    assert!(c.quit().await.success());
}

/// A watcher of a real sockudo cluster (three nodes on Redis): a scrape with nodes that
/// promtool accepts, then Redis killed and the adapter shown failing.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo (with redis), redis-server and promtool: run with --features real-servers"
)]
#[tokio::test]
async fn promtool_lints_a_scrape_of_a_sockudo_cluster_and_it_shows_the_adapter_failing() {
    let mut cluster = crate::support::cluster::SockudoCluster::start(3);
    let mut args: Vec<String> = [
        "--headless",
        "--probe",
        "250ms",
        "--stats-interval",
        "1s",
        "--user-id",
        "watcher",
        "-s",
        "presence-room",
        "--metrics-listen",
        "127.0.0.1:0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(cluster.args());
    let mut c = Headless::spawn("cluster-metrics", &args);
    let addr = metrics_addr(&c).await;
    let pairs = |t: &str, pred: &dyn Fn(f64) -> bool| {
        ["a", "b", "c"].iter().all(|from| {
            ["a", "b", "c"].iter().all(|to| {
                sample(
                    t,
                    &format!(
                        "chanwatch_cluster_delivery_loss_ratio{{from=\"{from}\",to=\"{to}\"}}"
                    ),
                )
                .is_some_and(pred)
            })
        })
    };
    // Every node's roster counted. They agree on the three watchers, or the difference is a
    // divergence: sockudo 5.2 sometimes sends a socket `member_added` for a member that
    // joined through another node at the same moment before its own
    // `subscription_succeeded`, whose list leaves that member out, so that roster (as
    // pusher-js's would) never holds it.
    let text = scrape_until(&addr, "a full matrix and every roster", |t| {
        let rosters: Vec<Option<f64>> = ["a", "b", "c"]
            .iter()
            .map(|node| {
                sample(
                    t,
                    &format!(
                        "chanwatch_presence_members{{node=\"{node}\",channel=\"presence-room\"}}"
                    ),
                )
            })
            .collect();
        let members = sample(t, "chanwatch_cluster_divergences{kind=\"members\"}");
        pairs(t, &|loss| loss == 0.0)
            && rosters.iter().all(|n| n.is_some_and(|n| n >= 1.0))
            && (rosters.iter().all(|n| *n == Some(3.0)) || members.is_some_and(|n| n >= 1.0))
    })
    .await;
    let (ok, out) = promtool(&["check", "metrics"], &text);
    assert!(
        ok && out.trim().is_empty(),
        "promtool check metrics:\n{out}\n---\n{text}"
    );
    let p99 = sample(
        &text,
        "chanwatch_cluster_delivery_latency_p99_seconds{from=\"a\",to=\"c\"}",
    )
    .unwrap();
    eprintln!("sockudo cluster metrics: a->c p99 {:.1} ms", p99 * 1000.0);
    assert_eq!(
        sample(&text, "chanwatch_cluster_adapter_failing"),
        Some(0.0)
    );

    cluster.redis.kill();
    let killed = std::time::Instant::now();
    let bound = Duration::from_secs(60);
    let failing = tokio::time::timeout(
        bound,
        scrape_until_unbounded(&addr, |t| {
            sample(t, "chanwatch_cluster_adapter_failing") == Some(1.0)
        }),
    )
    .await
    .unwrap_or_else(|_| panic!("the adapter never shown failing\n{}", cluster.logs()));
    eprintln!(
        "sockudo cluster metrics: Redis killed, chanwatch_cluster_adapter_failing 1 after {:?}",
        killed.elapsed()
    );
    assert_eq!(
        sample(
            &failing,
            "chanwatch_cluster_delivery_loss_ratio{from=\"a\",to=\"b\"}"
        ),
        Some(1.0),
        "{failing}"
    );
    c.send(json!({"cmd": "quit"})).await;
    let _ = c.wait_exit().await;
}

/// Scrape until `pred` holds, for as long as the caller bounds it.
async fn scrape_until_unbounded(addr: &str, pred: impl Fn(&str) -> bool) -> String {
    let url = format!("http://{addr}/metrics");
    loop {
        let text = get(&url, None).await.2;
        if pred(&text) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The dashboard serves the same endpoint, and the terminal shows nothing of it.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[tokio::test]
async fn the_dashboard_serves_metrics_too() {
    let port = crate::support::sockudo::free_port();
    let addr = format!("127.0.0.1:{port}");
    let command = format!(
        "{} demo --metrics-listen {addr}",
        crate::support::isolated::BIN
    );
    let t = crate::support::tmux::Tmux::start("metrics", &command, 100, 30);
    t.wait_for_text("DEMO", WAIT);
    let text = scrape_until(&addr, "a probe while connected", |t| {
        sample(t, "chanwatch_probes_total").is_some_and(|n| n >= 1.0)
            && sample(t, "chanwatch_connected") == Some(1.0)
    })
    .await;
    assert!(text.contains("chanwatch_events_received_total{channel=\"ticker\"}"));
    assert_eq!(get(&format!("http://{addr}/ready"), None).await.0, 200);
    let screen = t.screen();
    assert!(!screen.contains("metrics at"), "{screen}");
    t.keys(&["q"]);
    t.wait_for("the program to exit", WAIT, |_| t.dead());
}
