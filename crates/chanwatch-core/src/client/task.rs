//! The client task's loop: feed the machine, perform what it asks.

use super::batch::{BATCH_RECORDS, RecordSender, WatcherGone};
use super::socket::Socket;
use super::ws::handshake::Dial;
use super::{AuthProvider, ClientConfig, InputSender};
use crate::connection::{
    AuthFailure, AuthFailureKind, AuthGrant, AuthRequest, Command, Input, Machine, Output,
};
use crate::record::{Record, Stamped, State};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Batches of socket events and auth results waiting for the loop (a socket sends up to 64
/// frames a batch). Bounded so a flooding server is slowed down by TCP backpressure instead
/// of filling memory.
const INPUTS_CAPACITY: usize = 16;

/// The shortest gap between two ticks (see `not_before` in [`run`]).
const MIN_TICK_GAP: Duration = Duration::from_millis(1);

/// The longest the task waits, after `quit`, for close frames to go out.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

struct Driver {
    machine: Machine,
    connect_via: Option<std::net::SocketAddr>,
    panic_once_connected: bool,
    dial: Arc<Dial>,
    auth: Arc<dyn AuthProvider>,
    records: RecordSender,
    /// Records made while handling the current batch of inputs, sent together at its end.
    pending: Vec<Stamped>,
    /// The machine's outputs for one input (kept to reuse its allocation).
    outputs: Vec<Output>,
    watcher_gone: bool,
    inputs: InputSender,
    current: Option<Socket>,
    /// Sockets finishing their close handshake.
    closing: Vec<JoinHandle<()>>,
    /// Authorization calls in flight.
    authorizing: Vec<JoinHandle<()>>,
}

enum Step {
    Command(Option<Command>),
    Inputs(Vec<Input>),
    Tick,
}

pub(super) async fn run(
    config: ClientConfig,
    auth: Arc<dyn AuthProvider>,
    mut commands: mpsc::Receiver<Command>,
    records: RecordSender,
) {
    let (inputs, mut input_rx) = mpsc::channel(INPUTS_CAPACITY);
    let mut driver = Driver {
        machine: Machine::new(config.machine),
        connect_via: config.connect_via,
        panic_once_connected: config.panic_once_connected,
        dial: Arc::new(config.dial),
        auth,
        records,
        pending: Vec::new(),
        outputs: Vec::new(),
        watcher_gone: false,
        inputs,
        current: None,
        closing: Vec::new(),
        authorizing: Vec::new(),
    };
    let mut start: Vec<Command> = config
        .subscribe
        .into_iter()
        .map(|channel| Command::Subscribe { channel })
        .collect();
    if config.auto_connect {
        start.push(Command::Connect);
    }
    let start = start.into_iter().map(Input::Command);
    if driver.feed(start).await.is_err() {
        return driver.shutdown(input_rx).await;
    }
    // After a tick, the next one is at least this late: a deadline the machine failed to
    // clear must cost a little latency, not a spinning core.
    let mut not_before: Option<Instant> = None;
    // One timer, moved only when the deadline changes: under a stream of frames the
    // deadline rarely moves, and re-arming a fresh timer per frame would cost.
    let timer = tokio::time::sleep(Duration::from_secs(86_400));
    tokio::pin!(timer);
    loop {
        let deadline = driver
            .machine
            .next_deadline()
            .map(|d| Instant::from_std(d).max(not_before.unwrap_or_else(Instant::now)));
        // Without a deadline the timer branch is disabled, wherever the timer stands.
        if let Some(wake) = deadline
            && wake != timer.deadline()
        {
            timer.as_mut().reset(wake);
        }
        let step = tokio::select! {
            command = commands.recv() => Step::Command(command),
            Some(inputs) = input_rx.recv() => Step::Inputs(inputs),
            () = &mut timer, if deadline.is_some() => Step::Tick,
        };
        let fed = match step {
            // The commands channel closing means the watcher has gone: same as quit.
            Step::Command(None | Some(Command::Quit)) => break,
            Step::Command(Some(command)) => driver.feed([Input::Command(command)]).await,
            Step::Inputs(inputs) => driver.feed(inputs).await,
            Step::Tick => {
                not_before = Some(Instant::now() + MIN_TICK_GAP);
                driver.feed([Input::Tick]).await
            }
        };
        if fed.is_err() {
            break;
        }
    }
    driver.shutdown(input_rx).await;
}

/// Await an authorization call; a panic inside it becomes a failure, so that it can never
/// leave a subscription or a sign-in pending forever.
async fn unpanicked<T>(
    call: impl std::future::Future<Output = Result<T, AuthFailure>>,
    who: &str,
) -> Result<T, AuthFailure> {
    AssertUnwindSafe(call)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(AuthFailure::new(
                AuthFailureKind::Internal,
                format!("{who} panicked"),
            ))
        })
}

