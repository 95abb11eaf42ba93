//! Keys to actions, per mode. The help overlay is rendered from [`Keymap::help_sections`], so
//! what `?` shows is always what the keys do.
//!
//! The mode decides which table is consulted: while a prompt is open (editing) only
//! submit / cancel / Ctrl-C are bindings and every other key is text, so typing `q` in a
//! channel name never quits (a bug ratatui's app template once had). The fault
//! menu has its own table too, so there `c` means cut, not "clear the log". A replay has a
//! table of its own keys, read before the dashboard's.
//!
//! The default bindings are data: `default_keys.toml`, embedded and read once. An action's
//! name is its serde name (the variant in snake_case, a fault as `fault_` plus the fault), the
//! one spelling that file, the config file's `[keys]` table and the messages use.
//! [`Chord::parse`] reads key names; [`Keymap::rebind`] applies one `[keys]` entry and
//! [`Keymap::conflict`] finds two actions sharing a key where both work. The config file's
//! errors (with line numbers) are `crate::config::keys`'s business; this module only says
//! what is wrong.

use crate::faults::FaultKind;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::de::{self, Deserializer, IntoDeserializer, SeqAccess, Visitor};
use serde::ser::{Impossible, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::LazyLock;
use strum::IntoEnumIterator;

/// What the user asked for, independent of which key did it. The serde name of each is
/// its name in the `[keys]` table and in `default_keys.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::EnumIter)]
#[serde(rename_all = "snake_case")]
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
    /// Several nodes: the panes show the next node.
    NextNode,
    /// Several nodes: the panes show the previous node.
    PrevNode,
    /// Several nodes: show or hide the cluster screen (nodes, delivery matrix, presence
    /// across nodes).
    Cluster,
    Help,
    Quit,
    /// Editing mode: accept the prompt's text.
    Submit,
    /// Editing mode: close the prompt without acting.
    Cancel,
    /// Replay: pause or play.
    ReplayPause,
    /// Replay: apply the next record and pause there.
    ReplayStep,
    /// Replay: jump to the previous state change or fault.
    ReplayPrevMark,
    /// Replay: jump to the next state change or fault.
    ReplayNextMark,
    /// Replay: seek back a step (10 s).
    ReplaySeekBack,
    /// Replay: seek forward a step (10 s).
    ReplaySeekForward,
    /// Replay: twice as fast.
    ReplayFaster,
    /// Replay: half as fast.
    ReplaySlower,
    /// Fault menu: inject this fault. Named by the fault alone (`fault_cut`); serde wants an
    /// untagged variant last.
    #[serde(untagged)]
    Fault(FaultPick),
}

/// A fault as the menu offers it, named as the `[keys]` table names it. `Delay` asks for its
/// length before anything is sent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, strum::EnumIter,
)]
pub enum FaultPick {
    #[default]
    #[serde(rename = "fault_cut")]
    Cut,
    #[serde(rename = "fault_drop")]
    Drop,
    #[serde(rename = "fault_down")]
    Down,
    #[serde(rename = "fault_delay")]
    Delay,
    #[serde(rename = "fault_restore")]
    Restore,
    #[serde(rename = "fault_close_4001")]
    Close4001,
    #[serde(rename = "fault_close_4004")]
    Close4004,
    #[serde(rename = "fault_close_4100")]
    Close4100,
    #[serde(rename = "fault_close_4200")]
    Close4200,
    #[serde(rename = "fault_close_4201")]
    Close4201,
    #[serde(rename = "fault_no_pong")]
    NoPong,
    /// The demo cluster's faults, on the node the panes show.
    #[serde(rename = "fault_kill_node")]
    KillNode,
    #[serde(rename = "fault_partition")]
    Partition,
    #[serde(rename = "fault_keep_member")]
    KeepMember,
}

impl FaultPick {
    /// The close code a `Close…` pick sends.
    pub fn close_code(self) -> Option<u16> {
        Some(match self {
            FaultPick::Close4001 => 4001,
            FaultPick::Close4004 => 4004,
            FaultPick::Close4100 => 4100,
            FaultPick::Close4200 => 4200,
            FaultPick::Close4201 => 4201,
            _ => return None,
        })
    }

