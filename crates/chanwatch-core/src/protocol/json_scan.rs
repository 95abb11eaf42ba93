//! The two pieces of JSON reading that the frame scanner ([`super::frame_scan`]) needs to
//! look at an event's bytes only once: a fast search for the bytes that end a run of plain
//! string text, and a validator that is fed the un-escaped `data` while it is being
//! un-escaped, instead of reading it again afterwards.
//!
//! The validator follows serde_json's grammar exactly (it decides what serde_json's raw
//! reader would decide), except where it gives up and leaves the answer to serde_json: line
//! breaks between tokens (the text must then be re-printed on one line), escapes in the
//! surrogate range, and nesting deeper than 128.

/// Index of the first byte of `bytes` that cannot sit unescaped in a JSON string: `"`, `\`
/// or a control character (below 0x20). `bytes.len()` if there is none.
pub fn find_special(bytes: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { x86::find_special_avx2(bytes) };
        }
        // SAFETY: SSE2 is part of every x86_64 CPU.
        unsafe { x86::find_special_sse2(bytes) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    find_special_scalar(bytes)
}

fn is_special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Byte by byte: other CPUs, and the tail the vector loops leave.
fn find_special_scalar(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| is_special(b))
        .unwrap_or(bytes.len())
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::find_special_scalar as tail;
    use std::arch::x86_64::*;

    /// 32 bytes at a time; the tail byte by byte.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn find_special_avx2(bytes: &[u8]) -> usize {
        let quote = _mm256_set1_epi8(b'"' as i8);
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        let control_max = _mm256_set1_epi8(0x1f);
        let mut at = 0;
        while at + 32 <= bytes.len() {
            // SAFETY: at + 32 <= len, and loadu has no alignment requirement.
            let v = unsafe { _mm256_loadu_si256(bytes.as_ptr().add(at).cast()) };
            // A byte is a control character when max(byte, 0x1f) is 0x1f (unsigned).
            let control = _mm256_cmpeq_epi8(_mm256_max_epu8(v, control_max), control_max);
            let hits = _mm256_or_si256(
                _mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)),
                control,
            );
            let mask = _mm256_movemask_epi8(hits) as u32;
            if mask != 0 {
                return at + mask.trailing_zeros() as usize;
            }
            at += 32;
        }
        at + tail(&bytes[at..])
    }

    /// 16 bytes at a time; the tail byte by byte.
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn find_special_sse2(bytes: &[u8]) -> usize {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let control_max = _mm_set1_epi8(0x1f);
        let mut at = 0;
        while at + 16 <= bytes.len() {
            // SAFETY: at + 16 <= len, and loadu has no alignment requirement.
            let v = unsafe { _mm_loadu_si128(bytes.as_ptr().add(at).cast()) };
            let control = _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max);
            let hits = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                control,
            );
            let mask = _mm_movemask_epi8(hits) as u32;
            if mask != 0 {
                return at + mask.trailing_zeros() as usize;
            }
            at += 16;
        }
        at + tail(&bytes[at..])
    }
}

/// The character of the JSON escape whose letter is `bytes[at]` (just after its backslash),
/// and the index just after the escape; a surrogate pair is read as one character. `None`
/// for an escape that is not JSON or names a lone surrogate, which no `char` can hold.
pub fn escape_at(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let simple = |c| Some((c, at + 1));
    match bytes.get(at)? {
        b'"' => simple('"'),
        b'\\' => simple('\\'),
        b'/' => simple('/'),
        b'b' => simple('\u{8}'),
        b'f' => simple('\u{c}'),
        b'n' => simple('\n'),
        b'r' => simple('\r'),
        b't' => simple('\t'),
        b'u' => {
            let high = hex4(bytes, at + 1)?;
            if !(0xD800..0xDC00).contains(&high) {
                return Some((char::from_u32(high)?, at + 5));
            }
            if bytes.get(at + 5..at + 7)? != b"\\u" {
                return None;
            }
            let low = hex4(bytes, at + 7).filter(|low| (0xDC00..0xE000).contains(low))?;
            let c = char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?;
            Some((c, at + 11))
        }
        _ => None,
    }
}

/// The four hex digits at `bytes[at..]` as a number.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4)?.iter().try_fold(0, |value, &d| {
        Some((value << 4) | (d as char).to_digit(16)?)
    })
}

