//! Several nodes of one deployment at once: one full session per node (its own client,
//! state, socket id, subscriptions, back-off and timeline), joined into one
//! [`SessionHandle`] whose records carry their node. Beside them the cluster probe publishes
//! one message through each node's HTTP API per round and watches every node's socket
//! receive it (`cluster::matrix`), and the nodes' presence rosters, each node's roster with
//! the user list of its own HTTP API, and the APIs' counts are compared
//! (`cluster::presence`); the results are `delivery` and `divergence` records.

use super::{Command, Extras, SessionHandle};
use crate::cluster::matrix::{self, Matrix};
use crate::cluster::presence::{ChannelCount, Rosters};
use crate::cluster::{Divergence, DivergenceKind};
use crate::faults::FaultKind;
use crate::session_record::{SessionRecord, Stamped};
use chanwatch_core::client::{
    AuthProvider, COMMANDS_CAPACITY, ClientConfig, RECORDS_CAPACITY, batch,
};
use chanwatch_core::http_api::HttpApi;
use chanwatch_core::record::{NodeName, Record, State};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;

/// One node to watch: how to reach its socket and its HTTP API, and what stands beside
/// its client.
pub struct Node {
    pub name: NodeName,
    pub client: ClientConfig,
    /// Its own authorizers: the same app on every node, but each node's connection is a
    /// presence member of its own.
    pub auth: Arc<dyn AuthProvider>,
    /// The node's own HTTP API, which the delivery probe publishes through.
    pub api: Option<HttpApi>,
    pub extras: Extras,
}

impl Node {
    /// A node whose client also subscribes to the probe channel.
    pub fn new(
        name: &str,
        mut client: ClientConfig,
        auth: Arc<dyn AuthProvider>,
        api: Option<HttpApi>,
    ) -> Node {
        if !client.subscribe.iter().any(|c| c == PROBE_CHANNEL) {
            client.subscribe.push(PROBE_CHANNEL.to_string());
        }
        Node {
            name: name.into(),
            client,
            auth,
            extras: Extras {
                api: api.clone(),
                ..Extras::default()
            },
            api,
        }
    }
}

/// How the nodes are compared.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOptions {
    /// One probe round (a publish through each node) this often.
    pub probe_interval: Duration,
    /// A probe not received this long after its publish began is lost.
    pub probe_timeout: Duration,
    /// Rounds a delivery cell is computed over.
    pub window: u32,
    /// `delivery` and `divergence` records this often (`--stats-interval`).
    pub report_interval: Duration,
    /// A member difference that lasts longer than this is a ghost (`--ghost-after`).
    pub ghost_after: Duration,
    /// The nodes' HTTP APIs are asked for the occupied channels' counts, and each node's
    /// for the users of the presence channels it has a roster of, this often
    /// (`--occupancy-interval`).
    pub occupancy_interval: Duration,
}

/// Publishes through one node awaiting their answer at most: enough for every round within
/// the probe timeout at the shortest probe interval the tests use.
const MAX_IN_FLIGHT: u32 = 32;

/// Presence channels whose users one node's HTTP API is asked for per poll; with more, the
/// next poll takes the next ones.
const USERS_PER_POLL: usize = 16;

/// The channel every node subscribes to for the delivery probe.
pub const PROBE_CHANNEL: &str = "chanwatch-cluster-probe";
/// The probe's event name.
pub const PROBE_EVENT: &str = "chanwatch:cluster-probe";

impl Default for ClusterOptions {
    fn default() -> ClusterOptions {
        ClusterOptions {
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_secs(5),
            window: 30,
            report_interval: Duration::from_secs(10),
            ghost_after: Duration::from_secs(5),
            occupancy_interval: Duration::from_secs(5),
        }
    }
}

/// Everything a cluster session is started with.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub options: ClusterOptions,
    /// Faults that act on a whole node (kill, partition, keep a member), when the nodes
    /// are the built-in demo's.
    pub demo: Option<crate::demo::DemoCluster>,
}

