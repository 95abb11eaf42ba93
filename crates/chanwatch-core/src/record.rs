//! What the client task tells whoever watches it: [`Record`]s flow out, stamped with the
//! wall clock (commands flow in, see [`crate::connection::Command`]). The serde shapes here
//! are part of chanwatch's headless NDJSON format, so change them only compatibly; a watcher
//! that adds records of its own (chanwatch's session does) writes them through the same
//! [`LineWriter`] by implementing [`LineRecord`].

use crate::protocol::RawJson;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::time::SystemTime;

/// Connection states, named as pusher-js names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Initialized,
    Connecting,
    Connected,
    Unavailable,
    Failed,
    Disconnected,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initialized => "initialized",
            State::Connecting => "connecting",
            State::Connected => "connected",
            State::Unavailable => "unavailable",
            State::Failed => "failed",
            State::Disconnected => "disconnected",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One presence member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub info: Value,
}

/// Something the client observed or did. Serialised with `"type"` as the tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// A state change. `cause` says why, in words (close code and reason, "pong timeout", ...).
    State {
        previous: State,
        current: State,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        socket_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        cause: Option<String>,
    },
    /// The next connection attempt starts after this delay.
    ConnectingIn {
        delay_ms: u64,
        /// Why the client is waiting (the cause of the failure, and why it backs off).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        reason: Option<String>,
    },
    /// A connection-level error: a close code, a `pusher:error`, a frame that could not be read.
    Error {
        code: Option<i64>,
        message: String,
    },
    Subscribed {
        channel: String,
    },
    SubscriptionError {
        channel: String,
        status: Option<u16>,
        message: String,
    },
    Unsubscribed {
        channel: String,
    },
    /// An event on a channel (or, for `channel: null`, on the connection).
    Event {
        channel: Option<String>,
        event: String,
        /// As the server sent it (un-doubled), not re-printed.
        data: RawJson,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        user_id: Option<String>,
        /// The payload arrived encrypted (`private-encrypted-`) and `data` is its plaintext.
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        decrypted: bool,
    },
    /// The full member list of a presence channel, sent when the subscription succeeds.
    Members {
        channel: String,
        me: Option<Member>,
        count: usize,
        members: Vec<Member>,
    },
    MemberAdded {
        channel: String,
        id: String,
        info: Value,
    },
    MemberRemoved {
        channel: String,
        id: String,
    },
    /// `pusher:signin_success`: the server accepted our user.
    SignedIn {
        user_id: String,
        user_data: Value,
    },
    /// User sign-in failed: the authenticator refused, or the server's answer was unusable.
    SigninError {
        status: Option<u16>,
        message: String,
    },
    /// A watchlist notification: `event` is "online" or "offline".
    Watchlist {
        event: String,
        user_ids: Vec<String>,
    },
    /// One authorization exchange, for the auth inspector: what was asked (`request`: the
    /// method, URL, form and headers with secret-looking values masked, or the local string
    /// to sign) and what came back (`response`: the grant with `shared_secret` masked, or
    /// the error). `status` is the HTTP status when there was one.
    Auth {
        channel: String,
        socket_id: String,
        request: Value,
        ok: bool,
        status: Option<u16>,
        response: Value,
        duration_ms: u64,
        /// What went wrong, when it did. Not part of the NDJSON line (whose fields are fixed):
        /// the dashboard matches on it to say what to look at.
        #[serde(skip)]
        failure: Option<AuthFailureKind>,
    },
    /// We sent `pusher:ping` because the connection was quiet for `after_ms`.
    PingSent {
        after_ms: u64,
    },
    /// The first frame after our ping arrived; `rtt_ms` is the round trip.
    Pong {
        rtt_ms: u64,
    },
}

