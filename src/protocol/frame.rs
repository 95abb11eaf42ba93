//! Wire frames: decode liberally, encode exactly.
//!
//! Every Pusher message is one UTF-8 JSON text frame carrying one `event`. Servers
//! double-encode `data` as a JSON string most of the time, but some send an object,
//! and sockudo sends ping/pong with no `data` at all, so decoding accepts all three.

use serde::Serialize;
use serde_json::{Map, Value};

/// A decoded inbound frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub event: String,
    pub channel: Option<String>,
    /// `data` after undoing the double encoding: a string that holds valid JSON becomes
    /// that JSON; any other string stays a string; a missing field is `Value::Null`.
    pub data: Value,
    pub user_id: Option<String>,
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

impl Frame {
    pub fn decode(text: &str) -> Result<Frame, DecodeError> {
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
        // user_id is typed as a string by the protocol, but numbers are seen in the wild;
        // normalise to a string so presence ids always compare equal.
        let user_id = match obj.remove("user_id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let data = match obj.remove("data") {
            Some(Value::String(s)) => undouble(s),
            Some(other) => other,
            None => Value::Null,
        };
        Ok(Frame {
            event,
            channel,
            data,
            user_id,
        })
    }

    /// A field of an object `data`, when there is one.
    pub fn data_field(&self, key: &str) -> Option<&Value> {
        self.data.as_object().and_then(|o| o.get(key))
    }
}

/// Undo the protocol's double encoding: a string holding JSON becomes that JSON.
pub fn undouble(s: String) -> Value {
    match serde_json::from_str::<Value>(&s) {
        Ok(v) => v,
        Err(_) => Value::String(s),
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

pub fn pong() -> String {
    encode("pusher:pong", None, &Map::new())
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
            let back: f64 = f.data["x"].to_string().parse().unwrap();
            assert_eq!(back, x.parse::<f64>().unwrap(), "{x}");
        }
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