/// What the validator makes of the text it was fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// One JSON value, at `start..end` of the text (the whitespace around it excluded).
    Json { start: usize, end: usize },
    /// Not one JSON value.
    NotJson,
    /// Valid or not, this validator does not decide it (see the module comment).
    GiveUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A value is due: at the start, after `:`, after `,` in an array.
    Value,
    /// Just after `[`: a value or `]`.
    ValueOrArrayEnd,
    /// Just after `{`: a key or `}`.
    KeyOrObjectEnd,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value in a container: `,` or the container's end.
    CommaOrEnd,
    /// After the whole value: only whitespace may follow.
    Done,
    /// Inside a string (a key when `key`).
    Str {
        key: bool,
    },
    /// After a backslash inside a string.
    Escape {
        key: bool,
    },
    /// Inside `\uXXXX`: `left` hex digits to come, `value` so far.
    Hex {
        key: bool,
        left: u8,
        value: u16,
    },
    /// Inside `true`, `false` or `null`: the letters still to come.
    Literal(&'static [u8]),
    /// After `-`.
    Minus,
    /// After a leading `0` (of the integer part).
    Zero,
    /// In the integer part's digits.
    Int,
    /// After `.`.
    Dot,
    /// In the fraction's digits.
    Frac,
    /// After `e` or `E`.
    Exp,
    /// After the exponent's sign.
    ExpSign,
    /// In the exponent's digits.
    ExpDigits,
    Invalid,
    GiveUp,
}

/// A push validator for one JSON value: feed it bytes in order with [`Validator::byte`] or,
/// for runs known to hold no `"`, `\` or control character, [`Validator::plain`], which
/// costs nothing while inside a string.
#[derive(Debug)]
pub struct Validator {
    state: State,
    /// Open containers, innermost in the highest bit in use: 1 for an object, 0 an array.
    stack: u128,
    depth: u32,
    /// Bytes fed so far.
    pos: usize,
    start: usize,
    end: usize,
}

impl Default for Validator {
    fn default() -> Validator {
        Validator::new()
    }
}

impl Validator {
    pub fn new() -> Validator {
        Validator {
            state: State::Value,
            stack: 0,
            depth: 0,
            pos: 0,
            start: 0,
            end: 0,
        }
    }

    /// Feed a run with no `"`, `\` or control character in it.
    pub fn plain(&mut self, run: &[u8]) {
        debug_assert!(!run.iter().any(|&b| is_special(b)));
        let mut at = 0;
        while at < run.len() {
            if let State::Str { .. } = self.state {
                // The rest of the run is string text, which needs no look.
                self.pos += run.len() - at;
                return;
            }
            self.byte(run[at]);
            at += 1;
        }
    }

    /// Feed one byte.
    pub fn byte(&mut self, b: u8) {
        self.state = self.next(b);
        self.pos += 1;
    }

    /// The verdict on everything fed.
    pub fn finish(mut self) -> Verdict {
        if matches!(
            self.state,
            State::Zero | State::Int | State::Frac | State::ExpDigits
        ) {
            // A number at the very end: it ends here.
            self.state = self.after_value(self.pos);
        }
        match self.state {
            State::Done => Verdict::Json {
                start: self.start,
                end: self.end,
            },
            State::GiveUp => Verdict::GiveUp,
            _ => Verdict::NotJson,
        }
    }

    fn next(&mut self, b: u8) -> State {
        match self.state {
            State::Str { key } => match b {
                b'"' if key => State::Colon,
                b'"' => self.after_value(self.pos + 1),
                b'\\' => State::Escape { key },
                0..=0x1f => State::Invalid,
                _ => self.state,
            },
            State::Escape { key } => match b {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => State::Str { key },
                b'u' => State::Hex {
                    key,
                    left: 4,
                    value: 0,
                },
                _ => State::Invalid,
            },
            State::Hex { key, left, value } => {
                let Some(digit) = (b as char).to_digit(16) else {
                    return State::Invalid;
                };
                let value = (value << 4) | digit as u16;
                match left {
                    1 if (0xD800..=0xDFFF).contains(&value) => State::GiveUp,
                    1 => State::Str { key },
                    _ => State::Hex {
                        key,
                        left: left - 1,
                        value,
                    },
                }
            }
            State::Literal(rest) => match rest.split_first() {
                Some((&want, rest)) if want == b => {
                    if rest.is_empty() {
                        self.after_value(self.pos + 1)
                    } else {
                        State::Literal(rest)
                    }
                }
                _ => State::Invalid,
            },
            State::Minus
            | State::Zero
            | State::Int
            | State::Dot
            | State::Frac
            | State::Exp
            | State::ExpSign
            | State::ExpDigits => self.in_number(b),
            State::Value | State::ValueOrArrayEnd => match b {
                b']' if self.state == State::ValueOrArrayEnd => self.close(false),
                _ => self.value(b),
            },
            State::KeyOrObjectEnd => match b {
                b'"' => State::Str { key: true },
                b'}' => self.close(true),
                _ => self.whitespace(b),
            },
            State::Key => match b {
                b'"' => State::Str { key: true },
                _ => self.whitespace(b),
            },
            State::Colon => match b {
                b':' => State::Value,
                _ => self.whitespace(b),
            },
            State::CommaOrEnd => {
                let in_object = self.top_is_object();
                match b {
                    b',' if in_object => State::Key,
                    b',' => State::Value,
                    b'}' if in_object => self.close(true),
                    b']' if !in_object => self.close(false),
                    _ => self.whitespace(b),
                }
            }
            State::Done => self.whitespace(b),
            State::Invalid | State::GiveUp => self.state,
        }
    }

