//! The `?` overlay, generated from the live keymap so it never disagrees with the keys. On a
//! short terminal the bindings flow into two columns; the smaller tables (prompt, fault
//! menu, replay) wrap onto as many lines as they need. Its height counts all of them.

use super::centered;
use crate::prefs::keymap::{Action, HelpSection};
use crate::ui::app::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

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
    let sections = app.help_sections();
    if sections.is_empty() {
        return;
    }
    // The height counts every line of every section (wrapped) and the notes, not the
    // bindings alone. One column of bindings while all of it fits inside the borders; else
    // two; else, keys before words, without the blank line, then without the notes and the
    // first section's heading (the border says "Help"); and
    // where even that is too tall, the last line that fits says so.
    let rows = area.height.saturating_sub(2) as usize;
    let tries = [
        (1, Extras::All),
        (2, Extras::All),
        (2, Extras::Notes),
        (2, Extras::None),
    ];
    let mut laid =
        tries.map(|(columns, extras)| layout(app, &sections, area.width, columns, extras));
    let (mut lines, width) = match laid.iter().position(|(lines, _)| lines.len() <= rows) {
        Some(i) => std::mem::take(&mut laid[i]),
        None => std::mem::take(&mut laid[3]),
    };
    if lines.len() > rows {
        lines.truncate(rows.saturating_sub(1));
        lines.push(Line::from(Span::styled(
            "… a taller terminal shows the rest",
            t.dim(),
        )));
    }
    let popup = centered(area, width as u16 + 2, lines.len() as u16 + 2);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(t.border(true))
        .title(Span::styled(title(app), t.title()));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// What the overlay shows besides the keys, given room.
#[derive(Clone, Copy, PartialEq)]
enum Extras {
    /// A blank line under the bindings, and the notes.
    All,
    /// The notes only.
    Notes,
    /// Keys alone: no notes, and no heading over the first section.
    None,
}

/// The overlay's lines with the first section's bindings in `columns` columns, the other
/// sections flowing over as many lines as they need, then the notes; and the width they take.
fn layout(
    app: &App,
    sections: &[HelpSection],
    area_width: u16,
    columns: usize,
    extras: Extras,
) -> (Vec<Line<'static>>, usize) {
    let t = app.theme();
    let Some((name, bindings)) = sections.first() else {
        return (Vec::new(), 0);
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
    let per_column = bindings.len().div_ceil(columns);
    let cell = |(keys, what): &(String, &'static str)| {
        [
            Span::styled(format!("  {keys:<key_w$}  "), t.value()),
            Span::styled(format!("{what:<desc_w$}"), t.label()),
        ]
    };
    let mut lines = Vec::new();
    if extras != Extras::None {
        lines.push(Line::from(Span::styled(name.clone(), t.title())));
    }
    for r in 0..per_column {
        let mut spans = Vec::new();
        for c in 0..columns {
            if let Some(b) = bindings.get(c * per_column + r) {
                spans.extend(cell(b));
            }
        }
        lines.push(Line::from(spans));
    }
    if extras == Extras::All {
        lines.push(Line::default());
    }
    let mut notes = vec![
        (
            "Filter: ",
            "words match anywhere; channel:NAME event:NAME narrow".to_string(),
        ),
        (
            "Mouse: ",
            "wheel scrolls the pane under it; click focuses".to_string(),
        ),
    ];
    if app.is_cluster() {
        let km = app.keymap();
        let key = |a| km.first_key(a).unwrap_or_else(|| "–".into());
        notes[0].1.push_str("; node:NAME too");
        notes.push((
            "Nodes: ",
            format!(
                "the panes show one node ({}/{} change it); the log has all; {} compares them",
                key(Action::NextNode),
                key(Action::PrevNode),
                key(Action::Cluster)
            ),
        ));
    }
    let note_w = notes
        .iter()
        .map(|(n, text)| n.chars().count() + text.chars().count())
        .max()
        .unwrap_or(0);
    // The other tables (prompt, fault menu, replay) flow over as many lines as they need.
    let content_w = (cell_w * columns)
        .max(note_w)
        .min(area_width.saturating_sub(2) as usize);
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
    for (name, text) in notes.into_iter().filter(|_| extras != Extras::None) {
        lines.push(Line::from(vec![
            Span::styled(name, t.title()),
            Span::styled(text, t.label()),
        ]));
    }
    let width = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .max(cell_w * columns);
    (lines, width)
}