impl Record {
    /// Cuts every text a server may have chosen to an excerpt
    /// ([`crate::protocol::excerpt`]): messages, causes and reasons, channel, event and
    /// user names. An event's `data` is not touched (headless output carries it whole; the
    /// dashboard's log has its own cap), nor are JSON values (member info, user data, the
    /// HTTP API's answers), which are bounded by the frame and body caps. A record whose
    /// texts are short (every usual one) is left as it is, at the cost of a length check
    /// per field.
    pub fn cut_server_text(&mut self) {
        use crate::protocol::excerpt::{cut, cut_option};
        match self {
            Record::State { cause, .. } => cut_option(cause),
            Record::ConnectingIn { reason, .. } => cut_option(reason),
            Record::Error { message, .. } | Record::SigninError { message, .. } => cut(message),
            Record::Subscribed { channel }
            | Record::Unsubscribed { channel }
            | Record::Members { channel, .. }
            | Record::MemberRemoved { channel, .. } => cut(channel),
            Record::MemberAdded { channel, id, .. } => {
                cut(channel);
                cut(id);
            }
            Record::SubscriptionError {
                channel, message, ..
            } => {
                cut(channel);
                cut(message);
            }
            Record::Event {
                channel,
                event,
                user_id,
                ..
            } => {
                cut_option(channel);
                cut(event);
                cut_option(user_id);
            }
            Record::SignedIn { user_id, .. } => cut(user_id),
            Record::Watchlist { event, .. } => cut(event),
            Record::Auth {
                channel, response, ..
            } => {
                cut(channel);
                if let Some(Value::String(error)) = response.get_mut("error") {
                    cut(error);
                }
            }
            Record::PingSent { .. } | Record::Pong { .. } => {}
        }
    }
}

/// What kind of thing made an authorization or user authentication fail. The authorizers
/// say it when they fail; the dashboard's hints match on it (an error message's words are
/// for people and may change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthFailureKind {
    /// No authorizer is configured for this channel, or no user authentication for sign-in.
    NotConfigured,
    /// The auth endpoint did not answer within the auth timeout.
    Timeout,
    /// The auth endpoint could not be reached, or its answer could not be read.
    Unreachable,
    /// The auth endpoint answered with this HTTP status instead of 200.
    HttpStatus(u16),
    /// The auth endpoint's answer was larger than any grant could be.
    AnswerTooLarge,
    /// The answer is not JSON (or, for JSONP, not the callback around it).
    BadJson,
    /// The answer is JSON but not a grant: not an object, `auth` missing or not
    /// `key:signature`, or a user authentication's `user_data` missing or unusable.
    BadGrant,
    /// A presence grant's `channel_data` is missing or unusable.
    BadChannelData,
    /// An encrypted channel's `shared_secret` is missing or unusable, or the authorizer
    /// cannot provide one.
    BadSharedSecret,
    /// The auth command could not be started, failed, timed out or printed no answer.
    CommandFailed,
    /// The socket id to sign is not `digits.digits`: nothing is signed with it.
    BadSocketId,
    /// The authorizer itself broke (it panicked).
    Internal,
}

/// The name of one server node, when a watcher connects to several nodes of one deployment
/// at once. Shared: every record from that node carries it.
pub type NodeName = std::sync::Arc<str>;

/// A record with the wall-clock time it was produced. `R` is the client's [`Record`] or a
/// watcher's own record type that wraps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped<R = Record> {
    pub ts: SystemTime,
    /// The node the record came from, when the watcher watches several; `None` for one
    /// connection (and the line then has no `node` field), and for a record about the
    /// nodes together.
    pub node: Option<NodeName>,
    pub record: R,
}

impl<R> Stamped<R> {
    pub fn now(record: R) -> Stamped<R> {
        Stamped::at(SystemTime::now(), record)
    }

    /// `record` at `ts`, from no node in particular.
    pub fn at(ts: SystemTime, record: R) -> Stamped<R> {
        Stamped {
            ts,
            node: None,
            record,
        }
    }

