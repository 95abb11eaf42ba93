//! The event detail view (Enter on the log): the event's fields and its data as coloured,
//! pretty-printed JSON, scrollable.

use super::json;
use crate::ui::app::App;
use crate::ui::format::clock_ms;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(d) = app.detail() else { return };
    let t = app.theme();
    let e = &d.entry;
    let mut lines = vec![
        Line::from(vec![
            Span::styled("time    ", t.label()),
            Span::raw(format!("{} UTC", clock_ms(e.ts))),
        ]),
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
    ];
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
    // From the text, so that keys keep their order and numbers their spelling.
    lines.extend(json::lines(t, e.data.get()));
    let inner_h = area.height.saturating_sub(2) as usize;
    let max_scroll = lines.len().saturating_sub(inner_h);
    let scroll = d.scroll.min(max_scroll);
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
    let body: Vec<Line> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(body).block(block), area);
}