    /// The fault to inject on `node` when it acts on a whole node of the demo cluster.
    pub fn on_node(self, node: &str) -> Option<FaultKind> {
        let node = node.to_string();
        Some(match self {
            FaultPick::KillNode => FaultKind::KillNode { node },
            FaultPick::Partition => FaultKind::Partition { node },
            FaultPick::KeepMember => FaultKind::KeepMember { node },
            _ => return None,
        })
    }

    /// Whether it acts on a whole node of the demo cluster (the node shown).
    pub fn needs_node(self) -> bool {
        matches!(
            self,
            FaultPick::KillNode | FaultPick::Partition | FaultPick::KeepMember
        )
    }

    /// The fault to inject, or `None` for `Delay`, which needs a length first, and for the
    /// node faults, which need the node ([`FaultPick::on_node`]).
    pub fn kind(self) -> Option<FaultKind> {
        if let Some(code) = self.close_code() {
            return Some(FaultKind::Close { code });
        }
        Some(match self {
            FaultPick::Cut => FaultKind::Cut,
            FaultPick::Drop => FaultKind::Drop,
            FaultPick::Down => FaultKind::Down,
            FaultPick::Restore => FaultKind::Restore,
            FaultPick::NoPong => FaultKind::NoPong,
            _ => return None,
        })
    }

    /// Whether the demo server (not the fault proxy) applies it.
    pub fn needs_demo_server(self) -> bool {
        self == FaultPick::NoPong || self.close_code().is_some()
    }
}

impl Action {
    /// Every bindable action, each fault of the menu apart, in the enum's order.
    pub fn all() -> impl Iterator<Item = Action> {
        Action::iter().flat_map(|a| {
            let faults =
                matches!(a, Action::Fault(_)).then(|| FaultPick::iter().map(Action::Fault));
            let plain = (!matches!(a, Action::Fault(_))).then_some(a);
            plain.into_iter().chain(faults.into_iter().flatten())
        })
    }

    /// The names of every bindable action.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Action::all().map(Action::name)
    }

    /// The action a `[keys]` name stands for.
    pub fn from_name(name: &str) -> Option<Action> {
        let text: de::value::StrDeserializer<'_, de::value::Error> = name.into_deserializer();
        Action::deserialize(text).ok()
    }

    /// The action's name in the `[keys]` table: its serde name.
    pub fn name(self) -> &'static str {
        self.serialize(VariantName).unwrap_or("?")
    }

    /// Whether it would send something to a server or the fault proxy: a replay refuses these,
    /// and its footer and help leave them out.
    pub fn acts_on_connection(self) -> bool {
        matches!(
            self,
            Action::Subscribe
                | Action::Unsubscribe
                | Action::Disconnect
                | Action::Connect
                | Action::Trigger
                | Action::FaultMenu
                | Action::Publish
                | Action::ListChannels
                | Action::ListUsers
                | Action::Fault(_)
        )
    }

    /// Whether it is about several nodes watched at once: with one connection the help and
    /// the footer leave these out.
    pub fn is_cluster(self) -> bool {
        match self {
            Action::NextNode | Action::PrevNode | Action::Cluster => true,
            Action::Fault(pick) => pick.needs_node(),
            _ => false,
        }
    }

    /// Whether it is one of a replay's own keys (the [`Mode::Replay`] table).
    pub fn is_replay(self) -> bool {
        matches!(
            self,
            Action::ReplayPause
                | Action::ReplayStep
                | Action::ReplayPrevMark
                | Action::ReplayNextMark
                | Action::ReplaySeekBack
                | Action::ReplaySeekForward
                | Action::ReplayFaster
                | Action::ReplaySlower
        )
    }
}

/// A serializer that only takes a unit variant and hands back its serde name, so that the
/// names come from the derive and nowhere else.
struct VariantName;

