//! Made-up traffic for the demo: a plan that decides what happens at each tick (pure,
//! seeded, testable) and a task that plays it into the server every [`TICK`].
//!
//! About 3 events a second in all: `ticker` prices twice a second, `news` headlines,
//! members joining and leaving `presence-lobby` (with an occasional `client-wave`),
//! `client-message`s on `private-chat`, encrypted balances on `private-encrypted-vault`
//! and a cached status on `cache-status`.
//!
//! On a demo cluster the actions take turns among the live nodes: each publish goes through
//! the next node, each simulated member joins through the next node (and leaves and waves
//! through the node it joined), so every node's bus is used.

use super::hub::{Hub, NodeId, Publish};
use super::server::Shared;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub const TICK: Duration = Duration::from_millis(500);

/// Every channel the generator feeds, in the order a dashboard might list them.
pub const CHANNELS: &[&str] = &[
    "ticker",
    "news",
    "presence-lobby",
    "private-chat",
    "private-encrypted-vault",
    "cache-status",
];

const SYMBOLS: &[(&str, f64)] = &[("BTC", 64_000.0), ("ETH", 3_100.0), ("SOL", 145.0)];
const HEADLINES: &[&str] = &[
    "Local server keeps every promise it makes",
    "Reconnect storms: why jitter matters",
    "Presence channel reaches record attendance",
    "Encrypted vault balance unchanged, sources say",
    "Ping answered in under a millisecond",
    "Cache channel remembers what you missed",
];
const PEOPLE: &[(&str, &str)] = &[
    ("ada", "Ada"),
    ("grace", "Grace"),
    ("linus", "Linus"),
    ("margaret", "Margaret"),
    ("ken", "Ken"),
    ("barbara", "Barbara"),
    ("dennis", "Dennis"),
];
const CHAT: &[&str] = &[
    "anyone seen the deploy logs?",
    "ship it",
    "ping",
    "pong",
    "who broke the build",
    "coffee?",
    "LGTM",
];

/// One thing the generator does to the server.
#[derive(Debug, Clone, PartialEq)]
pub enum TrafficAction {
    /// As through the HTTP API: encrypted and cached where the channel says so.
    Publish {
        channel: &'static str,
        event: &'static str,
        data: String,
    },
    /// As if a client had sent it: not cached, `user_id` on presence.
    Relay {
        channel: &'static str,
        event: &'static str,
        data: String,
        user_id: Option<String>,
    },
    Join {
        channel: &'static str,
        id: String,
        info: Value,
    },
    Leave {
        channel: &'static str,
        id: String,
    },
}

pub struct TrafficPlan {
    rng: StdRng,
    tick: u64,
    prices: Vec<f64>,
    /// Who is in the lobby now (simulated members only).
    lobby: Vec<usize>,
    balance: i64,
}

impl TrafficPlan {
    pub fn new(seed: u64) -> TrafficPlan {
        TrafficPlan {
            rng: StdRng::seed_from_u64(seed),
            tick: 0,
            prices: SYMBOLS.iter().map(|(_, p)| *p).collect(),
            lobby: Vec::new(),
            balance: 1_000,
        }
    }

    /// What happens before the first tick: three members in the lobby and a cached status,
    /// so a fresh subscriber sees members and a cache hit at once.
    pub fn start(&mut self) -> Vec<TrafficAction> {
        let mut out: Vec<TrafficAction> = (0..3).map(|i| self.join(i)).collect();
        out.push(self.status());
        out
    }