    /// The same time and node, with the record turned into a watcher's own type.
    pub fn map<T>(self, f: impl FnOnce(R) -> T) -> Stamped<T> {
        Stamped {
            ts: self.ts,
            node: self.node,
            record: f(self.record),
        }
    }
}

impl<R: LineRecord> Stamped<R> {
    /// One NDJSON line (without the newline): `{"ts":..., "type":..., ...}`.
    pub fn to_json_line(&self) -> String {
        let mut out = Vec::with_capacity(128);
        self.write_json_line(&mut out);
        String::from_utf8(out).expect("serde_json and humantime write UTF-8")
    }

    /// Append the NDJSON line (without the newline) to `out`.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        LineWriter::default().write(self, out);
    }
}

/// A record type that [`LineWriter`] can write: it serialises as an object with `"type"`,
/// and says when it holds a client [`Record`], whose `event`s take the fast path.
pub trait LineRecord: Serialize {
    fn as_client(&self) -> Option<&Record>;
}

impl LineRecord for Record {
    fn as_client(&self) -> Option<&Record> {
        Some(self)
    }
}

/// Writes NDJSON lines into a caller's buffer: the headless writer's hot path. It keeps the
/// last timestamp it formatted (a busy stream has many records per millisecond) and writes
/// `event` records field by field, their data copied as it arrived.
#[derive(Debug, Default)]
pub struct LineWriter {
    /// Milliseconds since the epoch, and that time as RFC 3339 text.
    last_ts: Option<(u128, String)>,
    /// Where a non-event record is serialised before its fields join the line.
    scratch: Vec<u8>,
}

impl LineWriter {
    /// Append the line for `s` (without the newline) to `out`, with the controls a terminal
    /// would act on escaped ([`terminal_safe`]): these lines go to stdout and to files.
    pub fn write<R: LineRecord>(&mut self, s: &Stamped<R>, out: &mut Vec<u8>) {
        let start = out.len();
        self.write_unescaped(s, out);
        escape_controls_from(out, start);
    }

    fn write_unescaped<R: LineRecord>(&mut self, s: &Stamped<R>, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"ts\":\"");
        self.write_ts(s.ts, out);
        out.extend_from_slice(b"\",");
        if let Some(node) = &s.node {
            out.extend_from_slice(b"\"node\":");
            write_str(out, node);
            out.push(b',');
        }
        match s.record.as_client() {
            Some(Record::Event {
                channel,
                event,
                data,
                user_id,
                decrypted,
            }) => {
                // Field for field what serde's derive writes (a test holds them together).
                out.extend_from_slice(b"\"type\":\"event\",\"channel\":");
                match channel {
                    Some(c) => write_str(out, c),
                    None => out.extend_from_slice(b"null"),
                }
                out.extend_from_slice(b",\"event\":");
                write_str(out, event);
                out.extend_from_slice(b",\"data\":");
                out.extend_from_slice(data.get().as_bytes());
                if let Some(u) = user_id {
                    out.extend_from_slice(b",\"user_id\":");
                    write_str(out, u);
                }
                if *decrypted {
                    out.extend_from_slice(b",\"decrypted\":true");
                }
                out.push(b'}');
            }
            _ => self.write_fields(&s.record, out),
        }
    }

    /// The record's fields through serde: it serialises as an object `{...}`, whose `{` is
    /// dropped so that its fields follow `ts`. Every variant has at least `type`.
    fn write_fields<R: Serialize>(&mut self, record: &R, out: &mut Vec<u8>) {
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, record).expect("records always serialise");
        out.extend_from_slice(&self.scratch[1..]);
    }

    fn write_ts(&mut self, ts: SystemTime, out: &mut Vec<u8>) {
        let Ok(since) = ts.duration_since(std::time::UNIX_EPOCH) else {
            out.extend_from_slice(humantime::format_rfc3339_millis(ts).to_string().as_bytes());
            return;
        };
        let ms = since.as_millis();
        match &self.last_ts {
            Some((last, text)) if *last == ms => out.extend_from_slice(text.as_bytes()),
            _ => {
                let text = humantime::format_rfc3339_millis(ts).to_string();
                out.extend_from_slice(text.as_bytes());
                self.last_ts = Some((ms, text));
            }
        }
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("a str always serialises");
}

