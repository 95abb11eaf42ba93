//! The channel picker (`L`): occupied channels from the HTTP API, those already subscribed
//! marked; Enter subscribes to the selected one.

use super::centered;
use crate::ui::app::{App, Overlay};
use crate::ui::format::one_line;
use crate::ui::model::ChannelStatus;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(Overlay::Picker(p)) = app.overlay() else {
        return;
    };
    let t = app.theme();
    let width = area.width.saturating_sub(4).clamp(20, 72);
    let rows = (p.items.len() as u16).clamp(1, area.height.saturating_sub(2).max(1));
    let popup = centered(area, width, rows + 2);
    let inner_w = popup.width.saturating_sub(2) as usize;
    let visible = popup.height.saturating_sub(2).max(1) as usize;
    let offset = p.selected.saturating_sub(visible - 1);
    let name_w = p
        .items
        .iter()
        .map(|i| i.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(inner_w.saturating_sub(6));
    let lines: Vec<Line> = p
        .items
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .map(|(i, item)| {
            let here = app.channel(&item.name).map(|c| &c.status);
            let mark = match here {
                Some(ChannelStatus::Subscribed) => Span::styled("✓ ", t.ok()),
                Some(ChannelStatus::Pending) => Span::styled("… ", t.warn()),
                _ => Span::raw("  "),
            };
            let name = one_line(&item.name, name_w);
            // A pointer as well as the reversed row, so the choice reads without colour.
            let pointer = if i == p.selected { "▸ " } else { "  " };
            let mut spans = vec![
                Span::styled(pointer, t.title()),
                mark,
                Span::styled(format!("{name:<name_w$}"), t.channel()),
            ];
            let room = inner_w.saturating_sub(name_w + 6);
            if !item.attrs.is_empty() && room > 1 {
                spans.push(Span::raw("  "));
                spans.push(Span::styled(one_line(&item.attrs, room), t.dim()));
            }
            let line = Line::from(spans);
            if i == p.selected {
                line.style(t.selected())
            } else {
                line.style(Style::new())
            }
        })
        .collect();
    let count = match p.more {
        0 => p.items.len().to_string(),
        more => format!("{}, +{more} more", p.items.len()),
    };
    let what = match &p.prefix {
        Some(pre) => format!(" Occupied channels {pre}* ({count}) "),
        None => format!(" Occupied channels ({count}) "),
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.border(true))
        .title(Span::styled(what, t.title()))
        .title_bottom(Line::from(Span::styled(
            " ↑/↓ choose · Enter subscribes · Esc closes ",
            t.dim(),
        )));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
