//! What the model keeps of one record, whoever sent it: a live server or a recording read
//! back. Records reach [`super::Model::apply`] from both, so the caps live here, where the
//! model takes them, and a file replayed holds the dashboard to the same bounds as a
//! connection.

use crate::ui::format::prefix_bytes;
use serde_json::Value;
use std::io::Write;

/// The most channels the model keeps (like the occupied-channel picker); records about
/// further channels are counted and dropped.
pub const MAX_CHANNELS: usize = 10_000;

/// The most of one message, note or cause the model keeps, in bytes.
pub const MAX_TEXT: usize = 4096;

/// The most of an authorization request or response kept for the inspector (its JSON
/// text); a larger one is kept as a string of its first bytes.
pub const MAX_AUTH_JSON: usize = 64 * 1024;

/// The most of one presence member's info kept (its JSON text).
pub const MAX_MEMBER_INFO: usize = 4096;

/// A member id longer than this is only counted, like a member past the roster's cap.
pub const MAX_MEMBER_ID: usize = 1024;

/// What is appended to a text or JSON value that was cut.
pub const CUT_MARK: &str = " …[cut]";

/// `text`, cut to its first [`MAX_TEXT`] bytes (on a character boundary) and marked.
pub fn text(mut text: String) -> String {
    if text.len() > MAX_TEXT {
        let keep = prefix_bytes(&text, MAX_TEXT).len();
        text.truncate(keep);
        text.push_str(CUT_MARK);
        text.shrink_to_fit();
    }
    text
}

/// `value` when its JSON text is at most `max` bytes; else a JSON string of that text's
/// first `max` bytes, marked. Costs at most `max` bytes of writing, however large the
/// value is.
pub fn json(value: Value, max: usize) -> Value {
    if matches!(value, Value::Null | Value::Bool(_) | Value::Number(_)) {
        return value;
    }
    let mut w = Capped {
        buf: Vec::new(),
        max,
    };
    if serde_json::to_writer(&mut w, &value).is_ok() {
        return value;
    }
    drop(value);
    let text = String::from_utf8_lossy(&w.buf);
    let mut kept = prefix_bytes(&text, max).to_string();
    kept.push_str(CUT_MARK);
    Value::String(kept)
}

/// A writer that refuses to hold more than `max` bytes.
struct Capped {
    buf: Vec<u8>,
    max: usize,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = self.max - self.buf.len();
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            return Err(std::io::Error::other("over the cap"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn texts_and_values_are_cut_and_marked() {
        assert_eq!(text("short".into()), "short");
        let long = text("é".repeat(MAX_TEXT));
        assert!(long.ends_with(CUT_MARK) && long.len() <= MAX_TEXT + CUT_MARK.len());
        let small = json!({"auth": "k:s"});
        assert_eq!(json(small.clone(), 64), small);
        let big = json(json!(vec![0; 1_000_000]), 100);
        let Value::String(s) = big else {
            panic!("not cut: {big}")
        };
        assert_eq!(s, format!("[{}0{CUT_MARK}", "0,".repeat(49)));
        assert_eq!(json(json!(12), 1), json!(12));
    }
}
