//! The cluster screen (several `--node`s), one page that scrolls: what the matrix means in
//! words when it means something is wrong (the diagnosis), one row per node (state and for
//! how long, uptime, socket id, round trip, events per second, reconnects, whether its HTTP
//! API answers), the delivery matrix (publishing node by receiving node: p50 / p99 and loss,
//! coloured by health), and presence across nodes: every presence channel's roster on each
//! node side by side, members some nodes lack marked with how long and GHOST, and members a
//! node's socket and its own HTTP API disagree on ("a's API does not list it"), then the
//! counts the nodes' HTTP APIs disagree on. An 80x24 terminal scrolls it; a wide one shows
//! it whole. Everything comes from records: the nodes' models and the cluster model.

use super::layout;
use super::{pane_block, title};
use crate::cluster::{DeliveryCell, DivergenceKind};
use crate::prefs::keymap::Action;
use crate::prefs::theme::Theme;
use crate::ui::app::App;
use crate::ui::app::nodes::MAX_NODES;
use crate::ui::format::{clock, duration, one_line};
use crate::ui::model::Model;
use crate::ui::model::cluster::{Current, possessive};
use crate::ui::model::presence::Roster;
use chanwatch_core::record::{NodeName, State};
use indexmap::{IndexMap, IndexSet};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::time::Instant;

/// Members listed per channel before "+N more".
pub const MEMBER_ROWS: usize = 100;
/// Presence channels shown before "+N more" (the page is built whole at every frame).
pub const PRESENCE_CHANNELS: usize = 32;

/// The marks of the presence table, so that it reads without colour too.
pub const LISTED: &str = "✓";
pub const NOT_LISTED: &str = "✗";
pub const NO_ROSTER: &str = "–";

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let extra = match app.cluster().delivery() {
        Some(d) => format!(
            "{} nodes · delivery at {} over {} rounds",
            app.node_names().len(),
            clock(d.ts),
            d.delivery.rounds
        ),
        None => format!("{} nodes", app.node_names().len()),
    };
    let block = pane_block(t, true, title(t, "Cluster", extra))
        .title_bottom(Line::from(Span::styled(hint(app), t.dim())));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let lines = lines(app, inner.width);
    let max = lines.len().saturating_sub(inner.height as usize);
    let scroll = app.measures().cluster_scroll().min(max);
    let visible: Vec<Line> = lines
        .into_iter()
        .skip(scroll)
        .take(inner.height as usize)
        .collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

/// " k/j scroll · n/N node · Esc back ", with the keys in force.
fn hint(app: &App) -> String {
    let km = app.keymap();
    let pair = |a: Action, b: Action, word: &str| match (km.first_key(a), km.first_key(b)) {
        (Some(a), Some(b)) => Some(format!("{a}/{b} {word}")),
        (Some(k), None) | (None, Some(k)) => Some(format!("{k} {word}")),
        (None, None) => None,
    };
    let parts: Vec<String> = [
        pair(Action::Up, Action::Down, "scroll"),
        pair(Action::NextNode, Action::PrevNode, "node"),
        km.first_key(Action::Back).map(|k| format!("{k} back")),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(" {} ", parts.join(" · "))
}

/// The rows the screen can scroll down by at the app's size.
pub fn max_scroll(app: &App) -> usize {
    let areas = layout::compute(app.size, app.focus());
    let main_h = areas.footer.y.saturating_sub(areas.status.bottom());
    let inner_w = app.size.width.saturating_sub(2);
    let inner_h = main_h.saturating_sub(2) as usize;
    lines(app, inner_w).len().saturating_sub(inner_h)
}

/// The whole page, each line cut to `width`.
pub fn lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let t = app.theme();
    let width = width as usize;
    let mut out = Vec::new();
    if let Some(text) = app
        .cluster()
        .delivery()
        .and_then(|d| d.delivery.diagnosis.as_deref())
    {
        const BADGE: &str = " DIAGNOSIS ";
        let room = width.saturating_sub(BADGE.len() + 1).max(10);
        for (i, piece) in wrap(text, room).into_iter().enumerate() {
            let lead = if i == 0 {
                Span::styled(BADGE, t.badge())
            } else {
                Span::raw(" ".repeat(BADGE.len()))
            };
            out.push(Line::from(vec![
                lead,
                Span::raw(" "),
                Span::styled(piece, t.error()),
            ]));
        }
        out.push(Line::default());
    }
    node_rows(app, width, &mut out);
    out.push(Line::default());
    matrix(app, width, &mut out);
    out.push(Line::default());
    presence(app, width, &mut out);
    out.push(Line::default());
    counts(app, width, &mut out);
    if app.cluster().dropped() > 0 {
        out.push(Line::from(Span::styled(
            format!("{} more divergences were not kept", app.cluster().dropped()),
            t.dim(),
        )));
    }
    out
}

