//! Keys to actions, per mode. The help overlay is rendered from [`Keymap::help_sections`], so
//! what `?` shows is always what the keys do.
//!
//! The mode decides which table is consulted: while a prompt is open (editing) only
//! submit / cancel / Ctrl-C are bindings and every other key is text, so typing `q` in a
//! channel name never quits (a bug ratatui's app template once had). The fault
//! menu has its own table too, so there `c` means cut, not "clear the log".

use crate::faults::FaultKind;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the user asked for, independent of which key did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Subscribe,
    Unsubscribe,
    Disconnect,
    Connect,
    Trigger,
    Filter,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    TogglePause,
    ClearLog,
    /// Open the fault menu.
    FaultMenu,
    /// Publish a server event through the HTTP API.
    Publish,
    /// List occupied channels through the HTTP API, to pick one.
    ListChannels,
    /// List the selected presence channel's users through the HTTP API.
    ListUsers,
    /// Open the auth inspector on the selected channel.
    InspectAuth,
    /// Show or hide the measures screen (rates, latency, state band).
    Measures,
    /// Show or hide the occupancy screen (occupied channels from the HTTP API).
    Occupancy,
    /// Occupancy screen: sort by name or by count.
    SortOccupancy,
    Help,
    Quit,
    /// Fault menu: inject this fault.
    Fault(FaultPick),
    /// Editing mode: accept the prompt's text.
    Submit,
    /// Editing mode: close the prompt without acting.
    Cancel,
}

/// A fault as the menu offers it. `Delay` asks for its length before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultPick {
    Cut,
    Drop,
    Down,
    Delay,
    Restore,
    Close(u16),
    NoPong,
}

impl FaultPick {
    /// The fault to inject, or `None` for `Delay`, which needs a length first.
    pub fn kind(self) -> Option<FaultKind> {
        Some(match self {
            FaultPick::Cut => FaultKind::Cut,
            FaultPick::Drop => FaultKind::Drop,
            FaultPick::Down => FaultKind::Down,
            FaultPick::Delay => return None,
            FaultPick::Restore => FaultKind::Restore,
            FaultPick::Close(code) => FaultKind::Close { code },
            FaultPick::NoPong => FaultKind::NoPong,
        })
    }

    /// Whether the demo server (not the fault proxy) applies it.
    pub fn needs_demo_server(self) -> bool {
        matches!(self, FaultPick::Close(_) | FaultPick::NoPong)
    }
}

/// Which key table applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Panes (and the list overlays, which reuse the moving keys) have the keys.
    Normal,
    /// A prompt has the keys; only [`Action::Submit`], [`Action::Cancel`] and Ctrl-C are bindings.
    Editing,
    /// The fault menu is open: one key per fault, Esc closes.
    FaultMenu,
}

