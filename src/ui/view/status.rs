//! The two status lines: where we are connected, and how the connection is doing.

use crate::ui::app::App;
use crate::ui::format::{countdown, duration, one_line};
use crate::ui::view::cluster::state_mark;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let info = app.info();
    let st = app.status();
    let sep = || Span::styled("  ", t.dim());

    let mut first = vec![Span::styled(" chanwatch", t.title())];
    if info.demo {
        first.push(Span::raw(" "));
        first.push(Span::styled(" DEMO ", t.badge()));
    }
    first.push(sep());
    if app.is_cluster() {
        node_strip(app, &mut first);
    } else {
        first.extend([
            Span::styled("host ", t.label()),
            Span::styled(info.host.clone(), t.value()),
        ]);
    }
    first.extend([
        sep(),
        Span::styled("key ", t.label()),
        Span::styled(info.key.clone(), t.value()),
        sep(),
        Span::styled("TLS ", t.label()),
        if info.tls {
            Span::styled("on", t.ok())
        } else {
            Span::styled("off", t.warn())
        },
    ]);

    let mut second = vec![Span::raw(" ")];
    // With several nodes, the line is about the one the panes show.
    if let Some(name) = app.selected_node().and_then(|i| app.node_names().get(i)) {
        second.push(Span::styled(format!("{name}: "), t.title()));
    }
    second.extend([
        Span::styled(format!("● {}", st.state), t.state(st.state)),
        Span::styled(" for ", t.label()),
        Span::styled(
            duration(app.now.saturating_duration_since(st.since)),
            t.value(),
        ),
    ]);
    // Rates and the probe come before the socket id, so that 80 columns still show them.
    let measures = app.measured();
    if measures.enabled() {
        let m = measures.model();
        second.extend([
            sep(),
            Span::styled("ev/s ", t.label()),
            Span::styled(m.events_per_s(app.now).to_string(), t.value()),
        ]);
        if let Some(p) = m.probe().percentiles() {
            second.extend([
                sep(),
                Span::styled("probe p50 ", t.label()),
                Span::styled(format!("{}ms", p.p50), t.value()),
            ]);
        }
    }
    if let Some(id) = &st.socket_id {
        second.extend([
            sep(),
            Span::styled("socket ", t.label()),
            Span::styled(id.clone(), t.value()),
        ]);
    }
    if let Some(user) = &st.user_id {
        second.extend([
            sep(),
            Span::styled("user ", t.label()),
            Span::styled(user.clone(), t.value()),
        ]);
    }
    second.extend([
        sep(),
        Span::styled("reconnects ", t.label()),
        Span::styled(st.reconnects.to_string(), t.value()),
    ]);
    if let Some(rtt) = st.last_rtt {
        second.extend([
            sep(),
            Span::styled("rtt ", t.label()),
            Span::styled(duration(rtt), t.value()),
        ]);
    }
    if let Some(at) = st.retry_at
        && at > app.now
    {
        second.extend([
            sep(),
            Span::styled("retry in ", t.warn()),
            Span::styled(countdown(at - app.now), t.warn()),
        ]);
    }
    if st.client_gone {
        second.extend([sep(), Span::styled("client stopped", t.error())]);
    }
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

/// Every node as its name and its state's mark in the state's colour, the shown one in
/// brackets: "nodes a ● [b ●] c ✕".
fn node_strip(app: &App, spans: &mut Vec<Span<'static>>) {
    let t = app.theme();
    spans.push(Span::styled("nodes", t.label()));
    for (i, (name, m)) in app.node_models().enumerate() {
        let state = m.status().state;
        let shown = app.selected_node() == Some(i);
        spans.push(Span::raw(" "));
        if shown {
            spans.push(Span::styled("[", t.title()));
        }
        spans.extend([
            Span::styled(
                one_line(name, 12),
                if shown { t.title() } else { t.value() },
            ),
            Span::raw(" "),
            Span::styled(state_mark(state), t.state(state)),
        ]);
        if shown {
            spans.push(Span::styled("]", t.title()));
        }
    }
}
