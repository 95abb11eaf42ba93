//! [`RawJson`]: an event's `data` kept as the JSON text that arrived, not as a parsed tree.
//!
//! A busy stream is mostly events whose data nobody here needs to look inside: the headless
//! writer copies it to its NDJSON line and the dashboard shows it as text. Keeping the text
//! saves parsing it into a `Value` and printing it again for every event, and it keeps the
//! data exactly as sent: integers beyond 64 bits and number spellings survive unchanged.

use super::json_scan::escape_at;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// Valid JSON text on one line (no raw line breaks, no surrounding whitespace), so that it
/// can be written into an NDJSON line as it is. Every constructor checks that (or, for the
/// frame scanner, has just checked it), so the text is held as a plain string. A `String`,
/// not a `Box<str>`: the scanner's buffer is sized before the text's length is known, and
/// shrinking it would cost a reallocation per event.
#[derive(Clone)]
pub struct RawJson(String);

/// Spare room a [`RawJson`]'s buffer may keep behind a short text before it is given back.
pub const SPARE_BYTES: usize = 4096;

impl RawJson {
    /// `text` if it is one valid JSON value; whitespace around it is dropped, and so are
    /// line breaks between its tokens.
    pub fn parse(text: &str) -> Option<RawJson> {
        serde_json::from_str::<&RawValue>(text)
            .ok()
            .and_then(RawJson::from_raw)
    }

    /// JSON text that serde_json's raw reader accepted, put on one line if it spans several.
    /// `None` if it escapes a lone surrogate: the raw reader lets that pass, but no string
    /// can hold it, so a parsed `Value` (and the general frame decoder) would refuse it.
    pub(crate) fn from_raw(raw: &RawValue) -> Option<RawJson> {
        let text = raw.get();
        if escapes_a_lone_surrogate(text) {
            return None;
        }
        if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_some() {
            // A string cannot hold a raw line break, so each is whitespace between tokens,
            // and JSON never needs whitespace to tell its tokens apart: dropping them keeps
            // the text valid, with the same meaning, and every number as it was written.
            return Some(RawJson(text.replace(['\n', '\r'], "")));
        }
        Some(RawJson(text.into()))
    }

    /// Text the frame scanner has un-escaped and validated as it went
    /// ([`super::frame_scan`]): one JSON value, no line breaks, no whitespace around it.
    pub(super) fn from_scanned(text: Vec<u8>) -> RawJson {
        debug_assert!(
            serde_json::from_slice::<&RawValue>(&text)
                .is_ok_and(|raw| raw.get().len() == text.len())
                && !text.contains(&b'\n')
                && !text.contains(&b'\r'),
            "{:?}",
            String::from_utf8_lossy(&text)
        );
        // SAFETY: the scanner builds the text from runs of a `&str` cut at ASCII bytes and
        // from whole encoded `char`s, then trims it at ASCII bytes: it is UTF-8.
        //
        // Why not safe code: building `text` as a `String` instead (`push_str` of each run
        // sliced with `str::get`, `push` of each escaped char) was measured against this on
        // the decode bench's three frames, the scanner alone, interleaved runs on a loaded
        // 2-core machine: CPU time +10.6 % / +3.1 % / +8.1 % (best of 6; 155 B, 5 KB and the
        // escapes frame), instructions (cachegrind) +2.1 % / +1.0 % / +3.0 %. The slice
        // boundary checks on every run between escapes are what it pays for. Validating the
        // whole text afterwards (`String::from_utf8`) would read every byte once more.
        let text = unsafe { String::from_utf8_unchecked(text) };
        RawJson::fitted(text)
    }

    /// `text`, its buffer given back when it is far larger than the text: the scanner sizes
    /// the buffer to the rest of the frame, and a short `data` followed by megabytes of
    /// padding would otherwise keep all of it for as long as the event is held. Usual
    /// frames end a few bytes after their data, so this is a comparison, not a copy.
    fn fitted(mut text: String) -> RawJson {
        if text.capacity() - text.len() > SPARE_BYTES.max(text.len()) {
            text.shrink_to_fit();
        }
        RawJson(text)
    }

    /// The JSON text of a value.
    pub fn from_value(value: &Value) -> RawJson {
        RawJson(serde_json::to_string(value).expect("a Value always serialises"))
    }

