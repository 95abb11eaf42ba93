//! The subscribe and trigger prompts: a small box with the input, a hint, and the reason the
//! last submit was refused. (The filter prompt lives on the log pane's filter line.)

use super::centered;
use crate::ui::app::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let Some(p) = app.prompt() else { return };
    let t = app.theme();
    let width = area.width.saturating_sub(4).clamp(20, 72);
    let popup = centered(area, width, 5);
    let inner_w = popup.width.saturating_sub(2) as usize;
    let scroll = p.input.visual_scroll(inner_w.saturating_sub(1));
    let value: String = p.input.value().chars().skip(scroll).collect();
    let note = match &p.error {
        Some(e) => Line::from(Span::styled(e.clone(), t.error())),
        None => Line::from(Span::styled(p.hint(), t.dim())),
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.border(true))
        .title(Span::styled(format!(" {} ", p.label()), t.title()));
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(vec![Line::from(value), Line::default(), note])
            .wrap(Wrap { trim: false })
            .block(block),
        popup,
    );
    let x = p.input.visual_cursor().saturating_sub(scroll) as u16;
    frame.set_cursor_position((inner.x + x.min(inner.width.saturating_sub(1)), inner.y));
}
