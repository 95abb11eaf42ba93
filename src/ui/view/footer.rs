//! The bottom line: the latest message, or the most useful keys.

use crate::prefs::keymap::{Action, Mode};
use crate::ui::app::{App, NoticeLevel};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Keys worth a reminder, in order of importance (later ones are cut on narrow screens).
const HINTS: [(Action, &str); 10] = [
    (Action::Help, "help"),
    (Action::Subscribe, "subscribe"),
    (Action::Unsubscribe, "unsub"),
    (Action::Filter, "filter"),
    (Action::TogglePause, "pause"),
    (Action::FaultMenu, "faults"),
    (Action::Trigger, "trigger"),
    (Action::Disconnect, "disconnect"),
    (Action::Connect, "reconnect"),
    (Action::Quit, "quit"),
];

/// A replay's own keys worth a reminder, after the dashboard's that work in a replay.
const REPLAY_HINTS: [(Action, &str); 6] = [
    (Action::ReplayPause, "play"),
    (Action::ReplayStep, "step"),
    (Action::ReplaySeekBack, "back"),
    (Action::ReplaySeekForward, "fwd"),
    (Action::ReplayPrevMark, "prev mark"),
    (Action::ReplayNextMark, "next mark"),
];

/// With several nodes, these come right after help.
const NODE_HINTS: [(Action, &str); 2] = [(Action::NextNode, "node"), (Action::Cluster, "cluster")];

/// The hints of the dashboard in force, as (key, word): a replay's leave out the keys it
/// refuses and put its own before quit; several nodes' put theirs after help.
fn hints(app: &App) -> Vec<(String, &'static str)> {
    let km = app.keymap();
    let live = |(action, word): (Action, &'static str)| km.first_key(action).map(|k| (k, word));
    let nodes = if app.is_cluster() {
        &NODE_HINTS[..]
    } else {
        &[]
    };
    let (help, rest) = HINTS.split_at(1);
    let hints = help.iter().chain(nodes).chain(rest).copied();
    if app.dashboard_mode() != Mode::Replay {
        return hints.filter_map(live).collect();
    }
    let (quit, rest): (Vec<_>, Vec<_>) = hints
        .filter(|(action, _)| !action.acts_on_connection())
        .partition(|(action, _)| *action == Action::Quit);
    let own = REPLAY_HINTS
        .into_iter()
        .filter_map(|(action, word)| km.first_key_in(Mode::Replay, action).map(|k| (k, word)));
    rest.into_iter()
        .filter_map(live)
        .chain(own)
        .chain(quit.into_iter().filter_map(live))
        .collect()
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    if area.height == 0 {
        return;
    }
    let t = app.theme();
    let line = if let Some(n) = app.notice() {
        let style = match n.level {
            NoticeLevel::Info => t.ok(),
            NoticeLevel::Error => t.error(),
        };
        Line::from(vec![Span::raw(" "), Span::styled(n.text.clone(), style)])
    } else if app.prompt().is_some() {
        let km = app.keymap();
        let hints: Vec<String> = [
            (Action::Submit, "accept"),
            (Action::Cancel, "cancel"),
            (Action::Quit, "quit"),
        ]
        .into_iter()
        .filter_map(|(action, word)| {
            km.first_key_in(Mode::Editing, action)
                .map(|k| format!("{k} {word}"))
        })
        .collect();
        Line::from(Span::styled(format!(" {}", hints.join(" · ")), t.label()))
    } else {
        let mut spans = vec![Span::raw(" ")];
        let mut used = 1;
        for (k, word) in hints(app) {
            // Whole hints only: a cut one ("d disconn") reads as a typo.
            let w = k.chars().count() + 1 + word.chars().count();
            if used + w > area.width as usize {
                break;
            }
            used += w + 2;
            spans.push(Span::styled(k, t.title()));
            spans.push(Span::styled(format!(" {word}  "), t.label()));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}
