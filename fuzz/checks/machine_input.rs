//! The connection state machine after a scripted handshake, fed arbitrary steps: text
//! frames (raw, or Pusher-shaped with fuzzed fields), close codes, binary frames, commands,
//! authorization answers and the passing of time. It must never panic, every frame it sends
//! must be JSON with an `event`, every record must serialise, and ticks must clear the
//! deadlines that are due (no livelock at one instant).
//!
//! Shared by the fuzz target and by `cargo test`, which replays the corpus through it.

use arbitrary::Arbitrary;
use chanwatch_core::connection::Command;
use chanwatch_core::connection::{
    AuthFailure, AuthFailureKind, AuthGrant, AuthRequest, Endpoint, Input, Machine, MachineConfig,
    Output, UserGrant,
};
use std::time::{Duration, Instant};

/// Names the machine treats specially, so fuzzed frames reach the interesting paths.
const EVENTS: &[&str] = &[
    "pusher:connection_established",
    "pusher:error",
    "pusher:ping",
    "pusher:pong",
    "pusher:cache_miss",
    "pusher:signin_success",
    "pusher:subscription_error",
    "pusher_internal:subscription_succeeded",
    "pusher_internal:member_added",
    "pusher_internal:member_removed",
    "client-x",
    "my-event",
];
const CHANNELS: &[&str] = &[
    "public",
    "private-p",
    "presence-room",
    "private-encrypted-e",
    "cache-c",
    "#server-to-user-u1",
    "unknown",
];

#[derive(Debug, Arbitrary)]
enum Step {
    /// Any text frame.
    Raw(String),
    /// A Pusher-shaped frame: known event and channel names, fuzzed data.
    Event {
        event: u8,
        channel: Option<u8>,
        /// Sent double-encoded (as a string) when true, as a plain value otherwise.
        double: bool,
        data: Data,
    },
    Binary(u16),
    Activity,
    Closed {
        code: Option<u16>,
        reason: String,
    },
    OpenFailed(String),
    /// The socket we were told to open, opened.
    Opened,
    /// A command as stdin JSON would give it.
    Command(String),
    Subscribe(u8),
    Unsubscribe(u8),
    /// Answer the oldest pending authorization.
    Authorize {
        ok: bool,
        channel_data: Option<String>,
        shared_secret: Option<String>,
    },
    /// Answer the oldest pending user authentication (for `pusher:signin`).
    AuthenticateUser {
        ok: bool,
        user_data: String,
    },
    /// Let time pass, then tick.
    Wait(u16),
}

/// A number as a hostile server may write it: any integer or float (infinities and NaN
/// become out-of-range literals), a huge integer beyond 64 bits, a string, or nothing.
#[derive(Debug, Arbitrary)]
enum Num {
    Int(i64),
    Float(f64),
    /// An integer literal of this many digits (up to 255).
    Huge(u8),
    /// An exponent literal such as 1e308 or -5e-324.
    Exp {
        negative: bool,
        mantissa: u8,
        exp: i16,
    },
    Text(String),
    Missing,
}

