//! The latency probe, the occupancy poll and `stats` records through the real headless
//! binary: against sockudo (a real server, with the fault proxy for loss), against an HTTP
//! stub that counts the probe's requests, and without credentials.

use crate::support::headless::{Headless, sockudo_args};
use crate::support::http_stub::{self, Reply};
use crate::support::sockudo::{APP_ID, SECRET, Sockudo};
use serde_json::Value;
use std::time::{Duration, Instant};

fn api_args() -> Vec<&'static str> {
    vec!["--app-id", APP_ID, "--secret", SECRET]
}

fn is_probe_with_latency(r: &Value) -> bool {
    r["type"] == "probe" && r["latency_ms"].is_u64()
}

/// Probes arrive with their latency and the API's time; while the fault proxy cuts the
/// socket they are reported lost; after the restore they arrive again. Probe events never
/// reach the record stream.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn probe_latency_and_loss_against_sockudo() {
    let server = Sockudo::start();
    let mut extra = api_args();
    // A long activity timeout: the cut is seen by the probe, not by a reconnect.
    extra.extend([
        "--probe",
        "300ms",
        "--fault-proxy",
        "--activity-timeout",
        "60s",
    ]);
    let mut c = Headless::spawn("probe", &sockudo_args(server.port(), &extra));
    c.wait_state("connected").await;
    c.seen_or_wait_channel("subscribed", "chanwatch-probe")
        .await;
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let r = c
            .wait_for("a probe with its latency", is_probe_with_latency)
            .await;
        assert!(r["api_ms"].is_u64(), "{r}");
        latencies.push(r["latency_ms"].as_u64().unwrap());
    }
    eprintln!("sockudo probe latencies (ms): {latencies:?}");

    c.send(serde_json::json!({"cmd":"fault","kind":"cut"}))
        .await;
    c.wait_for("the cut", |r| r["type"] == "fault").await;
    let lost = c
        .wait_for("a lost probe", |r| {
            r["type"] == "probe" && r["lost"] == true
        })
        .await;
    assert!(lost["latency_ms"].is_null(), "{lost}");
    c.send(serde_json::json!({"cmd":"fault","kind":"restore"}))
        .await;
    c.wait_for("the restore", |r| r["type"] == "fault").await;
    // Probes sent after the restore arrive within milliseconds again.
    c.wait_for("a fast probe after the restore", |r| {
        is_probe_with_latency(r) && r["latency_ms"].as_u64() < Some(1000)
    })
    .await;
    let leaked = c
        .seen()
        .iter()
        .filter(|r| r["type"] == "event" && r["event"] == "chanwatch-probe")
        .count();
    assert_eq!(leaked, 0, "probe events are hidden without --show-probe");
    assert!(c.quit().await.success());
}

/// Several clients on several channels; the watcher's `occupancy` records show each
/// channel with its subscription count, and presence channels with their user count.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn occupancy_against_sockudo() {
    let server = Sockudo::start();
    let port = server.port();
    let peer = |name: &str, user: &str, channels: &[&str]| {
        let mut extra: Vec<&str> = api_args();
        extra.extend(["--user-id", user]);
        for ch in channels {
            extra.extend(["-s", ch]);
        }
        Headless::spawn(name, &sockudo_args(port, &extra))
    };
    let mut a = peer("a", "ann", &["news", "presence-room"]);
    let mut b = peer("b", "bob", &["news", "presence-room", "ticker"]);
    for p in [&mut a, &mut b] {
        p.seen_or_wait_channel("subscribed", "presence-room").await;
        p.seen_or_wait_channel("subscribed", "news").await;
    }
    b.seen_or_wait_channel("subscribed", "ticker").await;

    let mut extra = api_args();
    extra.extend(["--occupancy-interval", "1s"]);
    let mut w = Headless::spawn("watcher", &sockudo_args(port, &extra));
    let count = |r: &Value, name: &str, field: &str| {
        r["channels"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == name))
            .and_then(|c| c[field].as_u64())
    };
    // sockudo caches its listing briefly: wait for a poll that shows everyone.
    let r = w
        .wait_for("occupancy with every channel counted", |r| {
            r["type"] == "occupancy"
                && count(r, "news", "subscription_count") == Some(2)
                && count(r, "presence-room", "subscription_count") == Some(2)
                && count(r, "presence-room", "user_count") == Some(2)
                && count(r, "ticker", "subscription_count") == Some(1)
        })
        .await;
    assert_eq!(count(&r, "news", "user_count"), None, "{r}");
    // One record per poll, about once a second.
    let started = Instant::now();
    let polls = w.drain_for(Duration::from_millis(3500)).await;
    let n = polls.iter().filter(|r| r["type"] == "occupancy").count();
    assert!((2..=5).contains(&n), "{n} polls in {:?}", started.elapsed());
    assert!(w.quit().await.success());
    a.quit().await;
    b.quit().await;
}

