//! Pretty-printed JSON as coloured lines: keys, strings, numbers and literals each get a style
//! from the theme (none under NO_COLOR).

use crate::prefs::theme::Theme;
use crate::ui::format::prefix_bytes;
use ratatui::text::{Line, Span};

const INDENT: &str = "  ";

/// Indentation stops growing past this depth (a frame nested 10 000 deep would otherwise
/// need lines of 20 000 spaces); deeper lines say their depth instead.
const MAX_INDENT_DEPTH: usize = 16;

/// The most of one token (a long string, a long number) a line shows.
const MAX_TOKEN_BYTES: usize = 4096;

/// Valid JSON text as lines, two-space indented as serde_json's pretty printer does it, but
/// read from the text itself: keys stay in the order they were sent, and numbers as they
/// were written (an integer beyond 64 bits is not turned into a float). A `Value` is shown
/// through its text (`value.to_string()`).
pub fn lines(t: &Theme, json: &str) -> Vec<Line<'static>> {
    window(t, json, 0, usize::MAX).lines
}

/// Some of the lines of a pretty-printed JSON text, and how many there are in all.
pub struct Window {
    pub lines: Vec<Line<'static>>,
    pub total: usize,
}

/// Lines `skip .. skip + take` of [`lines`], laid out in one pass that builds only those:
/// a 1 MB event or one nested 10 000 deep costs the screenful shown, not its whole layout.
pub fn window(t: &Theme, json: &str, skip: usize, take: usize) -> Window {
    let mut w = Writer {
        skip,
        end: skip.saturating_add(take),
        line: 0,
        cur: Vec::new(),
        out: Vec::new(),
    };
    let mut depth = 0usize;
    // Whether each open container is an object; a bit per level.
    let mut in_object: Vec<bool> = Vec::new();
    // Whether the next string is an object's key: after `{` or after `,` in an object.
    let mut expect_key = false;
    let mut toks = Tokens { json, at: 0 }.peekable();
    while let Some(tok) = toks.next() {
        match tok.as_bytes()[0] {
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { "}" } else { "]" };
                if toks.peek() == Some(&close) {
                    toks.next();
                    w.span(|| Span::styled(format!("{tok}{close}"), t.json_punct()));
                    continue;
                }
                w.span(|| Span::styled(tok.to_owned(), t.json_punct()));
                depth += 1;
                in_object.push(open == b'{');
                expect_key = open == b'{';
                w.newline(t, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                in_object.pop();
                w.newline(t, depth);
                w.span(|| Span::styled(tok.to_owned(), t.json_punct()));
            }
            b',' => {
                w.span(|| Span::styled(",", t.json_punct()));
                w.newline(t, depth);
                expect_key = in_object.last() == Some(&true);
            }
            b':' => w.span(|| Span::styled(": ", t.json_punct())),
            b'"' if expect_key => {
                w.span(|| Span::styled(shown(tok), t.json_key()));
                expect_key = false;
            }
            b'"' => w.span(|| Span::styled(shown(tok), t.json_string())),
            b't' | b'f' | b'n' => w.span(|| Span::styled(tok.to_owned(), t.json_literal())),
            _ => w.span(|| Span::styled(shown(tok), t.json_number())),
        }
    }
    w.finish()
}

/// Builds the lines inside the window and only counts the others.
struct Writer {
    skip: usize,
    end: usize,
    /// The line being written, counted from 0.
    line: usize,
    cur: Vec<Span<'static>>,
    out: Vec<Line<'static>>,
}

impl Writer {
    fn visible(&self) -> bool {
        (self.skip..self.end).contains(&self.line)
    }

    fn span(&mut self, make: impl FnOnce() -> Span<'static>) {
        if self.visible() {
            self.cur.push(make());
        }
    }

    fn newline(&mut self, t: &Theme, depth: usize) {
        if self.visible() {
            self.out.push(Line::from(std::mem::take(&mut self.cur)));
        }
        self.line += 1;
        if self.visible() {
            self.cur
                .push(Span::raw(INDENT.repeat(depth.min(MAX_INDENT_DEPTH))));
            if depth > MAX_INDENT_DEPTH {
                self.cur
                    .push(Span::styled(format!("[depth {depth}] "), t.json_punct()));
            }
        }
    }

    fn finish(mut self) -> Window {
        if self.visible() && !self.cur.is_empty() {
            self.out.push(Line::from(self.cur));
        }
        Window {
            lines: self.out,
            total: self.line + 1,
        }
    }
}

/// A token as shown: whole, or its start and its length when it is very long.
fn shown(tok: &str) -> String {
    if tok.len() <= MAX_TOKEN_BYTES {
        return tok.to_owned();
    }
    format!(
        "{}… ({} bytes)",
        prefix_bytes(tok, MAX_TOKEN_BYTES),
        tok.len()
    )
}