/// `text` in lines of at most `width` characters, broken at spaces where it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let word = one_line(word, width);
        let used = line.chars().count();
        if used > 0 && used + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// `s` in exactly `width` columns: cut with `…`, or padded.
fn fixed(s: &str, width: usize) -> String {
    let cut = one_line(s, width);
    format!("{cut:<width$}")
}

/// `s` right-aligned in `width` columns.
fn right(s: &str, width: usize) -> String {
    let cut = one_line(s, width);
    format!("{cut:>width$}")
}

/// A state as a mark and its word: the mark tells the states apart without colour.
pub fn state_mark(s: State) -> &'static str {
    match s {
        State::Connected => "●",
        State::Connecting | State::Initialized => "◌",
        State::Unavailable => "✕",
        State::Failed => "✖",
        State::Disconnected => "○",
    }
}

/// The width of the node-name column: the longest name, within bounds.
fn name_width(names: &[NodeName], min: usize) -> usize {
    names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(min, 16)
}

const STATE_W: usize = 22;
const UP_W: usize = 7;
const RTT_W: usize = 7;
const RATE_W: usize = 6;
const RECONNECTS_W: usize = 7;

fn node_rows(app: &App, width: usize, out: &mut Vec<Line<'static>>) {
    let t = app.theme();
    let now = app.now;
    let names = app.node_names();
    let name_w = name_width(names, 4) + 1;
    let socket_w = app
        .node_models()
        .filter_map(|(_, m)| m.status().socket_id.as_deref())
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(6, 24)
        + 1;
    let fixed_w = 1 + name_w + STATE_W + UP_W + socket_w + RTT_W + RATE_W + RECONNECTS_W + 2;
    let api_w = width.saturating_sub(fixed_w);
    out.push(Line::from(vec![
        Span::styled("Nodes", t.title()),
        Span::styled("  the panes show the one marked ▸", t.dim()),
    ]));
    out.push(Line::from(Span::styled(
        format!(
            " {}{}{}{}{}{}{}  API",
            fixed("node", name_w),
            fixed("state", STATE_W),
            right("up", UP_W - 1) + " ",
            fixed("socket", socket_w),
            right("rtt", RTT_W - 1) + " ",
            right("ev/s", RATE_W),
            right("reconn", RECONNECTS_W),
        ),
        t.label(),
    )));
    let delivery = app.cluster().delivery();
    for (i, (name, m)) in app.node_models().enumerate() {
        let st = m.status();
        let mark = if Some(i) == app.selected_node() {
            "▸"
        } else {
            " "
        };
        let state = format!(
            "{} {} {}",
            state_mark(st.state),
            st.state,
            duration(now.saturating_duration_since(st.since))
        );
        let measured = m.measured();
        let (up, rate) = if measured.enabled() {
            let s = measured.model();
            (
                s.uptime()
                    .uptime_pct(now)
                    .map_or_else(|| "–".into(), |p| format!("{p:.0}%")),
                s.events_per_s(now).to_string(),
            )
        } else {
            ("–".into(), "–".into())
        };
        // A round trip is the live connection's: none while it is down.
        let rtt = match st.last_rtt {
            Some(rtt) if st.state == State::Connected => duration(rtt),
            _ => "–".into(),
        };
        let socket = st.socket_id.as_deref().unwrap_or("–");
        let (api, api_style) = match delivery.map(|d| d.delivery.api_errors.get(&**name)) {
            Some(Some(reason)) => (format!("API unreachable: {reason}"), t.error()),
            Some(None) => ("API ok".to_string(), t.ok()),
            None => ("API –".to_string(), t.dim()),
        };
        let name_style = if Some(i) == app.selected_node() {
            t.title()
        } else {
            t.value()
        };
        let mut spans = vec![
            Span::styled(mark, t.title()),
            Span::styled(fixed(name, name_w), name_style),
            Span::styled(fixed(&state, STATE_W), t.state(st.state)),
            Span::styled(right(&up, UP_W - 1) + " ", t.value()),
            Span::styled(fixed(socket, socket_w), t.value()),
            Span::styled(right(&rtt, RTT_W - 1) + " ", t.value()),
            Span::styled(right(&rate, RATE_W), t.value()),
            Span::styled(right(&st.reconnects.to_string(), RECONNECTS_W), t.value()),
            Span::raw("  "),
        ];
        // The API's word goes at the row's end when it fits, else on a line of its own.
        let own_line = api.chars().count() > api_w;
        if !own_line {
            spans.push(Span::styled(one_line(&api, api_w.max(1)), api_style));
        }
        out.push(Line::from(spans));
        if own_line {
            let indent = 1 + name_w;
            out.push(Line::from(vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(
                    one_line(&api, width.saturating_sub(indent).max(1)),
                    api_style,
                ),
            ]));
        }
    }
}