/// The probe's requests reach the API end to end, and never faster than one per interval:
/// its API here is a stub that counts requests (and answers `{}`, so the probes are lost,
/// which must not add requests). The exact rules (one per interval, one at a time, skipped
/// intervals) are tested under virtual time in `src/measures/tests.rs`; a loaded machine may
/// delay requests here, so only slack bounds are checked.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn the_probe_makes_one_request_per_interval() {
    let server = Sockudo::start();
    let (url, mut requests) = http_stub::serve("", |_| Reply::Answer(200, "{}".into())).await;
    let api_port = url.rsplit(':').next().unwrap().to_string();
    let mut extra = api_args();
    extra.extend(["--api-host", "127.0.0.1", "--api-port", &api_port]);
    extra.extend(["--probe", "200ms"]);
    let mut c = Headless::spawn("counted", &sockudo_args(server.port(), &extra));
    c.seen_or_wait_channel("subscribed", "chanwatch-probe")
        .await;
    // The first request proves the probe runs; then count over a measured span.
    tokio::time::timeout(Duration::from_secs(30), requests.recv())
        .await
        .expect("a probe request within 30 s")
        .expect("the stub runs");
    while requests.try_recv().is_ok() {}
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut seen = Vec::new();
    while let Ok(r) = requests.try_recv() {
        seen.push(r);
    }
    let span = started.elapsed();
    // One request may have been under way when counting began.
    let most = (span.as_millis() / 200) as usize + 2;
    assert!(
        seen.len() <= most,
        "{} requests in {span:?} at one per 200ms",
        seen.len()
    );
    for r in &seen {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/apps/app1/events")
        );
    }
    assert!(c.quit().await.success());
}

/// Without an app id and secret the probe says so once and does nothing else; `stats`
/// records still come.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs sockudo: run with --features real-servers"
)]
#[tokio::test]
async fn without_credentials_the_probe_says_so_once() {
    let server = Sockudo::start();
    let extra = ["--probe", "200ms", "--stats-interval", "1s", "-s", "news"];
    let mut c = Headless::spawn("no-api", &sockudo_args(server.port(), &extra));
    let e = c
        .wait_for("the probe's notice", |r| r["type"] == "command_error")
        .await;
    assert_eq!(e["cmd"], "probe", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("app id and secret"),
        "{e}"
    );
    let stats = c
        .wait_for("a stats record while connected", |r| {
            r["type"] == "stats" && r["state"] == "connected"
        })
        .await;
    assert!(stats["uptime_pct"].is_number(), "{stats}");
    c.drain_for(Duration::from_millis(1500)).await;
    let all = c.seen();
    let notices = all.iter().filter(|r| r["type"] == "command_error").count();
    assert_eq!(notices, 1);
    assert!(!all.iter().any(|r| r["type"] == "probe"));
    assert!(
        !all.iter().any(|r| r["channel"] == "chanwatch-probe"),
        "nothing subscribed"
    );
    assert!(c.quit().await.success());
}
