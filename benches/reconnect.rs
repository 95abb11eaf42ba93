//! Reconnect cost, measured in-process over loopback: `cargo bench --bench reconnect`.
//!
//! 1. Recovery: the server goes away (fault proxy down + every socket reset) while the client
//!    holds 1, 100 or 1 000 channels (public, and private ones signed locally). When the
//!    client announces its next attempt (`connecting_in`), the proxy is restored; we time
//!    restore -> `connected` -> every channel resubscribed, and split off the back-off wait
//!    the client had already announced (pusher-js waits it out too).
//! 2. Silence: right after a pong (the last inbound frame) the proxy is cut; we time how long
//!    the client takes to notice (pong timeout) against activity + pong timeout.
//!
//! Without `--bench` (as under `cargo test --all-targets`) it runs a small smoke version.

#[path = "../tests/integration/support/inproc.rs"]
mod inproc;

use chanwatch_core::record::{Record, State};
use inproc::{Rig, Timings, Watch};
use std::time::{Duration, SystemTime};

const STEP: Duration = Duration::from_secs(60);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn since(later: SystemTime, earlier: SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or_default()
}

struct Recovery {
    label: String,
    backoff: Duration,
    to_connected: Duration,
    to_all: Duration,
}

/// Subscribe to `names`, take the server away, bring it back when the next attempt is
/// announced, and time the way back.
/// `skip_wait`: send `connect` right after the restore (a user pressing reconnect), which
/// cuts the announced back-off short; the smoke run uses it to stay fast.
async fn recovery(rig: &Rig, label: &str, names: &[String], skip_wait: bool) -> Recovery {
    let t = Timings {
        retry_cap: Duration::from_secs(1),
        ..Timings::short()
    };
    let mut t = t;
    // Quiet connections stay quiet for the whole measurement: no pings in the way.
    t.activity = Duration::from_secs(60);
    t.pong = Duration::from_secs(30);
    t.unavailable = Duration::from_secs(30);
    let mut w = rig.spawn_client(names, t);
    w.connected_and_subscribed(names, STEP).await;

    rig.proxy.down();
    rig.proxy.drop_all();
    let (announce, _) = w
        .until("connecting_in", STEP, |r| {
            matches!(r, Record::ConnectingIn { .. })
        })
        .await;
    let restored = SystemTime::now();
    rig.proxy.restore();
    let backoff = match announce.record {
        Record::ConnectingIn { .. } if skip_wait => {
            w.command(chanwatch_core::connection::Command::Connect)
                .await;
            Duration::ZERO
        }
        Record::ConnectingIn { delay_ms, .. } => {
            Duration::from_millis(delay_ms).saturating_sub(since(restored, announce.ts))
        }
        _ => unreachable!(),
    };
    let (connected, _) = w.wait_state(State::Connected, STEP).await;
    let mut waiting: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
    let mut last = connected.ts;
    while !waiting.is_empty() {
        let r = w.next("resubscriptions", STEP).await;
        match &r.record {
            Record::Subscribed { channel } => {
                waiting.remove(channel.as_str());
                last = r.ts;
            }
            Record::SubscriptionError { .. } => panic!("{:?}", r.record),
            _ => {}
        }
    }
    w.quit().await;
    Recovery {
        label: label.into(),
        backoff,
        to_connected: since(connected.ts, restored),
        to_all: since(last, restored),
    }
}

struct Silence {
    activity: Duration,
    pong: Duration,
    after_last_inbound: Vec<Duration>,
}

/// Cut right after a pong, `trials` times, and time the pong timeout from that last frame.
async fn silence(rig: &Rig, activity: Duration, pong: Duration, trials: usize) -> Silence {
    let t = Timings {
        activity,
        pong,
        ..Timings::short()
    };
    let names = vec!["silence".to_string()];
    let mut w: Watch = rig.spawn_client(&names, t);
    w.connected_and_subscribed(&names, STEP).await;
    let mut out = Vec::new();
    for _ in 0..trials {
        let (pong_rec, _) = w
            .until("a pong", STEP, |r| matches!(r, Record::Pong { .. }))
            .await;
        rig.proxy.cut();
        let (lost, _) = w
            .until("the pong timeout", STEP, |r| {
                matches!(
                    r,
                    Record::State {
                        previous: State::Connected,
                        ..
                    }
                )
            })
            .await;
        match &lost.record {
            Record::State { cause: Some(c), .. } if c.contains("pong timeout") => {}
            other => panic!("expected a pong timeout, got {other:?}"),
        }
        out.push(since(lost.ts, pong_rec.ts));
        rig.proxy.restore();
        w.connected_and_subscribed(&names, STEP).await;
    }
    w.quit().await;
    Silence {
        activity,
        pong,
        after_last_inbound: out,
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let rig = Rig::start("bench-secret").await;
        let public = |n: usize| -> Vec<String> { (0..n).map(|i| format!("bench-{i}")).collect() };
        let private =
            |n: usize| -> Vec<String> { (0..n).map(|i| format!("private-bench-{i}")).collect() };
        let runs: Vec<(String, Vec<String>)> = if full {
            vec![
                ("1 public".into(), public(1)),
                ("100 public".into(), public(100)),
                ("1000 public".into(), public(1000)),
                ("100 private (local signing)".into(), private(100)),
                ("1000 private (local signing)".into(), private(1000)),
            ]
        } else {
            vec![("10 public (smoke)".into(), public(10))]
        };
        println!(
            "Recovery: server back (proxy restore) -> connected -> every channel resubscribed"
        );
        println!(
            "{:<30} {:>14} {:>16} {:>18} {:>22}",
            "channels",
            "back-off left",
            "to connected",
            "to all subscribed",
            "all subscribed - wait"
        );
        for (label, names) in &runs {
            let r = recovery(&rig, label, names, !full).await;
            println!(
                "{:<30} {:>11.1} ms {:>13.1} ms {:>15.1} ms {:>19.1} ms",
                r.label,
                ms(r.backoff),
                ms(r.to_connected),
                ms(r.to_all),
                ms(r.to_all.saturating_sub(r.backoff))
            );
        }

        let settings: Vec<(Duration, Duration, usize)> = if full {
            vec![
                (Duration::from_millis(250), Duration::from_millis(200), 10),
                (Duration::from_secs(2), Duration::from_secs(1), 5),
            ]
        } else {
            vec![(Duration::from_millis(200), Duration::from_millis(150), 1)]
        };
        println!();
        println!(
            "Silence: proxy cut right after a pong; time from that last frame to the pong timeout"
        );
        println!(
            "{:<24} {:>14} {:>12} {:>12} {:>12}",
            "activity + pong", "expected", "min", "median", "max"
        );
        for (activity, pong, trials) in settings {
            let s = silence(&rig, activity, pong, trials).await;
            let mut d = s.after_last_inbound.clone();
            d.sort();
            println!(
                "{:<24} {:>11.0} ms {:>9.1} ms {:>9.1} ms {:>9.1} ms",
                format!("{:?} + {:?}", s.activity, s.pong),
                ms(s.activity + s.pong),
                ms(d[0]),
                ms(d[d.len() / 2]),
                ms(d[d.len() - 1])
            );
        }
    });
}
