//! Pretty-printed JSON as coloured lines: keys, strings, numbers and literals each get a style
//! from the theme (none under NO_COLOR).

use crate::ui::theme::Theme;
use ratatui::text::{Line, Span};

const INDENT: &str = "  ";

/// Valid JSON text as lines, two-space indented as serde_json's pretty printer does it, but
/// read from the text itself: keys stay in the order they were sent, and numbers as they
/// were written (an integer beyond 64 bits is not turned into a float). A `Value` is shown
/// through its text (`value.to_string()`).
pub fn lines(t: &Theme, json: &str) -> Vec<Line<'static>> {
    let tokens = tokens(json);
    let mut out = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut depth = 0;
    // Whether the next string is an object's key: after `{` or after `,` in an object.
    let mut in_object = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < tokens.len() {
        let tok = tokens[i];
        match tok.as_bytes()[0] {
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { "}" } else { "]" };
                if tokens.get(i + 1) == Some(&close) {
                    cur.push(Span::styled(format!("{tok}{close}"), t.json_punct()));
                    i += 2;
                    continue;
                }
                cur.push(Span::styled(tok.to_owned(), t.json_punct()));
                out.push(Line::from(std::mem::take(&mut cur)));
                depth += 1;
                in_object.push(open == b'{');
                expect_key = open == b'{';
                cur.push(Span::raw(INDENT.repeat(depth)));
            }
            b'}' | b']' => {
                out.push(Line::from(std::mem::take(&mut cur)));
                depth -= 1;
                in_object.pop();
                cur.push(Span::raw(INDENT.repeat(depth)));
                cur.push(Span::styled(tok.to_owned(), t.json_punct()));
            }
            b',' => {
                cur.push(Span::styled(",", t.json_punct()));
                out.push(Line::from(std::mem::take(&mut cur)));
                cur.push(Span::raw(INDENT.repeat(depth)));
                expect_key = in_object.last() == Some(&true);
            }
            b':' => cur.push(Span::styled(": ", t.json_punct())),
            b'"' if expect_key => {
                cur.push(Span::styled(tok.to_owned(), t.json_key()));
                expect_key = false;
            }
            b'"' => cur.push(Span::styled(tok.to_owned(), t.json_string())),
            b't' | b'f' | b'n' => cur.push(Span::styled(tok.to_owned(), t.json_literal())),
            _ => cur.push(Span::styled(tok.to_owned(), t.json_number())),
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(Line::from(cur));
    }
    out
}

/// The tokens of JSON text, as slices of it, whitespace dropped. The text is valid JSON
/// (a [`crate::protocol::RawJson`]), so a token is a string (quotes and escapes kept), a
/// punctuation byte, or a run of number or literal characters.
fn tokens(json: &str) -> Vec<&str> {
    let bytes = json.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        match bytes[at] {
            b' ' | b'\t' | b'\n' | b'\r' => {
                at += 1;
                continue;
            }
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
        // Every cut is at an ASCII byte, so each token is a whole str.
        out.push(&json[start..at]);
    }
    out
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
    fn colours_follow_the_theme() {
        let l = lines(&Theme::coloured(), r#"{"k": 1}"#);
        assert!(l[1].spans.iter().any(|s| s.style.fg.is_some()));
        let l = lines(&Theme::monochrome(), r#"{"k": 1}"#);
        assert!(l[1].spans.iter().all(|s| s.style.fg.is_none()));
    }
}
