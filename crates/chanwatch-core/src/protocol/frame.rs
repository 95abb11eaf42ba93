//! Wire frames: decode liberally, encode exactly.
//!
//! Every Pusher message is one UTF-8 JSON text frame carrying one `event`. Servers
//! double-encode `data` as a JSON string most of the time, but some send an object,
//! and sockudo sends ping/pong with no `data` at all, so decoding accepts all three.

use super::raw_json::RawJson;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::cell::OnceCell;

/// A decoded inbound frame.
#[derive(Debug, Clone)]
pub struct Frame {
    pub event: String,
    pub channel: Option<String>,
    /// `data` after undoing the double encoding: a string that holds valid JSON becomes
    /// that JSON; any other string stays a string; a missing field is `null`.
    pub data: RawJson,
    pub user_id: Option<String>,
    /// `data` parsed, on first use: control frames look inside it, events never do.
    parsed: OnceCell<Value>,
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.event == other.event
            && self.channel == other.channel
            && self.data == other.data
            && self.user_id == other.user_id
    }
}

/// Why a text frame could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame is not valid JSON: {0}")]
    NotJson(String),
    #[error("frame is not a JSON object")]
    NotObject,
    #[error("frame has no \"event\" field")]
    MissingEvent,
    #[error("field \"{field}\" has the wrong type (expected {expected})")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
}

/// The shape nearly every frame has, read without building a tree: `data` stays borrowed
/// text until it is un-doubled straight into its [`RawJson`].
#[derive(Deserialize)]
struct Wire<'a> {
    event: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    user_id: Option<&'a RawValue>,
}

impl Frame {
    pub fn new(
        event: String,
        channel: Option<String>,
        data: RawJson,
        user_id: Option<String>,
    ) -> Frame {
        Frame {
            event,
            channel,
            data,
            user_id,
            parsed: OnceCell::new(),
        }
    }

    /// Three decoders, fastest first; each gives up on what the next one handles. The
    /// scanner reads an event's bytes once; serde's borrowed reader handles every shape of
    /// valid frame; anything unusual (a wrong type, a repeated key, a lone surrogate escape,
    /// not JSON at all) takes the general path, which also says precisely what is wrong.
    pub fn decode(text: &str) -> Result<Frame, DecodeError> {
        super::frame_scan::decode(text)
            .or_else(|| Frame::decode_wire(text))
            .map_or_else(|| Frame::decode_value(text), Ok)
    }

    /// The middle decoder: serde_json's borrowed reader, with `data` un-doubled from its
    /// token. Public so the fuzzer can hold the scanner to its exact output.
    pub fn decode_wire(text: &str) -> Option<Frame> {
        serde_json::from_str::<Wire>(text)
            .ok()
            .and_then(Frame::from_wire)
    }

    fn from_wire(wire: Wire) -> Option<Frame> {
        let data = match wire.data {
            None => RawJson::null(),
            Some(token) if token.get().starts_with('"') => RawJson::undouble_token(token)?,
            Some(other) => RawJson::from_raw(other)?,
        };
        // user_id is typed as a string by the protocol, but numbers are seen in the wild;
        // normalise to a string so presence ids always compare equal.
        let user_id = wire.user_id.and_then(|raw| {
            let text = raw.get();
            match text.as_bytes().first() {
                Some(b'"') => serde_json::from_str::<String>(text)
                    .ok()
                    .filter(|s| !s.is_empty()),
                Some(b'-' | b'0'..=b'9') => Some(text.to_owned()),
                _ => None,
            }
        });
        Some(Frame::new(wire.event, wire.channel, data, user_id))
    }

