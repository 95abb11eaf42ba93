//! Frame::decode over arbitrary text: it must never panic, and whatever it accepts must
//! survive a round trip through the encoder (same event, channel and data).
//!
//! Shared by the fuzz target and by `cargo test`, which replays the corpus through it.

use chanwatch_core::protocol::frame::{self, Frame};
use chanwatch_core::protocol::{RawJson, frame_scan};

pub fn check(bytes: &[u8]) {
    // Text frames are UTF-8 by the time they reach the decoder (tungstenite checks).
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    // The hand scanner, where it answers, gives serde's borrowed decoder's answer to the
    // byte; it may only give up on what serde accepts, never accept what serde refuses.
    if let Some(scanned) = frame_scan::decode(text) {
        let wire = Frame::decode_wire(text).expect("serde decodes what the scanner decodes");
        assert_eq!(scanned.event, wire.event);
        assert_eq!(scanned.channel, wire.channel);
        assert_eq!(scanned.data.get(), wire.data.get());
        assert_eq!(scanned.user_id, wire.user_id);
    }
    let Ok(decoded) = Frame::decode(text) else {
        return;
    };
    // The fast decoder (borrowed fields, raw data) agrees with the general one, which
    // refuses only what a `Value` cannot hold (such as 1e400) and the fast one keeps.
    if let Ok(general) = Frame::decode_value(text) {
        assert_eq!(general.event, decoded.event);
        assert_eq!(general.channel, decoded.channel);
        assert_eq!(general.data, decoded.data);
    }
    // `data` is one valid JSON value on one line, ready for an NDJSON record.
    let raw = decoded.data.get();
    assert!(!raw.contains('\n') && !raw.contains('\r'), "{raw:?}");
    assert_eq!(raw.trim(), raw);
    // Valid JSON, though not always a `Value` (1e400 is JSON a Value cannot hold; it
    // stays as sent, and to_value gives it back as text rather than panicking).
    serde_json::from_str::<Box<serde_json::value::RawValue>>(raw).expect("data is valid JSON");
    let _ = decoded.data.to_value();
    // Re-encode with `data` as a plain value, as pusher-js sends it, and decode again:
    // the decoder accepts its own encoder's output and keeps every field.
    let again = Frame::decode(&frame::encode(
        &decoded.event,
        decoded.channel.as_deref(),
        &decoded.data,
    ))
    .expect("the decoder accepts what the encoder writes");
    assert_eq!(again.event, decoded.event);
    assert_eq!(again.channel, decoded.channel);
    // A string that itself holds JSON is undone once more on the second pass (that is
    // the double-encoding rule; JSON as `RawJson::parse` takes it, so `336e6049` too, a
    // number no Value can hold), so only compare data that is not such a string. The
    // data text goes out as it came in, so even floats compare exactly.
    let json_string = decoded
        .data
        .as_string()
        .is_some_and(|s| RawJson::parse(&s).is_some());
    if !json_string {
        assert_eq!(again.data.get(), decoded.data.get());
    }
}