    /// A JSON string holding `text`.
    pub fn string(text: &str) -> RawJson {
        RawJson(serde_json::to_string(text).expect("a str always serialises"))
    }

    pub fn null() -> RawJson {
        RawJson::from_value(&Value::Null)
    }

    /// The protocol's double encoding undone: `content`, the text inside the JSON string
    /// `token`, becomes the JSON it holds when it holds valid JSON, and stays the string
    /// (`token` itself) otherwise.
    pub fn undouble(content: &str, token: &str) -> RawJson {
        // Plain words, the common non-JSON payload, cannot start a JSON value: skip the parse.
        let may_be_json = matches!(
            content.trim_start().as_bytes().first(),
            Some(b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
        );
        may_be_json
            .then(|| serde_json::from_str::<&RawValue>(content).ok())
            .flatten()
            .and_then(RawJson::from_raw)
            .unwrap_or_else(|| RawJson(token.into()))
    }

    /// [`RawJson::undouble`] for a JSON string token straight from a frame; `None` when its
    /// escapes do not make a string (a lone surrogate). The content is un-escaped into a
    /// buffer kept per thread, so a busy stream allocates nothing for it.
    pub fn undouble_token(token: &RawValue) -> Option<RawJson> {
        thread_local! {
            static CONTENT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        CONTENT.with_borrow_mut(|content| {
            content.clear();
            unescape_into(token.get(), content)?;
            let data = RawJson::undouble(content, token.get());
            // One huge frame must not keep its buffer for the life of the thread.
            if content.capacity() > 1 << 20 {
                *content = String::new();
            }
            Some(data)
        })
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The bytes its buffer holds (the text's length and the spare room behind it), which
    /// is what it costs to keep: at most twice the text, or the text plus [`SPARE_BYTES`].
    pub fn held_bytes(&self) -> usize {
        self.0.capacity()
    }

    /// The data parsed, for the few places that look inside it. JSON that a `Value` cannot
    /// hold (a number like `1e400`) comes back as its text, in a string.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.get()).unwrap_or_else(|_| Value::String(self.get().to_owned()))
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

/// Append the content of `token`, a valid JSON string literal (quotes included), to `out`;
/// `None` if an escape names a lone surrogate, which no Rust string can hold.
fn unescape_into(token: &str, out: &mut String) -> Option<()> {
    let inner = token.get(1..token.len().checked_sub(1)?)?;
    let bytes = inner.as_bytes();
    let mut at = 0;
    while let Some(offset) = memchr::memchr(b'\\', &bytes[at..]) {
        out.push_str(&inner[at..at + offset]);
        let (c, next) = escape_at(bytes, at + offset + 1)?;
        out.push(c);
        at = next;
    }
    out.push_str(&inner[at..]);
    Some(())
}

/// Whether `text`, valid JSON, has a `\\uXXXX` escape in the surrogate range that is not
/// a high surrogate followed at once by an escaped low one. In valid JSON every other escape
/// reads as a character, and a backslash always starts a whole escape, so stepping from one
/// to the next keeps in step (an escaped backslash followed by `u` is not a \\u escape).
fn escapes_a_lone_surrogate(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'\\', &bytes[at..]) {
        match escape_at(bytes, at + found + 1) {
            Some((_, next)) => at = next,
            None => return true,
        }
    }
    false
}

impl From<Value> for RawJson {
    fn from(value: Value) -> RawJson {
        RawJson::from_value(&value)
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

/// Verbatim, through serde_json's raw value. That reads the text once more, which only the
/// rare records serialised by serde pay: event lines are written by hand (the record
/// module's `LineWriter`, above this one).
impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(self.get()).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

/// Through a `Value`: a `RawValue` cannot be read inside serde's internally tagged enums,
/// which is what a record is.
impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawJson, D::Error> {
        Value::deserialize(d).map(RawJson::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(s: &str) -> String {
        serde_json::to_string(s).unwrap()
    }

    #[test]
    fn padding_after_the_data_is_not_held() {
        let pad = " ".repeat(8 << 20);
        for data in [r#""1""#, r#""{\"a\":1}""#, r#""plain words""#, "[1,2]"] {
            let frame = format!(r#"{{"event":"e","channel":"c","data":{data}{pad}}}"#);
            let f = crate::protocol::Frame::decode(&frame).unwrap();
            assert!(
                f.data.held_bytes() <= f.data.get().len() + SPARE_BYTES,
                "{data}: {} held for {:?}",
                f.data.held_bytes(),
                f.data.get()
            );
        }
        // A frame that ends soon after its data keeps its buffer as it is: no copy.
        let f = crate::protocol::Frame::decode(r#"{"event":"e","data":"{\"a\":1}","channel":"c"}"#)
            .unwrap();
        assert_eq!(f.data.get(), r#"{"a":1}"#);
        assert!(f.data.held_bytes() >= f.data.get().len());
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
            assert_eq!(data.get(), t, "{content:?}");
            assert_eq!(data.as_string().as_deref(), Some(content));
        }
    }

    #[test]
    fn json_inside_a_string_is_trimmed_and_kept_on_one_line() {
        let content = "  {\n  \"a\": [1,\r\n 2]\n}\n";
        let data = RawJson::undouble(content, &token(content));
        assert_eq!(data.get(), r#"{  "a": [1, 2]}"#);
        // Only the line breaks go: numbers stay as written, even those a Value cannot hold.
        let data = RawJson::parse("[1e400,\n 123456789012345678901234567890]").unwrap();
        assert_eq!(data.get(), "[1e400, 123456789012345678901234567890]");
        let data = RawJson::undouble(" 7 ", &token(" 7 "));
        assert_eq!(data.get(), "7");
        assert_eq!(RawJson::parse("[1,\n2]").unwrap().get(), "[1,2]");
        assert!(RawJson::parse("[1,").is_none());
    }

    #[test]
    fn tokens_are_unescaped_like_serde_does() {
        for content in [
            "",
            "plain",
            r#"{"a":"q\"uote","b":"back\\slash"}"#,
            "tab\t nl\n cr\r bs\u{8} ff\u{c} nul\u{0} del\u{7f} é 😀 \u{2028}",
            "/ and \\/",
        ] {
            let serde_token = serde_json::to_string(content).unwrap();
            // Every escape JSON has, written out by hand: \/, \uXXXX and surrogate pairs.
            let escaped_all: String = content
                .chars()
                .map(|c| match c {
                    '/' => "\\/".to_string(),
                    c if c.is_ascii_alphanumeric() => c.to_string(),
                    c => c
                        .encode_utf16(&mut [0; 2])
                        .iter()
                        .map(|u| format!("\\u{u:04X}"))
                        .collect(),
                })
                .collect();
            for token in [serde_token, format!("\"{escaped_all}\"")] {
                let mut out = String::new();
                unescape_into(&token, &mut out).unwrap();
                assert_eq!(out, content, "{token}");
            }
        }
        for lone in [r#""\ud800""#, r#""\udc00x""#, r#""\ud800\u0041""#] {
            assert_eq!(unescape_into(lone, &mut String::new()), None, "{lone}");
        }
    }

    #[test]
    fn json_a_value_cannot_hold_is_kept_and_read_as_text() {
        let huge = RawJson::parse(r#"{"x":1e400}"#).unwrap();
        assert_eq!(huge.get(), r#"{"x":1e400}"#);
        assert_eq!(huge.to_value(), Value::String(r#"{"x":1e400}"#.into()));
        assert!(RawJson::parse(r#"{"a":"\udc00"}"#).is_none());
        assert!(RawJson::parse(r#"{"a":"\ud83d\ude00"}"#).is_some());
        // A surrogate pair next to a number no Value can hold: still kept as sent.
        assert!(RawJson::parse(r#"["\ud83d\ude00",1e400]"#).is_some());
    }

    #[test]
    fn lone_surrogates_are_found_exactly() {
        for (text, lone) in [
            (r#""\ud800""#, true),
            (r#""\uDBFF\u0041""#, true),
            (r#""\udc00""#, true),
            (r#""\ud800\\udc00""#, true),
            (r#""\ud83d\ude00""#, false),
            (r#""\\ud800""#, false),
            (r#""\\\\ud800""#, false),
            (r#""\u0041\n\"\\""#, false),
            (r#"["\ud83d\ude00","\ud800"]"#, true),
        ] {
            assert_eq!(escapes_a_lone_surrogate(text), lone, "{text}");
            let value = serde_json::from_str::<Value>(text);
            assert_eq!(value.is_err(), lone, "serde agrees on {text}");
        }
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