/// The auth inspector's view of one exchange; the `shared_secret` is shown masked.
fn auth_record(
    request: &AuthRequest,
    described: serde_json::Value,
    result: &Result<AuthGrant, AuthFailure>,
    took: Duration,
) -> Record {
    let (ok, status, response, failure) = match result {
        Ok(grant) => (
            true,
            None,
            serde_json::json!({
                "auth": grant.auth,
                "channel_data": grant.channel_data,
                "shared_secret": grant.shared_secret.as_deref().map(crate::mask::mask),
            }),
            None,
        ),
        Err(f) => (
            false,
            f.status,
            serde_json::json!({"error": f.message}),
            Some(f.kind),
        ),
    };
    let mut record = Record::Auth {
        channel: request.channel.clone(),
        socket_id: request.socket_id.clone(),
        request: described,
        ok,
        status,
        response,
        duration_ms: took.as_millis() as u64,
        failure,
    };
    // The failure may quote what an endpoint or a command answered.
    record.cut_server_text();
    record
}

impl Driver {
    /// Handle a batch of inputs, all at one moment (a batch is what arrived together), and
    /// send the records they made as one batch.
    async fn feed(&mut self, inputs: impl IntoIterator<Item = Input>) -> Result<(), WatcherGone> {
        let now = Instant::now().into_std();
        let wall = SystemTime::now();
        let mut outputs = std::mem::take(&mut self.outputs);
        for input in inputs {
            self.machine.handle_into(now, input, &mut outputs);
            for output in outputs.drain(..) {
                self.perform(output, wall).await;
            }
        }
        self.outputs = outputs;
        self.flush().await;
        if self.watcher_gone {
            Err(WatcherGone)
        } else {
            Ok(())
        }
    }

    async fn perform(&mut self, output: Output, wall: SystemTime) {
        match output {
            Output::Open { conn, url } => {
                if let Some(old) = self.current.take() {
                    old.abort();
                }
                tracing::debug!(conn, %url, "opening socket");
                self.current = Some(Socket::open(
                    conn,
                    url,
                    self.connect_via,
                    self.dial.clone(),
                    self.inputs.clone(),
                ));
            }
            Output::Send {
                conn,
                text,
                droppable,
            } => match &self.current {
                Some(socket) if socket.conn == conn => {
                    if let Err(stuck) = socket.send(text, droppable) {
                        let message = format!(
                            "not sent: the server has left {} KiB of our frames unread; dropped {}",
                            stuck.queued / 1024,
                            stuck.what
                        );
                        self.pending.push(Stamped {
                            node: None,
                            ts: wall,
                            record: Record::Error {
                                code: None,
                                message,
                            },
                        });
                    }
                }
                _ => tracing::debug!(conn, "dropping a frame for a socket that is gone"),
            },
            Output::Pong { conn } => match &self.current {
                Some(socket) if socket.conn == conn => socket.pong(),
                _ => tracing::debug!(conn, "dropping a pong for a socket that is gone"),
            },
            Output::Close { conn, code, reason } => {
                if self.current.as_ref().is_some_and(|s| s.conn == conn) {
                    let socket = self.current.take().expect("checked above");
                    self.closing.retain(|h| !h.is_finished());
                    self.closing.push(socket.close(code, reason));
                }
            }
            Output::Authorize(request) => {
                // The inspector's record of this exchange must come after what led to it.
                self.flush().await;
                self.authorize(request)
            }
            Output::AuthenticateUser { socket_id } => self.authenticate_user(socket_id),
            Output::Record(record) => {
                if matches!(
                    record,
                    Record::State {
                        current: State::Connected,
                        ..
                    }
                ) && self.panic_once_connected
                {
                    panic!(
                        "the client task was asked for a panic (ClientConfig::panic_once_connected)"
                    );
                }
                self.pending.push(Stamped {
                    node: None,
                    ts: wall,
                    record,
                });
                if self.pending.len() >= BATCH_RECORDS {
                    self.flush().await;
                }
            }
        }
    }

