//! An in-process rig for soak tests and reconnect/scale benchmarks: the demo server, the
//! fault proxy in front of it and a library client dialling the proxy, with a watcher that
//! consumes the client's records without keeping them (so long runs do not grow memory).
//!
//! Shared by tests/soak.rs and the benches (included with `#[path]`), hence `dead_code`.
#![allow(dead_code)]

use chanwatch::demo::{DemoConfig, DemoHandle, DemoServer};
use chanwatch::faults::{FaultHandle, FaultProxy};
use chanwatch_core::auth::{Authorizer, LocalSigner};
use chanwatch_core::client::{self, Authorizers, ClientConfig, ClientHandle};
use chanwatch_core::connection::{Command, Endpoint, MachineConfig};
use chanwatch_core::record::{Record, Stamped, State};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The presence user id the rig's local signer uses.
pub const USER: &str = "soak-user";

/// Client timings: how quickly silence is noticed and how long attempts may take.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub activity: Duration,
    pub pong: Duration,
    pub handshake: Duration,
    pub retry_cap: Duration,
    pub unavailable: Duration,
}

impl Timings {
    /// Short timings for soak runs: silence is noticed within about half a second.
    pub fn short() -> Timings {
        Timings {
            activity: Duration::from_millis(250),
            pong: Duration::from_millis(200),
            handshake: Duration::from_secs(1),
            retry_cap: Duration::from_secs(1),
            unavailable: Duration::from_secs(5),
        }
    }
}

/// Demo server (with `secret`) plus a fault proxy in front of it.
pub struct Rig {
    pub server: DemoHandle,
    pub proxy: FaultHandle,
}

impl Rig {
    pub async fn start(secret: &str) -> Rig {
        let server = DemoServer::start(DemoConfig {
            secret: secret.into(),
            ..DemoConfig::default()
        })
        .await
        .expect("demo server starts on loopback");
        let proxy = FaultProxy::start(server.addr())
            .await
            .expect("fault proxy starts on loopback");
        Rig { server, proxy }
    }

    /// A client config that dials the proxy and subscribes to `channels` at start.
    pub fn client_config(&self, channels: &[String], t: Timings) -> ClientConfig {
        let mut endpoint = Endpoint::new("127.0.0.1", self.server.key());
        endpoint.tls = false;
        endpoint.ws_port = self.server.addr().port();
        let mut machine = MachineConfig::new(endpoint);
        machine.activity_timeout = t.activity;
        machine.pong_timeout = t.pong;
        machine.handshake_timeout = t.handshake;
        machine.retry_cap = t.retry_cap;
        machine.unavailable_timeout = t.unavailable;
        // Connections here live a fraction of a second between faults: checking each
        // fault's own reconnect rule needs the storm guard (tested on its own) off.
        machine.young_connection = Duration::ZERO;
        ClientConfig {
            machine,
            subscribe: channels.to_vec(),
            auto_connect: true,
            connect_via: Some(self.proxy.addr()),
            dial: Default::default(),
            panic_once_connected: false,
        }
    }

    /// Signs private and presence channels locally with the server's key and secret.
    pub fn authorizers(&self) -> Arc<Authorizers> {
        let signer = LocalSigner::new(
            self.server.key(),
            self.server.secret(),
            Some(USER.into()),
            None,
        )
        .expect("a valid local signer");
        Arc::new(Authorizers {
            channel: Authorizer::Local(signer),
            user: None,
        })
    }

    pub fn spawn_client(&self, channels: &[String], t: Timings) -> Watch {
        Watch::new(client::spawn(
            self.client_config(channels, t),
            self.authorizers(),
        ))
    }
}

/// Consumes a client's records; remembers only what the waits need.
pub struct Watch {
    pub handle: ClientHandle,
    /// The latest `members` record per presence channel.
    pub last_members: Vec<Record>,
    pub records_seen: u64,
}

impl Watch {
    pub fn new(handle: ClientHandle) -> Watch {
        Watch {
            handle,
            last_members: Vec::new(),
            records_seen: 0,
        }
    }

    /// The next record, or a panic naming `what` after `bound`.
    pub async fn next(&mut self, what: &str, bound: Duration) -> Stamped {
        let r = tokio::time::timeout(bound, self.handle.records.recv())
            .await
            .unwrap_or_else(|_| panic!("no record within {bound:?} while waiting for {what}"))
            .unwrap_or_else(|| panic!("the client ended while waiting for {what}"));
        self.records_seen += 1;
        if let Record::Members { channel, .. } = &r.record {
            let channel = channel.clone();
            self.last_members
                .retain(|m| !matches!(m, Record::Members { channel: c, .. } if *c == channel));
            self.last_members.push(r.record.clone());
        }
        r
    }

    /// Consume records until one matches; returns it and every record before it (so callers
    /// can check what happened on the way). `bound` applies to the whole wait.
    pub async fn until(
        &mut self,
        what: &str,
        bound: Duration,
        pred: impl Fn(&Record) -> bool,
    ) -> (Stamped, Vec<Record>) {
        let end = Instant::now() + bound;
        let mut before = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let r = self.next(what, left).await;
            if pred(&r.record) {
                return (r, before);
            }
            before.push(r.record);
        }
    }

    pub async fn wait_state(&mut self, state: State, bound: Duration) -> (Stamped, Vec<Record>) {
        self.until(
            &format!("state {state:?}"),
            bound,
            |r| matches!(r, Record::State { current, .. } if *current == state),
        )
        .await
    }

    /// Wait for `connected`, then for every one of `channels` to be subscribed. Panics on a
    /// subscription error or a channel subscribed twice. Returns the records seen.
    pub async fn connected_and_subscribed(
        &mut self,
        channels: &[String],
        bound: Duration,
    ) -> Vec<Record> {
        let end = Instant::now() + bound;
        let (_, mut seen) = self.wait_state(State::Connected, bound).await;
        let mut waiting: HashSet<&str> = channels.iter().map(String::as_str).collect();
        while !waiting.is_empty() {
            let left = end.saturating_duration_since(Instant::now());
            let r = self
                .next(&format!("{} more subscriptions", waiting.len()), left)
                .await;
            match &r.record {
                Record::Subscribed { channel } => {
                    assert!(
                        waiting.remove(channel.as_str()),
                        "{channel} subscribed twice on one connection (or never asked for)"
                    );
                }
                Record::SubscriptionError { .. } => panic!("{:?}", r.record),
                Record::State { current, .. } if *current != State::Connected => {
                    panic!("connection lost while subscribing: {:?}", r.record)
                }
                _ => {}
            }
            seen.push(r.record);
        }
        seen
    }

    pub async fn command(&self, cmd: Command) {
        self.handle
            .commands
            .send(cmd)
            .await
            .expect("the client task is running");
    }

    /// Quit and wait (bounded) for the task to end.
    pub async fn quit(mut self) {
        let _ = self.handle.commands.send(Command::Quit).await;
        let drain = async {
            while self.handle.records.recv().await.is_some() {}
            self.handle.task.await
        };
        tokio::time::timeout(Duration::from_secs(10), drain)
            .await
            .expect("the client ends after quit")
            .expect("the client task did not panic");
    }
}

/// This process's resident set size in KiB (Linux), from /proc/self/status.
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