    /// The next state inside a number. Inlined: this is the scanner's per-byte step, split
    /// out only to keep each function readable.
    #[inline(always)]
    fn in_number(&mut self, b: u8) -> State {
        match self.state {
            State::Minus => match b {
                b'0' => State::Zero,
                b'1'..=b'9' => State::Int,
                _ => State::Invalid,
            },
            State::Zero => match b {
                b'0'..=b'9' => State::Invalid,
                _ => self.number_goes_on(b),
            },
            State::Int => match b {
                b'0'..=b'9' => State::Int,
                _ => self.number_goes_on(b),
            },
            State::Dot => match b {
                b'0'..=b'9' => State::Frac,
                _ => State::Invalid,
            },
            State::Frac => match b {
                b'0'..=b'9' => State::Frac,
                b'e' | b'E' => State::Exp,
                _ => self.end_number(b),
            },
            State::Exp => match b {
                b'+' | b'-' => State::ExpSign,
                b'0'..=b'9' => State::ExpDigits,
                _ => State::Invalid,
            },
            State::ExpSign => match b {
                b'0'..=b'9' => State::ExpDigits,
                _ => State::Invalid,
            },
            State::ExpDigits => match b {
                b'0'..=b'9' => State::ExpDigits,
                _ => self.end_number(b),
            },
            _ => unreachable!("in_number is called in number states only"),
        }
    }

    /// The first byte of a value (or whitespace before it).
    fn value(&mut self, b: u8) -> State {
        if self.depth == 0 && !is_whitespace(b) {
            self.start = self.pos;
        }
        match b {
            b'"' => State::Str { key: false },
            b'{' => self.open(true, State::KeyOrObjectEnd),
            b'[' => self.open(false, State::ValueOrArrayEnd),
            b'-' => State::Minus,
            b'0' => State::Zero,
            b'1'..=b'9' => State::Int,
            b't' => State::Literal(b"rue"),
            b'f' => State::Literal(b"alse"),
            b'n' => State::Literal(b"ull"),
            _ => self.whitespace(b),
        }
    }

    /// `b`, which is not a token's byte here: whitespace keeps the state, anything else is
    /// invalid. Line breaks would have to be removed from the text: give up.
    fn whitespace(&self, b: u8) -> State {
        match b {
            b' ' | b'\t' => self.state,
            b'\n' | b'\r' => State::GiveUp,
            _ => State::Invalid,
        }
    }

    /// After a number's integer part: a fraction, an exponent, or the number's end.
    fn number_goes_on(&mut self, b: u8) -> State {
        match b {
            b'.' => State::Dot,
            b'e' | b'E' => State::Exp,
            _ => self.end_number(b),
        }
    }

    /// `b` ends a number: the value is complete, and `b` is read in what follows it.
    fn end_number(&mut self, b: u8) -> State {
        self.state = self.after_value(self.pos);
        self.next(b)
    }

    /// A value ended just before `end`.
    fn after_value(&mut self, end: usize) -> State {
        if self.depth == 0 {
            self.end = end;
            State::Done
        } else {
            State::CommaOrEnd
        }
    }

    fn open(&mut self, object: bool, then: State) -> State {
        if self.depth == 128 {
            // serde_json's raw reader has no depth limit, but a parsed Value does: leave
            // such text to the slow path, which checks the same way as before.
            return State::GiveUp;
        }
        self.stack |= u128::from(object) << self.depth;
        self.depth += 1;
        then
    }

    fn close(&mut self, object: bool) -> State {
        debug_assert_eq!(self.top_is_object(), object);
        self.depth -= 1;
        self.stack &= !(1u128 << self.depth);
        self.after_value(self.pos + 1)
    }

    fn top_is_object(&self) -> bool {
        self.depth > 0 && (self.stack >> (self.depth - 1)) & 1 == 1
    }
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(text: &str) -> Verdict {
        let mut v = Validator::new();
        for &b in text.as_bytes() {
            v.byte(b);
        }
        v.finish()
    }