    fn authorize(&mut self, request: AuthRequest) {
        let call = self.auth.authorize(request.clone());
        let described = self.auth.describe(&request);
        let inputs = self.inputs.clone();
        let records = self.records.clone();
        self.authorizing.retain(|h| !h.is_finished());
        self.authorizing.push(tokio::spawn(async move {
            let started = Instant::now();
            let result = unpanicked(call, "the authorizer").await;
            // The inspector's record goes first, so it reads before what the result causes.
            let exchange = auth_record(&request, described, &result, started.elapsed());
            let _ = records.send(Stamped::now(exchange)).await;
            let _ = inputs
                .send(vec![Input::Authorized { request, result }])
                .await;
        }));
    }

    fn authenticate_user(&mut self, socket_id: String) {
        let call = self.auth.authenticate_user(socket_id.clone());
        let inputs = self.inputs.clone();
        self.authorizing.retain(|h| !h.is_finished());
        self.authorizing.push(tokio::spawn(async move {
            let result = unpanicked(call, "the user authenticator").await;
            let _ = inputs
                .send(vec![Input::UserAuthenticated { socket_id, result }])
                .await;
        }));
    }

    /// Send the pending records. Awaiting here is the backpressure: a slow watcher pauses
    /// the whole client.
    async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        // The next batch starts with room for as many as this one: no regrowing on a busy
        // stream, little memory on a quiet one.
        let room = self.pending.len();
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(room));
        if self.watcher_gone {
            return;
        }
        if self.records.send_batch(batch).await.is_err() {
            self.watcher_gone = true;
        }
    }

    /// Disconnect through the machine (so its records, down to the final `disconnected`
    /// state, reach the watcher), let close frames go out, then end.
    async fn shutdown(mut self, mut input_rx: mpsc::Receiver<Vec<Input>>) {
        let already = self.machine.state() == State::Disconnected;
        let _ = self.feed([Input::Command(Command::Disconnect)]).await;
        if already {
            // The machine reports changes only; watchers are promised a final `disconnected`
            // state record, so restate it (e.g. quit after a 4001 or a `disconnect`).
            self.pending.push(Stamped::now(Record::State {
                previous: State::Disconnected,
                current: State::Disconnected,
                socket_id: None,
                cause: Some("quit".into()),
            }));
            self.flush().await;
        }
        if let Some(socket) = self.current.take() {
            // The machine did not ask for a close (nothing was open yet); close anyway.
            self.closing
                .push(socket.close(1000, "client quit".to_owned()));
        }
        for handle in &self.authorizing {
            handle.abort();
        }
        let closing = std::mem::take(&mut self.closing);
        let aborts: Vec<_> = closing.iter().map(|h| h.abort_handle()).collect();
        let all = futures_util::future::join_all(closing);
        // Keep taking (and dropping) socket events meanwhile: a socket blocked on a full
        // inputs channel could not see its close request otherwise.
        let drain = async { while input_rx.recv().await.is_some() {} };
        let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
            tokio::select! {
                _ = all => {}
                () = drain => {}
            }
        })
        .await;
        if finished.is_err() {
            for a in aborts {
                a.abort();
            }
        }
    }
}
