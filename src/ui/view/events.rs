//! The event log pane: an optional filter line, then one row per event (time, channel, event,
//! a one-line preview of the data). The title tells follow/paused, totals and drops.

use super::layout::Pane;
use super::{pane_block, title};
use crate::prefs::theme::Theme;
use crate::ui::app::{App, LogView, PromptKind};
use crate::ui::format::{clock, clock_ms, one_line};
use crate::ui::model::log::LogEntry;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Column widths for one pane width.
struct Columns {
    wide_time: bool,
    /// The node's, with several nodes; 0 for one connection.
    node: usize,
    channel: usize,
    event: usize,
}

impl Columns {
    /// `node` is the longest node name (0 for one connection): its column takes room from
    /// the channel's and the event's on narrow panes.
    fn for_width(w: u16, node: usize) -> Columns {
        let mut cols = if w >= 100 {
            Columns {
                wide_time: true,
                node: 0,
                channel: 22,
                event: 22,
            }
        } else if w >= 70 {
            Columns {
                wide_time: true,
                node: 0,
                channel: 16,
                event: 16,
            }
        } else {
            Columns {
                wide_time: false,
                node: 0,
                channel: 12,
                event: 12,
            }
        };
        if node > 0 {
            cols.node = node.min(if w >= 100 { 12 } else { 6 });
            if w < 100 {
                cols.channel -= 2;
                cols.event -= 2;
            }
        }
        cols
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let focused = app.focus() == Pane::Log;
    let log = app.log();
    let mut extra = if app.filter().is_empty() {
        format!("{}/{}", log.len(), log.capacity())
    } else {
        format!(
            "{} of {}/{}",
            log.count_matching(app.filter()),
            log.len(),
            log.capacity()
        )
    };
    if log.dropped() > 0 {
        extra.push_str(&format!(" · dropped {}", log.dropped()));
    }
    let mode = match app.log_view() {
        LogView::Follow => Span::styled(" following ", t.ok()),
        LogView::Paused { .. } if app.unseen > 0 => {
            Span::styled(format!(" PAUSED +{} ", app.unseen), t.badge())
        }
        LogView::Paused { .. } => Span::styled(" PAUSED ", t.badge()),
    };
    let mut title_line = title(t, "Events", extra);
    title_line.spans.push(mode);
    let block = pane_block(t, focused, title_line);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }

    let mut rows_area = inner;
    if app.filter_line_visible() {
        let line_area = Rect::new(inner.x, inner.y, inner.width, 1);
        render_filter_line(app, frame, line_area);
        rows_area.y += 1;
        rows_area.height -= 1;
    }
    let (visible, selected) = app.visible_log();
    if visible.is_empty() {
        let msg = if log.is_empty() {
            "no events yet"
        } else {
            "no event matches the filter"
        };
        frame.render_widget(Paragraph::new(Span::styled(msg, t.dim())), rows_area);
        return;
    }
    let node_w = app
        .node_names()
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0);
    let cols = Columns::for_width(inner.width, node_w);
    // In follow mode the newest row is only marked while the pane has the focus (Enter opens it).
    let show_sel = focused || matches!(app.log_view(), LogView::Paused { .. });
    let lines: Vec<Line> = visible
        .iter()
        .filter_map(|&i| log.get(i).map(|e| (i, e)))
        .map(|(i, e)| {
            let l = row(t, e, &cols, inner.width as usize);
            if show_sel && Some(i) == selected {
                l.style(t.selected())
            } else {
                l
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), rows_area);
}

fn render_filter_line(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    match app.prompt() {
        Some(p) if matches!(p.kind, PromptKind::Filter { .. }) => {
            let width = area.width.saturating_sub(2) as usize;
            let scroll = p.input.visual_scroll(width);
            let value: String = p.input.value().chars().skip(scroll).collect();
            let line = Line::from(vec![Span::styled("/ ", t.title()), Span::raw(value)]);
            frame.render_widget(Paragraph::new(line), area);
            let x = p.input.visual_cursor().saturating_sub(scroll) as u16 + 2;
            frame.set_cursor_position((area.x + x.min(area.width.saturating_sub(1)), area.y));
        }
        _ => {
            let line = Line::from(vec![
                Span::styled("filter ", t.label()),
                Span::styled(app.filter().text().to_string(), t.value()),
                Span::styled("  (Esc clears)", t.dim()),
            ]);
            frame.render_widget(Paragraph::new(line), area);
        }
    }
}

fn fixed(s: &str, width: usize) -> String {
    let cut = one_line(s, width);
    format!("{cut:<width$}")
}

fn row<'a>(t: &Theme, e: &'a LogEntry, cols: &Columns, width: usize) -> Line<'a> {
    let time = if cols.wide_time {
        clock_ms(e.ts)
    } else {
        clock(e.ts)
    };
    let node_w = if cols.node > 0 { cols.node + 1 } else { 0 };
    let used = time.len() + 1 + node_w + cols.channel + 1 + cols.event + 1;
    let preview_w = width.saturating_sub(used).max(1);
    let channel = e.channel.as_deref().unwrap_or("(connection)");
    let mut spans = vec![Span::styled(time, t.dim()), Span::raw(" ")];
    if cols.node > 0 {
        spans.push(Span::styled(
            fixed(e.node.as_deref().unwrap_or(""), cols.node),
            t.title(),
        ));
        spans.push(Span::raw(" "));
    }
    spans.extend([
        Span::styled(fixed(channel, cols.channel), t.channel()),
        Span::raw(" "),
        Span::styled(fixed(&e.event, cols.event), t.event()),
        Span::raw(" "),
        Span::styled(one_line(&e.text, preview_w), Style::new()),
    ]);
    Line::from(spans)
}
