//! Drawing: one function per pane, each reading `&App` only. [`render`] lays them out.

pub mod auth;
pub mod channels;
pub mod cluster;
pub mod detail;
pub mod events;
pub mod fault_menu;
pub mod footer;
pub mod help;
pub mod json;
pub mod layout;
pub mod measures;
pub mod members;
pub mod occupancy;
pub mod picker;
pub mod prompt;
pub mod replay_bar;
pub mod status;
pub mod timeline;
pub mod webhooks;

use super::app::measures::Screen;
use super::app::{App, Modal, Overlay, PromptKind};
use crate::prefs::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

/// Draw the whole dashboard.
pub fn render(app: &App, frame: &mut Frame) {
    let areas = layout::compute(frame.area(), app.focus());
    status::render(app, frame, areas.status);
    let main = Rect::new(
        frame.area().x,
        areas.status.bottom(),
        frame.area().width,
        areas.footer.y.saturating_sub(areas.status.bottom()),
    );
    // A measures screen takes the panes' place; the modals still open over it.
    match app.measures().screen() {
        Some(Screen::Measures) => measures::render(app, frame, main),
        Some(Screen::Occupancy) => occupancy::render(app, frame, main),
        Some(Screen::Webhooks) => webhooks::render(app, frame, main),
        Some(Screen::Cluster) => cluster::render(app, frame, main),
        None => render_panes(app, frame, &areas),
    }
    footer::render(app, frame, areas.footer);
    // Bottom-up, so the box that takes the keys is the one drawn on top.
    for modal in app.modals() {
        match modal {
            Modal::Detail(_) => detail::render(app, frame, main),
            Modal::Overlay(Overlay::FaultMenu) => fault_menu::render(app, frame, main),
            Modal::Overlay(Overlay::Picker(_)) => picker::render(app, frame, main),
            Modal::Overlay(Overlay::Auth(_)) => auth::render(app, frame, main),
            // The filter is edited in the log pane's title, not in a box.
            Modal::Prompt(p) if matches!(p.kind, PromptKind::Filter { .. }) => {}
            Modal::Prompt(_) => prompt::render(app, frame, main),
            Modal::Help => help::render(app, frame, frame.area()),
        }
    }
}

fn render_panes(app: &App, frame: &mut Frame, areas: &layout::Areas) {
    if let Some(r) = areas.channels {
        channels::render(app, frame, r);
    }
    if let Some(r) = areas.members {
        members::render(app, frame, r);
    }
    if let Some(r) = areas.log {
        events::render(app, frame, r);
    }
    if let Some(r) = areas.timeline {
        timeline::render(app, frame, r);
    }
}

/// A pane's border: thick and bright when it has the focus.
pub(crate) fn pane_block<'a>(
    theme: &Theme,
    focused: bool,
    title: impl Into<Line<'a>>,
) -> Block<'a> {
    Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(theme.border(focused))
        .title(title)
}

/// A title such as " Events 12/10000 " with the pane name emphasised.
pub(crate) fn title<'a>(theme: &Theme, name: &'a str, extra: String) -> Line<'a> {
    let mut spans = vec![Span::raw(" "), Span::styled(name, theme.title())];
    if !extra.is_empty() {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(extra, theme.label()));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// A rectangle of at most `w` x `h` centred in `area`.
pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
