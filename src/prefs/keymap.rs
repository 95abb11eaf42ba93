//! Keys to actions, per mode. The help overlay is rendered from [`Keymap::help_sections`], so
//! what `?` shows is always what the keys do.
//!
//! The mode decides which table is consulted: while a prompt is open (editing) only
//! submit / cancel / Ctrl-C are bindings and every other key is text, so typing `q` in a
//! channel name never quits (a bug ratatui's app template once had). The fault
//! menu has its own table too, so there `c` means cut, not "clear the log".
//!
//! The config file's `[keys]` table rebinds actions by [`Action::name`] with key names read
//! by [`Chord::parse`]; [`Keymap::rebind`] applies one entry and [`Keymap::conflict`] finds
//! two actions sharing a key in one mode. The file's errors (with line numbers) are
//! `crate::config::keys`'s business; this module only says what is wrong.

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
    /// Write the log, as filtered, as NDJSON (a prompt asks where).
    ExportLog,
    /// Write the timeline as text (a prompt asks where).
    ExportTimeline,
    /// Show or hide the measures screen (rates, latency, state band).
    Measures,
    /// Show or hide the occupancy screen (occupied channels from the HTTP API).
    Occupancy,
    /// Occupancy screen: sort by name or by count.
    SortOccupancy,
    /// Show or hide the webhooks screen (received webhooks and their checks).
    Webhooks,
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

/// Every action the `[keys]` table can rebind, by its name there (the variant in snake_case;
/// the fault menu's entries as `fault_` plus the fault).
const ACTION_NAMES: &[(&str, Action)] = &[
    ("subscribe", Action::Subscribe),
    ("unsubscribe", Action::Unsubscribe),
    ("disconnect", Action::Disconnect),
    ("connect", Action::Connect),
    ("trigger", Action::Trigger),
    ("filter", Action::Filter),
    ("focus_next", Action::FocusNext),
    ("focus_prev", Action::FocusPrev),
    ("up", Action::Up),
    ("down", Action::Down),
    ("page_up", Action::PageUp),
    ("page_down", Action::PageDown),
    ("top", Action::Top),
    ("bottom", Action::Bottom),
    ("open", Action::Open),
    ("back", Action::Back),
    ("toggle_pause", Action::TogglePause),
    ("clear_log", Action::ClearLog),
    ("fault_menu", Action::FaultMenu),
    ("publish", Action::Publish),
    ("list_channels", Action::ListChannels),
    ("list_users", Action::ListUsers),
    ("inspect_auth", Action::InspectAuth),
    ("export_log", Action::ExportLog),
    ("export_timeline", Action::ExportTimeline),
    ("measures", Action::Measures),
    ("occupancy", Action::Occupancy),
    ("sort_occupancy", Action::SortOccupancy),
    ("webhooks", Action::Webhooks),
    ("help", Action::Help),
    ("quit", Action::Quit),
    ("submit", Action::Submit),
    ("cancel", Action::Cancel),
    ("fault_cut", Action::Fault(FaultPick::Cut)),
    ("fault_drop", Action::Fault(FaultPick::Drop)),
    ("fault_down", Action::Fault(FaultPick::Down)),
    ("fault_delay", Action::Fault(FaultPick::Delay)),
    ("fault_restore", Action::Fault(FaultPick::Restore)),
    ("fault_close_4001", Action::Fault(FaultPick::Close(4001))),
    ("fault_close_4004", Action::Fault(FaultPick::Close(4004))),
    ("fault_close_4100", Action::Fault(FaultPick::Close(4100))),
    ("fault_close_4200", Action::Fault(FaultPick::Close(4200))),
    ("fault_close_4201", Action::Fault(FaultPick::Close(4201))),
    ("fault_no_pong", Action::Fault(FaultPick::NoPong)),
];

impl Action {
    /// The names of every bindable action, in the order the help lists them.
    pub fn names() -> impl Iterator<Item = &'static str> {
        ACTION_NAMES.iter().map(|(n, _)| *n)
    }

    /// The action a `[keys]` name stands for.
    pub fn from_name(name: &str) -> Option<Action> {
        ACTION_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
    }

    /// The action's name in the `[keys]` table.
    pub fn name(self) -> &'static str {
        ACTION_NAMES
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("?", |(n, _)| n)
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