/// One key chord: a code plus the modifiers that must be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Chord {
    pub const fn plain(code: KeyCode) -> Chord {
        Chord {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    pub const fn ctrl(c: char) -> Chord {
        Chord {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    /// Does a key event from the terminal press this chord? Shift is ignored for characters
    /// because terminals report `G` both as `G` and as `Shift+G`.
    pub fn matches(&self, key: &KeyEvent) -> bool {
        if key.code != self.code {
            return false;
        }
        let mut mods = key.modifiers;
        if matches!(key.code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        mods == self.modifiers
    }

    /// The chord as the help overlay writes it.
    pub fn label(&self) -> String {
        let key = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift-Tab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            other => format!("{other:?}"),
        };
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{key}")
        } else {
            key
        }
    }
}

/// A set of chords bound to one action, with the words the help overlay shows.
#[derive(Debug, Clone)]
pub struct Binding {
    pub chords: Vec<Chord>,
    pub action: Action,
    pub description: &'static str,
}

/// The live key tables.
#[derive(Debug, Clone)]
pub struct Keymap {
    normal: Vec<Binding>,
    editing: Vec<Binding>,
    faults: Vec<Binding>,
}

impl Default for Keymap {
    fn default() -> Self {
        use KeyCode::*;
        let c = |ch: char| Chord::plain(Char(ch));
        let p = Chord::plain;
        let b = |chords: Vec<Chord>, action, description| Binding {
            chords,
            action,
            description,
        };
        Keymap {
            normal: vec![
                b(vec![c('s')], Action::Subscribe, "subscribe"),
                b(vec![c('u')], Action::Unsubscribe, "unsubscribe selected"),
                b(vec![c('t')], Action::Trigger, "trigger a client event"),
                b(vec![c('d')], Action::Disconnect, "disconnect"),
                b(vec![c('r')], Action::Connect, "reconnect"),
                b(vec![c('/')], Action::Filter, "filter the log"),
                b(
                    vec![p(Tab), c('l'), p(Right)],
                    Action::FocusNext,
                    "next pane",
                ),
                b(
                    vec![p(BackTab), c('h'), p(Left)],
                    Action::FocusPrev,
                    "previous pane",
                ),
                b(vec![c('k'), p(Up)], Action::Up, "move up"),
                b(vec![c('j'), p(Down)], Action::Down, "move down"),
                b(vec![p(PageUp), Chord::ctrl('b')], Action::PageUp, "page up"),
                b(
                    vec![p(PageDown), Chord::ctrl('f')],
                    Action::PageDown,
                    "page down",
                ),
                b(vec![c('g'), p(Home)], Action::Top, "first (pauses log)"),
                b(vec![c('G'), p(End)], Action::Bottom, "last (follows log)"),
                b(vec![p(Enter)], Action::Open, "open detail"),
                b(vec![p(Esc)], Action::Back, "back / clear filter"),
                b(
                    vec![c('p'), c(' ')],
                    Action::TogglePause,
                    "pause / follow log",
                ),
                b(vec![c('c')], Action::ClearLog, "clear the log"),
                b(vec![c('x')], Action::FaultMenu, "fault menu"),
                b(vec![c('T')], Action::Publish, "publish (HTTP API)"),
                b(vec![c('L')], Action::ListChannels, "pick occupied channel"),
                b(vec![c('U')], Action::ListUsers, "presence users (API)"),
                b(vec![c('a')], Action::InspectAuth, "auth inspector"),
                b(vec![c('m')], Action::Measures, "measures screen"),
                b(vec![c('o')], Action::Occupancy, "occupancy (HTTP API)"),
                b(vec![c('S')], Action::SortOccupancy, "sort occupancy"),
                b(vec![c('?')], Action::Help, "this help"),
                b(vec![c('q'), Chord::ctrl('c')], Action::Quit, "quit"),
            ],
            editing: vec![
                b(vec![p(Enter)], Action::Submit, "accept"),
                b(vec![p(Esc)], Action::Cancel, "cancel"),
                b(vec![Chord::ctrl('c')], Action::Quit, "quit"),
            ],
            faults: vec![
                b(vec![c('c')], Action::Fault(FaultPick::Cut), "cut"),
                b(vec![c('o')], Action::Fault(FaultPick::Drop), "drop"),
                b(vec![c('w')], Action::Fault(FaultPick::Down), "down"),
                b(vec![c('l')], Action::Fault(FaultPick::Delay), "delay…"),
                b(vec![c('e')], Action::Fault(FaultPick::Restore), "restore"),
                b(
                    vec![c('1')],
                    Action::Fault(FaultPick::Close(4001)),
                    "close 4001",
                ),
                b(
                    vec![c('4')],
                    Action::Fault(FaultPick::Close(4004)),
                    "close 4004",
                ),
                b(
                    vec![c('0')],
                    Action::Fault(FaultPick::Close(4100)),
                    "close 4100",
                ),
                b(
                    vec![c('2')],
                    Action::Fault(FaultPick::Close(4200)),
                    "close 4200",
                ),
                b(
                    vec![c('3')],
                    Action::Fault(FaultPick::Close(4201)),
                    "close 4201",
                ),
                b(vec![c('n')], Action::Fault(FaultPick::NoPong), "no pong"),
                b(vec![p(Esc)], Action::Cancel, "close"),
                b(vec![Chord::ctrl('c')], Action::Quit, "quit"),
            ],
        }
    }
}

impl Keymap {
    fn table(&self, mode: Mode) -> &[Binding] {
        match mode {
            Mode::Normal => &self.normal,
            Mode::Editing => &self.editing,
            Mode::FaultMenu => &self.faults,
        }
    }

    /// The fault menu's entries, in order, as (key, fault, description), for the menu overlay.
    pub fn fault_entries(&self) -> Vec<(String, FaultPick, &'static str)> {
        self.faults
            .iter()
            .filter_map(|b| match b.action {
                Action::Fault(pick) => {
                    let keys: Vec<String> = b.chords.iter().map(Chord::label).collect();
                    Some((keys.join(" "), pick, b.description))
                }
                _ => None,
            })
            .collect()
    }

    /// The action bound to `key` in `mode`, if any. In editing mode a `None` means the key is text.
    pub fn action_for(&self, mode: Mode, key: &KeyEvent) -> Option<Action> {
        self.table(mode)
            .iter()
            .find(|b| b.chords.iter().any(|c| c.matches(key)))
            .map(|b| b.action)
    }

    /// The first chord bound to `action` in normal mode, for hints such as "press ? for help".
    pub fn first_key(&self, action: Action) -> Option<String> {
        self.normal
            .iter()
            .find(|b| b.action == action)
            .and_then(|b| b.chords.first())
            .map(Chord::label)
    }

    /// (section title, rows of (keys, description)) for the help overlay.
    pub fn help_sections(&self) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
        let rows = |t: &[Binding]| {
            t.iter()
                .map(|b| {
                    let keys: Vec<String> = b.chords.iter().map(Chord::label).collect();
                    (keys.join(" "), b.description)
                })
                .collect()
        };
        vec![
            ("Keys", rows(&self.normal)),
            ("In a prompt", rows(&self.editing)),
            ("Fault menu (x)", rows(&self.faults)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn normal_mode_binds_letters() {
        let km = Keymap::default();
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action_for(Mode::Normal, &q), Some(Action::Quit));
        let shift_g = key(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(km.action_for(Mode::Normal, &shift_g), Some(Action::Bottom));
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.action_for(Mode::Normal, &ctrl_c), Some(Action::Quit));
        let c = key(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(km.action_for(Mode::Normal, &c), Some(Action::ClearLog));
    }

    #[test]
    fn editing_mode_leaves_letters_as_text() {
        let km = Keymap::default();
        for ch in ['q', 's', 'd', 'u', '?', '/', 'j'] {
            let k = key(KeyCode::Char(ch), KeyModifiers::NONE);
            assert_eq!(km.action_for(Mode::Editing, &k), None, "{ch}");
        }
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.action_for(Mode::Editing, &ctrl_c), Some(Action::Quit));
        let enter = key(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(km.action_for(Mode::Editing, &enter), Some(Action::Submit));
    }

    #[test]
    fn help_lists_every_normal_binding() {
        let km = Keymap::default();
        let sections = km.help_sections();
        assert_eq!(sections[0].1.len(), km.normal.len());
        assert!(sections[0].1.iter().any(|(k, _)| k == "q Ctrl-c"));
        assert_eq!(km.first_key(Action::Help).as_deref(), Some("?"));
        assert_eq!(sections[2].1.len(), km.faults.len());
    }

    #[test]
    fn fault_menu_has_its_own_letters() {
        let km = Keymap::default();
        let c = key(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(
            km.action_for(Mode::FaultMenu, &c),
            Some(Action::Fault(FaultPick::Cut))
        );
        let esc = key(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(km.action_for(Mode::FaultMenu, &esc), Some(Action::Cancel));
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action_for(Mode::FaultMenu, &q), None);
        let entries = km.fault_entries();
        assert_eq!(entries.len(), 11);
        assert!(entries.iter().all(|(k, _, _)| k != "Esc"));
        // Every close code offered can really be sent.
        for (_, pick, _) in entries {
            if let Some(kind) = pick.kind() {
                assert_eq!(kind.validate(), Ok(kind), "{pick:?}");
            }
        }
        // Upper-case letters are distinct bindings from their lower-case keys.
        let shift_t = key(KeyCode::Char('T'), KeyModifiers::SHIFT);
        assert_eq!(km.action_for(Mode::Normal, &shift_t), Some(Action::Publish));
        let l = key(KeyCode::Char('l'), KeyModifiers::NONE);
        assert_eq!(km.action_for(Mode::Normal, &l), Some(Action::FocusNext));
    }
}
