//! The check's I/O: one WebSocket opened with the core's timed handshake, the protocol's
//! few frames spoken directly (a check is a straight line, not a connection that lives and
//! reconnects), the authorizer and the HTTP API of the session's setup. Every step is timed
//! with tokio's clock; the whole run is bounded by the timeout, and a step still running
//! then is reported as the one that hung.

use super::verdict::{Delivery, Outcome, Sample, Step, StepName};
use bytes::BytesMut;
use chanwatch_core::client::AuthProvider;
use chanwatch_core::client::ws::codec::{self, Decoder, Message};
use chanwatch_core::client::ws::handshake::{self, Dial, OpenPhase, OpenTimings, Stream};
use chanwatch_core::connection::AuthRequest;
use chanwatch_core::http_api::HttpApi;
use chanwatch_core::protocol::{self, Frame};
use chanwatch_core::record::AuthFailureKind;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The event name the probes are published under.
pub const PROBE_EVENT: &str = "chanwatch-check";
/// The largest message read: far above any probe, enough for other traffic on the channel.
const MAX_MESSAGE: usize = 16 << 20;
/// How long the polite close at the end may take; it does not count in the verdict.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Where and how to check.
pub struct Target {
    /// The ws:// or wss:// URL, app key included (the key is public; no secret is in it).
    pub url: String,
    /// `ws://host:port` or `wss://host:port`, for people.
    pub display: String,
    /// The host name or address as configured, for the resolve step.
    pub host: String,
    pub dial: Dial,
    pub auth: Arc<dyn AuthProvider>,
    pub api: Option<HttpApi>,
    pub channel: String,
    /// Check the presence twin too.
    pub presence: bool,
    pub samples: u32,
    /// A probe not seen this long after its publish is lost.
    pub sample_wait: Duration,
    pub timeout: Duration,
}

/// The steps as they happen; kept outside the run's future, so that when the timeout drops
/// that future what was done, and what was under way, are still known.
#[derive(Default)]
struct Progress {
    steps: Vec<Step>,
    samples: Vec<Sample>,
    notes: Vec<String>,
    delivery: Option<Delivery>,
    current: Option<(StepName, Instant)>,
    open: OpenTimings,
    open_started: Option<Instant>,
}

/// A step failed: the run stops there.
struct Stop;

impl Progress {
    fn begin(&mut self, name: StepName) {
        self.current = Some((name, Instant::now()));
    }

    fn end(&mut self, ok: bool, detail: String) {
        if let Some((name, started)) = self.current.take() {
            self.steps.push(Step {
                name,
                ok,
                duration: started.elapsed(),
                detail,
            });
        }
    }

    fn done(&mut self, detail: impl Into<String>) {
        self.end(true, detail.into());
    }

    fn fail(&mut self, detail: impl Into<String>) -> Stop {
        self.end(false, detail.into());
        Stop
    }

    /// The open's phases as steps; `failed` names the phase that failed and why.
    fn open_steps(&mut self, target: &Target, failed: Option<String>) {
        let t = self.open;
        let done = [
            (StepName::Resolve, t.resolve, OpenPhase::Resolve),
            (StepName::Tcp, t.tcp, OpenPhase::Tcp),
            (StepName::Tls, t.tls, OpenPhase::Tls),
            (StepName::Websocket, t.upgrade, OpenPhase::Upgrade),
        ];
        let mut spent = Duration::ZERO;
        for (name, took, _) in done {
            let Some(took) = took else { continue };
            spent += took;
            let detail = match name {
                StepName::Resolve => match t.peer {
                    Some(peer) => format!("{} -> {}", target.host, peer.ip()),
                    None => target.host.clone(),
                },
                StepName::Tcp => t
                    .peer
                    .map_or_else(String::new, |p| format!("connected to {p}")),
                StepName::Tls => "handshake done, certificate trusted".to_string(),
                _ => "HTTP 101 Switching Protocols".to_string(),
            };
            self.steps.push(Step {
                name,
                ok: true,
                duration: took,
                detail,
            });
        }
        if let Some(why) = failed {
            let name = done
                .iter()
                .find(|(_, _, phase)| *phase == t.phase)
                .map_or(StepName::Websocket, |(name, _, _)| *name);
            let total = self.open_started.map_or(Duration::ZERO, |s| s.elapsed());
            self.steps.push(Step {
                name,
                ok: false,
                duration: total.saturating_sub(spent),
                detail: why,
            });
        }
    }
}