/// The tokens of JSON text, as slices of it, whitespace dropped. The text is valid JSON
/// (a [`chanwatch_core::protocol::RawJson`]), so a token is a string (quotes and escapes kept), a
/// punctuation byte, or a run of number or literal characters.
struct Tokens<'a> {
    json: &'a str,
    at: usize,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.json.as_bytes();
        let mut at = self.at;
        while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
            at += 1;
        }
        if at >= bytes.len() {
            self.at = at;
            return None;
        }
        let start = at;
        match bytes[at] {
            b'{' | b'}' | b'[' | b']' | b',' | b':' => at += 1,
            b'"' => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at = (at + 1).min(bytes.len());
            }
            _ => {
                while at < bytes.len()
                    && !matches!(
                        bytes[at],
                        b' ' | b'\t'
                            | b'\n'
                            | b'\r'
                            | b'{'
                            | b'}'
                            | b'['
                            | b']'
                            | b','
                            | b':'
                            | b'"'
                    )
                {
                    at += 1;
                }
            }
        }
        self.at = at;
        // Every cut is at an ASCII byte, so each token is a whole str.
        Some(&self.json[start..at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn text(json: &str) -> String {
        lines(&Theme::monochrome(), json)
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn is_laid_out_as_serde_does_it() {
        for json in [
            r#"{"a":[1,2,{"b":null}],"c":"x\"y","d":{},"e":[],"f":true}"#,
            r#""just a string""#,
            "[[]]",
            "1.5",
            r#"{ "k" : [ "a\\" , "é,:{" ] , "n" : -5 }"#,
        ] {
            let v: Value = serde_json::from_str(json).unwrap();
            assert_eq!(
                text(json),
                serde_json::to_string_pretty(&v).unwrap(),
                "{json}"
            );
        }
    }

    #[test]
    fn keeps_key_order_and_numbers_as_sent() {
        assert_eq!(
            text(r#"{"z":123456789012345678901234567890,"a":1.50}"#),
            "{\n  \"z\": 123456789012345678901234567890,\n  \"a\": 1.50\n}"
        );
        assert_eq!(
            text(r#"["\u00e9",-0.5e3]"#),
            "[\n  \"\\u00e9\",\n  -0.5e3\n]"
        );
        let l = lines(&Theme::coloured(), r#"{"k":"v"}"#);
        assert_ne!(
            l[1].spans[1].style, l[1].spans[3].style,
            "key and string differ"
        );
    }

    #[test]
    fn a_window_is_the_same_lines_as_the_whole() {
        let json = r#"{"a":[1,2,{"b":null}],"c":"x","d":{"e":[true,false]}}"#;
        let t = Theme::monochrome();
        let all: Vec<String> = lines(&t, json).iter().map(|l| l.to_string()).collect();
        for skip in 0..all.len() + 2 {
            for take in 0..4 {
                let w = window(&t, json, skip, take);
                assert_eq!(w.total, all.len());
                let got: Vec<String> = w.lines.iter().map(|l| l.to_string()).collect();
                let want: Vec<String> = all.iter().skip(skip).take(take).cloned().collect();
                assert_eq!(got, want, "skip {skip} take {take}");
            }
        }
    }

    #[test]
    fn deep_nesting_keeps_lines_short() {
        let depth = 10_000;
        let json = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let t = Theme::monochrome();
        let w = window(&t, &json, depth - 5, 10);
        assert_eq!(w.total, 2 * depth + 1);
        assert_eq!(w.lines.len(), 10);
        for l in &w.lines {
            assert!(l.width() < 100, "{l}");
        }
        assert!(
            w.lines[5].to_string().contains("[depth 10000] 1"),
            "{:?}",
            w.lines[5]
        );
    }

    #[test]
    fn a_huge_string_is_cut_for_display() {
        let json = format!(r#"{{"k":"{}"}}"#, "é".repeat(1 << 19));
        let w = window(&Theme::monochrome(), &json, 1, 1);
        let line = w.lines[0].to_string();
        assert!(line.len() < MAX_TOKEN_BYTES + 100, "{}", line.len());
        assert!(
            line.ends_with(&format!("… ({} bytes)", (1 << 20) + 2)),
            "{}",
            &line[line.len() - 40..]
        );
    }

    #[test]
    fn colours_follow_the_theme() {
        let l = lines(&Theme::coloured(), r#"{"k": 1}"#);
        assert!(l[1].spans.iter().any(|s| s.style.fg.is_some()));
        let l = lines(&Theme::monochrome(), r#"{"k": 1}"#);
        assert!(l[1].spans.iter().all(|s| s.style.fg.is_none()));
    }
}