    /// The actions of the next tick.
    pub fn step(&mut self) -> Vec<TrafficAction> {
        self.tick += 1;
        let t = self.tick;
        let mut out = Vec::new();
        let i = (t as usize) % SYMBOLS.len();
        let change = self.rng.random_range(-0.01..0.01);
        self.prices[i] *= 1.0 + change;
        out.push(TrafficAction::Publish {
            channel: "ticker",
            event: "price",
            data: json!({
                "symbol": SYMBOLS[i].0,
                "price": (self.prices[i] * 100.0).round() / 100.0,
                "change_pct": (change * 10_000.0).round() / 100.0,
            })
            .to_string(),
        });
        if t.is_multiple_of(8) {
            let h = HEADLINES[self.rng.random_range(0..HEADLINES.len())];
            out.push(TrafficAction::Publish {
                channel: "news",
                event: "headline",
                data: json!({ "title": h, "n": t / 8 }).to_string(),
            });
        }
        if t.is_multiple_of(6) {
            out.push(self.lobby_change());
        }
        if t.is_multiple_of(12) && !self.lobby.is_empty() {
            let who = self.lobby[self.rng.random_range(0..self.lobby.len())];
            out.push(TrafficAction::Relay {
                channel: "presence-lobby",
                event: "client-wave",
                data: json!({ "emoji": "👋" }).to_string(),
                user_id: Some(PEOPLE[who].0.to_string()),
            });
        }
        if t.is_multiple_of(5) {
            let who = PEOPLE[self.rng.random_range(0..PEOPLE.len())].1;
            let text = CHAT[self.rng.random_range(0..CHAT.len())];
            out.push(TrafficAction::Relay {
                channel: "private-chat",
                event: "client-message",
                data: json!({ "from": who, "text": text }).to_string(),
                user_id: None,
            });
        }
        if t.is_multiple_of(10) {
            self.balance += self.rng.random_range(-50..=60);
            out.push(TrafficAction::Publish {
                channel: "private-encrypted-vault",
                event: "balance",
                data: json!({ "account": "demo", "balance": self.balance }).to_string(),
            });
        }
        if t.is_multiple_of(20) {
            out.push(self.status());
        }
        out
    }

    fn join(&mut self, who: usize) -> TrafficAction {
        self.lobby.push(who);
        let (id, name) = PEOPLE[who];
        TrafficAction::Join {
            channel: "presence-lobby",
            id: id.to_string(),
            info: json!({ "name": name }),
        }
    }

    /// Keep the lobby between 2 and 6 simulated members, otherwise join or leave at random.
    fn lobby_change(&mut self) -> TrafficAction {
        let absent: Vec<usize> = (0..PEOPLE.len())
            .filter(|i| !self.lobby.contains(i))
            .collect();
        let leave = match self.lobby.len() {
            0..=2 => false,
            6.. => true,
            _ => self.rng.random_bool(0.5),
        };
        if leave || absent.is_empty() {
            let idx = self.rng.random_range(0..self.lobby.len());
            let who = self.lobby.swap_remove(idx);
            TrafficAction::Leave {
                channel: "presence-lobby",
                id: PEOPLE[who].0.to_string(),
            }
        } else {
            let who = absent[self.rng.random_range(0..absent.len())];
            self.join(who)
        }
    }

    fn status(&mut self) -> TrafficAction {
        TrafficAction::Publish {
            channel: "cache-status",
            event: "status",
            data: json!({
                "ok": true,
                "uptime_s": self.tick * TICK.as_millis() as u64 / 1000,
                "lobby": self.lobby.len(),
            })
            .to_string(),
        }
    }
}

/// The running generator; dropping it stops it.
pub struct Traffic {
    task: JoinHandle<()>,
}

