//! The `?` overlay, generated from the live keymap so it never disagrees with the keys. On a
//! short terminal the bindings flow into two columns; the smaller tables (prompt, fault
//! menu) wrap onto as many lines as they need.

use super::centered;
use crate::prefs::keymap::Action;
use crate::ui::app::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

/// Rows the overlay needs besides the bindings: borders, title, blank, the prompt line,
/// up to three fault menu lines, two notes.
const EXTRA_ROWS: usize = 10;

/// " Help: ? or Esc closes ", with the keys that do.
fn title(app: &App) -> String {
    let km = app.keymap();
    let keys: Vec<String> = [Action::Help, Action::Back]
        .into_iter()
        .filter_map(|a| km.first_key(a))
        .collect();
    if keys.is_empty() {
        " Help ".into()
    } else {
        format!(" Help: {} closes ", keys.join(" or "))
    }
}

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
    let notes = [
        (
            "Filter: ",
            "words match anywhere; channel:NAME event:NAME narrow".to_string(),
        ),
        (
            "Mouse: ",
            "wheel scrolls the pane under it; click focuses".to_string(),
        ),
    ];
    let note_w = notes
        .iter()
        .map(|(n, text)| n.chars().count() + text.chars().count())
        .max()
        .unwrap_or(0);
    // The other tables (prompt, fault menu) flow over as many lines as they need.
    let content_w = (cell_w * columns)
        .max(note_w)
        .min(area.width.saturating_sub(2) as usize);
    for (name, rows) in sections.iter().skip(1) {
        let pieces: Vec<String> = rows.iter().map(|(k, d)| format!("{k} {d}")).collect();
        let mut spans = vec![Span::styled(format!("{name}: "), t.title())];
        let mut used = name.chars().count() + 2;
        for (i, piece) in pieces.iter().enumerate() {
            let sep = if i == 0 { "" } else { " · " };
            let w = sep.chars().count() + piece.chars().count();
            if i > 0 && used + w > content_w {
                lines.push(Line::from(std::mem::take(&mut spans)));
                spans.push(Span::raw("  "));
                used = 2;
                spans.push(Span::styled(piece.clone(), t.label()));
                used += piece.chars().count();
            } else {
                spans.push(Span::styled(format!("{sep}{piece}"), t.label()));
                used += w;
            }
        }
        lines.push(Line::from(spans));
    }
    for (name, text) in notes {
        lines.push(Line::from(vec![
            Span::styled(name, t.title()),
            Span::styled(text, t.label()),
        ]));
    }
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
        .title(Span::styled(title(app), t.title()));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
