//! [`RawJson`]: an event's `data` kept as the JSON text that arrived, not as a parsed tree.
//!
//! A busy stream is mostly events whose data nobody here needs to look inside: the headless
//! writer copies it to its NDJSON line and the dashboard shows it as text. Keeping the text
//! saves parsing it into a `Value` and printing it again for every event, and it keeps the
//! data exactly as sent: integers beyond 64 bits and number spellings survive unchanged.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// Valid JSON text on one line (no raw line breaks, no surrounding whitespace), so that it
/// can be written into an NDJSON line as it is.
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// `text` if it is one valid JSON value; whitespace around it is dropped, and line breaks
    /// between its tokens are removed by re-printing it compactly (strings cannot hold raw
    /// line breaks, so any there are whitespace).
    pub fn parse(text: &str) -> Option<RawJson> {
        serde_json::from_str::<Box<RawValue>>(text)
            .ok()
            .map(RawJson::from_raw)
    }

    /// Already-validated JSON text, put on one line if it spans several.
    pub(crate) fn from_raw(raw: Box<RawValue>) -> RawJson {
        if memchr::memchr2(b'\n', b'\r', raw.get().as_bytes()).is_some() {
            let value: Value = serde_json::from_str(raw.get()).expect("validated above");
            RawJson::from_value(&value)
        } else {
            RawJson(raw)
        }
    }

    /// The JSON text of a value.
    pub fn from_value(value: &Value) -> RawJson {
        RawJson(serde_json::value::to_raw_value(value).expect("a Value always serialises"))
    }

    /// A JSON string holding `text`.
    pub fn string(text: &str) -> RawJson {
        RawJson(serde_json::value::to_raw_value(text).expect("a str always serialises"))
    }

    pub fn null() -> RawJson {
        RawJson::from_value(&Value::Null)
    }

    /// The protocol's double encoding undone: `content`, the text inside the JSON string
    /// `token`, becomes the JSON it holds when it holds valid JSON, and stays the string
    /// (`token` itself) otherwise.
    pub fn undouble(content: &str, token: &RawValue) -> RawJson {
        // Plain words, the common non-JSON payload, cannot start a JSON value: skip the parse.
        let may_be_json = matches!(
            content.trim_start().as_bytes().first(),
            Some(b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
        );
        match may_be_json.then(|| serde_json::from_str::<Box<RawValue>>(content)) {
            Some(Ok(raw)) => RawJson::from_raw(raw),
            _ => RawJson(token.to_owned()),
        }
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The data parsed, for the few places that look inside it.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.get()).expect("RawJson holds valid JSON")
    }

    pub fn is_string(&self) -> bool {
        self.get().starts_with('"')
    }

    /// The string's content when the data is a JSON string.
    pub fn as_string(&self) -> Option<String> {
        if self.is_string() {
            serde_json::from_str(self.get()).ok()
        } else {
            None
        }
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> RawJson {
        RawJson::from_value(&value)
    }
}

impl Default for RawJson {
    fn default() -> RawJson {
        RawJson::null()
    }
}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.get())
    }
}

impl std::fmt::Display for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.get())
    }
}

/// Equal when the texts are equal or, failing that, when they mean the same JSON
/// (`{"a": 1}` equals `{"a":1}`).
impl PartialEq for RawJson {
    fn eq(&self, other: &RawJson) -> bool {
        self.get() == other.get() || self.to_value() == other.to_value()
    }
}

impl PartialEq<Value> for RawJson {
    fn eq(&self, other: &Value) -> bool {
        self.to_value() == *other
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Through a `Value`: a `RawValue` cannot be read inside serde's internally tagged enums,
/// which is what [`crate::record::Record`] is.
impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawJson, D::Error> {
        Value::deserialize(d).map(RawJson::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(s: &str) -> Box<RawValue> {
        serde_json::value::to_raw_value(s).unwrap()
    }

    #[test]
    fn undouble_keeps_the_text_as_sent() {
        let content = r#"{"n": 123456789012345678901234567890, "x": 1.50}"#;
        let data = RawJson::undouble(content, &token(content));
        // Big integers and number spellings survive: nothing was parsed into f64.
        assert_eq!(data.get(), content);
    }

    #[test]
    fn undouble_leaves_non_json_as_the_original_string() {
        for content in ["hello", "{not json", "12 monkeys", "", " "] {
            let t = token(content);
            let data = RawJson::undouble(content, &t);
            assert_eq!(data.get(), t.get(), "{content:?}");
            assert_eq!(data.as_string().as_deref(), Some(content));
        }
    }

    #[test]
    fn json_inside_a_string_is_trimmed_and_kept_on_one_line() {
        let content = "  {\n  \"a\": [1,\r\n 2]\n}\n";
        let data = RawJson::undouble(content, &token(content));
        assert_eq!(data.get(), r#"{"a":[1,2]}"#);
        let data = RawJson::undouble(" 7 ", &token(" 7 "));
        assert_eq!(data.get(), "7");
        assert_eq!(RawJson::parse("[1,\n2]").unwrap().get(), "[1,2]");
        assert!(RawJson::parse("[1,").is_none());
    }

    #[test]
    fn equality_is_by_meaning() {
        let spaced = RawJson::parse(r#"{"a": 1, "b": [true]}"#).unwrap();
        assert_eq!(spaced, RawJson::from(json!({"b": [true], "a": 1})));
        assert_eq!(spaced, json!({"a": 1, "b": [true]}));
        assert_ne!(spaced, RawJson::from(json!({"a": 2, "b": [true]})));
    }

    #[test]
    fn serialises_verbatim_and_reads_back_through_a_value() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        #[serde(tag = "type")]
        enum Tagged {
            E { data: RawJson },
        }
        let e = Tagged::E {
            data: RawJson::parse(r#"{"big": 18446744073709551616000}"#).unwrap(),
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"type":"E","data":{"big": 18446744073709551616000}}"#
        );
        let back: Tagged = serde_json::from_str(r#"{"type":"E","data":{"x":[1]}}"#).unwrap();
        assert_eq!(
            back,
            Tagged::E {
                data: json!({"x": [1]}).into()
            }
        );
    }
}