/// How healthy a cell is, as a theme style: all received, some lost, all lost, no data.
fn cell_style(t: &Theme, c: &DeliveryCell) -> Style {
    if c.sent == 0 || c.loss.is_none() {
        t.dim()
    } else if c.received >= c.sent {
        t.ok()
    } else if c.received == 0 {
        t.error()
    } else {
        t.warn()
    }
}

fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// "3.1/9.8 0%", "lost 100%", "no data".
pub fn cell_text(c: &DeliveryCell) -> String {
    let Some(loss) = c.loss.filter(|_| c.sent > 0) else {
        return "no data".into();
    };
    if c.received == 0 {
        return "lost 100%".into();
    }
    let pct = if loss <= 0.0 {
        "0%".to_string()
    } else {
        // Some loss never reads as 0% nor as 100%.
        format!("{}%", (loss * 100.0).round().clamp(1.0, 99.0))
    };
    let latency = match (c.p50_ms, c.p99_ms) {
        (Some(p50), Some(p99)) => format!("{}/{}", ms(p50), ms(p99)),
        (Some(p50), None) => ms(p50),
        _ => "–".into(),
    };
    format!("{latency} {pct}")
}

fn matrix(app: &App, width: usize, out: &mut Vec<Line<'static>>) {
    let t = app.theme();
    out.push(Line::from(vec![
        Span::styled("Delivery", t.title()),
        Span::styled(
            "  published through ↓ received by →  p50/p99 ms, loss",
            t.dim(),
        ),
    ]));
    let Some(latest) = app.cluster().delivery() else {
        out.push(Line::from(Span::styled(
            " waiting for the first probe round…",
            t.dim(),
        )));
        return;
    };
    let d = &latest.delivery;
    // The nodes in the order given, then any the matrix names that the dashboard does not.
    let mut nodes: IndexSet<&str> = app.node_names().iter().map(|n| &**n).collect();
    for c in &d.cells {
        for name in [&c.from, &c.to] {
            if nodes.len() < MAX_NODES {
                nodes.insert(name);
            }
        }
    }
    let label_w = nodes
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, 16)
        + 2;
    let n = nodes.len().max(1);
    let cell_w = (width.saturating_sub(label_w) / n).clamp(6, 20);
    let cells: IndexMap<(&str, &str), &DeliveryCell> = d
        .cells
        .iter()
        .map(|c| ((c.from.as_str(), c.to.as_str()), c))
        .collect();
    let mut head = vec![Span::styled(fixed(" from", label_w), t.label())];
    for to in &nodes {
        head.push(Span::styled(fixed(&format!("→ {to}"), cell_w), t.label()));
    }
    out.push(Line::from(head));
    for from in &nodes {
        let mut row = vec![Span::styled(fixed(&format!(" {from}"), label_w), t.value())];
        for to in &nodes {
            let span = match cells.get(&(*from, *to)) {
                Some(c) => Span::styled(fixed(&cell_text(c), cell_w), cell_style(t, c)),
                None => Span::styled(fixed("no data", cell_w), t.dim()),
            };
            row.push(span);
        }
        out.push(Line::from(row));
    }
}

/// A presence channel's roster on each node, in the nodes' order; `None` where a node has
/// none (not subscribed, or its connection lost).
type Rosters<'a> = Vec<Option<&'a Roster>>;