    /// The general decoder, through a `Value`, with a precise error for each way a frame
    /// can be wrong. [`Frame::decode`] uses it when its fast path gives up; public so the
    /// fuzzer can hold the two to the same answers.
    pub fn decode_value(text: &str) -> Result<Frame, DecodeError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
        let Value::Object(mut obj) = value else {
            return Err(DecodeError::NotObject);
        };
        let event = match obj.remove("event") {
            Some(Value::String(s)) => s,
            Some(_) => {
                return Err(DecodeError::WrongType {
                    field: "event",
                    expected: "string",
                });
            }
            None => return Err(DecodeError::MissingEvent),
        };
        let channel = match obj.remove("channel") {
            Some(Value::String(s)) => Some(s),
            Some(Value::Null) | None => None,
            Some(_) => {
                return Err(DecodeError::WrongType {
                    field: "channel",
                    expected: "string",
                });
            }
        };
        let user_id = match obj.remove("user_id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let data = match obj.remove("data") {
            Some(Value::String(s)) => {
                let token = serde_json::to_string(&s).expect("a string serialises");
                RawJson::undouble(&s, &token)
            }
            Some(other) => RawJson::from_value(&other),
            None => RawJson::null(),
        };
        Ok(Frame::new(event, channel, data, user_id))
    }

    /// `data` as a parsed value (parsed once, on first use).
    pub fn data_value(&self) -> &Value {
        self.parsed.get_or_init(|| self.data.to_value())
    }

    /// A field of an object `data`, when there is one.
    pub fn data_field(&self, key: &str) -> Option<&Value> {
        self.data_value().as_object().and_then(|o| o.get(key))
    }
}

/// What kind of JSON value `v` is, in words, for messages ("an object", "a string" ...).
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A user id from presence data: strings stay, numbers become their decimal text.
pub fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Serialize)]
struct Outbound<'a, D: Serialize> {
    event: &'a str,
    data: D,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'a str>,
}

/// Encode an outbound frame exactly as pusher-js does: `data` as a plain object, not a string.
pub fn encode(event: &str, channel: Option<&str>, data: &impl Serialize) -> String {
    serde_json::to_string(&Outbound {
        event,
        data,
        channel,
    })
    .expect("serialising JSON values cannot fail")
}

pub fn ping() -> String {
    encode("pusher:ping", None, &Map::new())
}

/// The answer to a `pusher:ping`, as [`encode`] writes it (checked by a test): a constant,
/// since a flood of pings may ask for it often.
pub const PONG: &str = r#"{"event":"pusher:pong","data":{}}"#;

pub fn pong() -> String {
    PONG.to_string()
}

#[cfg(test)]
#[test]
fn the_pong_constant_is_what_encode_writes() {
    assert_eq!(PONG, encode("pusher:pong", None, &Map::new()));
}

/// `pusher:subscribe`. pusher-js always sends `auth`, empty for public channels.
pub fn subscribe(channel: &str, auth: &str, channel_data: Option<&str>) -> String {
    #[derive(Serialize)]
    struct D<'a> {
        auth: &'a str,
        channel: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        channel_data: Option<&'a str>,
    }
    encode(
        "pusher:subscribe",
        None,
        &D {
            auth,
            channel,
            channel_data,
        },
    )
}

pub fn unsubscribe(channel: &str) -> String {
    #[derive(Serialize)]
    struct D<'a> {
        channel: &'a str,
    }
    encode("pusher:unsubscribe", None, &D { channel })
}

