//! The fault menu (`x`): the keymap's fault table, network faults first, each with what it
//! does; the close codes say what they mean to a client.

use super::centered;
use crate::prefs::keymap::{Action, FaultPick, Mode};
use crate::ui::app::App;
use chanwatch_core::protocol::codes::describe;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

fn what_it_does(pick: FaultPick) -> &'static str {
    match pick {
        FaultPick::Cut => "stop forwarding; sockets stay open",
        FaultPick::Drop => "reset every connection now",
        FaultPick::Down => "refuse new connections",
        FaultPick::Delay => "hold every chunk for N ms",
        FaultPick::Restore => "undo cut, down, delay, no pong",
        FaultPick::NoPong => "stop answering pusher:ping",
        FaultPick::KillNode => "the node dies like kill -9; the others keep its members",
        FaultPick::Partition => "cut the node off the bus, both ways",
        FaultPick::KeepMember => "the node keeps members who left elsewhere",
        close @ (FaultPick::Close4001
        | FaultPick::Close4004
        | FaultPick::Close4100
        | FaultPick::Close4200
        | FaultPick::Close4201) => describe(close.close_code().map_or(0, i64::from)),
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    // The node faults only where there are nodes to pick from.
    let cluster = app.selected_node().is_some();
    let entries: Vec<_> = app
        .keymap()
        .fault_entries()
        .into_iter()
        .filter(|(_, p, _)| cluster || !p.needs_node())
        .collect();
    let key_w = entries
        .iter()
        .map(|(k, _, _)| k.chars().count())
        .max()
        .unwrap_or(1);
    let name_w = entries
        .iter()
        .map(|(_, _, d)| d.chars().count())
        .max()
        .unwrap_or(1);
    let row = |(keys, pick, name): &(String, FaultPick, &'static str)| {
        Line::from(vec![
            Span::styled(format!(" {keys:>key_w$}  "), t.value()),
            Span::styled(format!("{name:<name_w$}  "), t.warn()),
            Span::styled(what_it_does(*pick), t.label()),
        ])
    };
    let mut lines = vec![Line::from(Span::styled(
        "network: needs the fault proxy",
        t.title(),
    ))];
    lines.extend(
        entries
            .iter()
            .filter(|(_, p, _)| !p.needs_demo_server() && !p.needs_node())
            .map(row),
    );
    lines.push(Line::from(Span::styled(
        "server: needs the demo server",
        t.title(),
    )));
    lines.extend(
        entries
            .iter()
            .filter(|(_, p, _)| p.needs_demo_server())
            .map(row),
    );
    if let Some(i) = app.selected_node() {
        let node = app.node_names().get(i).map_or("?", |n| &**n);
        lines.push(Line::from(Span::styled(
            format!("cluster: the demo's node {node} (n/N picks another)"),
            t.title(),
        )));
        lines.extend(entries.iter().filter(|(_, p, _)| p.needs_node()).map(row));
    }
    let width = lines.iter().map(Line::width).max().unwrap_or(0) as u16 + 2;
    let popup = centered(area, width, lines.len() as u16 + 2);
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(t.border(true))
        .title(Span::styled(" Inject a fault ", t.title()))
        .title_bottom(Line::from(Span::styled(closing_hint(app), t.dim())));
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// " a key injects · Esc closes ", with the key that closes.
fn closing_hint(app: &App) -> String {
    match app.keymap().first_key_in(Mode::FaultMenu, Action::Cancel) {
        Some(key) => format!(" a key injects · {key} closes "),
        None => " a key injects ".into(),
    }
}
