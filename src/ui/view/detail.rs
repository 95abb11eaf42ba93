//! The event detail view (Enter on the log): the event's fields and its data as coloured,
//! pretty-printed JSON, scrollable.

use super::json;
use crate::ui::app::App;
use crate::ui::format::{clock_ms, printable};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(d) = app.detail() else { return };
    let t = app.theme();
    let e = &d.entry;
    let mut lines = vec![Line::from(vec![
        Span::styled("time    ", t.label()),
        Span::raw(format!("{} UTC", clock_ms(e.ts))),
    ])];
    if let Some(node) = &e.node {
        lines.push(Line::from(vec![
            Span::styled("node    ", t.label()),
            Span::styled(printable(node).into_owned(), t.title()),
        ]));
    }
    lines.extend([
        Line::from(vec![
            Span::styled("channel ", t.label()),
            Span::styled(
                e.channel.clone().unwrap_or_else(|| "(connection)".into()),
                t.channel(),
            ),
        ]),
        Line::from(vec![
            Span::styled("event   ", t.label()),
            Span::styled(e.event.clone(), t.event()),
        ]),
    ]);
    if let Some(u) = &e.user_id {
        lines.push(Line::from(vec![
            Span::styled("user_id ", t.label()),
            Span::raw(u.clone()),
        ]));
    }
    if e.decrypted {
        lines.push(Line::from(vec![
            Span::styled("payload ", t.label()),
            Span::raw("decrypted with the channel's shared_secret"),
        ]));
    }
    lines.push(Line::from(Span::styled("data", t.label())));
    if e.cut_from > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "(cut: {} bytes arrived; the first {} KiB are kept, as a string)",
                e.cut_from,
                crate::ui::model::log::MAX_EVENT_BYTES / 1024
            ),
            t.dim(),
        )));
    }
    let head = lines.len();
    let inner_h = area.height.saturating_sub(2) as usize;
    // Only the visible part of the data is laid out (from the text, so that keys keep
    // their order and numbers their spelling). The pass also counts every line, so only a
    // scroll past the end (G asks for the very bottom) needs a second one.
    let window_at =
        |scroll: usize| json::window(t, e.data.get(), scroll.saturating_sub(head), inner_h);
    let mut data = window_at(d.scroll);
    let max_scroll = (head + data.total).saturating_sub(inner_h);
    let scroll = d.scroll.min(max_scroll);
    if scroll != d.scroll {
        data = window_at(scroll);
    }
    lines.extend(data.lines);
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(t.border(true))
        .title(Line::from(vec![
            Span::styled(" Event ", t.title()),
            Span::styled(format!("#{} ", e.seq + 1), t.label()),
        ]))
        .title_bottom(Line::from(Span::styled(
            " Esc back · j/k ↑/↓ scroll · g/G top/bottom ",
            t.dim(),
        )));
    let body: Vec<Line> = lines
        .into_iter()
        .skip(scroll.min(head))
        .take(inner_h)
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(body).block(block), area);
}
