//! The connection timeline: state changes with the time spent in the previous state and the
//! cause, errors with their codes in words, retries, pings, and what the user did.

use super::layout::Pane;
use super::{pane_block, title};
use crate::protocol::codes::describe;
use crate::ui::app::{App, TimelineEntry, TimelineKind, explain_cause};
use crate::ui::format::{clock, clock_ms, duration};
use crate::ui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let focused = app.focus() == Pane::Timeline;
    let rows = area.height.saturating_sub(2) as usize;
    let total = app.timeline().len();
    let scroll = app.timeline_scroll.min(total.saturating_sub(1));
    let end = total - scroll.min(total);
    let start = end.saturating_sub(rows);
    let wide = area.width >= 70;
    let lines: Vec<Line> = app
        .timeline()
        .skip(start)
        .take(end - start)
        .map(|e| line(t, e, wide))
        .collect();
    let extra = if scroll > 0 {
        format!("{total} · ↑{scroll}")
    } else {
        total.to_string()
    };
    let block = pane_block(t, focused, title(t, "Timeline", extra));
    let body: Vec<Line> = if lines.is_empty() {
        vec![Line::from(Span::styled(
            "no connection activity yet",
            t.dim(),
        ))]
    } else {
        lines
    };
    frame.render_widget(Paragraph::new(body).block(block), area);
}

/// One timeline row.
pub fn line<'a>(t: &Theme, e: &'a TimelineEntry, wide: bool) -> Line<'a> {
    let time = if wide { clock_ms(e.ts) } else { clock(e.ts) };
    let mut spans = vec![Span::styled(time, t.dim()), Span::raw(" ")];
    match &e.kind {
        TimelineKind::State {
            previous,
            current,
            in_previous,
            cause,
        } => {
            spans.push(Span::styled(previous.as_str(), t.state(*previous)));
            spans.push(Span::styled(" → ", t.label()));
            spans.push(Span::styled(current.as_str(), t.state(*current)));
            if let Some(d) = in_previous {
                spans.push(Span::styled(format!(" after {}", duration(*d)), t.dim()));
            }
            if let Some(c) = cause {
                spans.push(Span::styled(": ", t.label()));
                spans.push(Span::raw(explain_cause(c)));
            }
        }
        TimelineKind::Error { code, message } => {
            spans.push(Span::styled("error", t.error()));
            if let Some(c) = code {
                let meaning = describe(*c);
                spans.push(Span::styled(format!(" {c}"), t.error()));
                if !message.contains(meaning) {
                    spans.push(Span::styled(format!(" {meaning}"), t.warn()));
                }
            }
            spans.push(Span::styled(": ", t.label()));
            spans.push(Span::raw(message.as_str()));
        }
        TimelineKind::ConnectingIn(d) => {
            spans.push(Span::styled(
                format!("next attempt in {}", duration(*d)),
                t.warn(),
            ));
        }
        TimelineKind::PingSent(after) => {
            spans.push(Span::styled(
                format!("ping sent after {} quiet", duration(*after)),
                t.label(),
            ));
        }
        TimelineKind::Pong(rtt) => {
            spans.push(Span::styled(
                format!("pong, rtt {}", duration(*rtt)),
                t.label(),
            ));
        }
        TimelineKind::User(what) => {
            spans.push(Span::styled(what.as_str(), t.title()));
        }
        TimelineKind::ClientGone => {
            spans.push(Span::styled(
                "client stopped: no more records will arrive",
                t.error(),
            ));
        }
    }
    Line::from(spans)
}
