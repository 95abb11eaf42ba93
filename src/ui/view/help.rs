//! The `?` overlay, generated from the live keymap so it never disagrees with the keys. On a
//! short terminal the bindings flow into two columns.

use super::centered;
use crate::ui::app::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

/// Rows the overlay needs besides the bindings: borders, title, notes.
const EXTRA_ROWS: usize = 7;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let sections = app.keymap().help_sections();
    let Some((_, bindings)) = sections.first() else {
        return;
    };
    let key_w = bindings
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let desc_w = bindings
        .iter()
        .map(|(_, d)| d.chars().count())
        .max()
        .unwrap_or(0);
    let cell_w = 2 + key_w + 2 + desc_w;
    let columns = if bindings.len() + EXTRA_ROWS <= area.height as usize {
        1
    } else {
        2
    };
    let per_column = bindings.len().div_ceil(columns);
    let cell = |(keys, what): &(String, &'static str)| {
        [
            Span::styled(format!("  {keys:<key_w$}  "), t.value()),
            Span::styled(format!("{what:<desc_w$}"), t.label()),
        ]
    };
    let mut lines = vec![Line::from(Span::styled("Keys", t.title()))];
    for r in 0..per_column {
        let mut spans = Vec::new();
        for c in 0..columns {
            if let Some(b) = bindings.get(c * per_column + r) {
                spans.extend(cell(b));
            }
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::default());
    for (name, rows) in sections.iter().skip(1) {
        let keys: Vec<String> = rows.iter().map(|(k, d)| format!("{k} {d}")).collect();
        lines.push(Line::from(vec![
            Span::styled(format!("{name}: "), t.title()),
            Span::styled(keys.join(" · "), t.label()),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled("Filter: ", t.title()),
        Span::styled(
            "words match anywhere; channel:NAME event:NAME narrow",
            t.label(),
        ),
    ]));
    lines.push(Line::from(vec![
        Span::styled("Mouse: ", t.title()),
        Span::styled("wheel scrolls the pane under it; click focuses", t.label()),
    ]));
    let content_w = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .max(cell_w * columns);
    let popup = centered(area, content_w as u16 + 2, lines.len() as u16 + 2);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(t.border(true))
        .title(Span::styled(" Help: ? or Esc closes ", t.title()));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
