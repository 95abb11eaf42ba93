//! The members pane: for a presence channel its members (me marked, joins and leaves
//! highlighted for a few seconds) and, after `U`, the users the HTTP API reported, those
//! missing from the live list marked; for any other channel its details, including why a
//! subscription failed, its authorization, subscription count and cache miss.

use super::channels::{kind_label, status_style, status_text};
use super::layout::Pane;
use super::{pane_block, title};
use crate::prefs::keymap::Action;
use crate::prefs::theme::Theme;
use crate::ui::app::App;
use crate::ui::format::{clock, one_line};
use crate::ui::model::{ApiUsers, Channel, ChannelStatus};
use chanwatch_core::protocol::ChannelKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let focused = app.focus() == Pane::Members;
    let Some(c) = app.selected_channel() else {
        let block = pane_block(t, focused, title(t, "Members", String::new()));
        frame.render_widget(
            Paragraph::new(Span::styled("no channel selected", t.dim())).block(block),
            area,
        );
        return;
    };
    if c.kind == ChannelKind::Presence
        && let Some(r) = &c.roster
    {
        let block = pane_block(t, focused, title(t, "Members", r.count().to_string()));
        let width = area.width.saturating_sub(2) as usize;
        let mut lines: Vec<Line> = Vec::with_capacity(r.count() + r.departed.len());
        for (id, m) in &r.members {
            let me = r.me.as_deref() == Some(id.as_str());
            let (mark, style) = if m.joined_at.is_some() {
                ("+", t.joined())
            } else if me {
                ("★", t.value())
            } else {
                (" ", t.channel())
            };
            let mut spans = vec![
                Span::styled(format!("{mark} "), style),
                Span::styled(id.clone(), style),
            ];
            if me {
                spans.push(Span::styled(" (me)", t.title()));
            }
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            if !m.info.is_null() && width > used + 2 {
                spans.push(Span::raw(" "));
                spans.push(Span::styled(
                    one_line(&m.info.to_string(), width - used - 1),
                    t.dim(),
                ));
            }
            lines.push(Line::from(spans));
        }
        for d in &r.departed {
            lines.push(Line::from(vec![
                Span::styled("- ", t.left()),
                Span::styled(d.id.clone(), t.left()),
                Span::styled(" left", t.dim()),
            ]));
        }
        if r.more > 0 {
            lines.push(Line::from(Span::styled(
                format!(
                    "+{} more (the first {} are listed)",
                    r.more,
                    chanwatch_core::connection::MAX_MEMBERS
                ),
                t.dim(),
            )));
        }
        if let Some(api) = &c.api_users {
            lines.extend(api_lines(t, api, c));
        }
        let scroll = app.members_scroll.min(lines.len().saturating_sub(1));
        let body: Vec<Line> = lines.into_iter().skip(scroll).collect();
        frame.render_widget(Paragraph::new(body).block(block), area);
        return;
    }
    let block = pane_block(t, focused, title(t, "Channel", String::new()));
    frame.render_widget(
        Paragraph::new(details(app, c, area.width.saturating_sub(2) as usize))
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

fn details<'a>(app: &'a App, c: &'a Channel, width: usize) -> Vec<Line<'a>> {
    let t = app.theme();
    let (_, word) = status_text(&c.status);
    let mut lines = vec![
        Line::from(Span::styled(c.name.as_str(), t.channel())),
        Line::from(vec![
            Span::styled("kind   ", t.label()),
            Span::raw(kind_label(c)),
        ]),
        Line::from(vec![
            Span::styled("status ", t.label()),
            Span::styled(word, status_style(t, &c.status)),
        ]),
    ];
    if let ChannelStatus::Failed { message, .. } = &c.status {
        lines.push(Line::from(vec![
            Span::styled("reason ", t.label()),
            Span::styled(message.as_str(), t.error()),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled("events ", t.label()),
        Span::raw(c.events.to_string()),
    ]));
    if let Some(n) = c.subscription_count {
        lines.push(Line::from(vec![
            Span::styled("subs   ", t.label()),
            Span::raw(n.to_string()),
        ]));
    }
    if c.cache_miss {
        lines.push(Line::from(vec![
            Span::styled("cache  ", t.label()),
            Span::styled("miss: none cached", t.warn()),
        ]));
    }
    if let Some(x) = app.auth_exchange(&c.name) {
        let mut spans = vec![
            Span::styled("auth   ", t.label()),
            Span::styled(x.summary(), if x.ok { t.ok() } else { t.error() }),
        ];
        if let Some(k) = app.keymap().first_key(Action::InspectAuth) {
            let hint = format!(" · {k} inspects");
            // Only where it fits: a wrapped hint would read as part of the result.
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            if used + hint.chars().count() <= width {
                spans.push(Span::styled(hint, t.dim()));
            }
        }
        lines.push(Line::from(spans));
    }
    if c.kind == ChannelKind::Presence {
        lines.push(Line::from(Span::styled(
            "waiting for the member list",
            t.dim(),
        )));
        if let Some(api) = &c.api_users {
            lines.extend(api_lines(t, api, c));
        }
    }
    lines
}

/// The HTTP API's users of a presence channel; ids the live list lacks are marked.
fn api_lines(t: &Theme, api: &ApiUsers, c: &Channel) -> Vec<Line<'static>> {
    let roster = c.roster.as_ref();
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("HTTP API users {}", api.ids.len()), t.title()),
        Span::styled(format!(" at {}", clock(api.ts)), t.dim()),
    ])];
    for id in &api.ids {
        if ApiUsers::is_live(id, roster) {
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(id.clone(), t.channel()),
            ]));
        } else {
            lines.push(Line::from(vec![
                Span::styled("? ", t.warn()),
                Span::styled(id.clone(), t.warn()),
                Span::styled(" not in the live list", t.dim()),
            ]));
        }
    }
    let missing = api.missing(roster);
    if !missing.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("live only: {}", missing.join(", ")),
            t.dim(),
        )));
    }
    lines
}

/// Rows the members pane has for a channel, for scrolling.
pub fn row_count(c: &Channel) -> usize {
    let members = c.roster.as_ref().map_or(0, |r| {
        r.members.len() + r.departed.len() + usize::from(r.more > 0)
    });
    let api = c.api_users.as_ref().map_or(0, |a| {
        1 + a.ids.len() + usize::from(!a.missing(c.roster.as_ref()).is_empty())
    });
    members + api
}
