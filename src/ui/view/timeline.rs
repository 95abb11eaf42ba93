//! The connection timeline: state changes with the time spent in the previous state and the
//! cause, errors with their codes in words, retries, pings, and what the user did.

use super::layout::Pane;
use super::{pane_block, title};
use crate::prefs::theme::Theme;
use crate::ui::app::{App, explain_cause};
use crate::ui::format::{clock, clock_ms, duration};
use crate::ui::model::{TimelineEntry, TimelineKind};
use chanwatch_core::protocol::codes::describe;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let focused = app.focus() == Pane::Timeline;
    let rows = area.height.saturating_sub(2) as usize;
    let inner_w = area.width.saturating_sub(2).max(1) as usize;
    let total = app.timeline().len();
    let scroll = app.timeline_scroll.min(total.saturating_sub(1));
    let end = total - scroll.min(total);
    let wide = area.width >= 70;
    // Long causes wrap rather than being cut: walk back from the newest entry until the
    // wrapped rows fill the pane, keeping the newest rows.
    let mut rows_out: Vec<Line> = Vec::new();
    for e in app.timeline().take(end).rev() {
        let mut wrapped = wrap(line(t, e, wide), inner_w);
        while let Some(l) = wrapped.pop() {
            if rows_out.len() == rows {
                break;
            }
            rows_out.push(l);
        }
        if rows_out.len() == rows {
            break;
        }
    }
    rows_out.reverse();
    let lines = rows_out;
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
                if !message.to_lowercase().contains(meaning) {
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
        TimelineKind::Fault(what) => {
            spans.push(Span::styled(format!("fault: {what}"), t.warn()));
        }
        TimelineKind::Note(what) => {
            spans.push(Span::styled(what.as_str(), t.label()));
        }
        TimelineKind::Webhook { text, flagged } => {
            let style = if *flagged { t.error() } else { t.label() };
            spans.push(Span::styled(text.as_str(), style));
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

/// Cut a line into rows of at most `width` characters, keeping each piece's style.
pub fn wrap(line: Line<'_>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut cur_w = 0;
    for span in line.spans {
        let style = span.style;
        let mut piece = String::new();
        for c in span.content.chars() {
            if cur_w == width {
                if !piece.is_empty() {
                    cur.push(Span::styled(std::mem::take(&mut piece), style));
                }
                out.push(Line::from(std::mem::take(&mut cur)));
                cur_w = 0;
            }
            piece.push(c);
            cur_w += 1;
        }
        if !piece.is_empty() {
            cur.push(Span::styled(piece, style));
        }
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(Line::from(cur));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_styles_and_widths() {
        let t = Theme::coloured();
        let l = Line::from(vec![Span::styled("abcd", t.error()), Span::raw("efg")]);
        let rows = wrap(l, 3);
        let text: Vec<String> = rows.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, ["abc", "def", "g"]);
        assert_eq!(rows[1].spans[0].style, t.error());
        assert_eq!(rows[1].spans[1].content, "ef");
        assert_eq!(wrap(Line::default(), 5).len(), 1);
    }
}
