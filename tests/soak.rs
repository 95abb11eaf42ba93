//! Soak: 200 forced disconnects of every kind (proxy drop, proxy cut, server close 4200 and
//! 4100) against the in-process demo server, through the fault proxy, with short timings.
//! After every one the client must be connected again with every channel subscribed exactly
//! once; at the end the server must see one connection and one subscriber per channel, the
//! presence members must be rebuilt, and neither tokio tasks nor this process's memory may
//! have grown.
//!
//! Bounded: every wait has a limit; the whole run takes about a minute on two busy cores.

#[path = "integration/support/inproc.rs"]
pub mod inproc;
mod support {
    pub use super::inproc;
}

use chanwatch_core::client::{self, ClientConfig};
use chanwatch_core::connection::{Command, Endpoint, MachineConfig};
use chanwatch_core::record::{Record, State};
use std::time::{Duration, Instant};
use support::inproc::{Rig, Timings, USER, Watch, rss_kib};

const SECRET: &str = "soak-secret";
/// Any single step (a reconnect and resubscribe) must finish within this; only a hang or a
/// real bug gets near it.
const STEP: Duration = Duration::from_secs(20);
const PRESENCE: &str = "presence-soak";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Proxy resets the TCP connection: pusher-js waits 1 s, then reconnects.
    Drop,
    /// Proxy stops forwarding: found by ping + pong timeout, then reconnect at once.
    Cut,
    /// Server closes with 4200: reconnect at once.
    Close4200,
    /// Server closes with 4100: back off at least 1 s.
    Close4100,
}

/// 200 disconnects. 4200 and cut reconnect at once (a cut costs activity + pong timeout to
/// notice); drop and 4100 wait out the 1 s back-off floor, which a `connect` command (a user
/// pressing reconnect) skips for three in four of them, so the run stays near a minute.
fn schedule() -> Vec<Kind> {
    let counts = [
        (Kind::Close4200, 70),
        (Kind::Cut, 50),
        (Kind::Drop, 45),
        (Kind::Close4100, 35),
    ];
    let mut left: Vec<(Kind, usize)> = counts.to_vec();
    let mut out = Vec::new();
    // Round-robin so every kind follows every other kind many times.
    while left.iter().any(|(_, n)| *n > 0) {
        for (kind, n) in left.iter_mut() {
            if *n > 0 {
                out.push(*kind);
                *n -= 1;
            }
        }
    }
    out
}