/// Start every node's client and session and join them into one session.
pub fn start(cluster: Cluster) -> SessionHandle {
    let Cluster {
        nodes,
        options,
        demo,
    } = cluster;
    let names: Vec<NodeName> = nodes.iter().map(|n| n.name.clone()).collect();
    let mut sessions = Vec::with_capacity(nodes.len());
    let mut apis = Vec::with_capacity(nodes.len());
    for node in nodes {
        let client = chanwatch_core::client::spawn(node.client, node.auth);
        sessions.push(super::wrap(client, node.extras));
        apis.push(node.api);
    }
    let (commands, command_rx) = mpsc::channel(COMMANDS_CAPACITY);
    let (record_tx, records) = batch::channel(RECORDS_CAPACITY);
    let joined = Joined::new(names, apis, options, demo, record_tx);
    let task = tokio::spawn(joined.run(sessions, command_rx));
    SessionHandle {
        commands,
        records,
        task,
    }
}

/// A batch from node `.0`, or `None` when that node's session has ended.
type NodeBatch = (usize, Option<Vec<Stamped>>);

/// What a publish or a poll through a node's HTTP API came to, back from its task.
enum ApiAnswer {
    Published {
        node: usize,
        round: u64,
        outcome: Result<(), PublishError>,
    },
    Counts {
        node: usize,
        counts: Option<Vec<crate::session_record::OccupiedChannel>>,
    },
    /// The users of a presence channel; `None` when the API did not answer in time or
    /// refused.
    Users {
        node: usize,
        channel: String,
        users: Option<Vec<String>>,
    },
}

/// Why a probe's publish failed: the API refused it or could not be reached (nothing was
/// published), or it did not answer in time (what it delivered still counts).
enum PublishError {
    Failed(String),
    Unanswered(String),
}

/// The joined session: where every node's records go, and the comparisons between nodes.
struct Joined {
    names: Vec<NodeName>,
    apis: Vec<Option<HttpApi>>,
    options: ClusterOptions,
    demo: Option<crate::demo::DemoCluster>,
    out: batch::RecordSender<Stamped>,
    matrix: Matrix,
    rosters: Rosters,
    /// Publishes through each node still awaiting their answer: a node whose API hangs
    /// (sockudo's does without its Redis) still gets a publish every round, up to
    /// [`MAX_IN_FLIGHT`].
    publishing: Vec<u32>,
    /// Pollers of each node's HTTP API for the occupied channels' counts.
    pollers: Vec<Option<crate::occupancy::Poller>>,
    polling: Vec<bool>,
    /// Per node: user listings asked and not answered yet (a node is asked again only
    /// once all are in), and where the next poll starts among its presence channels.
    users_polling: Vec<usize>,
    users_next: Vec<usize>,
    /// Some node has subscribed to the probe channel: rounds may begin.
    probing: bool,
    answers_tx: mpsc::Sender<ApiAnswer>,
    answers_rx: Option<mpsc::Receiver<ApiAnswer>>,
    /// Nobody reads the records any more.
    gone: bool,
    /// The differences the last report listed.
    reported: std::collections::HashSet<DivergenceKey>,
}

/// What tells one difference from another across reports.
type DivergenceKey = (String, DivergenceKind, Option<String>);

fn divergence_key(d: &Divergence) -> DivergenceKey {
    (d.channel.clone(), d.kind, d.member.clone())
}

impl Joined {
    fn new(
        names: Vec<NodeName>,
        apis: Vec<Option<HttpApi>>,
        options: ClusterOptions,
        demo: Option<crate::demo::DemoCluster>,
        out: batch::RecordSender<Stamped>,
    ) -> Joined {
        let n = names.len();
        let (answers_tx, answers_rx) = mpsc::channel((4 + USERS_PER_POLL) * n.max(1));
        Joined {
            matrix: Matrix::new(&names, options.window, options.probe_timeout),
            rosters: Rosters::new(&names, options.ghost_after),
            pollers: apis
                .iter()
                .map(|a| a.clone().map(crate::occupancy::Poller::new))
                .collect(),
            polling: vec![false; n],
            users_polling: vec![0; n],
            users_next: vec![0; n],
            publishing: vec![0; n],
            probing: false,
            names,
            apis,
            options,
            demo,
            out,
            answers_tx,
            answers_rx: Some(answers_rx),
            gone: false,
            reported: Default::default(),
        }
    }

