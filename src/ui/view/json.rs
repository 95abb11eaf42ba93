//! Pretty-printed JSON as coloured lines: keys, strings, numbers and literals each get a style
//! from the theme (none under NO_COLOR).

use crate::ui::theme::Theme;
use ratatui::text::{Line, Span};
use serde_json::Value;

const INDENT: &str = "  ";

/// The value as lines, two-space indented, in the order serde_json holds object keys.
pub fn lines(t: &Theme, v: &Value) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    write(t, v, 0, &mut cur, &mut out);
    if !cur.is_empty() {
        out.push(Line::from(cur));
    }
    out
}

fn scalar(t: &Theme, v: &Value) -> Span<'static> {
    match v {
        Value::String(_) => Span::styled(v.to_string(), t.json_string()),
        Value::Number(n) => Span::styled(n.to_string(), t.json_number()),
        Value::Bool(b) => Span::styled(b.to_string(), t.json_literal()),
        Value::Null => Span::styled("null", t.json_literal()),
        Value::Array(_) | Value::Object(_) => unreachable!("containers are written by write()"),
    }
}

fn write(
    t: &Theme,
    v: &Value,
    depth: usize,
    cur: &mut Vec<Span<'static>>,
    out: &mut Vec<Line<'static>>,
) {
    let (open, close, len) = match v {
        Value::Array(a) => ("[", "]", a.len()),
        Value::Object(o) => ("{", "}", o.len()),
        other => {
            cur.push(scalar(t, other));
            return;
        }
    };
    if len == 0 {
        cur.push(Span::styled(format!("{open}{close}"), t.json_punct()));
        return;
    }
    cur.push(Span::styled(open, t.json_punct()));
    out.push(Line::from(std::mem::take(cur)));
    let pad = INDENT.repeat(depth + 1);
    let items: Box<dyn Iterator<Item = (Option<&String>, &Value)>> = match v {
        Value::Array(a) => Box::new(a.iter().map(|x| (None, x))),
        Value::Object(o) => Box::new(o.iter().map(|(k, x)| (Some(k), x))),
        _ => unreachable!("scalars returned above"),
    };
    for (n, (key, item)) in items.enumerate() {
        cur.push(Span::raw(pad.clone()));
        if let Some(k) = key {
            cur.push(Span::styled(
                Value::String(k.clone()).to_string(),
                t.json_key(),
            ));
            cur.push(Span::styled(": ", t.json_punct()));
        }
        write(t, item, depth + 1, cur, out);
        if n + 1 < len {
            cur.push(Span::styled(",", t.json_punct()));
        }
        out.push(Line::from(std::mem::take(cur)));
    }
    cur.push(Span::raw(INDENT.repeat(depth)));
    cur.push(Span::styled(close, t.json_punct()));
}

/// Valid JSON text as lines, laid out as [`lines`] lays out a value, but read from the text
/// itself: keys stay in the order they were sent, and numbers as they were written (an
/// integer beyond 64 bits is not turned into a float).
pub fn raw_lines(t: &Theme, json: &str) -> Vec<Line<'static>> {
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
    use serde_json::json;

    fn text(v: &Value) -> String {
        lines(&Theme::monochrome(), v)
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn matches_serde_pretty_printing() {
        for v in [
            json!({"a": [1, 2, {"b": null}], "c": "x\"y", "d": {}, "e": [], "f": true}),
            json!("just a string"),
            json!([[]]),
            json!(1.5),
        ] {
            assert_eq!(text(&v), serde_json::to_string_pretty(&v).unwrap());
        }
    }

    fn raw_text(json: &str) -> String {
        raw_lines(&Theme::monochrome(), json)
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn raw_text_is_laid_out_as_serde_does_it() {
        for json in [
            r#"{"a":[1,2,{"b":null}],"c":"x\"y","d":{},"e":[],"f":true}"#,
            r#""just a string""#,
            "[[]]",
            "1.5",
            r#"{ "k" : [ "a\\" , "é,:{" ] , "n" : -5 }"#,
        ] {
            let v: Value = serde_json::from_str(json).unwrap();
            assert_eq!(
                raw_text(json),
                serde_json::to_string_pretty(&v).unwrap(),
                "{json}"
            );
        }
    }

    #[test]
    fn raw_text_keeps_key_order_and_numbers_as_sent() {
        assert_eq!(
            raw_text(r#"{"z":123456789012345678901234567890,"a":1.50}"#),
            "{\n  \"z\": 123456789012345678901234567890,\n  \"a\": 1.50\n}"
        );
        assert_eq!(
            raw_text(r#"["\u00e9",-0.5e3]"#),
            "[\n  \"\\u00e9\",\n  -0.5e3\n]"
        );
        let l = raw_lines(&Theme::coloured(), r#"{"k":"v"}"#);
        assert_ne!(
            l[1].spans[1].style, l[1].spans[3].style,
            "key and string differ"
        );
    }

    #[test]
    fn colours_follow_the_theme() {
        let l = lines(&Theme::coloured(), &json!({"k": 1}));
        assert!(l[1].spans.iter().any(|s| s.style.fg.is_some()));
        let l = lines(&Theme::monochrome(), &json!({"k": 1}));
        assert!(l[1].spans.iter().all(|s| s.style.fg.is_none()));
    }
}