fn presence(app: &App, width: usize, out: &mut Vec<Line<'static>>) {
    let t = app.theme();
    let models: Vec<(&NodeName, &Model)> = app.node_models().collect();
    out.push(Line::from(vec![
        Span::styled("Presence across nodes", t.title()),
        Span::styled(
            format!("  {LISTED} listed  {NOT_LISTED} not listed  {NO_ROSTER} no roster"),
            t.dim(),
        ),
    ]));
    // Every presence channel with a roster on some node, then those only a divergence
    // names.
    let mut channels: IndexSet<&str> = IndexSet::new();
    for (_, m) in &models {
        for c in m.channels().values().filter(|c| c.roster.is_some()) {
            channels.insert(&c.name);
        }
    }
    let divergences: Vec<&Current> = app
        .cluster()
        .divergences()
        .filter(|c| {
            matches!(
                c.divergence.kind,
                DivergenceKind::Members | DivergenceKind::ApiMembers
            )
        })
        .collect();
    for c in &divergences {
        channels.insert(&c.divergence.channel);
    }
    if channels.is_empty() {
        out.push(Line::from(Span::styled(
            " no presence channel on any node",
            t.dim(),
        )));
        return;
    }
    let member_w = (width / 4).clamp(12, 28);
    let col_w = name_width(app.node_names(), 3) + 2;
    let more = channels.len().saturating_sub(PRESENCE_CHANNELS);
    for channel in channels.into_iter().take(PRESENCE_CHANNELS) {
        let rosters: Rosters = models
            .iter()
            .map(|(_, m)| m.channels().get(channel).and_then(|c| c.roster.as_ref()))
            .collect();
        let mut head = vec![Span::styled(
            fixed(&format!(" {channel}"), member_w + 2),
            t.channel(),
        )];
        let mut counts = vec![Span::styled(fixed("   members", member_w + 2), t.label())];
        for ((name, _), roster) in models.iter().zip(&rosters) {
            head.push(Span::styled(fixed(name, col_w), t.label()));
            let n = roster.map_or_else(|| NO_ROSTER.to_string(), |r| r.count().to_string());
            counts.push(Span::styled(fixed(&n, col_w), t.value()));
        }
        out.push(Line::from(head));
        out.push(Line::from(counts));
        member_rows(
            app,
            channel,
            &models,
            &rosters,
            &divergences,
            (member_w, col_w, width),
            out,
        );
    }
    if more > 0 {
        out.push(Line::from(Span::styled(
            format!(" +{more} more presence channels"),
            t.dim(),
        )));
    }
}