// ----- text that a terminal would act on -----

/// `text`, valid JSON on one line, made safe to print on a terminal or `cat` from a file:
/// JSON lets DEL (U+007F) and the C1 controls (U+0080-U+009F) stand raw inside strings, and
/// a terminal acts on them (U+009B is a one-byte CSI, as ESC [ is). They become `\u007f` ...
/// `\u009f`, the same string to any JSON reader. A raw CR can only be whitespace between
/// tokens in valid JSON, where it would send the cursor back over the line: it is dropped,
/// as [`crate::protocol::RawJson`] drops the line breaks of event data. Other C0 controls
/// cannot stand raw in valid JSON (serde writes them as `\u001b` and the like).
///
/// Borrowed, without a copy, when there is nothing to change: one `memchr3` pass.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    match first_control(bytes) {
        None => Cow::Borrowed(text),
        Some(first) => {
            let mut out = Vec::with_capacity(bytes.len() + 16);
            out.extend_from_slice(&bytes[..first]);
            escape_controls_into(&bytes[first..], &mut out);
            // Whole characters were replaced by ASCII: still UTF-8.
            Cow::Owned(String::from_utf8(out).expect("escaping keeps UTF-8"))
        }
    }
}

/// [`terminal_safe`] in place, for `out[from..]`.
fn escape_controls_from(out: &mut Vec<u8>, from: usize) {
    if let Some(first) = first_control(&out[from..]) {
        let tail = out.split_off(from + first);
        escape_controls_into(&tail, out);
    }
}

/// A place at or before the first character [`terminal_safe`] changes, on a byte that
/// escaping may start from. Most text has no CR, DEL or 0xC2 byte at all, and `memchr3`
/// says so at memory speed. But 0xC2 also starts U+00A0-U+00BF (`°`, `£`, a no-break
/// space), and stopping at each of those made Latin-1-rich text up to twenty times slower
/// to write: after a few, the rest is read in blocks with no branch per byte, a C1 control
/// found by its second byte with the one before it.
fn first_control(bytes: &[u8]) -> Option<usize> {
    const MEMCHR_MISSES: usize = 4;
    let mut at = 0;
    for _ in 0..MEMCHR_MISSES {
        let p = at + memchr::memchr3(b'\r', 0x7f, 0xc2, &bytes[at..])?;
        if bytes[p] != 0xc2 || bytes.get(p + 1).is_some_and(is_c1_continuation) {
            return Some(p);
        }
        at = p + 1;
    }
    first_control_in_blocks(bytes, at)
}

/// [`first_control`]'s block scan from `start`, which is not inside a C1 control.
fn first_control_in_blocks(bytes: &[u8], mut start: usize) -> Option<usize> {
    const BLOCK: usize = 128;
    if let Some(&b) = bytes.get(start)
        && (b == b'\r' || b == 0x7f)
    {
        return Some(start);
    }
    start += 1;
    while start < bytes.len() {
        let end = (start + BLOCK).min(bytes.len());
        let hit = bytes[start..end]
            .iter()
            .zip(&bytes[start - 1..end - 1])
            .fold(false, |hit, (&b, &before)| {
                hit | (b == b'\r') | (b == 0x7f) | ((before == 0xc2) & (b & 0xe0 == 0x80))
            });
        if hit {
            return Some(start - 1);
        }
        start = end;
    }
    None
}

fn is_c1_continuation(b: &u8) -> bool {
    (0x80..=0x9f).contains(b)
}