    /// What serde_json's raw reader says, in the validator's terms.
    fn serde_verdict(text: &str) -> Verdict {
        match serde_json::from_str::<&serde_json::value::RawValue>(text) {
            Ok(raw) => {
                let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
                Verdict::Json {
                    start,
                    end: start + raw.get().len(),
                }
            }
            Err(_) => Verdict::NotJson,
        }
    }

    #[test]
    fn agrees_with_serde_on_valid_and_invalid_json() {
        for text in [
            "0",
            "-0",
            "12",
            "-12.5e+3",
            "1E9",
            "1.5E-2",
            " 7 ",
            "\t[ ]\t",
            "[]",
            "{}",
            r#"{"a":1,"b":[true,false,null,{"c":"d"}],"e":"\"\\\/\b\f\n\r\t\u00e9"}"#,
            r#"[1, 2 , 3]"#,
            r#"{ "a" : [ ] , "b" : { } }"#,
            "\"é 😀 \u{7f}\"",
            "123456789012345678901234567890",
            "1e400",
            // Invalid.
            "",
            " ",
            "01",
            "-",
            "-a",
            "1.",
            "1.e5",
            "1e",
            "1e+",
            ".5",
            "+1",
            "[1,]",
            "[,1]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "{\"a\"}",
            "[1 2]",
            "[1}",
            "{\"a\":1]",
            "tru",
            "truex",
            "nul",
            "\"abc",
            "\"a\tb\"",
            "\"\\x\"",
            "\"\\u12G4\"",
            "1 2",
            "[",
            "]",
            "{",
            "}",
            "[[[]]",
            "\"a\" x",
            "é",
        ] {
            assert_eq!(validate(text), serde_verdict(text), "{text:?}");
        }
    }

    #[test]
    fn gives_up_on_line_breaks_surrogates_and_deep_nesting() {
        assert_eq!(validate("[1,\n2]"), Verdict::GiveUp);
        assert_eq!(validate("{\"a\":1}\r"), Verdict::GiveUp);
        assert_eq!(validate(r#""\ud83d\ude00""#), Verdict::GiveUp);
        assert_eq!(validate(r#""\uDC00""#), Verdict::GiveUp);
        assert_eq!(validate(&"[".repeat(129)), Verdict::GiveUp);
        let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert_eq!(validate(&deep), Verdict::Json { start: 0, end: 256 });
        // Already invalid before the line break: that stays the answer.
        assert_eq!(validate("[1 2,\n3]"), Verdict::NotJson);
        // A string may hold an escaped line break (two bytes, `\` and `n`).
        assert_eq!(validate(r#""a\nb""#), Verdict::Json { start: 0, end: 6 });
    }

    #[test]
    fn plain_runs_skip_string_text() {
        let mut v = Validator::new();
        v.plain(b"{");
        v.byte(b'"');
        v.plain(b"key");
        v.byte(b'"');
        v.plain(b":");
        v.byte(b'"');
        v.plain(&[b'x'; 5000]);
        v.byte(b'"');
        v.plain(b", ");
        v.byte(b'"');
        v.plain(b"n");
        v.byte(b'"');
        v.plain(b": -1.5e3}  ");
        assert_eq!(
            v.finish(),
            Verdict::Json {
                start: 0,
                end: 5023
            }
        );
    }

    #[test]
    fn finds_special_bytes_at_every_offset() {
        // Every way of searching, not only the one this CPU dispatches to: a machine with
        // AVX2 would otherwise never run the SSE2 loop.
        type Search = fn(&[u8]) -> usize;
        let mut searches: Vec<(&str, Search)> =
            vec![("dispatch", find_special), ("scalar", find_special_scalar)];
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of every x86_64 CPU.
            searches.push(("sse2", |b| unsafe { x86::find_special_sse2(b) }));
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, checked just above.
                searches.push(("avx2", |b| unsafe { x86::find_special_avx2(b) }));
            }
        }
        for (name, search) in searches {
            for len in [0, 1, 15, 16, 17, 31, 32, 33, 64, 100] {
                let plain = vec![b'a'; len];
                assert_eq!(search(&plain), len, "{name}");
                for at in 0..len {
                    for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                        let mut bytes = plain.clone();
                        bytes[at] = special;
                        if at + 1 < len {
                            bytes[len - 1] = b'"';
                        }
                        assert_eq!(search(&bytes), at, "{name} len {len} at {at} {special:#x}");
                    }
                }
            }
            // Bytes that look close but are plain: 0x20, DEL, high bytes (signed-negative).
            let close = [0x20u8, 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']'].repeat(8);
            assert_eq!(search(&close), close.len(), "{name}");
        }
    }
}