impl Mode {
    /// Where the mode's keys apply, in words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Mode::Normal => "on the dashboard",
            Mode::Editing => "in a prompt",
            Mode::FaultMenu => "in the fault menu",
        }
    }
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

    /// A key as the config file names it: one character (`a`, `A`, `?`), or a name (`enter`,
    /// `esc`, `tab`, `backtab`, `backspace`, `delete`, `insert`, `up`, `down`, `left`,
    /// `right`, `home`, `end`, `pageup`, `pagedown`, `space`, `f1` to `f24`), after any of
    /// the modifiers `ctrl-`, `alt-` and `shift-`. Names and modifiers are case-insensitive;
    /// a single character is not (`A` is Shift-a).
    pub fn parse(text: &str) -> Result<Chord, String> {
        let unknown = || {
            format!(
                "\"{text}\" is not a key name (examples: \"a\", \"A\", \"ctrl-x\", \"enter\", \"esc\", \"tab\", \"up\", \"f5\", \"space\")"
            )
        };
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        // A single character is the key itself, even `-` or `+`.
        while rest.chars().count() > 1 {
            let lower = rest.to_ascii_lowercase();
            let Some((prefix, modifier)) = [
                ("ctrl", KeyModifiers::CONTROL),
                ("control", KeyModifiers::CONTROL),
                ("alt", KeyModifiers::ALT),
                ("shift", KeyModifiers::SHIFT),
            ]
            .into_iter()
            .find(|(p, _)| {
                lower.starts_with(p) && matches!(lower.as_bytes().get(p.len()), Some(b'-' | b'+'))
            }) else {
                break;
            };
            modifiers |= modifier;
            rest = &rest[prefix.len() + 1..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (None, _) => return Err(unknown()),
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" | "page_up" | "pgup" => KeyCode::PageUp,
                "pagedown" | "page_down" | "pgdn" => KeyCode::PageDown,
                "space" => KeyCode::Char(' '),
                name => match name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    Some(n @ 1..=24) => KeyCode::F(n),
                    _ => return Err(unknown()),
                },
            },
        };
        Ok(Chord::normalized(code, modifiers))
    }

    /// One spelling per key, the way terminals report it: Shift-a is `A` and Shift-Tab is
    /// BackTab (for characters [`Chord::matches`] ignores Shift), and Ctrl with a letter
    /// is the lower-case letter, as terminals cannot tell Ctrl-a from Ctrl-A.
    fn normalized(code: KeyCode, mut modifiers: KeyModifiers) -> Chord {
        let code = match code {
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c.to_ascii_lowercase())
            }
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c.to_ascii_uppercase())
            }
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Chord { code, modifiers }
    }

    /// The chord as the config file writes it; [`Chord::parse`] reads it back.
    pub fn name(&self) -> String {
        let key = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::F(n) => format!("f{n}"),
            KeyCode::PageUp => "pageup".into(),
            KeyCode::PageDown => "pagedown".into(),
            other => format!("{other:?}").to_ascii_lowercase(),
        };
        let mut out = String::new();
        for (m, word) in [
            (KeyModifiers::CONTROL, "ctrl-"),
            (KeyModifiers::ALT, "alt-"),
            (KeyModifiers::SHIFT, "shift-"),
        ] {
            if self.modifiers.contains(m) {
                out.push_str(word);
            }
        }
        out + &key
    }

    /// Whether a prompt would take this key as text (a character, alone or with Shift).
    pub fn is_text(&self) -> bool {
        let mut mods = self.modifiers;
        mods.remove(KeyModifiers::SHIFT);
        matches!(self.code, KeyCode::Char(_)) && mods.is_empty()
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
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        let mut out = String::new();
        for (m, word) in [
            (KeyModifiers::CONTROL, "Ctrl-"),
            (KeyModifiers::ALT, "Alt-"),
            (KeyModifiers::SHIFT, "Shift-"),
        ] {
            if self.modifiers.contains(m) {
                out.push_str(word);
            }
        }
        out + &key
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
    /// Sections for keys handled outside the app (replay's), shown in the help overlay.
    extra_help: Vec<(&'static str, Vec<(String, &'static str)>)>,
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
                b(vec![c('e')], Action::ExportLog, "export log NDJSON"),
                b(vec![c('w')], Action::ExportTimeline, "export timeline"),
                b(vec![c('m')], Action::Measures, "measures screen"),
                b(vec![c('o')], Action::Occupancy, "occupancy (HTTP API)"),
                b(vec![c('S')], Action::SortOccupancy, "sort occupancy"),
                b(vec![c('W')], Action::Webhooks, "webhooks screen"),
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
            extra_help: Vec::new(),
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
        self.first_key_in(Mode::Normal, action)
    }

    /// The first chord bound to `action` in `mode`, for the hints of prompts and menus.
    pub fn first_key_in(&self, mode: Mode, action: Action) -> Option<String> {
        self.table(mode)
            .iter()
            .find(|b| b.action == action)
            .and_then(|b| b.chords.first())
            .map(Chord::label)
    }

    /// Binds `action` to `chords` instead of its default keys, in every table that has it.
    /// A prompt keeps only the keys that are not text (a rebound `quit = "e"` must not fire
    /// while a channel name is typed), and so does the fault menu, whose letters are faults;
    /// `submit` and `cancel` belong to a prompt, so a character cannot be one of theirs.
    pub fn rebind(&mut self, action: Action, chords: &[Chord]) -> Result<(), String> {
        if chords.is_empty() {
            return Err("give at least one key".into());
        }
        if matches!(action, Action::Submit | Action::Cancel)
            && let Some(text) = chords.iter().find(|c| c.is_text())
        {
            return Err(format!(
                "\"{}\" is text in a prompt, so it cannot {}; use a key such as enter, esc, tab, ctrl-x or f2",
                text.name(),
                action.name()
            ));
        }
        for (mode, table) in [
            (Mode::Normal, &mut self.normal),
            (Mode::Editing, &mut self.editing),
            (Mode::FaultMenu, &mut self.faults),
        ] {
            for binding in table.iter_mut().filter(|b| b.action == action) {
                binding.chords = if action == Action::Quit && mode != Mode::Normal {
                    chords.iter().copied().filter(|c| !c.is_text()).collect()
                } else {
                    chords.to_vec()
                };
            }
        }
        Ok(())
    }

    /// The first key bound to two actions in one mode, if any.
    pub fn conflict(&self) -> Option<Conflict> {
        for mode in [Mode::Normal, Mode::Editing, Mode::FaultMenu] {
            let table = self.table(mode);
            for (i, first) in table.iter().enumerate() {
                for second in &table[i + 1..] {
                    if let Some(chord) = first.chords.iter().find(|c| second.chords.contains(c)) {
                        return Some(Conflict {
                            mode,
                            chord: *chord,
                            actions: [first.action, second.action],
                        });
                    }
                }
            }
        }
        None
    }

    /// (section title, rows of (keys, description)) for the help overlay.
    pub fn help_sections(&self) -> Vec<(String, Vec<(String, &'static str)>)> {
        let rows = |t: &[Binding]| {
            t.iter()
                .map(|b| {
                    let keys: Vec<String> = b.chords.iter().map(Chord::label).collect();
                    (keys.join(" "), b.description)
                })
                .collect()
        };
        let fault_menu = match self.first_key(Action::FaultMenu) {
            Some(key) => format!("Fault menu ({key})"),
            None => "Fault menu".into(),
        };
        let mut sections = vec![
            ("Keys".into(), rows(&self.normal)),
            ("In a prompt".into(), rows(&self.editing)),
            (fault_menu, rows(&self.faults)),
        ];
        sections.extend(
            self.extra_help
                .iter()
                .map(|(title, rows)| (title.to_string(), rows.clone())),
        );
        sections
    }

    /// Show a table of keys that something around the app handles (replay's) in the help.
    pub fn add_help_section(&mut self, title: &'static str, rows: Vec<(String, &'static str)>) {
        self.extra_help.push((title, rows));
    }
}