fn channels() -> Vec<String> {
    [
        "soak-public-a",
        "soak-public-b",
        "cache-soak",
        "private-soak",
        PRESENCE,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// A second presence member connected straight to the server (no proxy): the soak client
/// must see it in every rebuilt member list.
async fn witness(rig: &Rig) -> Watch {
    let mut endpoint = Endpoint::new("127.0.0.1", rig.server.key());
    endpoint.tls = false;
    endpoint.ws_port = rig.server.addr().port();
    let signer = chanwatch_core::auth::LocalSigner::new(
        rig.server.key(),
        rig.server.secret(),
        Some("witness".into()),
        None,
    )
    .unwrap();
    let auth = std::sync::Arc::new(chanwatch_core::client::Authorizers {
        channel: chanwatch_core::auth::Authorizer::Local(signer),
        user: None,
    });
    let mut w = Watch::new(client::spawn(
        ClientConfig {
            machine: MachineConfig {
                // Server closes hit the witness too, a fraction of a second apart: like the
                // soak client it must come straight back, so the storm guard is off here.
                young_connection: std::time::Duration::ZERO,
                ..MachineConfig::new(endpoint)
            },
            subscribe: vec![PRESENCE.into()],
            auto_connect: true,
            connect_via: None,
            dial: Default::default(),
            panic_once_connected: false,
        },
        auth,
    ));
    w.connected_and_subscribed(&[PRESENCE.into()], STEP).await;
    w
}

/// Inject one fault and wait until the client has noticed it (left `connected`); returns the
/// records seen on the way, the instant the fault was injected and when it was noticed.
async fn inject(rig: &Rig, w: &mut Watch, kind: Kind) -> (Vec<Record>, Instant, Instant) {
    let at = Instant::now();
    match kind {
        Kind::Drop => rig.proxy.drop_all(),
        Kind::Cut => rig.proxy.cut(),
        Kind::Close4200 => assert!(rig.server.close_all(4200, "reconnect now") >= 1),
        Kind::Close4100 => assert!(rig.server.close_all(4100, "over capacity") >= 1),
    }
    let (left, mut seen) = w
        .until(&format!("the client to notice {kind:?}"), STEP, |r| {
            matches!(
                r,
                Record::State {
                    previous: State::Connected,
                    ..
                }
            )
        })
        .await;
    seen.push(left.record);
    (seen, at, Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_disconnects_leave_one_clean_connection() {
    let rig = Rig::start(SECRET).await;
    let channels = channels();
    let t = Timings::short();
    let wit = witness(&rig).await;
    let mut w = rig.spawn_client(&channels, t);
    w.connected_and_subscribed(&channels, STEP).await;

    // The witness only has to keep its records flowing; it tracks whether it sees our user
    // present (server closes hit the witness too, so it also rebuilds from `members`).
    let chanwatch_core::client::ClientHandle {
        commands: witness_commands,
        records: mut witness_rx,
        task: witness_task,
    } = wit.handle;
    let (seen_tx, mut seen_by_witness) = tokio::sync::watch::channel((true, 0u32));
    let witness_records = tokio::spawn(async move {
        while let Some(r) = witness_rx.recv().await {
            match r.record {
                Record::Members { members, .. } => {
                    let here = members.iter().any(|m| m.id == USER);
                    seen_tx.send_modify(|s| s.0 = here);
                }
                Record::MemberAdded { id, .. } if id == USER => {
                    seen_tx.send_modify(|s| *s = (true, s.1 + 1))
                }
                Record::MemberRemoved { id, .. } if id == USER => {
                    seen_tx.send_modify(|s| s.0 = false)
                }
                _ => {}
            }
        }
    });

    let tasks_before = alive_tasks();
    let rss_before = rss_kib();
    let started = Instant::now();
    let plan = schedule();
    assert_eq!(plan.len(), 200);
    let mut real_waits = 0;
    let mut nth_of_kind = std::collections::HashMap::<&'static str, usize>::new();
    let mut slowest_cut = Duration::ZERO;

    for (i, kind) in plan.iter().copied().enumerate() {
        let name: &'static str = match kind {
            Kind::Drop => "drop",
            Kind::Cut => "cut",
            Kind::Close4200 => "4200",
            Kind::Close4100 => "4100",
        };
        let n = nth_of_kind.entry(name).or_default();
        *n += 1;
        let wait_for_real = n.is_multiple_of(4);

        let (mut seen, at, noticed) = inject(&rig, &mut w, kind).await;
        if kind == Kind::Cut {
            let took = noticed - at;
            slowest_cut = slowest_cut.max(took);
            // Never before the pong timeout could have run; how soon after is the machine's
            // timers' business (tested under virtual time), not this loaded machine's.
            assert!(took >= t.pong, "#{i}: a cut was noticed after {took:?}");
            assert!(
                seen.iter().any(|r| matches!(r, Record::State { cause: Some(c), .. } if c.contains("pong timeout"))),
                "#{i}: a cut is found by the pong timeout: {seen:?}"
            );
            rig.proxy.restore();
        }
        let waits = matches!(kind, Kind::Drop | Kind::Close4100);
        if waits {
            // A dropped connection and 4100 announce a wait of at least the 1 s floor.
            let (wait, before) = w
                .until(&format!("#{i} connecting_in"), STEP, |r| {
                    matches!(r, Record::ConnectingIn { .. })
                })
                .await;
            seen.extend(before);
            match wait.record {
                Record::ConnectingIn { delay_ms, .. } => {
                    assert!(delay_ms >= 1000, "#{i} {kind:?}: waits {delay_ms} ms")
                }
                _ => unreachable!(),
            }
            if wait_for_real {
                real_waits += 1;
            } else {
                w.command(Command::Connect).await;
            }
        }
        let after = w.connected_and_subscribed(&channels, STEP).await;
        if !waits {
            assert!(
                !seen
                    .iter()
                    .chain(after.iter())
                    .any(|r| matches!(r, Record::ConnectingIn { .. })),
                "#{i} {kind:?}: reconnects without waiting"
            );
        }
        for r in seen.iter().chain(after.iter()) {
            assert!(
                !matches!(r, Record::SubscriptionError { .. }),
                "#{i} {kind:?}: {r:?}"
            );
        }
    }
    let took = started.elapsed();

    // Let the old sockets finish closing, then look at the server's side.
    let settled = tokio::time::timeout(STEP, async {
        loop {
            let ok = rig.server.connection_count() == 2 // us and the witness
                && channels.iter().all(|c| {
                    let want = if c == PRESENCE { 2 } else { 1 };
                    rig.server.subscriber_count(c) == want
                });
            if ok {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        settled.is_ok(),
        "server side after the soak: {} connections, subscribers {:?}",
        rig.server.connection_count(),
        channels
            .iter()
            .map(|c| (c, rig.server.subscriber_count(c)))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        rig.proxy.connection_count(),
        1,
        "one relayed connection left"
    );

    // Presence rebuilt on the last connection: us and the witness, nobody twice.
    let members = w
        .last_members
        .iter()
        .find(|m| matches!(m, Record::Members { channel, .. } if channel == PRESENCE))
        .expect("a members record for the presence channel");
    match members {
        Record::Members {
            me, count, members, ..
        } => {
            assert_eq!(me.as_ref().map(|m| m.id.as_str()), Some(USER));
            assert_eq!(*count, 2, "{members:?}");
            let mut ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
            ids.sort();
            assert_eq!(ids, ["soak-user", "witness"]);
        }
        _ => unreachable!(),
    }

    // No task growth: whatever the disconnects spawned has ended (sockets, relays, auth calls).
    let task_settle = tokio::time::timeout(STEP, async {
        loop {
            if alive_tasks() <= tasks_before + 2 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        task_settle.is_ok(),
        "tokio tasks grew from {tasks_before} to {}",
        alive_tasks()
    );

    // No unbounded memory growth: 200 reconnects may cost allocator slack, not megabytes each.
    if let (Some(before), Some(after)) = (rss_before, rss_kib()) {
        assert!(
            after < before + 50 * 1024,
            "RSS grew from {before} KiB to {after} KiB"
        );
        eprintln!(
            "soak: 200 disconnects in {took:?} ({real_waits} real back-off waits, slowest cut \
             noticed after {slowest_cut:?}); tasks {tasks_before} -> {}; RSS {before} -> {after} KiB; \
             {} records",
            alive_tasks(),
            w.records_seen
        );
    }

    // The other member saw us come back (at least once per connection it did not lose
    // itself) and sees us present now; after our quit it sees us leave.
    let (present, joins) = *seen_by_witness.borrow();
    assert!(
        present && joins >= 50,
        "witness: present {present}, {joins} joins"
    );
    w.quit().await;
    let left = tokio::time::timeout(STEP, seen_by_witness.wait_for(|s| !s.0))
        .await
        .is_ok();
    assert!(left, "the witness never saw our user leave");
    let _ = witness_commands.send(Command::Quit).await;
    tokio::time::timeout(STEP, async {
        witness_records.await.unwrap();
        witness_task.await.unwrap();
    })
    .await
    .expect("the witness ends after quit");
}