#[derive(Debug)]
struct NotAName;

impl fmt::Display for NotAName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a unit variant")
    }
}

impl std::error::Error for NotAName {}

impl serde::ser::Error for NotAName {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotAName
    }
}

macro_rules! not_a_name {
    ($($method:ident($($ty:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $ty),*) -> Result<&'static str, NotAName> {
            Err(NotAName)
        })*
    };
}

impl Serializer for VariantName {
    type Ok = &'static str;
    type Error = NotAName;
    type SerializeSeq = Impossible<&'static str, NotAName>;
    type SerializeTuple = Impossible<&'static str, NotAName>;
    type SerializeTupleStruct = Impossible<&'static str, NotAName>;
    type SerializeTupleVariant = Impossible<&'static str, NotAName>;
    type SerializeMap = Impossible<&'static str, NotAName>;
    type SerializeStruct = Impossible<&'static str, NotAName>;
    type SerializeStructVariant = Impossible<&'static str, NotAName>;

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<&'static str, NotAName> {
        Ok(variant)
    }

    not_a_name!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<&'static str, NotAName> {
        Err(NotAName)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, NotAName> {
        Err(NotAName)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, NotAName> {
        Err(NotAName)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotAName> {
        Err(NotAName)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotAName> {
        Err(NotAName)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotAName> {
        Err(NotAName)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotAName> {
        Err(NotAName)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotAName> {
        Err(NotAName)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotAName> {
        Err(NotAName)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotAName> {
        Err(NotAName)
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
    /// A replay's own keys, read before the dashboard's (whose keys that act on a connection
    /// a replay refuses).
    Replay,
}

impl Mode {
    /// Where the mode's keys apply, in words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Mode::Normal => "on the dashboard",
            Mode::Editing => "in a prompt",
            Mode::FaultMenu => "in the fault menu",
            Mode::Replay => "in a replay",
        }
    }

    const ALL: [Mode; 4] = [Mode::Normal, Mode::Editing, Mode::FaultMenu, Mode::Replay];
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

/// The keys of one action: a key name or a list of them, as the config file and
/// `default_keys.toml` write them.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyList(pub Vec<Chord>);

impl KeyList {
    /// Key names to chords; the message names the first bad one.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<KeyList, String> {
        names
            .into_iter()
            .map(Chord::parse)
            .collect::<Result<_, _>>()
            .map(KeyList)
    }
}

impl Serialize for KeyList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let [one] = self.0.as_slice() {
            return s.serialize_str(&one.name());
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for chord in &self.0 {
            seq.serialize_element(&chord.name())?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key name or a list of key names, e.g. \"q\" or [\"q\", \"ctrl-c\"]")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyList, E> {
                KeyList::parse([v]).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyList, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                KeyList::parse(names.iter().map(String::as_str)).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A set of chords bound to one action, with the words the help overlay shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub chords: Vec<Chord>,
    pub action: Action,
    pub description: &'static str,
}

/// The default bindings, one table per mode, in the help's order.
const DEFAULT_KEYS: &str = include_str!("default_keys.toml");

/// `default_keys.toml` as read: kept for the whole run, so the help's words borrow from it.
static DEFAULT_TABLES: LazyLock<DefaultTables> = LazyLock::new(|| {
    DefaultTables::parse(DEFAULT_KEYS)
        .unwrap_or_else(|e| panic!("the embedded default_keys.toml: {e}"))
});

static DEFAULT_KEYMAP: LazyLock<Keymap> = LazyLock::new(|| {
    DEFAULT_TABLES
        .keymap()
        .unwrap_or_else(|e| panic!("the embedded default_keys.toml: {e}"))
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultEntry {
    action: Action,
    keys: KeyList,
    help: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultTables {
    dashboard: Vec<DefaultEntry>,
    prompt: Vec<DefaultEntry>,
    fault_menu: Vec<DefaultEntry>,
    replay: Vec<DefaultEntry>,
}

impl DefaultTables {
    fn parse(text: &str) -> Result<DefaultTables, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The tables as a keymap, checked: each action where it belongs and bound once per
    /// mode, every action bound, no clash, and an action's keys the same in every mode it
    /// is in (as a `[keys]` entry would make them).
    fn keymap(&'static self) -> Result<Keymap, String> {
        let table =
            |mode: Mode, entries: &'static [DefaultEntry]| -> Result<Vec<Binding>, String> {
                let mut out: Vec<Binding> = Vec::with_capacity(entries.len());
                for e in entries {
                    let home = match e.action {
                        Action::Submit => Mode::Editing,
                        Action::Fault(_) => Mode::FaultMenu,
                        a if a.is_replay() => Mode::Replay,
                        Action::Quit => mode,
                        Action::Cancel if mode != Mode::Normal => mode,
                        _ => Mode::Normal,
                    };
                    if home != mode {
                        return Err(format!("{} is bound {}", e.action.name(), mode.describe()));
                    }
                    if out.iter().any(|b| b.action == e.action) {
                        return Err(format!(
                            "{} is bound twice {}",
                            e.action.name(),
                            mode.describe()
                        ));
                    }
                    if e.keys.0.is_empty() {
                        return Err(format!("{} has no key", e.action.name()));
                    }
                    out.push(Binding {
                        chords: e.keys.0.clone(),
                        action: e.action,
                        description: &e.help,
                    });
                }
                Ok(out)
            };
        let keymap = Keymap {
            normal: table(Mode::Normal, &self.dashboard)?,
            editing: table(Mode::Editing, &self.prompt)?,
            faults: table(Mode::FaultMenu, &self.fault_menu)?,
            replay: table(Mode::Replay, &self.replay)?,
        };
        let mut rebound = keymap.clone();
        for action in Action::all() {
            let Some(binding) = Mode::ALL
                .iter()
                .find_map(|&m| keymap.table(m).iter().find(|b| b.action == action))
            else {
                return Err(format!("{} has no default key", action.name()));
            };
            rebound.rebind(action, &binding.chords)?;
        }
        if rebound != keymap {
            return Err("an action has different keys in two modes".into());
        }
        match keymap.conflict() {
            None => Ok(keymap),
            Some(c) => Err(format!(
                "\"{}\" is bound to {} and {} {}",
                c.chord.name(),
                c.actions[0].name(),
                c.actions[1].name(),
                c.mode.describe()
            )),
        }
    }
}

/// The live key tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    normal: Vec<Binding>,
    editing: Vec<Binding>,
    faults: Vec<Binding>,
    replay: Vec<Binding>,
}

/// (section title, rows of (keys, description)), as the help overlay shows them.
pub type HelpSection = (String, Vec<(String, &'static str)>);

impl Default for Keymap {
    /// The bindings of `default_keys.toml`.
    fn default() -> Self {
        DEFAULT_KEYMAP.clone()
    }
}

impl Keymap {
    fn table(&self, mode: Mode) -> &[Binding] {
        match mode {
            Mode::Normal => &self.normal,
            Mode::Editing => &self.editing,
            Mode::FaultMenu => &self.faults,
            Mode::Replay => &self.replay,
        }
    }

    /// The bindings whose keys work at once in `mode`: in a replay its own and the
    /// dashboard's that a replay does not refuse.
    fn in_force(&self, mode: Mode) -> Vec<&Binding> {
        let own = self.table(mode).iter();
        match mode {
            Mode::Replay => own
                .chain(
                    self.normal
                        .iter()
                        .filter(|b| !b.action.acts_on_connection()),
                )
                .collect(),
            _ => own.collect(),
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

    /// The action bound to `key` in `mode`'s own table, if any. In editing mode a `None`
    /// means the key is text; in [`Mode::Replay`] it means the dashboard's table is next.
    pub fn action_for(&self, mode: Mode, key: &KeyEvent) -> Option<Action> {
        self.table(mode)
            .iter()
            .find(|b| b.chords.iter().any(|c| c.matches(key)))
            .map(|b| b.action)
    }

    /// The replay key pressed, if `key` is one: a replay asks this before the dashboard's
    /// keys (outside prompts and overlays).
    pub fn replay_action(&self, key: &KeyEvent) -> Option<Action> {
        self.action_for(Mode::Replay, key)
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
            (Mode::Replay, &mut self.replay),
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

    /// The first key bound to two actions that work at once, if any: two in one table, or
    /// in a replay one of its keys and a dashboard key that works there too (a replay key
    /// may take the key of one a replay refuses, such as subscribe).
    pub fn conflict(&self) -> Option<Conflict> {
        for mode in Mode::ALL {
            let bindings = self.in_force(mode);
            for (i, first) in bindings.iter().enumerate() {
                for second in &bindings[i + 1..] {
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

    /// The help overlay's sections for the dashboard whose keys are in force. For
    /// [`Mode::Replay`]: the dashboard's keys that a replay does not refuse, the replay's
    /// own, a prompt's. For any other mode (they are all open to a live dashboard): the
    /// dashboard's, a prompt's and the fault menu's.
    pub fn help_sections_for(&self, mode: Mode) -> Vec<HelpSection> {
        self.help_sections_where(mode, |_| true)
    }

    /// [`Keymap::help_sections_for`] with only the actions `shown` keeps (the dashboard of
    /// one connection leaves out the keys about several nodes).
    pub fn help_sections_where(
        &self,
        mode: Mode,
        shown: impl Fn(Action) -> bool,
    ) -> Vec<HelpSection> {
        let rows = |t: &mut dyn Iterator<Item = &Binding>| {
            t.filter(|b| shown(b.action))
                .map(|b| {
                    let keys: Vec<String> = b.chords.iter().map(Chord::label).collect();
                    (keys.join(" "), b.description)
                })
                .collect()
        };
        let prompt = ("In a prompt".to_string(), rows(&mut self.editing.iter()));
        if mode == Mode::Replay {
            let live = &mut self
                .normal
                .iter()
                .filter(|b| !b.action.acts_on_connection());
            return vec![
                ("Keys".into(), rows(live)),
                ("Replay".into(), rows(&mut self.replay.iter())),
                prompt,
            ];
        }
        let fault_menu = match self.first_key(Action::FaultMenu) {
            Some(key) => format!("Fault menu ({key})"),
            None => "Fault menu".into(),
        };
        vec![
            ("Keys".into(), rows(&mut self.normal.iter())),
            prompt,
            (fault_menu, rows(&mut self.faults.iter())),
        ]
    }

    /// The live dashboard's help sections ([`Keymap::help_sections_for`] [`Mode::Normal`]).
    pub fn help_sections(&self) -> Vec<HelpSection> {
        self.help_sections_for(Mode::Normal)
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
    fn node_keys_are_free_everywhere_and_the_help_can_leave_them_out() {
        let km = Keymap::default();
        let press = |c| key(KeyCode::Char(c), KeyModifiers::NONE);
        for (c, action) in [
            ('n', Action::NextNode),
            ('N', Action::PrevNode),
            ('C', Action::Cluster),
        ] {
            assert_eq!(km.action_for(Mode::Normal, &press(c)), Some(action), "{c}");
            assert!(action.is_cluster() && !action.acts_on_connection());
            // They work in a replay, whose own keys do not take them.
            assert_eq!(km.replay_action(&press(c)), None, "{c}");
        }
        // `n` stays "no pong" in the fault menu, and text in a prompt.
        assert_eq!(
            km.action_for(Mode::FaultMenu, &press('n')),
            Some(Action::Fault(FaultPick::NoPong))
        );
        assert_eq!(km.action_for(Mode::Editing, &press('n')), None);
        assert_eq!(km.conflict(), None);
        // Rebinding one onto a replay key is a clash in a replay, where both work.
        let mut clash = km.clone();
        clash
            .rebind(Action::NextNode, &[Chord::plain(KeyCode::Char(']'))])
            .unwrap();
        assert_eq!(
            clash.conflict().map(|c| (c.mode, c.actions)),
            Some((Mode::Replay, [Action::ReplayNextMark, Action::NextNode]))
        );
        // All of it in the help, or none of it.
        for mode in [Mode::Normal, Mode::Replay] {
            let all = km.help_sections_for(mode);
            let keys = |s: &[HelpSection]| -> Vec<String> {
                s[0].1.iter().map(|(k, _)| k.clone()).collect()
            };
            for k in ["n", "N", "C"] {
                assert!(keys(&all).iter().any(|x| x == k), "{k} {mode:?}");
            }
            let one = km.help_sections_where(mode, |a| !a.is_cluster());
            assert_eq!(keys(&one).len(), keys(&all).len() - 3);
            assert!(
                keys(&one)
                    .iter()
                    .all(|x| !["n", "N", "C"].contains(&x.as_str()))
            );
        }
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
        assert_eq!(entries.len(), 14);
        assert!(entries.iter().all(|(k, _, _)| k != "Esc"));
        // Every close code offered can really be sent.
        for (_, pick, _) in entries {
            if let Some(kind) = pick.kind().or_else(|| pick.on_node("a")) {
                assert_eq!(kind.clone().validate(), Ok(kind), "{pick:?}");
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
            let bound = Mode::ALL
                .into_iter()
                .any(|m| km.table(m).iter().any(|b| b.action == action));
            assert!(bound, "{name} is in no table");
        }
        // And the other way: every bound action has a name a `[keys]` table can use.
        for mode in Mode::ALL {
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
            &[Chord::plain(KeyCode::Char('1')), Chord::ctrl('c')],
        )
        .unwrap();
        let o = key(KeyCode::Char('1'), KeyModifiers::NONE);
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(km.action_for(Mode::Normal, &o), Some(Action::Quit));
        assert_eq!(km.action_for(Mode::Normal, &q), None);
        // `1` is text in a prompt and "close 4001" in the fault menu: neither quits.
        assert_eq!(km.action_for(Mode::Editing, &o), None);
        assert_eq!(
            km.action_for(Mode::FaultMenu, &o),
            Some(Action::Fault(FaultPick::Close4001))
        );
        assert_eq!(km.conflict(), None);
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.action_for(Mode::Editing, &ctrl_c), Some(Action::Quit));
        assert!(
            km.help_sections()[0]
                .1
                .iter()
                .any(|(k, d)| k == "1 Ctrl-c" && *d == "quit")
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

    /// The names a config file written for an older chanwatch uses must still mean the same.
    #[test]
    fn action_names_are_the_serde_names_and_unchanged() {
        let names: Vec<&str> = Action::names().collect();
        let mut expected = vec![
            "subscribe",
            "unsubscribe",
            "disconnect",
            "connect",
            "trigger",
            "filter",
            "focus_next",
            "focus_prev",
            "up",
            "down",
            "page_up",
            "page_down",
            "top",
            "bottom",
            "open",
            "back",
            "toggle_pause",
            "clear_log",
            "fault_menu",
            "publish",
            "list_channels",
            "list_users",
            "inspect_auth",
            "export_log",
            "export_timeline",
            "measures",
            "occupancy",
            "sort_occupancy",
            "webhooks",
            "next_node",
            "prev_node",
            "cluster",
            "help",
            "quit",
            "submit",
            "cancel",
            "replay_pause",
            "replay_step",
            "replay_prev_mark",
            "replay_next_mark",
            "replay_seek_back",
            "replay_seek_forward",
            "replay_faster",
            "replay_slower",
            "fault_cut",
            "fault_drop",
            "fault_down",
            "fault_delay",
            "fault_restore",
            "fault_close_4001",
            "fault_close_4004",
            "fault_close_4100",
            "fault_close_4200",
            "fault_close_4201",
            "fault_no_pong",
            "fault_kill_node",
            "fault_partition",
            "fault_keep_member",
        ];
        assert_eq!(names, expected);
        for action in Action::all() {
            // The name is serde's own, as any serializer writes it.
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.name()));
            assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), action);
            assert_eq!(Action::from_name(action.name()), Some(action));
        }
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(expected.len(), names.len(), "no name twice");
        for bad in [
            "Fault",
            "fault",
            "close_4001",
            "fault_close_4002",
            "Quit",
            "",
        ] {
            assert_eq!(Action::from_name(bad), None, "{bad}");
        }
        assert_eq!(
            Action::Fault(FaultPick::Close4100).name(),
            "fault_close_4100"
        );
        assert_eq!(
            FaultPick::Close4100.kind(),
            Some(FaultKind::Close { code: 4100 })
        );
        assert!(FaultPick::Close4201.needs_demo_server());
        assert!(!FaultPick::Delay.needs_demo_server());
    }

    #[test]
    fn the_embedded_defaults_parse_and_bind_every_action_once() {
        let tables = DefaultTables::parse(DEFAULT_KEYS).unwrap();
        let tables: &'static DefaultTables = Box::leak(Box::new(tables));
        let km = tables.keymap().unwrap();
        assert_eq!(km, Keymap::default());
        for action in Action::all() {
            let keys: usize = Mode::ALL
                .iter()
                .flat_map(|&m| km.table(m))
                .filter(|b| b.action == action)
                .map(|b| b.chords.len())
                .sum();
            assert!(keys > 0, "{} has no default key", action.name());
        }
        assert_eq!(km.conflict(), None);
        assert_eq!(km.table(Mode::Replay).len(), 8);
        assert!(km.table(Mode::Replay).iter().all(|b| b.action.is_replay()));
    }

    fn checked(text: &str) -> Result<Keymap, String> {
        let tables = DefaultTables::parse(text)?;
        Box::leak(Box::new(tables)).keymap()
    }

    /// The embedded file's checks hold: a broken edit of it fails the tests, not a user.
    #[test]
    fn broken_default_tables_are_refused() {
        let edit = |from: &str, to: &str| {
            assert!(DEFAULT_KEYS.contains(from), "{from}");
            checked(&DEFAULT_KEYS.replacen(from, to, 1)).unwrap_err()
        };
        let err = edit(
            r#"{ action = "replay_step", keys = ".", help = "step one record" },"#,
            "",
        );
        assert_eq!(err, "replay_step has no default key");
        let err = edit(r#"keys = ".", help"#, r#"keys = "P", help"#);
        assert!(
            err.contains("replay_pause and replay_step in a replay"),
            "{err}"
        );
        let err = edit(r#"keys = "P", help"#, r#"keys = "q", help"#);
        assert!(
            err.contains("\"q\" is bound to replay_pause and quit"),
            "{err}"
        );
        let err = edit(
            r#"{ action = "help", keys = "?", help = "this help" },"#,
            r#"{ action = "help", keys = "?", help = "this help" }, { action = "replay_step", keys = "F", help = "x" },"#,
        );
        assert_eq!(err, "replay_step is bound on the dashboard");
        let err = edit(
            r#"{ action = "quit", keys = "ctrl-c", help = "quit" },
]

# `chanwatch replay`"#,
            r#"{ action = "quit", keys = "f10", help = "quit" },
]

# `chanwatch replay`"#,
        );
        assert_eq!(err, "an action has different keys in two modes");
        let err = edit("help = \"subscribe\"", "help = \"subscribe\", extra = 1");
        assert!(err.contains("unknown field"), "{err}");
        let err = edit("\"subscribe\", keys", "\"subscrib\", keys");
        assert!(!err.is_empty());
    }

    #[test]
    fn replay_keys_are_a_mode_of_their_own() {
        let km = Keymap::default();
        let press = |c| key(KeyCode::Char(c), KeyModifiers::NONE);
        for (c, action) in [
            ('P', Action::ReplayPause),
            ('.', Action::ReplayStep),
            ('[', Action::ReplayPrevMark),
            (']', Action::ReplayNextMark),
            ('<', Action::ReplaySeekBack),
            ('>', Action::ReplaySeekForward),
            ('+', Action::ReplayFaster),
            ('-', Action::ReplaySlower),
        ] {
            assert_eq!(km.replay_action(&press(c)), Some(action), "{c}");
            assert_eq!(km.action_for(Mode::Normal, &press(c)), None, "{c}");
        }
        // Shift-p is the replay's; p stays the dashboard's pause of the log.
        let shift_p = key(KeyCode::Char('P'), KeyModifiers::SHIFT);
        assert_eq!(km.replay_action(&shift_p), Some(Action::ReplayPause));
        assert_eq!(km.replay_action(&press('p')), None);
        assert_eq!(
            km.action_for(Mode::Normal, &press('p')),
            Some(Action::TogglePause)
        );

        let sections = km.help_sections_for(Mode::Replay);
        let titles: Vec<&str> = sections.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(titles, ["Keys", "Replay", "In a prompt"]);
        let dashboard = &sections[0].1;
        assert!(
            dashboard
                .iter()
                .any(|(k, d)| k == "q Ctrl-c" && *d == "quit")
        );
        assert!(dashboard.iter().any(|(k, _)| k == "/"));
        for refused in ["s", "u", "t", "d", "r", "x", "T", "L", "U"] {
            assert!(
                dashboard.iter().all(|(k, _)| k != refused),
                "{refused} is refused in a replay"
            );
        }
        assert!(
            sections[1]
                .1
                .iter()
                .any(|(k, d)| k == "P" && *d == "pause / play")
        );
        // Live, the replay's keys are nowhere.
        let live = km.help_sections_for(Mode::Normal);
        assert!(live.iter().all(|(t, _)| t != "Replay"));
        assert_eq!(km.help_sections(), live);
    }

    #[test]
    fn replay_refuses_what_acts_on_a_connection() {
        let refused: Vec<&str> = Action::all()
            .filter(|a| a.acts_on_connection())
            .map(Action::name)
            .filter(|n| !n.starts_with("fault_") || *n == "fault_menu")
            .collect();
        assert_eq!(
            refused,
            [
                "subscribe",
                "unsubscribe",
                "disconnect",
                "connect",
                "trigger",
                "fault_menu",
                "publish",
                "list_channels",
                "list_users"
            ]
        );
        assert!(Action::Fault(FaultPick::Cut).acts_on_connection());
        assert!(!Action::Filter.acts_on_connection());
        assert!(!Action::ReplayPause.acts_on_connection());
    }

    #[test]
    fn a_replay_key_may_not_shadow_a_dashboard_key_that_works_in_replay() {
        let p = |c| Chord::plain(KeyCode::Char(c));
        // Over a dashboard key that a replay refuses: fine.
        let mut km = Keymap::default();
        km.rebind(Action::ReplayPause, &[p('s')]).unwrap();
        assert_eq!(km.conflict(), None);
        assert_eq!(
            km.replay_action(&key(KeyCode::Char('s'), KeyModifiers::NONE)),
            Some(Action::ReplayPause)
        );
        // Over one that works in a replay (the log's filter): a clash, in a replay.
        let mut km = Keymap::default();
        km.rebind(Action::ReplayStep, &[p('/')]).unwrap();
        assert_eq!(
            km.conflict(),
            Some(Conflict {
                mode: Mode::Replay,
                chord: p('/'),
                actions: [Action::ReplayStep, Action::Filter],
            })
        );
        // The other way round: a dashboard key moved onto a replay key.
        let mut km = Keymap::default();
        km.rebind(Action::Quit, &[p('+')]).unwrap();
        assert_eq!(km.conflict().map(|c| c.mode), Some(Mode::Replay));
        // Two replay keys on one key.
        let mut km = Keymap::default();
        km.rebind(Action::ReplayFaster, &[p('-')]).unwrap();
        assert_eq!(
            km.conflict().map(|c| (c.mode, c.actions)),
            Some((Mode::Replay, [Action::ReplayFaster, Action::ReplaySlower]))
        );
    }
}
