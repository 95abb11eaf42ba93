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

    #[test]
    fn colours_follow_the_theme() {
        let l = lines(&Theme::coloured(), &json!({"k": 1}));
        assert!(l[1].spans.iter().any(|s| s.style.fg.is_some()));
        let l = lines(&Theme::monochrome(), &json!({"k": 1}));
        assert!(l[1].spans.iter().all(|s| s.style.fg.is_none()));
    }
}