/// Run the check against `target`, within its timeout.
pub async fn run(target: &Target) -> Outcome {
    let started = Instant::now();
    let deadline = started + target.timeout;
    let mut progress = Progress::default();
    let mut conn = None;
    let finished = timeout_at(deadline, steps(target, &mut progress, &mut conn)).await;
    if finished.is_err() {
        let why = format!(
            "no answer within the --timeout of {}",
            humantime::format_duration(target.timeout)
        );
        if progress.open_started.is_some() && progress.current.is_none() && conn.is_none() {
            // Hung inside the open: name its phase.
            progress.open_steps(target, Some(why));
        } else {
            progress.fail(why);
        }
    }
    if let Some(mut conn) = conn {
        let _ = tokio::time::timeout(CLOSE_GRACE, conn.close()).await;
    }
    Outcome {
        target: target.display.clone(),
        steps: progress.steps,
        samples: progress.samples,
        delivery: progress.delivery.unwrap_or(Delivery::Checked {
            planned: target.samples,
        }),
        notes: progress.notes,
        total: started.elapsed(),
    }
}

async fn steps(
    target: &Target,
    p: &mut Progress,
    conn_slot: &mut Option<Conn>,
) -> Result<(), Stop> {
    // Said before anything can fail, so that a failed run still says what it would not
    // have checked.
    if target.api.is_none() {
        p.delivery = Some(Delivery::NotChecked(NO_API.to_string()));
        p.notes.push(NO_API_NOTE.to_string());
    }
    connect(target, p, conn_slot).await?;
    let conn = conn_slot.as_mut().expect("connected");
    let public = &target.channel;
    if let Some(api) = &target.api {
        p.begin(StepName::Delivery);
        for seq in 1..=target.samples {
            match probe(conn, api, public, seq, target.sample_wait).await {
                Ok(sample) => p.samples.push(sample),
                Err(why) => return Err(p.fail(why)),
            }
        }
        let delivered = p.samples.iter().filter(|s| s.latency.is_some()).count();
        p.done(format!(
            "{delivered}/{} probes published on {public} arrived",
            target.samples
        ));
    }
    Ok(())
}

/// Why delivery is not checked without the HTTP API, and what to give.
const NO_API: &str = "no app id and secret for the HTTP API";
const NO_API_NOTE: &str =
    "delivery: probes need the HTTP API: give --app-id and --secret (or --secret-file)";

/// Every step up to the subscriptions: the open (timed by phase), the server's
/// `connection_established`, the public channel, then its private and presence twins when
/// they can be authorized. The connection is left in `conn_slot`.
async fn connect(
    target: &Target,
    p: &mut Progress,
    conn_slot: &mut Option<Conn>,
) -> Result<(), Stop> {
    p.open_started = Some(Instant::now());
    let config = WebSocketConfig::default();
    let opened = handshake::open_timed(&target.url, None, &target.dial, config, &mut p.open).await;
    let (stream, leftover) = match opened {
        Ok(parts) => {
            p.open_steps(target, None);
            parts
        }
        Err(e) => {
            p.open_steps(
                target,
                Some(chanwatch_core::client::describe_open_error(&e, &target.url)),
            );
            return Err(Stop);
        }
    };
    let conn = conn_slot.insert(Conn::new(stream, leftover));

    p.begin(StepName::ConnectionEstablished);
    let socket_id = match established(conn).await {
        Ok(id) => id,
        Err(why) => return Err(p.fail(why)),
    };
    p.done(format!("socket id {socket_id}"));

    p.begin(StepName::Subscribe);
    let public = &target.channel;
    if let Err(why) = subscribe(conn, public, "", None).await {
        return Err(p.fail(why));
    }
    p.done(public.clone());

    authorized(target, p, conn, &socket_id).await
}

/// The private (and presence) twins of the public channel, when the setup can authorize
/// them: for each, the auth round trip and the subscription are steps. Presence also
/// checks that the member list the server sends holds our own user.
async fn authorized(
    target: &Target,
    p: &mut Progress,
    conn: &mut Conn,
    socket_id: &str,
) -> Result<(), Stop> {
    let mut twins = vec![(
        format!("private-{}", target.channel),
        StepName::Auth,
        StepName::SubscribePrivate,
    )];
    if target.presence {
        twins.push((
            format!("presence-{}", target.channel),
            StepName::AuthPresence,
            StepName::SubscribePresence,
        ));
    }
    for (channel, auth_step, subscribe_step) in twins {
        p.begin(auth_step);
        let request = AuthRequest {
            channel: channel.clone(),
            socket_id: socket_id.to_string(),
        };
        let grant = match target.auth.authorize(request).await {
            Ok(grant) => grant,
            Err(f) if f.kind == AuthFailureKind::NotConfigured => {
                p.current = None;
                p.notes.push(
                    "private and presence channels: nothing to authorize them with \
                     (--secret, --auth-endpoint or --auth-command)"
                        .to_string(),
                );
                return Ok(());
            }
            // The failure's message names the endpoint or command and the status, never a
            // credential.
            Err(f) => return Err(p.fail(format!("{channel}: {}", f.message))),
        };
        p.done(format!("{channel} authorized"));
        p.begin(subscribe_step);
        let data = grant.channel_data.as_deref();
        match subscribe(conn, &channel, &grant.auth, data).await {
            Ok(succeeded) => match members(&succeeded, data) {
                Ok(Some(detail)) => p.done(format!("{channel}: {detail}")),
                Ok(None) => p.done(channel),
                Err(why) => return Err(p.fail(format!("{channel}: {why}"))),
            },
            Err(why) => return Err(p.fail(why)),
        }
    }
    Ok(())
}