fn escape_controls_into(bytes: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\r' | b'\n' => {}
            b'\t' => out.push(b),
            0x00..=0x1f | 0x7f => push_u00(out, b),
            0xc2 if bytes.get(i + 1).is_some_and(is_c1_continuation) => {
                i += 1;
                push_u00(out, bytes[i]);
            }
            _ => out.push(b),
        }
        i += 1;
    }
}

/// `\u00XX` for the character U+00XX, in serde's lower-case hex.
fn push_u00(out: &mut Vec<u8>, code: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\\u00");
    out.push(HEX[usize::from(code >> 4)]);
    out.push(HEX[usize::from(code & 0xf)]);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn event_lines_are_written_as_serde_would() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let mut writer = LineWriter::default();
        for (channel, event, data, user_id, decrypted) in [
            (Some("ch"), "tick", r#"{"a": [1, 2.50]}"#, None, false),
            (None, "pusher:x", "null", Some("u\"1"), false),
            (
                Some("private-encrypted-é\n"),
                "e\u{1}",
                r#""text""#,
                Some("7"),
                true,
            ),
        ] {
            let s = Stamped {
                node: None,
                ts: at,
                record: Record::Event {
                    channel: channel.map(str::to_string),
                    event: event.into(),
                    data: RawJson::parse(data).unwrap(),
                    user_id: user_id.map(str::to_string),
                    decrypted,
                },
            };
            let mut fast = Vec::new();
            writer.write(&s, &mut fast);
            let mut generic = b"{\"ts\":\"2023-11-14T22:13:20.123Z\",".to_vec();
            writer.write_fields(&s.record, &mut generic);
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(generic).unwrap()
            );
        }
    }

    #[test]
    fn the_timestamp_cache_follows_the_clock() {
        let mut writer = LineWriter::default();
        let mut line = |ms: u64| {
            let s = Stamped {
                node: None,
                ts: UNIX_EPOCH + Duration::from_millis(ms),
                record: Record::ConnectingIn {
                    delay_ms: 1,
                    reason: None,
                },
            };
            let mut out = Vec::new();
            writer.write(&s, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert!(line(1_700_000_000_123).contains("20.123Z"));
        assert!(line(1_700_000_000_123).contains("20.123Z"));
        assert!(line(1_700_000_000_124).contains("20.124Z"));
        assert!(line(1_700_000_000_123).contains("20.123Z"));
    }

    #[test]
    fn ndjson_line_has_ts_then_type() {
        let s = Stamped {
            node: None,
            ts: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            record: Record::State {
                previous: State::Connecting,
                current: State::Connected,
                socket_id: Some("1.2".into()),
                cause: None,
            },
        };
        let line = s.to_json_line();
        assert_eq!(
            line,
            r#"{"ts":"2023-11-14T22:13:20.123Z","type":"state","previous":"connecting","current":"connected","socket_id":"1.2"}"#
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["type"], "state");
    }

    #[test]
    fn write_json_line_appends_the_same_line() {
        let s = Stamped {
            node: None,
            ts: UNIX_EPOCH + Duration::from_millis(1_700_000_000_005),
            record: Record::Event {
                channel: Some("ch".into()),
                event: "tick".into(),
                data: json!({"pad": "x\"y\u{e9}"}).into(),
                user_id: None,
                decrypted: false,
            },
        };
        let mut buf = b"previous\n".to_vec();
        s.write_json_line(&mut buf);
        let line = std::str::from_utf8(&buf[b"previous\n".len()..]).unwrap();
        assert_eq!(
            line,
            r#"{"ts":"2023-11-14T22:13:20.005Z","type":"event","channel":"ch","event":"tick","data":{"pad":"x\"yé"}}"#
        );
        assert_eq!(line, s.to_json_line());
    }

    /// Server text with what a terminal acts on: ESC (a colour, a screen clear, a title),
    /// BEL, CR, DEL and C1 controls (NEL, the one-byte CSI).
    pub(crate) const HOSTILE: &str =
        "\u{1b}[31mred \u{1b}]0;title\u{7} cr\rover \u{7f}del \u{85}nel \u{9b}2J csi";

    /// No raw control character but the line feeds between lines, and no C1 one.
    pub(crate) fn assert_terminal_safe(text: &str) {
        for c in text.chars() {
            assert!(c == '\n' || !c.is_control(), "{c:?} in {text:?}");
        }
    }

    #[test]
    fn controls_in_server_text_are_escaped_in_every_line() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        for record in [
            Record::Event {
                channel: Some(format!("ch{}", '\u{9b}')),
                event: HOSTILE.into(),
                data: json!({ "t": HOSTILE }).into(),
                user_id: Some(HOSTILE.into()),
                decrypted: false,
            },
            Record::Event {
                channel: None,
                event: "e".into(),
                data: RawJson::string(HOSTILE),
                user_id: None,
                decrypted: false,
            },
            Record::Error {
                code: Some(4000),
                message: HOSTILE.into(),
            },
        ] {
            let s = Stamped {
                node: None,
                ts: at,
                record,
            };
            let line = s.to_json_line();
            assert_terminal_safe(&line);
            assert!(
                line.contains(r"\u001b[31m") && line.contains(r"\u009b2J"),
                "{line}"
            );
            // The same JSON as serde writes, raw controls and all.
            let mut generic = b"{\"ts\":\"2023-11-14T22:13:20.123Z\",".to_vec();
            LineWriter::default().write_fields(&s.record, &mut generic);
            assert_eq!(
                serde_json::from_str::<Value>(&line).unwrap(),
                serde_json::from_slice::<Value>(&generic).unwrap()
            );
        }
    }

    #[test]
    fn terminal_safe_escapes_del_and_c1_and_drops_a_raw_cr() {
        // A raw CR can only be whitespace in valid JSON; DEL and C1 only inside strings.
        let text = "{\"a\":\"\u{7f}\u{80}\u{9f}\",\r\"b\":\"\u{a0}\u{b0}é\"}";
        let safe = terminal_safe(text);
        assert_eq!(
            safe,
            "{\"a\":\"\\u007f\\u0080\\u009f\",\"b\":\"\u{a0}\u{b0}é\"}"
        );
        assert_eq!(
            serde_json::from_str::<Value>(&safe).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        // Nothing to change, nothing copied: U+00A0-U+00BF share C1's first byte.
        assert!(matches!(
            terminal_safe("{\"b\":\"\u{a0}° £\"}"),
            Cow::Borrowed(_)
        ));
        assert_eq!(terminal_safe("\u{85}"), "\\u0085");
        // Past the first few 0xC2 bytes of U+00A0-U+00BF the search reads in blocks: a C1
        // control or a CR anywhere after them, across a block's edge too, is still found.
        for at in [0, 1, 126, 127, 128, 129, 300] {
            for control in ["\u{9b}", "\u{7f}"] {
                let text = format!("\"{}{control}{}\"", "°".repeat(at), "£".repeat(at));
                let safe = terminal_safe(&text);
                assert_terminal_safe(&safe);
                assert_eq!(
                    serde_json::from_str::<String>(&safe).unwrap(),
                    serde_json::from_str::<String>(&text).unwrap()
                );
            }
            let clean = format!("\"{}\"", "°".repeat(at));
            assert!(matches!(terminal_safe(&clean), Cow::Borrowed(_)));
        }
        let mut out = b"kept\r\x7f".to_vec();
        escape_controls_from(&mut out, 5);
        assert_eq!(out, b"kept\r\\u007f");
    }

    #[test]
    fn error_code_null_is_serialised() {
        let line = Stamped::now(Record::Error {
            code: None,
            message: "m".into(),
        })
        .to_json_line();
        assert!(line.contains(r#""code":null"#), "{line}");
    }
}
