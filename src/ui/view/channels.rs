//! The channels pane: name, kind, status, events received, and how many are on the channel:
//! the members of a presence channel, the server's `pusher:subscription_count` elsewhere
//! (narrow panes show both in one `subs` column; presence channels get no such count).

use super::layout::Pane;
use super::{pane_block, title};
use crate::prefs::theme::Theme;
use crate::ui::app::App;
use crate::ui::model::{Channel, ChannelStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

/// Inner width from which the kind and status get their own columns.
const WIDE: u16 = 64;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let focused = app.focus() == Pane::Channels;
    let n = app.model().channels().len();
    let extra = match app.model().channels_dropped() {
        0 => n.to_string(),
        _ => format!("{n}, more not kept"),
    };
    let block = pane_block(t, focused, title(t, "Channels", extra));
    if n == 0 {
        let hint = format!(
            "none yet: press {} to subscribe",
            app.keymap()
                .first_key(crate::prefs::keymap::Action::Subscribe)
                .unwrap_or_default()
        );
        frame.render_widget(
            Paragraph::new(Span::styled(hint, t.dim())).block(block),
            area,
        );
        return;
    }
    let inner_w = area.width.saturating_sub(2);
    let rows_visible = area.height.saturating_sub(3).max(1) as usize;
    let offset = app.channel_sel.saturating_sub(rows_visible - 1);
    let wide = inner_w >= WIDE;
    let rows: Vec<Row> = app
        .channels()
        .enumerate()
        .skip(offset)
        .take(rows_visible)
        .map(|(i, c)| {
            let style = if i == app.channel_sel {
                t.selected()
            } else {
                Style::new()
            };
            row(t, c, wide).style(style)
        })
        .collect();
    let (header, widths): (Row, Vec<Constraint>) = if wide {
        (
            Row::new(["channel", "kind", "status", "events", "memb", "subs"]),
            vec![
                Constraint::Fill(1),
                Constraint::Length(15),
                Constraint::Length(12),
                Constraint::Length(7),
                Constraint::Length(5),
                Constraint::Length(5),
            ],
        )
    } else {
        (
            Row::new(["  channel", "events", "subs"]),
            vec![
                Constraint::Fill(1),
                Constraint::Length(6),
                Constraint::Length(4),
            ],
        )
    };
    let table = Table::new(rows, widths)
        .header(header.style(t.label()))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

/// `encrypted`, `public cache`, `presence cache`...
pub fn kind_label(c: &Channel) -> String {
    if c.cache {
        format!("{} cache", c.kind.label())
    } else {
        c.kind.label().to_string()
    }
}

/// The kind with `miss` added when a cache channel found nothing cached at subscribe.
pub fn kind_cell(c: &Channel) -> String {
    if c.cache_miss {
        format!("{} miss", kind_label(c))
    } else {
        kind_label(c)
    }
}

/// How many are on the channel: presence members, else the server's subscription count.
pub fn head_count(c: &Channel) -> String {
    match (&c.roster, c.subscription_count) {
        (Some(r), _) => r.count().to_string(),
        (None, Some(n)) => n.to_string(),
        (None, None) => String::new(),
    }
}

/// A glyph for narrow screens, and the word for wide ones.
pub fn status_text(s: &ChannelStatus) -> (&'static str, String) {
    match s {
        ChannelStatus::Pending => ("…", "pending".into()),
        ChannelStatus::Subscribed => ("✓", "subscribed".into()),
        ChannelStatus::Failed {
            status: Some(code), ..
        } => ("✗", format!("failed {code}")),
        ChannelStatus::Failed { status: None, .. } => ("✗", "failed".into()),
        ChannelStatus::Leaving => ("↩", "leaving".into()),
    }
}

pub fn status_style(t: &Theme, s: &ChannelStatus) -> Style {
    match s {
        ChannelStatus::Pending | ChannelStatus::Leaving => t.warn(),
        ChannelStatus::Subscribed => t.ok(),
        ChannelStatus::Failed { .. } => t.error(),
    }
}

fn row<'a>(t: &Theme, c: &'a Channel, wide: bool) -> Row<'a> {
    let (glyph, word) = status_text(&c.status);
    let st = status_style(t, &c.status);
    let members = c
        .roster
        .as_ref()
        .map(|r| r.count().to_string())
        .unwrap_or_default();
    let subs = c
        .subscription_count
        .map(|n| n.to_string())
        .unwrap_or_default();
    if wide {
        Row::new(vec![
            Line::from(Span::styled(c.name.as_str(), t.channel())),
            Line::from(kind_cell(c)),
            Line::from(Span::styled(word, st)),
            Line::from(c.events.to_string()).right_aligned(),
            Line::from(members).right_aligned(),
            Line::from(subs).right_aligned(),
        ])
    } else {
        Row::new(vec![
            Line::from(vec![
                Span::styled(glyph, st),
                Span::raw(" "),
                Span::styled(c.name.as_str(), t.channel()),
            ]),
            Line::from(c.events.to_string()).right_aligned(),
            Line::from(head_count(c)).right_aligned(),
        ])
    }
}