impl Num {
    fn to_value(&self) -> serde_json::Value {
        use serde_json::{Value, json};
        let literal = |text: String| serde_json::from_str::<Value>(&text).unwrap_or(Value::Null);
        match self {
            Num::Int(n) => json!(n),
            Num::Float(f) if f.is_finite() => json!(f),
            Num::Float(f) => literal(if *f > 0.0 {
                "1e308".into()
            } else {
                "-1e308".into()
            }),
            Num::Huge(digits) => literal(format!("9{}", "9".repeat(*digits as usize))),
            Num::Exp {
                negative,
                mantissa,
                exp,
            } => {
                let sign = if *negative { "-" } else { "" };
                literal(format!("{sign}{mantissa}e{}", exp % 400))
            }
            Num::Text(s) => json!(s),
            Num::Missing => Value::Null,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Data {
    Text(String),
    Members {
        ids: Vec<u8>,
        count: Num,
    },
    Member {
        id: u8,
        info: Option<String>,
    },
    Error {
        code: Num,
        message: String,
    },
    Established {
        socket_id: String,
        activity_timeout: Num,
    },
    SubscriptionError {
        status: Num,
    },
}

impl Data {
    fn to_value(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Data::Text(s) => serde_json::from_str(s).unwrap_or_else(|_| json!(s)),
            Data::Members { ids, count } => {
                let ids: Vec<String> = ids.iter().map(|i| format!("u{i}")).collect();
                let hash: serde_json::Map<String, serde_json::Value> =
                    ids.iter().map(|i| (i.clone(), json!({ "n": i }))).collect();
                json!({ "presence": { "ids": ids, "hash": hash, "count": count.to_value() } })
            }
            Data::Member { id, info } => json!({ "user_id": format!("u{id}"), "user_info": info }),
            Data::Error { code, message } => json!({ "code": code.to_value(), "message": message }),
            Data::Established {
                socket_id,
                activity_timeout,
            } => json!({ "socket_id": socket_id, "activity_timeout": activity_timeout.to_value() }),
            Data::SubscriptionError { status } => json!({ "status": status.to_value() }),
        }
    }
}

struct Harness {
    machine: Machine,
    now: Instant,
    conn: Option<u64>,
    pending_auth: Vec<AuthRequest>,
    pending_user: Vec<String>,
}

impl Harness {
    fn feed(&mut self, input: Input) {
        let outputs = self.machine.handle(self.now, input);
        for output in outputs {
            match output {
                Output::Open { conn, .. } => self.conn = Some(conn),
                Output::Send { text, .. } => {
                    let v: serde_json::Value =
                        serde_json::from_str(&text).expect("outbound frames are JSON");
                    assert!(
                        v["event"].is_string(),
                        "outbound frame without event: {text}"
                    );
                }
                Output::Close { .. } | Output::Pong { .. } => {}
                Output::Authorize(req) => self.pending_auth.push(req),
                Output::AuthenticateUser { socket_id } => self.pending_user.push(socket_id),
                Output::Record(record) => {
                    // Every record serialises (the headless writer relies on it).
                    let _ = chanwatch_core::record::Stamped::now(record).to_json_line();
                }
            }
        }
    }

    fn conn(&self) -> u64 {
        self.conn.unwrap_or(0)
    }
}

/// The fuzzer's bytes as the target takes them: a list of steps.
pub fn check(data: &[u8]) {
    let Ok(steps) = Vec::<Step>::arbitrary_take_rest(arbitrary::Unstructured::new(data)) else {
        return;
    };
    run(steps);
}

fn run(steps: Vec<Step>) {
    let mut endpoint = Endpoint::new("127.0.0.1", "key");
    endpoint.tls = false;
    let mut config = MachineConfig::new(endpoint);
    config.signin = true;
    let mut h = Harness {
        machine: Machine::new(config),
        now: Instant::now(),
        conn: None,
        pending_auth: Vec::new(),
        pending_user: Vec::new(),
    };
    // The scripted handshake: channels queued, connect, open, established.
    for channel in ["public", "private-p", "presence-room", "cache-c"] {
        h.feed(Input::Command(Command::Subscribe {
            channel: channel.into(),
        }));
    }
    h.feed(Input::Command(Command::Connect));
    let conn = h.conn();
    h.feed(Input::Opened { conn });
    h.feed(Input::Text {
        conn,
        text: r#"{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":120}"}"#.into(),
    });

    for step in steps.into_iter().take(200) {
        let conn = h.conn();
        match step {
            Step::Raw(text) => h.feed(Input::Text {
                conn,
                text: text.into(),
            }),
            Step::Event {
                event,
                channel,
                double,
                data,
            } => {
                let mut frame = serde_json::json!({
                    "event": EVENTS[event as usize % EVENTS.len()],
                });
                let value = data.to_value();
                frame["data"] = if double {
                    serde_json::Value::String(value.to_string())
                } else {
                    value
                };
                if let Some(c) = channel {
                    frame["channel"] = CHANNELS[c as usize % CHANNELS.len()].into();
                }
                h.feed(Input::Text {
                    conn,
                    text: frame.to_string().into(),
                });
            }
            Step::Binary(len) => h.feed(Input::Binary {
                conn,
                len: len as usize,
            }),
            Step::Activity => h.feed(Input::Activity { conn }),
            Step::Closed { code, reason } => h.feed(Input::Closed { conn, code, reason }),
            Step::OpenFailed(message) => h.feed(Input::OpenFailed { conn, message }),
            Step::Opened => h.feed(Input::Opened { conn }),
            Step::Command(json) => {
                // Only the connection's commands reach the machine; the session serves the rest.
                if let Ok(chanwatch::session::Command::Connection(command)) =
                    serde_json::from_str::<chanwatch::session::Command>(&json)
                {
                    h.feed(Input::Command(command));
                }
            }
            Step::Subscribe(c) => h.feed(Input::Command(Command::Subscribe {
                channel: CHANNELS[c as usize % CHANNELS.len()].into(),
            })),
            Step::Unsubscribe(c) => h.feed(Input::Command(Command::Unsubscribe {
                channel: CHANNELS[c as usize % CHANNELS.len()].into(),
            })),
            Step::Authorize {
                ok,
                channel_data,
                shared_secret,
            } => {
                if h.pending_auth.is_empty() {
                    continue;
                }
                let request = h.pending_auth.remove(0);
                let result = if ok {
                    Ok(AuthGrant {
                        auth: format!("key:{}", request.channel),
                        channel_data,
                        shared_secret,
                    })
                } else {
                    Err(
                        AuthFailure::new(AuthFailureKind::HttpStatus(403), "refused")
                            .with_status(403),
                    )
                };
                h.feed(Input::Authorized { request, result });
            }
            Step::AuthenticateUser { ok, user_data } => {
                if h.pending_user.is_empty() {
                    continue;
                }
                let socket_id = h.pending_user.remove(0);
                let result = if ok {
                    Ok(UserGrant {
                        auth: "key:signature".into(),
                        user_data,
                    })
                } else {
                    Err(AuthFailure::new(AuthFailureKind::NotConfigured, "no user"))
                };
                h.feed(Input::UserAuthenticated { socket_id, result });
            }
            Step::Wait(ms) => {
                h.now += Duration::from_millis(ms as u64 * 10);
                // Deadlines due now are handled by a tick; one may schedule another for the
                // same instant (a retry at once), but a few ticks must clear them all.
                let mut ticks = 0;
                loop {
                    h.feed(Input::Tick);
                    match h.machine.next_deadline() {
                        Some(d) if d <= h.now => {
                            ticks += 1;
                            assert!(ticks < 8, "deadline {d:?} is never cleared at {:?}", h.now);
                        }
                        _ => break,
                    }
                }
            }
        }
    }
}