    async fn run(mut self, sessions: Vec<SessionHandle>, mut commands: mpsc::Receiver<Command>) {
        let n = sessions.len();
        let (batch_tx, mut batches) = mpsc::channel::<NodeBatch>(n.max(1) * 4);
        let mut to_nodes = Vec::with_capacity(n);
        let mut tasks = Vec::with_capacity(n);
        for (i, session) in sessions.into_iter().enumerate() {
            let SessionHandle {
                commands,
                mut records,
                task,
            } = session;
            to_nodes.push(commands);
            tasks.push(task);
            let tx = batch_tx.clone();
            // One hop per batch, not per record: each node's records are tagged where they
            // join the others.
            tokio::spawn(async move {
                while let Some(batch) = records.recv_batch().await {
                    if tx.send((i, Some(batch))).await.is_err() {
                        return;
                    }
                }
                let _ = tx.send((i, None)).await;
            });
        }
        drop(batch_tx);
        if self.apis.iter().all(Option::is_none) {
            let record = super::command_error(
                "probe",
                None,
                None,
                "the delivery matrix needs the nodes' HTTP API: an app id and secret (--app-id \
                 and --secret, or the config file); it is off"
                    .into(),
            );
            self.send_all(vec![Stamped::now(record)]).await;
        }
        let mut answers = self.answers_rx.take().expect("taken once");
        let mut live = n;
        let mut commands_open = true;
        let start = tokio::time::Instant::now();
        let mut probe = tokio::time::interval_at(
            start + self.options.probe_interval,
            self.options.probe_interval,
        );
        let mut report = tokio::time::interval_at(
            start + self.options.report_interval,
            self.options.report_interval,
        );
        let mut poll = tokio::time::interval_at(
            start + Duration::from_millis(500),
            self.options.occupancy_interval,
        );
        for timer in [&mut probe, &mut report, &mut poll] {
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        while live > 0 {
            tokio::select! {
                command = commands.recv(), if commands_open => match command {
                    None => {
                        // The watcher has gone: every node's session ends with it.
                        commands_open = false;
                        to_nodes.clear();
                    }
                    Some(command) => self.on_command(command, &to_nodes).await,
                },
                Some((node, batch)) = batches.recv() => match batch {
                    Some(batch) => self.on_batch(node, batch).await,
                    None => live -= 1,
                },
                Some(answer) = answers.recv() => self.on_answer(answer),
                _ = probe.tick() => self.probe_round(),
                _ = report.tick() => self.report().await,
                _ = poll.tick() => {
                    self.poll_counts();
                    self.poll_users();
                }
            }
            if self.gone && commands_open {
                commands_open = false;
                to_nodes.clear();
            }
        }
        for task in tasks {
            if let Err(e) = task.await
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }

    async fn send_all(&mut self, batch: Vec<Stamped>) {
        if self.out.send_batch(batch).await.is_err() {
            self.gone = true;
        }
    }

    /// A connection command goes to every node (each is a full connection); a command the
    /// session serves goes to the first node's session, whose HTTP API it uses, except a
    /// fault that names a node, which the demo cluster applies.
    async fn on_command(&mut self, command: Command, to_nodes: &[mpsc::Sender<Command>]) {
        match &command {
            Command::OnNode { node, command } => {
                match self.names.iter().position(|n| **n == **node) {
                    Some(i) => {
                        let _ = to_nodes[i].send((**command).clone()).await;
                    }
                    None => {
                        let known: Vec<&str> = self.names.iter().map(|n| &**n).collect();
                        let message =
                            format!("no node {node:?}; the nodes are {}", known.join(", "));
                        let record = super::command_error("node", None, None, message);
                        self.send_all(vec![Stamped::now(record)]).await;
                    }
                }
            }
            Command::Fault(kind) if kind.node().is_some() => {
                let record = match &self.demo {
                    Some(demo) => match demo.inject(kind) {
                        Ok(()) => SessionRecord::Fault {
                            fault: kind.label(),
                        },
                        Err(e) => super::command_error(
                            "fault",
                            None,
                            None,
                            format!("cannot inject fault: {e}"),
                        ),
                    },
                    None => super::command_error(
                        "fault",
                        None,
                        None,
                        format!(
                            "cannot inject fault: {} needs the built-in demo cluster (chanwatch demo --nodes N)",
                            kind.label()
                        ),
                    ),
                };
                self.send_all(vec![Stamped::now(record)]).await;
            }
            Command::Fault(FaultKind::Restore) => {
                if let Some(demo) = &self.demo {
                    let _ = demo.inject(&FaultKind::Restore);
                }
                broadcast(to_nodes, command).await;
            }
            Command::Connection(_) | Command::Occupancy { .. } | Command::Fault(_) => {
                broadcast(to_nodes, command).await;
            }
            Command::Publish { .. } | Command::ListChannels { .. } | Command::ListUsers { .. } => {
                if let Some(first) = to_nodes.first() {
                    let _ = first.send(command).await;
                }
            }
        }
    }

    /// A node's records: tagged with the node, probe events counted and hidden, presence
    /// records compared, the rest passed on.
    async fn on_batch(&mut self, node: usize, mut batch: Vec<Stamped>) {
        let now = Instant::now();
        let wall_now = SystemTime::now();
        let name = self.names[node].clone();
        batch.retain_mut(|stamped| {
            stamped.node = Some(name.clone());
            let SessionRecord::Client(record) = &stamped.record else {
                return true;
            };
            if let Record::Event {
                channel: Some(channel),
                event,
                data,
                ..
            } = record
                && channel == PROBE_CHANNEL
                && event == PROBE_EVENT
            {
                if let Some((round, from)) = matrix::parse_probe(data.get())
                    && let Some(from) = self.names.iter().position(|n| &**n == from)
                {
                    // When the client read the frame, not when its batch got here.
                    let late = wall_now.duration_since(stamped.ts).unwrap_or_default();
                    let at = now.checked_sub(late).unwrap_or(now);
                    self.matrix.received(round, from, node, at);
                }
                return false;
            }
            match record {
                Record::Subscribed { channel } if channel == PROBE_CHANNEL => {
                    self.probing = true;
                    self.matrix.set_receiving(node, true);
                }
                // A node whose socket is down receives nothing: its probes are lost now.
                Record::State { current, .. } if *current != State::Connected => {
                    self.matrix.set_receiving(node, false);
                }
                _ => {}
            }
            self.rosters.on_record(node, record, now, stamped.ts);
            true
        });
        self.send_all(batch).await;
    }

    fn on_answer(&mut self, answer: ApiAnswer) {
        match answer {
            ApiAnswer::Published {
                node,
                round,
                outcome,
            } => {
                self.publishing[node] = self.publishing[node].saturating_sub(1);
                match outcome {
                    Ok(()) => self.matrix.publish_answered(node),
                    Err(PublishError::Failed(e)) => self.matrix.publish_failed(round, node, &e),
                    // The round's receipts still count: a node may deliver a publish its
                    // API never answers (sockudo does when its Redis is gone).
                    Err(PublishError::Unanswered(e)) => self.matrix.publish_unanswered(node, &e),
                }
            }
            ApiAnswer::Counts { node, counts } => {
                self.polling[node] = false;
                let counts: Option<Vec<ChannelCount>> = counts.as_ref().map(|channels| {
                    channels
                        .iter()
                        .filter(|c| c.name != PROBE_CHANNEL)
                        .map(|c| ChannelCount {
                            name: &c.name,
                            subscription_count: c.subscription_count,
                            user_count: c.user_count,
                        })
                        .collect()
                });
                self.rosters
                    .on_counts(node, counts.as_deref(), Instant::now(), SystemTime::now());
            }
            ApiAnswer::Users {
                node,
                channel,
                users,
            } => {
                self.users_polling[node] = self.users_polling[node].saturating_sub(1);
                self.rosters.on_api_members(
                    node,
                    &channel,
                    users.as_deref(),
                    Instant::now(),
                    SystemTime::now(),
                );
            }
        }
    }

    /// One round: a publish through every node's HTTP API, each on a task of its own.
    fn probe_round(&mut self) {
        let now = Instant::now();
        self.matrix.tick(now);
        if !self.probing || self.apis.iter().all(Option::is_none) {
            return;
        }
        let round = self.matrix.begin_round(now);
        for node in 0..self.names.len() {
            let Some(api) = self.apis[node].clone() else {
                self.matrix
                    .publish_failed(round, node, "no HTTP API (needs an app id and secret)");
                continue;
            };
            if self.publishing[node] >= MAX_IN_FLIGHT {
                self.matrix.publish_failed(
                    round,
                    node,
                    "the HTTP API has not answered the last publishes",
                );
                continue;
            }
            self.publishing[node] += 1;
            self.matrix.published(round, node, now);
            let data = matrix::probe_data(round, &self.names[node]);
            let answers = self.answers_tx.clone();
            let timeout = self.options.probe_timeout;
            tokio::spawn(async move {
                let channels = [PROBE_CHANNEL.to_string()];
                let outcome = match tokio::time::timeout(
                    timeout,
                    api.trigger(&channels, PROBE_EVENT, &data, None),
                )
                .await
                {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(PublishError::Failed(e.to_string())),
                    Err(_) => Err(PublishError::Unanswered(format!(
                        "the HTTP API did not answer a publish within {}",
                        humantime::format_duration(timeout)
                    ))),
                };
                let _ = answers
                    .send(ApiAnswer::Published {
                        node,
                        round,
                        outcome,
                    })
                    .await;
            });
        }
    }

    /// Every node's HTTP API asked for the occupied channels and their counts.
    fn poll_counts(&mut self) {
        for node in 0..self.names.len() {
            if self.polling[node] {
                continue;
            }
            let Some(mut poller) = self.pollers[node].clone() else {
                continue;
            };
            self.polling[node] = true;
            let answers = self.answers_tx.clone();
            let timeout = self.options.probe_timeout;
            tokio::spawn(async move {
                let counts = match tokio::time::timeout(timeout, poller.poll()).await {
                    Ok(Ok(channels)) => Some(channels),
                    _ => None,
                };
                let _ = answers.send(ApiAnswer::Counts { node, counts }).await;
            });
        }
    }

    /// Each node's HTTP API asked for the users of the presence channels that node has a
    /// roster of ([`USERS_PER_POLL`] at most, the next ones at the next poll), each on a
    /// task of its own, to compare with the node's socket roster.
    fn poll_users(&mut self) {
        for node in 0..self.names.len() {
            if self.users_polling[node] > 0 {
                continue;
            }
            let Some(api) = &self.apis[node] else {
                continue;
            };
            let channels: Vec<&str> = self
                .rosters
                .channels()
                .filter(|c| self.rosters.roster(c, node).is_some())
                .collect();
            if channels.is_empty() {
                continue;
            }
            let start = self.users_next[node] % channels.len();
            let take = channels.len().min(USERS_PER_POLL);
            self.users_next[node] = start + take;
            for channel in channels.iter().cycle().skip(start).take(take) {
                self.users_polling[node] += 1;
                let api = api.clone();
                let channel = channel.to_string();
                let answers = self.answers_tx.clone();
                let timeout = self.options.probe_timeout;
                tokio::spawn(async move {
                    let users =
                        match tokio::time::timeout(timeout, api.channel_users(&channel)).await {
                            Ok(Ok(users)) => Some(users),
                            _ => None,
                        };
                    let answer = ApiAnswer::Users {
                        node,
                        channel,
                        users,
                    };
                    let _ = answers.send(answer).await;
                });
            }
        }
    }

    /// The matrix and the differences, as records.
    async fn report(&mut self) {
        let now = Instant::now();
        let wall = SystemTime::now();
        self.matrix.tick(now);
        let mut batch = Vec::new();
        // Without any HTTP API there is no matrix to report (said once at the start).
        if self.apis.iter().any(Option::is_some) {
            batch.push(Stamped::at(
                wall,
                SessionRecord::Delivery(Box::new(self.matrix.report())),
            ));
        }
        let current = self.rosters.report(now);
        // A difference that ended before any report said it began is not news.
        let resolved: Vec<_> = self
            .rosters
            .take_resolved()
            .into_iter()
            .filter(|d| self.reported.remove(&divergence_key(d)))
            .collect();
        self.reported = current.iter().map(divergence_key).collect();
        batch.extend(
            current
                .into_iter()
                .chain(resolved)
                .map(|d| Stamped::at(wall, SessionRecord::Divergence(Box::new(d)))),
        );
        self.send_all(batch).await;
    }
}

async fn broadcast(to_nodes: &[mpsc::Sender<Command>], command: Command) {
    for node in to_nodes {
        let _ = node.send(command.clone()).await;
    }
}