/// One row per member of `channel` on any node: those the nodes (or a node and its own
/// HTTP API) disagree on first. `widths` are the member column's, each node's and the
/// page's.
fn member_rows(
    app: &App,
    channel: &str,
    models: &[(&NodeName, &Model)],
    rosters: &Rosters,
    divergences: &[&Current],
    (member_w, col_w, width): (usize, usize, usize),
    out: &mut Vec<Line<'static>>,
) {
    let t = app.theme();
    let mut members: IndexSet<&str> = IndexSet::new();
    for c in divergences
        .iter()
        .filter(|c| c.divergence.channel == channel)
    {
        if let Some(m) = c.divergence.member.as_deref() {
            members.insert(m);
        }
    }
    for r in rosters.iter().flatten() {
        members.extend(r.members.keys().map(String::as_str));
    }
    let listed = |m: &str| -> Vec<Option<bool>> {
        rosters
            .iter()
            .map(|r| r.map(|r| r.members.contains_key(m)))
            .collect()
    };
    let differs = |m: &str| {
        let marks = listed(m);
        let on = marks.iter().flatten().filter(|l| **l).count();
        let of = marks.iter().flatten().count();
        // Some sockets list it and some do not (one only an API lists is no socket's).
        on > 0 && on < of
    };
    // Stable: those that differ (or a divergence names) first, each group in first-seen order.
    let (mut rows, same): (Vec<&str>, Vec<&str>) = members.into_iter().partition(|m| {
        differs(m)
            || app.cluster().member_divergence(channel, m).is_some()
            || app.cluster().api_divergence(channel, m).is_some()
    });
    rows.extend(same);
    let more: usize = rows.len().saturating_sub(MEMBER_ROWS);
    for member in rows.into_iter().take(MEMBER_ROWS) {
        let d = app.cluster().member_divergence(channel, member);
        let api = app.cluster().api_divergence(channel, member);
        let differ = differs(member) || d.is_some();
        let id_style = if differ || api.is_some() {
            t.warn()
        } else {
            t.value()
        };
        let mut spans = vec![Span::styled(
            fixed(&format!("   {member}"), member_w + 2),
            id_style,
        )];
        for l in listed(member) {
            let (mark, style) = match l {
                Some(true) => (LISTED, t.ok()),
                Some(false) => (NOT_LISTED, t.error()),
                None => (NO_ROSTER, t.dim()),
            };
            spans.push(Span::styled(fixed(mark, col_w), style));
        }
        // Whose own connection it is, when it is one of ours.
        let own = models
            .iter()
            .zip(rosters.iter())
            .find(|(_, r)| r.and_then(|r| r.me.as_deref()) == Some(member));
        if let Some(((node, _), _)) = own {
            spans.push(Span::styled(
                one_line(&format!("{node}'s own  "), 30),
                t.dim(),
            ));
        }
        match d {
            Some(c) => {
                let dv = &c.divergence;
                let mut note = String::new();
                if !dv.missing_on.is_empty() {
                    note.push_str(&format!("missing on {} ", dv.missing_on.join(", ")));
                } else if !dv.listed_on.is_empty() {
                    note.push_str(&format!("only on {} ", dv.listed_on.join(", ")));
                }
                note.push_str(&format!("for {}", duration(c.lasted(app.now))));
                spans.push(Span::styled(one_line(&note, 200), t.warn()));
                if dv.ghost {
                    spans.push(Span::raw(" "));
                    spans.push(Span::styled(" GHOST ", t.badge()));
                }
            }
            None if differ => spans.push(Span::styled("differs", t.warn())),
            None => {}
        }
        // What a node's own API says goes at the row's end when the row says nothing more,
        // else on a line of its own under it.
        if let Some(c) = api {
            let mut line = if differ {
                out.push(Line::from(spans));
                // Under the row's note, when there is room for one there.
                let notes_at = member_w + 2 + col_w * rosters.len();
                let indent = if notes_at + 24 <= width {
                    notes_at
                } else {
                    member_w + 2
                };
                vec![Span::raw(" ".repeat(indent))]
            } else {
                spans
            };
            let used: usize = line.iter().map(Span::width).sum();
            let badge = c.divergence.ghost.then_some(" GHOST ");
            let room = width.saturating_sub(used + badge.map_or(0, |b| b.len() + 1));
            let note = format!(
                "{} for {}",
                api_note(&c.divergence),
                duration(c.lasted(app.now))
            );
            line.push(Span::styled(one_line(&note, room.max(1)), t.warn()));
            if let Some(badge) = badge {
                line.push(Span::raw(" "));
                line.push(Span::styled(badge, t.badge()));
            }
            out.push(Line::from(line));
        } else {
            out.push(Line::from(spans));
        }
    }
    if more > 0 {
        out.push(Line::from(Span::styled(
            format!("   +{more} more"),
            t.dim(),
        )));
    }
}

/// What nodes' own HTTP APIs say of a member their sockets list or not: "a's API does not
/// list it", "a's, b's APIs do not list it · c's API lists it".
pub fn api_note(d: &crate::cluster::Divergence) -> String {
    let mut parts = Vec::new();
    match d.listed_on.len() {
        0 => {}
        1 => parts.push(format!("{} API does not list it", possessive(&d.listed_on))),
        _ => parts.push(format!("{} APIs do not list it", possessive(&d.listed_on))),
    }
    match d.missing_on.len() {
        0 => {}
        1 => parts.push(format!("{} API lists it", possessive(&d.missing_on))),
        _ => parts.push(format!("{} APIs list it", possessive(&d.missing_on))),
    }
    parts.join(" · ")
}

fn counts(app: &App, width: usize, out: &mut Vec<Line<'static>>) {
    let t = app.theme();
    let now: Instant = app.now;
    out.push(Line::from(Span::styled(
        "Counts the nodes' HTTP APIs disagree on",
        t.title(),
    )));
    let mut any = false;
    for c in app.cluster().divergences().filter(|c| {
        matches!(
            c.divergence.kind,
            DivergenceKind::SubscriptionCount | DivergenceKind::UserCount
        )
    }) {
        any = true;
        let d = &c.divergence;
        let kind = match d.kind {
            DivergenceKind::SubscriptionCount => "subscriptions",
            DivergenceKind::UserCount => "users",
            DivergenceKind::Members | DivergenceKind::ApiMembers => "members",
        };
        let per_node: Vec<String> = d.counts.iter().map(|(n, v)| format!("{n} {v}")).collect();
        let text = format!(
            " {}  {kind}: {}  for {}",
            d.channel,
            per_node.join(" · "),
            duration(c.lasted(now))
        );
        out.push(Line::from(Span::styled(
            one_line(&text, width.max(1)),
            t.warn(),
        )));
    }
    if !any {
        out.push(Line::from(Span::styled(" none", t.dim())));
    }
}
