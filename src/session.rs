//! A session: the client task plus what may stand beside it, namely the fault proxy, the
//! demo server and the HTTP API. Commands that are not the connection's (`fault`,
//! `publish`, `list_channels`, `list_users`) are served here; connection commands go to the
//! client. The client's records pass through unchanged, with this layer's own records
//! (fault marks, publish and listing results) merged in the order things happened. Headless
//! mode and the dashboard both see one [`SessionHandle`], whatever a session holds.

pub mod cluster;
mod command;
mod inject;
pub mod measures;
pub mod tap;

use crate::session_record::SessionRecord;
pub use command::Command;
pub use inject::inject_fault;

use crate::demo::{DemoHandle, Traffic};
use crate::faults::FaultHandle;
use crate::session_record::Stamped;
use chanwatch_core::client::{COMMANDS_CAPACITY, ClientHandle, RECORDS_CAPACITY, batch};
use chanwatch_core::http_api::HttpApi;
use chanwatch_core::record::{Record, State};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Where a session is connected, as the dashboard shows it and a recording's header keeps
/// it. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardInfo {
    pub host: String,
    pub key: String,
    pub tls: bool,
    pub demo: bool,
    /// The nodes watched at once, in the order given, when there are several (`--node`);
    /// empty for one connection, whose records carry no node.
    pub nodes: Vec<chanwatch_core::record::NodeName>,
}

/// What a session holds besides the client. Everything here lives as long as the session.
#[derive(Default)]
pub struct Extras {
    pub proxy: Option<FaultHandle>,
    pub demo: Option<DemoHandle>,
    pub traffic: Option<Traffic>,
    pub api: Option<HttpApi>,
    /// The latency probe, occupancy poll and stats records (see [`crate::session::measures`]).
    pub measures: crate::session::measures::MeasuresOptions,
    /// The webhook receiver (`--webhook-listen`); its webhooks are checked against what
    /// our connection did.
    pub webhooks: Option<crate::webhook_server::WebhookServer>,
    /// The built-in demo's nodes (`chanwatch demo --nodes N`), for the faults that act on
    /// a whole node; the cluster session takes it.
    pub demo_cluster: Option<crate::demo::DemoCluster>,
}

/// The watcher's side of a running session: like a [`ClientHandle`], but it takes every
/// [`Command`], not only the connection's.
pub struct SessionHandle {
    pub commands: mpsc::Sender<Command>,
    /// Closes after the client task has ended; the last client record before that is always
    /// a `state` record with `current: disconnected`.
    pub records: batch::Records<Stamped>,
    pub task: JoinHandle<()>,
}

/// Put `extras` around a running client.
pub fn wrap(inner: ClientHandle, extras: Extras) -> SessionHandle {
    let (commands, command_rx) = mpsc::channel(COMMANDS_CAPACITY);
    let (record_tx, records) = batch::channel(RECORDS_CAPACITY);
    let task = tokio::spawn(route(inner, extras, command_rx, record_tx));
    SessionHandle {
        commands,
        records,
        task,
    }
}