pub fn signin(auth: &str, user_data: &str) -> String {
    #[derive(Serialize)]
    struct D<'a> {
        auth: &'a str,
        user_data: &'a str,
    }
    encode("pusher:signin", None, &D { auth, user_data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn double_encoded_data_is_decoded() {
        let f = Frame::decode(
            r#"{"event":"pusher:connection_established","data":"{\"socket_id\":\"123.456\",\"activity_timeout\":120}"}"#,
        )
        .unwrap();
        assert_eq!(f.event, "pusher:connection_established");
        assert_eq!(
            f.data,
            json!({"socket_id":"123.456","activity_timeout":120})
        );
        assert_eq!(f.channel, None);
    }

    #[test]
    fn object_data_is_kept() {
        let f = Frame::decode(r#"{"event":"pusher:error","data":{"message":"x","code":4001}}"#)
            .unwrap();
        assert_eq!(f.data_field("code"), Some(&json!(4001)));
    }

    #[test]
    fn missing_data_is_null() {
        let f = Frame::decode(r#"{"event":"pusher:ping"}"#).unwrap();
        assert_eq!(f.data, Value::Null);
    }

    #[test]
    fn plain_string_data_stays_a_string() {
        let f = Frame::decode(r#"{"event":"e","channel":"c","data":"hello"}"#).unwrap();
        assert_eq!(f.data, json!("hello"));
        assert_eq!(f.channel.as_deref(), Some("c"));
    }

    #[test]
    fn floats_are_printed_as_received() {
        // Without serde_json's float_roundtrip a parsed float may move by one ulp, and a
        // debugging tool must show what the server sent.
        for x in [
            "0.9999999999999999",
            "2.7182818284590452353602874713527",
            "2.2250738585072011e-308",
            "5e-324",
        ] {
            let f = Frame::decode(&format!(r#"{{"event":"e","data":"{{\"x\":{x}}}"}}"#)).unwrap();
            let back: f64 = f.data_value()["x"].to_string().parse().unwrap();
            assert_eq!(back, x.parse::<f64>().unwrap(), "{x}");
        }
    }

    #[test]
    fn the_fast_and_the_general_decoder_agree() {
        for text in [
            r#"{"event":"e","channel":"c","data":"{\"a\":1}"}"#,
            r#"{"event":"e","channel":null,"data":{"a":[1, 2]}}"#,
            r#"{"event":"e\u00e9","data":"plain \"quoted\" words"}"#,
            r#"{"event":"e","data":"  [1,\n2] ","user_id":"u1","extra":{"x":1}}"#,
            r#"{"event":"e","data":null}"#,
            r#"{"event":"e","data":5,"user_id":""}"#,
            // A repeated key makes the fast path give up; the general one takes the last.
            r#"{"event":"a","event":"b"}"#,
        ] {
            let fast = Frame::decode(text).unwrap();
            let general = Frame::decode_value(text).unwrap();
            assert_eq!(fast, general, "{text}");
            assert!(!fast.data.get().contains('\n'), "{text}");
        }
        assert_eq!(
            Frame::decode(r#"{"event":"a","event":"b"}"#).unwrap().event,
            "b"
        );
    }

    #[test]
    fn a_lone_surrogate_is_an_error_not_a_panic() {
        assert!(matches!(
            Frame::decode(r#"{"event":"e","data":"\ud800"}"#),
            Err(DecodeError::NotJson(_))
        ));
        assert!(matches!(
            Frame::decode(r#"{"event":"e","data":{"a":"\ud800"}}"#),
            Err(DecodeError::NotJson(_))
        ));
        // Inside the double-encoded JSON it is only text that is not JSON: kept as sent.
        let f = Frame::decode(r#"{"event":"e","data":"{\"a\":\"\\ud800\"}"}"#).unwrap();
        assert_eq!(f.data.get(), r#""{\"a\":\"\\ud800\"}""#);
    }

    #[test]
    fn big_integers_in_data_survive() {
        let f = Frame::decode(r#"{"event":"e","data":"{\"id\":123456789012345678901234567890}"}"#)
            .unwrap();
        assert_eq!(f.data.get(), r#"{"id":123456789012345678901234567890}"#);
    }

    #[test]
    fn user_id_numbers_become_strings() {
        let f = Frame::decode(
            r#"{"event":"client-x","channel":"presence-a","data":"{}","user_id":10}"#,
        )
        .unwrap();
        assert_eq!(f.user_id.as_deref(), Some("10"));
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        assert!(matches!(
            Frame::decode("not json"),
            Err(DecodeError::NotJson(_))
        ));
        assert_eq!(Frame::decode("[1,2]"), Err(DecodeError::NotObject));
        assert_eq!(
            Frame::decode(r#"{"data":"{}"}"#),
            Err(DecodeError::MissingEvent)
        );
        assert!(matches!(
            Frame::decode(r#"{"event":5}"#),
            Err(DecodeError::WrongType { field: "event", .. })
        ));
        assert!(matches!(
            Frame::decode(r#"{"event":"e","channel":7}"#),
            Err(DecodeError::WrongType {
                field: "channel",
                ..
            })
        ));
    }

    #[test]
    fn encodes_like_pusher_js() {
        assert_eq!(ping(), r#"{"event":"pusher:ping","data":{}}"#);
        assert_eq!(pong(), r#"{"event":"pusher:pong","data":{}}"#);
        assert_eq!(
            subscribe("my-channel", "", None),
            r#"{"event":"pusher:subscribe","data":{"auth":"","channel":"my-channel"}}"#
        );
        assert_eq!(
            subscribe("presence-a", "k:s", Some(r#"{"user_id":"1"}"#)),
            r#"{"event":"pusher:subscribe","data":{"auth":"k:s","channel":"presence-a","channel_data":"{\"user_id\":\"1\"}"}}"#
        );
        assert_eq!(
            unsubscribe("c"),
            r#"{"event":"pusher:unsubscribe","data":{"channel":"c"}}"#
        );
        assert_eq!(
            encode("client-x", Some("private-a"), &json!({"a":1})),
            r#"{"event":"client-x","data":{"a":1},"channel":"private-a"}"#
        );
    }
}
