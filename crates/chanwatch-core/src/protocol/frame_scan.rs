//! The frame decoder for the shape nearly every event has, written by hand so that the
//! bytes of `data` are looked at once: found, un-escaped and validated in one pass.
//!
//! `{"event":"…","channel":"…","data":"…","user_id":"…"}` in any order, with any JSON
//! whitespace, `channel` possibly `null`, `data` a JSON string. Anything else (another key,
//! a repeated key, an escape in a name, `data` that is not a string, text this scanner does
//! not decide) makes it give up with `None`, and [`super::Frame::decode`] asks serde_json.

use super::Frame;
use super::json_scan::{Validator, Verdict, escape_at, find_special};
use super::raw_json::RawJson;

/// The frame in `text`, or `None` to leave it to the general decoders.
pub fn decode(text: &str) -> Option<Frame> {
    let mut scan = Scan {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    let mut event = None;
    let mut channel = None;
    let mut data = None;
    let mut user_id = None;
    scan.skip_whitespace();
    scan.eat(b'{')?;
    scan.skip_whitespace();
    loop {
        scan.eat(b'"')?;
        let key = scan.plain_string()?;
        scan.skip_whitespace();
        scan.eat(b':')?;
        scan.skip_whitespace();
        match key {
            "event" if event.is_none() => event = Some(scan.plain_string_after_quote()?),
            "channel" if channel.is_none() => {
                channel = Some(if scan.eat_literal(b"null") {
                    None
                } else {
                    Some(scan.plain_string_after_quote()?)
                });
            }
            "data" if data.is_none() => {
                scan.eat(b'"')?;
                data = Some(scan.undouble()?);
            }
            "user_id" if user_id.is_none() => user_id = Some(scan.plain_string_after_quote()?),
            _ => return None,
        }
        scan.skip_whitespace();
        match scan.next()? {
            b',' => scan.skip_whitespace(),
            b'}' => break,
            _ => return None,
        }
    }
    scan.skip_whitespace();
    if scan.at != scan.bytes.len() {
        return None;
    }
    Some(Frame::new(
        event?.to_owned(),
        channel.flatten().map(str::to_owned),
        data.unwrap_or_else(RawJson::null),
        user_id.filter(|u| !u.is_empty()).map(str::to_owned),
    ))
}

struct Scan<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn next(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn eat_literal(&mut self, word: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn plain_string_after_quote(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        self.plain_string()
    }

    /// A string without escapes, its opening quote already read.
    fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.at;
        let len = find_special(&self.bytes[start..]);
        (self.bytes.get(start + len) == Some(&b'"')).then_some(())?;
        self.at = start + len + 1;
        // Cut at ASCII bytes of a &str: char boundaries, so no UTF-8 check is needed.
        self.text.get(start..start + len)
    }

    /// `data`'s string, its opening quote already read: un-escaped and, while that happens,
    /// validated as JSON. The JSON it holds if it holds JSON, else the string as sent.
    fn undouble(&mut self) -> Option<RawJson> {
        let token_start = self.at - 1;
        // Un-escaping never lengthens the text, so this is the only allocation.
        let mut content: Vec<u8> = Vec::with_capacity(self.bytes.len() - self.at);
        let mut json = Validator::new();
        loop {
            let rest = &self.bytes[self.at..];
            let len = find_special(rest);
            let run = &rest[..len];
            content.extend_from_slice(run);
            json.plain(run);
            self.at += len;
            match self.next()? {
                b'"' => break,
                b'\\' => {
                    let c = self.escape()?;
                    let mut utf8 = [0; 4];
                    for &b in c.encode_utf8(&mut utf8).as_bytes() {
                        content.push(b);
                        json.byte(b);
                    }
                }
                // A raw control character: not a JSON string; serde_json says why.
                _ => return None,
            }
        }
        let token = &self.bytes[token_start..self.at];
        Some(match json.finish() {
            Verdict::Json { start, end } => {
                content.truncate(end);
                content.drain(..start);
                RawJson::from_scanned(content)
            }
            Verdict::NotJson => RawJson::from_scanned(token.to_vec()),
            Verdict::GiveUp => return None,
        })
    }

    /// The character of an escape in a string, its backslash already read. `None` for
    /// an escape that is not JSON or names a lone surrogate.
    fn escape(&mut self) -> Option<char> {
        let (c, next) = escape_at(self.bytes, self.at)?;
        self.at = next;
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(text: &str) -> Option<Frame> {
        Frame::decode_wire(text)
    }

    /// The scanner and the serde decoder agree, to the byte, wherever the scanner answers.
    fn same(text: &str) {
        let scanned = decode(text).unwrap_or_else(|| panic!("scanner gave up on {text}"));
        let serde = wire(text).expect("serde decodes it");
        assert_eq!(scanned.event, serde.event, "{text}");
        assert_eq!(scanned.channel, serde.channel, "{text}");
        assert_eq!(scanned.data.get(), serde.data.get(), "{text}");
        assert_eq!(scanned.user_id, serde.user_id, "{text}");
    }

    #[test]
    fn decodes_the_common_shapes_as_serde_does() {
        let pad = "x".repeat(5000);
        for text in [
            r#"{"event":"e","channel":"c","data":"{\"a\":1}"}"#.to_owned(),
            r#" { "data" : "[1, 2]" , "event" : "e" } "#.to_owned(),
            r#"{"event":"e","channel":null,"data":"plain \"quoted\" words"}"#.to_owned(),
            r#"{"event":"e","data":"  {\"x\": 1.50} ","user_id":"u1"}"#.to_owned(),
            r#"{"event":"e","data":"","user_id":""}"#.to_owned(),
            r#"{"event":"e"}"#.to_owned(),
            r#"{"event":"e","data":"{\"big\":123456789012345678901234567890}"}"#.to_owned(),
            r#"{"event":"e","data":"\"a string holding a string\""}"#.to_owned(),
            r#"{"event":"e","data":"{\"t\":\"\\t\\\"\\\\\\u00e9\"}"}"#.to_owned(),
            r#"{"event":"e","data":"caf\u00e9 \ud83d\ude00 \/ \b\f\t"}"#.to_owned(),
            r#"{"event":"e","data":"{\"k\":\"caf\u00e9\"}"}"#.to_owned(),
            r#"{"event":"e","data":"{\"a\":\"tab\there\"}"}"#.to_owned(),
            r#"{"event":"e","data":"{\"a\":1,}"}"#.to_owned(),
            r#"{"event":"e","data":"12 monkeys"}"#.to_owned(),
            r#"{"event":"e","data":"1e400"}"#.to_owned(),
            format!(
                r#"{{"event":"tick","channel":"ch","data":"{{\"seq\":1,\"pad\":\"{pad}\"}}"}}"#
            ),
        ] {
            same(&text);
        }
    }

    #[test]
    fn gives_up_on_what_it_does_not_decide() {
        for text in [
            r#"{"event":"e","data":{"a":1}}"#,
            r#"{"event":"e","data":"x","extra":1}"#,
            r#"{"event":"a","event":"b"}"#,
            r#"{"event":"e\u00e9"}"#,
            r#"{"event":"e","user_id":10}"#,
            r#"{"event":"e","data":"[1,\n2]"}"#,
            r#"{"event":"e","data":"{\"a\":\"\\ud800\"}"}"#,
            r#"{"event":"e","data":"\ud800"}"#,
            "{\"event\":\"e\",\"data\":\"raw\nline\"}",
            r#"{"event":"e","data":"x"} x"#,
            r#"{"event":"e","data":"x""#,
            r#"{"data":"x"}"#,
            "",
        ] {
            assert!(decode(text).is_none(), "{text}");
        }
    }
}
