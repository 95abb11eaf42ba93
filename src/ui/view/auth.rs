//! The auth inspector (`a`): the selected channel's latest authorization exchange, i.e.
//! the request (kind, method, URL, form, headers; secrets arrive masked) and the response
//! (status, the answer as coloured JSON), with a hint when it failed. Long lines wrap.

use super::json;
use super::timeline::wrap;
use crate::prefs::theme::Theme;
use crate::ui::app::{App, Overlay};
use crate::ui::format::clock_ms;
use crate::ui::model::{AuthExchange, auth_hint};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use serde_json::Value;

/// Request fields shown first, in this order; any others follow.
const REQUEST_ORDER: [&str; 6] = ["kind", "transport", "method", "url", "form", "headers"];

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Overlay::Auth(v)) = app.overlay() else {
        return;
    };
    let Some(x) = app.auth_exchange(&v.channel) else {
        return;
    };
    let t = app.theme();
    let inner_w = area.width.saturating_sub(2).max(1) as usize;
    let lines: Vec<Line> = body(t, &v.channel, x, inner_w)
        .into_iter()
        .flat_map(|l| wrap(l, inner_w))
        .collect();
    let inner_h = area.height.saturating_sub(2) as usize;
    let scroll = v.scroll.min(lines.len().saturating_sub(inner_h));
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(t.border(true))
        .title(Line::from(vec![
            Span::styled(" Auth ", t.title()),
            Span::styled(format!("{} ", v.channel), t.channel()),
        ]))
        .title_bottom(Line::from(Span::styled(
            " Esc back · j/k ↑/↓ scroll · g/G top/bottom ",
            t.dim(),
        )));
    let shown: Vec<Line> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(shown).block(block), area);
}

fn field<'a>(t: &Theme, name: &str, value: impl Into<Span<'a>>) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name:<10}"), t.label()),
        value.into(),
    ])
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The inspector's lines for a pane `width` wide; the hint is wrapped at words here,
/// anything else still too long is cut into rows by the caller.
pub fn body<'a>(t: &Theme, channel: &str, x: &'a AuthExchange, width: usize) -> Vec<Line<'a>> {
    let result_style = if x.ok { t.ok() } else { t.error() };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{:<10}", "result"), t.label()),
        Span::styled(x.summary(), result_style),
        Span::styled(
            format!(" at {} UTC · socket {}", clock_ms(x.ts), x.socket_id),
            t.dim(),
        ),
    ])];
    if let Some(h) = auth_hint(channel, x) {
        for (i, row) in words_to_rows(&h, width.saturating_sub(10))
            .into_iter()
            .enumerate()
        {
            let label = if i == 0 { "hint" } else { "" };
            lines.push(field(t, label, Span::styled(row, t.warn())));
        }
    }
    lines.push(Line::from(Span::styled("Request", t.title())));
    match x.request.as_object() {
        Some(obj) => request_lines(t, obj, &mut lines),
        None => lines.extend(json::lines(t, &x.request.to_string())),
    }
    lines.push(Line::from(Span::styled("Response", t.title())));
    let status = match (x.status, x.ok) {
        (Some(s), _) => s.to_string(),
        (None, true) => "accepted".to_string(),
        (None, false) => "none (no usable answer)".to_string(),
    };
    lines.push(Line::from(vec![
        Span::styled(format!("  {:<10}", "status"), t.label()),
        Span::styled(status, result_style),
    ]));
    match x.error() {
        Some(message) => {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<10}", "error"), t.label()),
                Span::raw(message),
            ]));
            if let Some(body) = json_in(message) {
                lines.push(Line::from(Span::styled("  body", t.label())));
                lines.extend(indented(json::lines(t, &body.to_string()), "  "));
            }
        }
        None => lines.extend(indented(json::lines(t, &x.response.to_string()), "  ")),
    }
    lines
}

/// Kind and transport on one line, then `METHOD url`, then form and headers, then anything
/// else the authorizer described (the string a local signature covers, the command...).
fn request_lines<'a>(
    t: &Theme,
    obj: &'a serde_json::Map<String, Value>,
    lines: &mut Vec<Line<'a>>,
) {
    let str_of = |k: &str| obj.get(k).map(text);
    if let Some(kind) = str_of("kind") {
        let kind = match str_of("transport") {
            Some(tr) => format!("{kind}, {tr} transport"),
            None => kind,
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<10}", "kind"), t.label()),
            Span::styled(kind, t.value()),
        ]));
    }
    if let Some(url) = str_of("url") {
        let method = str_of("method").unwrap_or_else(|| "url".into());
        lines.push(Line::from(vec![
            Span::styled(format!("  {method:<10}"), t.label()),
            Span::styled(url, t.value()),
        ]));
    }
    let rest = obj.keys().filter(|k| !REQUEST_ORDER.contains(&k.as_str()));
    for key in ["form", "headers"]
        .into_iter()
        .chain(rest.map(String::as_str))
    {
        let Some(value) = obj.get(key) else { continue };
        match value {
            Value::Object(map) => {
                let name = if map.is_empty() {
                    format!("  {key} (none)")
                } else {
                    format!("  {key}")
                };
                lines.push(Line::from(Span::styled(name, t.label())));
                let w = map.keys().map(|k| k.chars().count()).max().unwrap_or(0);
                for (k, v) in map {
                    lines.push(Line::from(vec![
                        Span::styled(format!("    {k:<w$}  "), t.json_key()),
                        Span::raw(text(v)),
                    ]));
                }
            }
            other => lines.push(Line::from(vec![
                Span::styled(format!("  {key:<10}"), t.label()),
                Span::styled(text(other), t.value()),
            ])),
        }
    }
}

/// Words into rows of at most `width` characters (a longer word gets a row of its own).
fn words_to_rows(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split_whitespace() {
        let needed = row.chars().count() + usize::from(!row.is_empty()) + word.chars().count();
        if !row.is_empty() && needed > width {
            rows.push(std::mem::take(&mut row));
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.push_str(word);
    }
    if !row.is_empty() {
        rows.push(row);
    }
    rows
}

fn indented<'a>(lines: Vec<Line<'a>>, pad: &'static str) -> Vec<Line<'a>> {
    lines
        .into_iter()
        .map(|mut l| {
            l.spans.insert(0, Span::raw(pad));
            l
        })
        .collect()
}

/// The endpoint's body quoted at the end of an error message (`...: {"message":"no"}`),
/// when it is whole JSON, so it can be shown pretty-printed.
pub fn json_in(message: &str) -> Option<Value> {
    let start = message.find(": {").or_else(|| message.find(": ["))? + 2;
    match serde_json::from_str::<Value>(&message[start..]) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_quoted_in_errors() {
        assert_eq!(
            json_in("auth endpoint answered HTTP 403 Forbidden: {\"message\":\"no\"}"),
            Some(json!({"message": "no"}))
        );
        assert_eq!(json_in("answered HTTP 500: <html>"), None);
        assert_eq!(json_in("cut short: {\"a\":1…"), None);
        assert_eq!(json_in("no body"), None);
    }

    #[test]
    fn hint_rows_break_at_words() {
        assert_eq!(words_to_rows("ab cd ef", 5), ["ab cd", "ef"]);
        assert_eq!(words_to_rows("abcdefg h", 3), ["abcdefg", "h"]);
        assert!(words_to_rows("", 3).is_empty());
    }
}