/// For a presence subscription: how many members, with ours among them (an error when
/// the server's list leaves us out). `None` for other channels.
fn members(succeeded: &Frame, channel_data: Option<&str>) -> Result<Option<String>, String> {
    let Some(ours) = channel_data
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .and_then(|d| d.get("user_id").and_then(protocol::frame::id_string))
    else {
        return Ok(None);
    };
    let ids: Vec<String> = succeeded
        .data_field("presence")
        .and_then(|p| p.get("ids"))
        .and_then(|ids| ids.as_array())
        .map(|ids| ids.iter().filter_map(protocol::frame::id_string).collect())
        .unwrap_or_default();
    if ids.contains(&ours) {
        let n = ids.len();
        let s = if n == 1 { "" } else { "s" };
        Ok(Some(format!("{n} member{s}, ours ({ours}) among them")))
    } else {
        Err(format!(
            "subscribed, but the server's member list ({} ids) leaves out our user {ours}",
            ids.len()
        ))
    }
}

/// The server's first frame must be `pusher:connection_established`; its socket id.
async fn established(conn: &mut Conn) -> Result<String, String> {
    let frame = conn.next_frame().await?;
    match frame.event.as_str() {
        "pusher:connection_established" => {
            let id = frame
                .data_field("socket_id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            protocol::check_socket_id(&id)
                .map_err(|e| format!("connection_established without a usable socket id: {e}"))?;
            Ok(id)
        }
        "pusher:error" => Err(pusher_error(&frame)),
        other => Err(format!(
            "the server's first frame was {other}, not pusher:connection_established"
        )),
    }
}

/// Subscribe and wait for the server's answer on that channel: its
/// `subscription_succeeded`.
async fn subscribe(
    conn: &mut Conn,
    channel: &str,
    auth: &str,
    channel_data: Option<&str>,
) -> Result<Frame, String> {
    conn.send(&protocol::frame::subscribe(channel, auth, channel_data))
        .await?;
    loop {
        let frame = conn.next_frame().await?;
        match (frame.event.as_str(), frame.channel.as_deref()) {
            ("pusher_internal:subscription_succeeded", Some(c)) if c == channel => {
                return Ok(frame);
            }
            ("pusher:subscription_error", Some(c)) if c == channel => {
                let status = frame
                    .data_field("status")
                    .map(|s| format!("status {s}: "))
                    .unwrap_or_default();
                let error = frame
                    .data_field("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("no reason given");
                return Err(format!("{channel} refused: {status}{error}"));
            }
            ("pusher:error", _) => return Err(format!("{channel}: {}", pusher_error(&frame))),
            _ => {}
        }
    }
}

fn pusher_error(frame: &Frame) -> String {
    let code = frame
        .data_field("code")
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    let message = frame
        .data_field("message")
        .and_then(|m| m.as_str())
        .unwrap_or("no message");
    format!("pusher:error{code}: {message}")
}

/// One probe: published through the HTTP API, then awaited on the socket.
async fn probe(
    conn: &mut Conn,
    api: &HttpApi,
    channel: &str,
    seq: u32,
    wait: Duration,
) -> Result<Sample, String> {
    let nonce = format!("{:016x}", rand::random::<u64>());
    let data = serde_json::json!({ "chanwatch_check": nonce, "seq": seq }).to_string();
    let sent = Instant::now();
    api.trigger(&[channel.to_string()], PROBE_EVENT, &data, None)
        .await
        .map_err(|e| format!("the HTTP API did not take probe {seq}: {e}"))?;
    let publish = sent.elapsed();
    let until = sent + wait;
    let latency = loop {
        // Reading is cancel-safe (what was read stays in the buffer); a pong cut short by the
        // timeout could not be, but servers ping only after a silence far longer than a
        // probe's wait.
        let frame = match timeout_at(until, conn.next_frame()).await {
            Ok(frame) => frame?,
            Err(_) => break None,
        };
        let ours = frame.event == PROBE_EVENT
            && frame.channel.as_deref() == Some(channel)
            && frame.data_field("chanwatch_check").and_then(|v| v.as_str()) == Some(&nonce);
        if ours {
            break Some(sent.elapsed());
        }
        if frame.event == "pusher:error" {
            return Err(pusher_error(&frame));
        }
    };
    Ok(Sample {
        seq,
        publish: Some(publish),
        latency,
    })
}

/// One open WebSocket, read and written in turn.
struct Conn {
    stream: Stream,
    buf: BytesMut,
    decoder: Decoder,
    out: Vec<u8>,
}

impl Conn {
    fn new(stream: Stream, leftover: BytesMut) -> Conn {
        Conn {
            stream,
            buf: leftover,
            decoder: Decoder::new(MAX_MESSAGE),
            out: Vec::new(),
        }
    }

    async fn send_raw(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        self.out.clear();
        codec::encode(opcode, payload, rand::random(), &mut self.out);
        self.stream.write_all(&self.out).await?;
        self.stream.flush().await
    }

    async fn send(&mut self, text: &str) -> Result<(), String> {
        self.send_raw(codec::OP_TEXT, text.as_bytes())
            .await
            .map_err(|e| format!("connection lost while sending: {e}"))
    }

    /// The next Pusher frame; pings are answered on the way (both kinds), and a close, an
    /// end or a broken frame is an error that says so.
    async fn next_frame(&mut self) -> Result<Frame, String> {
        loop {
            let message = self
                .decoder
                .next(&mut self.buf)
                .map_err(|e| e.to_string())?;
            let Some(message) = message else {
                let n = self
                    .stream
                    .read_buf(&mut self.buf)
                    .await
                    .map_err(|e| format!("connection lost: {e}"))?;
                if n == 0 {
                    return Err("connection lost: closed without a close frame".to_string());
                }
                continue;
            };
            match message {
                Message::Text(text) => {
                    let frame = Frame::decode(text.as_str())
                        .map_err(|e| format!("the server sent a broken frame: {e}"))?;
                    if frame.event == "pusher:ping" {
                        self.send(protocol::frame::PONG).await?;
                        continue;
                    }
                    return Ok(frame);
                }
                Message::Ping(payload) => {
                    let _ = self.send_raw(codec::OP_PONG, &payload).await;
                }
                Message::Close(Some((code, reason))) => {
                    let reason = if reason.is_empty() {
                        "no reason given".to_string()
                    } else {
                        reason
                    };
                    return Err(format!("the server closed the connection: {code} {reason}"));
                }
                Message::Close(None) => {
                    return Err("the server closed the connection without a code".to_string());
                }
                Message::Binary(_) | Message::Pong => {}
            }
        }
    }

    async fn close(&mut self) {
        let payload = codec::close_payload(1000, "check done");
        if self.send_raw(codec::OP_CLOSE, &payload).await.is_ok() {
            let _ = self.stream.shutdown().await;
        }
    }
}

#[path = "runner_cluster.rs"]
pub mod cluster;

#[cfg(test)]
mod tests {
    use super::*;

    fn succeeded(ids: &str) -> Frame {
        let data = format!(r#"{{"presence":{{"ids":{ids},"hash":{{}},"count":2}}}}"#);
        let text = serde_json::json!({
            "event": "pusher_internal:subscription_succeeded",
            "channel": "presence-c",
            "data": data,
        });
        Frame::decode(&text.to_string()).unwrap()
    }

    #[test]
    fn a_presence_list_must_hold_our_user() {
        let ours = Some(r#"{"user_id":"me","user_info":{}}"#);
        assert_eq!(
            members(&succeeded(r#"["other","me"]"#), ours).unwrap(),
            Some("2 members, ours (me) among them".to_string())
        );
        // Numeric ids compare as the strings the protocol says they are.
        let numeric = Some(r#"{"user_id":7}"#);
        let one = members(&succeeded("[7]"), numeric).unwrap().unwrap();
        assert!(one.starts_with("1 member,"), "{one}");
        let missing = members(&succeeded(r#"["other"]"#), ours).unwrap_err();
        assert_eq!(
            missing,
            "subscribed, but the server's member list (1 ids) leaves out our user me"
        );
        // Not a presence grant: nothing to look for.
        assert_eq!(members(&succeeded("[]"), None).unwrap(), None);
    }
}