impl Traffic {
    pub(crate) fn spawn(shared: Arc<Shared>) -> Traffic {
        let task = tokio::spawn(async move {
            let mut plan = TrafficPlan::new(rand::random());
            let mut turns = Turns::default();
            apply(&shared, &mut turns, plan.start());
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval.tick().await;
            while !shared.is_stopped() {
                interval.tick().await;
                apply(&shared, &mut turns, plan.step());
            }
        });
        Traffic { task }
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Which node the next action goes through: the live nodes in turn.
#[derive(Debug, Default)]
struct Turns {
    next: usize,
}

impl Turns {
    /// The next live node after the last one used, if any lives.
    fn pick(&mut self, hub: &Hub) -> Option<NodeId> {
        let n = hub.node_count();
        let node = (0..n)
            .map(|i| (self.next + i) % n)
            .find(|&k| hub.is_alive(k))?;
        self.next = (node + 1) % n;
        Some(node)
    }
}

fn apply(shared: &Shared, turns: &mut Turns, actions: Vec<TrafficAction>) {
    let mut inner = shared.lock();
    for action in actions {
        let hub = &mut inner.hub;
        let deliveries = match action {
            TrafficAction::Publish {
                channel,
                event,
                data,
            } => {
                let Some(node) = turns.pick(hub) else {
                    continue;
                };
                hub.publish_via(
                    node,
                    &Publish {
                        name: event.into(),
                        data,
                        channels: vec![channel.into()],
                        exclude_socket: None,
                    },
                )
                .unwrap_or_else(|e| {
                    tracing::warn!("demo traffic refused: {}", e.message);
                    Vec::new()
                })
            }
            TrafficAction::Relay {
                channel,
                event,
                data,
                user_id,
            } => {
                // A member talks through the node it joined; anyone else through the next.
                let joined = user_id
                    .as_deref()
                    .and_then(|id| hub.simulated_node(channel, id))
                    .filter(|&k| hub.is_alive(k));
                let Some(node) = joined.or_else(|| turns.pick(hub)) else {
                    continue;
                };
                hub.relay_via(node, channel, event, &data, user_id.as_deref())
            }
            TrafficAction::Join { channel, id, info } => {
                let Some(node) = turns.pick(hub) else {
                    continue;
                };
                hub.join_simulated_via(node, channel, &id, info)
            }
            TrafficAction::Leave { channel, id } => hub.leave_simulated(channel, &id),
        };
        inner.dispatch(deliveries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lobby_stays_between_two_and_six_and_every_channel_gets_traffic() {
        let mut plan = TrafficPlan::new(7);
        let mut seen = std::collections::BTreeSet::new();
        let mut events = plan.start().len();
        for _ in 0..400 {
            let actions = plan.step();
            events += actions.len();
            for a in &actions {
                let ch = match a {
                    TrafficAction::Publish { channel, .. }
                    | TrafficAction::Relay { channel, .. }
                    | TrafficAction::Join { channel, .. }
                    | TrafficAction::Leave { channel, .. } => *channel,
                };
                seen.insert(ch);
            }
            assert!((2..=6).contains(&plan.lobby.len()), "{}", plan.lobby.len());
        }
        let expected: std::collections::BTreeSet<&str> = CHANNELS.iter().copied().collect();
        assert_eq!(seen, expected);
        // modest: under 4 actions a tick on average
        assert!(events < 400 * 4, "{events}");
    }

    #[test]
    fn relayed_presence_events_name_a_present_member() {
        let mut plan = TrafficPlan::new(1);
        let mut present: std::collections::BTreeSet<String> = Default::default();
        let mut all = plan.start();
        for _ in 0..200 {
            all.extend(plan.step());
        }
        for a in all {
            match a {
                TrafficAction::Join { id, .. } => assert!(present.insert(id)),
                TrafficAction::Leave { id, .. } => assert!(present.remove(&id)),
                TrafficAction::Relay {
                    channel: "presence-lobby",
                    user_id,
                    ..
                } => assert!(present.contains(&user_id.unwrap())),
                _ => {}
            }
        }
    }

    #[test]
    fn actions_take_turns_among_the_live_nodes() {
        let app = crate::demo::DemoConfig::default().app();
        let mut hub = Hub::cluster(app.clone(), 3);
        let mut turns = Turns::default();
        let picks: Vec<_> = (0..4).map(|_| turns.pick(&hub)).collect();
        assert_eq!(picks, [Some(0), Some(1), Some(2), Some(0)]);
        hub.kill(1);
        let picks: Vec<_> = (0..3).map(|_| turns.pick(&hub)).collect();
        assert_eq!(picks, [Some(2), Some(0), Some(2)]);
        let mut one = Hub::new(app);
        let mut turns = Turns::default();
        assert!(
            (0..3).all(|_| turns.pick(&one) == Some(0)),
            "one server: node 0"
        );
        one.kill(0);
        assert_eq!(turns.pick(&one), None);
    }
}