/// Two actions that one key would trigger in the same mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflict {
    pub mode: Mode,
    pub chord: Chord,
    pub actions: [Action; 2],
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

    #[test]
    fn key_names_parse_and_print_back() {
        let ctrl = |c| Chord::ctrl(c);
        let plain = Chord::plain;
        for (text, chord) in [
            ("a", plain(KeyCode::Char('a'))),
            ("A", plain(KeyCode::Char('A'))),
            ("shift-a", plain(KeyCode::Char('A'))),
            ("?", plain(KeyCode::Char('?'))),
            ("-", plain(KeyCode::Char('-'))),
            ("ctrl-x", ctrl('x')),
            ("Ctrl+X", ctrl('x')),
            ("ctrl--", ctrl('-')),
            ("enter", plain(KeyCode::Enter)),
            ("ESC", plain(KeyCode::Esc)),
            ("tab", plain(KeyCode::Tab)),
            ("shift-tab", plain(KeyCode::BackTab)),
            ("up", plain(KeyCode::Up)),
            ("pgdn", plain(KeyCode::PageDown)),
            ("f5", plain(KeyCode::F(5))),
            ("space", plain(KeyCode::Char(' '))),
            (
                "alt-left",
                Chord {
                    code: KeyCode::Left,
                    modifiers: KeyModifiers::ALT,
                },
            ),
        ] {
            assert_eq!(Chord::parse(text), Ok(chord), "{text}");
            assert_eq!(Chord::parse(&chord.name()), Ok(chord), "{text}");
        }
        for bad in ["", "gg", "f0", "f25", "ctrl-", "hyper-a", "enterr"] {
            let err = Chord::parse(bad).unwrap_err();
            assert!(err.contains("is not a key name"), "{bad}: {err}");
        }
        assert_eq!(Chord::parse("f5").unwrap().label(), "F5");
        assert_eq!(Chord::parse("alt-x").unwrap().label(), "Alt-x");
    }

    #[test]
    fn every_action_has_a_name_and_a_default_key() {
        let km = Keymap::default();
        for name in Action::names() {
            let action = Action::from_name(name).unwrap();
            assert_eq!(action.name(), name);
            let bound = [Mode::Normal, Mode::Editing, Mode::FaultMenu]
                .into_iter()
                .any(|m| km.table(m).iter().any(|b| b.action == action));
            assert!(bound, "{name} is in no table");
        }
        // And the other way: every bound action has a name a `[keys]` table can use.
        for mode in [Mode::Normal, Mode::Editing, Mode::FaultMenu] {
            for b in km.table(mode) {
                assert_ne!(b.action.name(), "?", "{:?} has no name", b.action);
            }
        }
        assert_eq!(Action::from_name("reconnect"), None);
        assert_eq!(km.conflict(), None, "the defaults never clash");
    }

    #[test]
    fn rebinding_moves_the_action_and_keeps_prompts_typable() {
        let mut km = Keymap::default();
        km.rebind(
            Action::Quit,
            &[Chord::plain(KeyCode::Char('n')), Chord::ctrl('c')],
        )
        .unwrap();
        let o = key(KeyCode::Char('n'), KeyModifiers::NONE);
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action_for(Mode::Normal, &o), Some(Action::Quit));
        assert_eq!(km.action_for(Mode::Normal, &q), None);
        // `n` is text in a prompt and "no pong" in the fault menu: neither quits.
        assert_eq!(km.action_for(Mode::Editing, &o), None);
        assert_eq!(
            km.action_for(Mode::FaultMenu, &o),
            Some(Action::Fault(FaultPick::NoPong))
        );
        assert_eq!(km.conflict(), None);
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.action_for(Mode::Editing, &ctrl_c), Some(Action::Quit));
        assert!(
            km.help_sections()[0]
                .1
                .iter()
                .any(|(k, d)| k == "n Ctrl-c" && *d == "quit")
        );

        km.rebind(Action::FaultMenu, &[Chord::plain(KeyCode::F(2))])
            .unwrap();
        assert_eq!(km.help_sections()[2].0, "Fault menu (F2)");

        let err = km
            .rebind(Action::Submit, &[Chord::plain(KeyCode::Char('y'))])
            .unwrap_err();
        assert!(err.contains("\"y\" is text in a prompt"), "{err}");
        assert!(km.rebind(Action::Help, &[]).is_err());
    }

    #[test]
    fn a_key_for_two_actions_in_one_mode_is_a_conflict() {
        let mut km = Keymap::default();
        km.rebind(Action::ClearLog, &[Chord::plain(KeyCode::Char('q'))])
            .unwrap();
        assert_eq!(
            km.conflict(),
            Some(Conflict {
                mode: Mode::Normal,
                chord: Chord::plain(KeyCode::Char('q')),
                actions: [Action::ClearLog, Action::Quit],
            })
        );
        // The same letter in different modes is fine: `c` is cut in the fault menu.
        let mut km = Keymap::default();
        km.rebind(
            Action::Fault(FaultPick::Cut),
            &[Chord::plain(KeyCode::Char('s'))],
        )
        .unwrap();
        assert_eq!(km.conflict(), None);
        km.rebind(
            Action::Fault(FaultPick::Drop),
            &[Chord::plain(KeyCode::Char('s'))],
        )
        .unwrap();
        assert_eq!(km.conflict().map(|c| c.mode), Some(Mode::FaultMenu));
    }
}