async fn route(
    inner: ClientHandle,
    mut extras: Extras,
    mut commands: mpsc::Receiver<Command>,
    out: batch::RecordSender<Stamped>,
) {
    let ClientHandle {
        commands: to_client,
        records: mut from_client,
        task,
    } = inner;
    // Publish calls run beside the loop; their results come back here.
    let (side_tx, mut side_rx) = mpsc::channel::<SessionRecord>(64);
    let (measures, notices, to_start) = crate::session::measures::Measures::start(
        extras.measures.clone(),
        extras.api.clone(),
        std::time::Instant::now(),
    );
    let webhooks = Webhooks::new(extras.webhooks.as_mut());
    let listening = extras.webhooks.as_ref().map(|s| s.listening_record());
    let mut router = Router {
        webhooks,
        extras,
        out,
        to_client: Some(to_client),
        socket_id: None,
        last_state: State::Initialized,
        side_tx,
        measures,
    };
    router
        .send_all(notices.into_iter().map(Stamped::now).collect())
        .await;
    if let Some(record) = listening {
        router.send(record).await;
    }
    for command in to_start {
        router.send_to_client(command).await;
    }
    loop {
        tokio::select! {
            command = commands.recv(), if router.to_client.is_some() => match command {
                None => router.to_client = None,
                Some(command) => router.on_command(command).await,
            },
            batch = from_client.recv_batch() => {
                let Some(batch) = batch else { break }; // the client has ended
                router.on_client_batch(batch).await;
            }
            records = router.measures.next() => {
                if !records.is_empty() {
                    router.send_all(records.into_iter().map(Stamped::now).collect()).await;
                }
            }
            Some(record) = side_rx.recv() => router.send(record).await,
            Some(record) = next_webhook(&mut router.webhooks.records) => {
                let checks = router.webhooks.check(&record);
                let mut batch = vec![Stamped::now(record)];
                batch.extend(checks.into_iter().map(Stamped::now));
                router.send_all(batch).await;
            }
            () = sleep_until(router.webhooks.expectations.next_deadline()) => {
                let missed = router.webhooks.tick();
                if !missed.is_empty() {
                    router.send_all(missed.into_iter().map(Stamped::now).collect()).await;
                }
            }
        }
    }
    let ended = task.await;
    let Router {
        extras,
        out,
        last_state,
        ..
    } = router;
    drop(extras); // stop traffic, proxy and demo server only after the client is done
    if let Err(e) = ended
        && e.is_panic()
    {
        report_panic(&out, last_state).await;
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The session's side of the loop: where records go, the client's commands, and what it
/// remembers of the connection (the socket id for `exclude_self`, the last state).
struct Router {
    extras: Extras,
    out: batch::RecordSender<Stamped>,
    /// Dropping the sender is how the client learns its watcher has gone (it then quits).
    to_client: Option<mpsc::Sender<chanwatch_core::connection::Command>>,
    socket_id: Option<String>,
    last_state: State,
    side_tx: mpsc::Sender<SessionRecord>,
    measures: crate::session::measures::Measures,
    webhooks: Webhooks,
}

impl Router {
    async fn send(&mut self, record: SessionRecord) {
        if self.out.send(Stamped::now(record)).await.is_err() {
            self.to_client = None; // nobody listens: let the client quit
        }
    }

    async fn send_all(&mut self, batch: Vec<Stamped>) {
        if self.out.send_batch(batch).await.is_err() {
            self.to_client = None;
        }
    }

    async fn send_to_client(&mut self, command: chanwatch_core::connection::Command) {
        let sent = match &self.to_client {
            Some(tx) => tx.send(command).await.is_ok(),
            None => false,
        };
        if !sent {
            self.to_client = None;
        }
    }

    async fn on_command(&mut self, command: Command) {
        let side = self.side_tx.clone();
        match command {
            Command::OnNode { node, .. } => {
                let message = format!(
                    "no node {node:?}: this session watches one connection (\"node\" is for \
                     several --node)"
                );
                self.send(command_error("node", None, None, message)).await;
            }
            Command::Fault(kind) => {
                let extras = &self.extras;
                let record = match inject_fault(&kind, extras.proxy.as_ref(), extras.demo.as_ref())
                {
                    Ok(()) => SessionRecord::Fault {
                        fault: kind.label(),
                    },
                    Err(e) => {
                        command_error("fault", None, None, format!("cannot inject fault: {e}"))
                    }
                };
                self.send(record).await;
            }
            Command::Publish {
                channel,
                event,
                data,
                exclude_self,
            } => {
                let excluded = if exclude_self {
                    self.socket_id.clone()
                } else {
                    None
                };
                if let Some(api) = self.api_or_error("publish", Some(&channel)).await {
                    tokio::spawn(publish(api, channel, event, data, excluded, side));
                }
            }
            Command::ListChannels { prefix } => {
                if let Some(api) = self.api_or_error("list_channels", None).await {
                    tokio::spawn(list_channels(api, prefix, side));
                }
            }
            Command::ListUsers { channel } => {
                if let Some(api) = self.api_or_error("list_users", Some(&channel)).await {
                    tokio::spawn(list_users(api, channel, side));
                }
            }
            Command::Occupancy { on } => {
                if let Some(record) = self.measures.set_occupancy(on, std::time::Instant::now()) {
                    self.send(record).await;
                }
            }
            Command::Connection(command) => {
                self.webhooks.on_command(&command);
                self.send_to_client(command).await;
            }
        }
    }

    /// Pass a batch of client records on, with the probes it completed, after the measures
    /// has seen it (and hidden probe events).
    async fn on_client_batch(&mut self, mut batch: Vec<chanwatch_core::record::Stamped>) {
        let probes = self.measures.observe(&mut batch, std::time::Instant::now());
        self.webhooks.on_records(&batch);
        for stamped in &batch {
            if let Record::State {
                current,
                socket_id: id,
                ..
            } = &stamped.record
            {
                self.socket_id = if *current == State::Connected {
                    id.clone()
                } else {
                    None
                };
                self.last_state = *current;
            }
        }
        let mut batch: Vec<Stamped> = batch
            .into_iter()
            .map(|s| s.map(SessionRecord::Client))
            .collect();
        batch.extend(probes.into_iter().map(Stamped::now));
        self.send_all(batch).await;
    }

    /// The HTTP API client, or an error record saying what is missing.
    async fn api_or_error(&mut self, cmd: &str, channel: Option<&str>) -> Option<HttpApi> {
        if self.extras.api.is_none() {
            let message = "the HTTP API needs an app id and secret (--app-id and --secret, \
                           or the config file)";
            self.send(command_error(cmd, channel, None, message.into()))
                .await;
        }
        self.extras.api.clone()
    }
}

/// Say what happened where a watcher can still read it, before the panic goes on.
async fn report_panic(out: &batch::RecordSender<Stamped>, last_state: State) {
    let message = crate::panic_report::message()
        .unwrap_or("internal error: the client task panicked")
        .to_string();
    let last = vec![
        Stamped::now(SessionRecord::Client(Record::Error {
            code: None,
            message: message.clone(),
        })),
        Stamped::now(SessionRecord::Client(Record::State {
            previous: last_state,
            current: State::Disconnected,
            socket_id: None,
            cause: Some(message),
        })),
    ];
    let _ = out.send_batch(last).await;
}

/// The session's side of the webhook receiver: its records, and the expectations they
/// are checked against. Without a receiver every method is a no-op and `next` and
/// `deadline` never finish.
struct Webhooks {
    records: Option<mpsc::Receiver<SessionRecord>>,
    expectations: crate::webhook::Expectations,
}

impl Webhooks {
    fn new(server: Option<&mut crate::webhook_server::WebhookServer>) -> Webhooks {
        Webhooks {
            records: server.and_then(|s| s.take_records()),
            expectations: crate::webhook::Expectations::new(Default::default()),
        }
    }

    fn on(&self) -> bool {
        self.records.is_some()
    }

    fn on_command(&mut self, command: &chanwatch_core::connection::Command) {
        if let chanwatch_core::connection::Command::Trigger { channel, event, .. } = command
            && self.on()
        {
            self.expectations
                .on_client_event_sent(std::time::Instant::now(), channel, event);
        }
    }

    fn on_records(&mut self, batch: &[chanwatch_core::record::Stamped]) {
        if !self.on() {
            return;
        }
        let now = std::time::Instant::now();
        for stamped in batch {
            self.expectations.on_record(now, &stamped.record);
        }
    }

    /// The checks a received webhook settles.
    fn check(&mut self, record: &SessionRecord) -> Vec<SessionRecord> {
        let SessionRecord::Webhook(received) = record else {
            return Vec::new();
        };
        if received.verdict != crate::webhook::Verdict::Ok {
            return Vec::new(); // an unsigned webhook proves nothing
        }
        let now = std::time::Instant::now();
        received
            .events
            .iter()
            .filter_map(|event| self.expectations.on_webhook(now, event))
            .map(SessionRecord::WebhookCheck)
            .collect()
    }

    fn tick(&mut self) -> Vec<SessionRecord> {
        self.expectations
            .tick(std::time::Instant::now())
            .into_iter()
            .map(SessionRecord::WebhookCheck)
            .collect()
    }
}

async fn next_webhook(
    records: &mut Option<mpsc::Receiver<SessionRecord>>,
) -> Option<SessionRecord> {
    match records {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn command_error(
    cmd: &str,
    channel: Option<&str>,
    status: Option<u16>,
    message: String,
) -> SessionRecord {
    let mut record = SessionRecord::CommandError {
        cmd: cmd.to_string(),
        channel: channel.map(str::to_string),
        status,
        message,
    };
    // The message may quote what the HTTP API answered.
    record.cut_server_text();
    record
}

async fn list_channels(api: HttpApi, prefix: Option<String>, results: mpsc::Sender<SessionRecord>) {
    let record = match api.channels(prefix.as_deref()).await {
        Ok(body) => SessionRecord::Channels {
            prefix,
            channels: body.get("channels").cloned().unwrap_or(body),
        },
        Err(e) => command_error(
            "list_channels",
            None,
            e.status(),
            format!("listing channels failed: {e}"),
        ),
    };
    let _ = results.send(record).await;
}

async fn list_users(api: HttpApi, channel: String, results: mpsc::Sender<SessionRecord>) {
    let record = match api.channel_users(&channel).await {
        Ok(users) => SessionRecord::Users { channel, users },
        Err(e) => command_error(
            "list_users",
            Some(&channel),
            e.status(),
            format!("listing the users of {channel} failed: {e}"),
        ),
    };
    let _ = results.send(record).await;
}

async fn publish(
    api: HttpApi,
    channel: String,
    event: String,
    data: Value,
    excluded_socket_id: Option<String>,
    results: mpsc::Sender<SessionRecord>,
) {
    // The HTTP API carries `data` as a string; a JSON string is sent as it is.
    let data = match data {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let channels = [channel.clone()];
    let record = match api
        .trigger(&channels, &event, &data, excluded_socket_id.as_deref())
        .await
    {
        Ok(()) => SessionRecord::Published {
            channel,
            event,
            excluded_socket_id,
        },
        Err(e) => command_error(
            "publish",
            Some(&channel),
            e.status(),
            format!("publishing {event} to {channel} failed: {e}"),
        ),
    };
    let _ = results.send(record).await;
}
