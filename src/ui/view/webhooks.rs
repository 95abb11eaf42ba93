//! The webhooks screen: each request the receiver took (when, the server's `time_ms` and
//! the delay, its events with channel and user, the batch size, the signature's verdict,
//! the forward's outcome) and each check of what our connection should have caused.

use crate::ui::app::App;
use crate::ui::format::clock_ms;
use crate::ui::model::webhooks::{WebhookRow, outcome_word};
use crate::ui::view::{pane_block, title};
use crate::webhook::{Outcome, Verdict};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::time::{Duration, UNIX_EPOCH};

/// Events of one batch drawn; the rest are counted.
const EVENTS_SHOWN: usize = 4;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let hooks = app.webhooks();
    let c = hooks.counts();
    let extra = format!(
        "{} received, {} refused · met {}, missed {}, contradicted {}",
        c.requests, c.refused, c.met, c.missed, c.contradicted
    );
    let block = pane_block(t, true, title(t, "Webhooks", extra));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 {
        return;
    }
    let head = match hooks.listening() {
        Some((url, Some(forward))) => format!(" receiving on {url}, forwarding to {forward}"),
        Some((url, None)) => format!(" receiving on {url}"),
        None => " no receiver: start one with --webhook-listen ADDR".to_string(),
    };
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(head, t.label()))),
        Rect { height: 1, ..inner },
    );
    let hint = Rect {
        y: inner.bottom() - 1,
        height: 1,
        ..inner
    };
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            "↑↓ PgUp PgDn scroll  End newest  Esc back",
            t.dim(),
        ))),
        hint,
    );
    let mut lines: Vec<Line> = Vec::new();
    for row in hooks.rows() {
        row_lines(app, row, &mut lines);
    }
    let rows_area = Rect {
        y: inner.y + 1,
        height: inner.height - 2,
        ..inner
    };
    let visible = rows_area.height as usize;
    let back = app
        .measures()
        .webhooks_back()
        .min(lines.len().saturating_sub(visible));
    let end = lines.len() - back;
    let start = end.saturating_sub(visible);
    let shown: Vec<Line> = lines.drain(start..end).collect();
    frame.render_widget(Paragraph::new(shown), rows_area);
}

fn row_lines<'a>(app: &App, row: &'a WebhookRow, out: &mut Vec<Line<'a>>) {
    let t = app.theme();
    match row {
        WebhookRow::Request {
            ts,
            received: r,
            forward,
        } => {
            let verdict = if r.verdict == Verdict::Ok {
                Span::styled("sig ok", t.ok())
            } else {
                Span::styled(format!("{} {}", r.status, r.verdict.describe()), t.error())
            };
            let mut first = vec![
                Span::styled(format!(" {} ", clock_ms(*ts)), t.dim()),
                Span::styled(format!("#{:<4}", r.seq), t.label()),
                verdict,
            ];
            if let (Some(time_ms), Some(delay)) = (r.time_ms, r.delay_ms) {
                let server = UNIX_EPOCH + Duration::from_millis(time_ms);
                first.push(Span::styled(
                    format!("  server {} +{delay} ms", clock_ms(server)),
                    t.value(),
                ));
            }
            if r.verdict == Verdict::Ok {
                first.push(Span::styled(format!("  batch {}", r.batch), t.value()));
            }
            if let Some(f) = forward {
                let (text, bad) = match (f.status, &f.error) {
                    (Some(s), _) => (format!("  → backend {s} in {} ms", f.duration_ms), s >= 300),
                    (None, e) => (
                        format!(
                            "  → backend failed: {}",
                            e.as_deref().unwrap_or("no answer")
                        ),
                        true,
                    ),
                };
                first.push(Span::styled(text, if bad { t.error() } else { t.ok() }));
            }
            out.push(Line::from(first));
            for e in r.events.iter().take(EVENTS_SHOWN) {
                let mut spans = vec![
                    Span::raw("     "),
                    Span::styled(format!("{:<17}", e.name), t.title()),
                    Span::styled(format!(" {}", e.channel), t.channel()),
                ];
                if let Some(u) = &e.user_id {
                    spans.push(Span::styled(format!("  user {u}"), t.value()));
                }
                if let Some(ev) = &e.event {
                    spans.push(Span::styled(format!("  event {ev}"), t.value()));
                }
                out.push(Line::from(spans));
            }
            if r.batch > EVENTS_SHOWN {
                out.push(Line::from(Span::styled(
                    format!("     … {} more in this batch", r.batch - EVENTS_SHOWN),
                    t.dim(),
                )));
            }
        }
        WebhookRow::Check { ts, check } => {
            let style = match check.outcome {
                Outcome::Met => t.ok(),
                Outcome::Missed => t.warn(),
                Outcome::Contradicted => t.error(),
            };
            let mut spans = vec![
                Span::styled(format!(" {} ", clock_ms(*ts)), t.dim()),
                Span::styled("check ", t.label()),
                Span::styled(format!("{:<13}", outcome_word(check.outcome)), style),
                Span::styled(check.expect.clone(), t.title()),
                Span::styled(format!(" {}", check.channel), t.channel()),
            ];
            if let Some(u) = &check.user_id {
                spans.push(Span::styled(format!("  user {u}"), t.value()));
            }
            if let Some(e) = &check.event {
                spans.push(Span::styled(format!("  event {e}"), t.value()));
            }
            if check.outcome == Outcome::Met {
                spans.push(Span::styled(
                    format!("  after {} ms", check.delay_ms.unwrap_or(0)),
                    t.value(),
                ));
            }
            out.push(Line::from(spans));
            // On a line of its own: it is what the user came to read.
            if let Some(d) = &check.detail {
                out.push(Line::from(vec![
                    Span::raw("     "),
                    Span::styled(d.clone(), style),
                ]));
            }
        }
    }
}
