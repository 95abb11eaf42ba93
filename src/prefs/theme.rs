//! Colours, or none: with `NO_COLOR` set (and non-empty, per no-color.org) every style keeps
//! only modifiers (bold, reverse, underline), so the dashboard stays readable in monochrome.
//!
//! What each kind of text is drawn in is a [`Role`]; the [`Palette`] holds a colour per role,
//! the built-in one unless the config file's `[theme]` table changes some. Monochrome ignores
//! the palette whole, so `NO_COLOR` wins over any configured colour.

use chanwatch_core::record::State;
use ratatui::style::{Color, Modifier, Style};

/// A kind of text on the dashboard, named as in the `[theme]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Connected,
    Connecting,
    Unavailable,
    Failed,
    Disconnected,
    Title,
    BorderFocused,
    Border,
    Dim,
    Label,
    Value,
    Error,
    Warn,
    Ok,
    Channel,
    Event,
    /// Text of the selected row; `reset` (the default) draws the row reversed instead.
    SelectedFg,
    SelectedBg,
    Joined,
    Left,
    BadgeFg,
    BadgeBg,
    JsonKey,
    JsonString,
    JsonNumber,
    JsonLiteral,
    JsonPunct,
}

/// Each role with its name and its built-in colour.
const ROLES: [(Role, &str, Color); Role::COUNT] = [
    (Role::Connected, "connected", Color::Green),
    (Role::Connecting, "connecting", Color::Yellow),
    (Role::Unavailable, "unavailable", Color::LightRed),
    (Role::Failed, "failed", Color::Red),
    (Role::Disconnected, "disconnected", Color::Gray),
    (Role::Title, "title", Color::Cyan),
    (Role::BorderFocused, "border_focused", Color::Cyan),
    (Role::Border, "border", Color::DarkGray),
    (Role::Dim, "dim", Color::DarkGray),
    (Role::Label, "label", Color::Gray),
    (Role::Value, "value", Color::White),
    (Role::Error, "error", Color::Red),
    (Role::Warn, "warn", Color::Yellow),
    (Role::Ok, "ok", Color::Green),
    (Role::Channel, "channel", Color::Cyan),
    (Role::Event, "event", Color::Magenta),
    (Role::SelectedFg, "selected_fg", Color::Reset),
    (Role::SelectedBg, "selected_bg", Color::Reset),
    (Role::Joined, "joined", Color::Green),
    (Role::Left, "left", Color::Red),
    (Role::BadgeFg, "badge_fg", Color::Black),
    (Role::BadgeBg, "badge_bg", Color::Yellow),
    (Role::JsonKey, "json_key", Color::Cyan),
    (Role::JsonString, "json_string", Color::Green),
    (Role::JsonNumber, "json_number", Color::Yellow),
    (Role::JsonLiteral, "json_literal", Color::Magenta),
    (Role::JsonPunct, "json_punct", Color::Gray),
];

impl Role {
    pub const COUNT: usize = 27;

    pub fn all() -> impl Iterator<Item = Role> {
        ROLES.iter().map(|(r, _, _)| *r)
    }

    /// The role's name in the `[theme]` table.
    pub fn name(self) -> &'static str {
        ROLES[self as usize].1
    }

    pub fn from_name(name: &str) -> Option<Role> {
        ROLES
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(r, _, _)| *r)
    }
}

/// A colour for every role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette([Color; Role::COUNT]);

impl Default for Palette {
    fn default() -> Self {
        Palette(ROLES.map(|(_, _, c)| c))
    }
}

impl Palette {
    pub fn get(&self, role: Role) -> Color {
        self.0[role as usize]
    }

    pub fn set(&mut self, role: Role, colour: Color) {
        self.0[role as usize] = colour;
    }

    /// The built-in palette with `colours` in place of its own.
    pub fn with(colours: impl IntoIterator<Item = (Role, Color)>) -> Palette {
        let mut palette = Palette::default();
        for (role, colour) in colours {
            palette.set(role, colour);
        }
        palette
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    colour: bool,
    palette: Palette,
}

impl Theme {
    pub fn coloured() -> Theme {
        Theme {
            colour: true,
            palette: Palette::default(),
        }
    }

    pub fn monochrome() -> Theme {
        Theme {
            colour: false,
            palette: Palette::default(),
        }
    }

    /// Monochrome when `NO_COLOR` is set to a non-empty value.
    pub fn from_env() -> Theme {
        Theme::for_no_color(std::env::var_os("NO_COLOR").as_deref())
    }

    /// The decision of [`Theme::from_env`], given the variable's value, so it can be tested.
    pub fn for_no_color(value: Option<&std::ffi::OsStr>) -> Theme {
        match value {
            Some(v) if !v.is_empty() => Theme::monochrome(),
            _ => Theme::coloured(),
        }
    }

    /// This theme drawing with `palette`; a monochrome theme stays monochrome.
    pub fn with_palette(self, palette: Palette) -> Theme {
        Theme { palette, ..self }
    }

    pub fn has_colour(&self) -> bool {
        self.colour
    }

    pub fn palette(&self) -> &Palette {
        &self.palette
    }

    fn fg(&self, role: Role) -> Style {
        if self.colour {
            Style::new().fg(self.palette.get(role))
        } else {
            Style::new()
        }
    }

    pub fn state(&self, s: State) -> Style {
        let role = match s {
            State::Connected => Role::Connected,
            State::Connecting | State::Initialized => Role::Connecting,
            State::Unavailable => Role::Unavailable,
            State::Failed => Role::Failed,
            State::Disconnected => Role::Disconnected,
        };
        self.fg(role).add_modifier(Modifier::BOLD)
    }

    pub fn title(&self) -> Style {
        self.fg(Role::Title).add_modifier(Modifier::BOLD)
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Role::BorderFocused).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Role::Border)
        }
    }

    pub fn dim(&self) -> Style {
        if self.colour {
            self.fg(Role::Dim)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn label(&self) -> Style {
        self.fg(Role::Label)
    }

    pub fn value(&self) -> Style {
        self.fg(Role::Value).add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.fg(Role::Error).add_modifier(Modifier::BOLD)
    }

    pub fn warn(&self) -> Style {
        self.fg(Role::Warn)
    }

    pub fn ok(&self) -> Style {
        self.fg(Role::Ok)
    }

    pub fn channel(&self) -> Style {
        self.fg(Role::Channel)
    }

    pub fn event(&self) -> Style {
        self.fg(Role::Event)
    }

    /// Reversed, unless the palette gives the selection colours of its own.
    pub fn selected(&self) -> Style {
        let (fg, bg) = (
            self.palette.get(Role::SelectedFg),
            self.palette.get(Role::SelectedBg),
        );
        if !self.colour || (fg == Color::Reset && bg == Color::Reset) {
            return Style::new().add_modifier(Modifier::REVERSED);
        }
        let mut style = Style::new();
        if fg != Color::Reset {
            style = style.fg(fg);
        }
        if bg != Color::Reset {
            style = style.bg(bg);
        }
        style
    }

    pub fn joined(&self) -> Style {
        self.fg(Role::Joined).add_modifier(Modifier::BOLD)
    }

    pub fn left(&self) -> Style {
        self.fg(Role::Left).add_modifier(Modifier::CROSSED_OUT)
    }

    pub fn badge(&self) -> Style {
        if self.colour {
            Style::new()
                .fg(self.palette.get(Role::BadgeFg))
                .bg(self.palette.get(Role::BadgeBg))
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn json_key(&self) -> Style {
        self.fg(Role::JsonKey)
    }

    pub fn json_string(&self) -> Style {
        self.fg(Role::JsonString)
    }

    pub fn json_number(&self) -> Style {
        self.fg(Role::JsonNumber)
    }

    pub fn json_literal(&self) -> Style {
        self.fg(Role::JsonLiteral)
    }

    pub fn json_punct(&self) -> Style {
        self.fg(Role::JsonPunct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_rules() {
        assert!(Theme::for_no_color(None).has_colour());
        assert!(Theme::for_no_color(Some(OsStr::new(""))).has_colour());
        assert!(!Theme::for_no_color(Some(OsStr::new("1"))).has_colour());
        let mono = Theme::monochrome();
        assert_eq!(mono.state(State::Failed).fg, None);
        assert_eq!(mono.json_string().fg, None);
        assert!(Theme::coloured().state(State::Failed).fg.is_some());
    }

    #[test]
    fn roles_are_listed_in_order_with_unique_names() {
        for (i, role) in Role::all().enumerate() {
            assert_eq!(role as usize, i, "{role:?}");
            assert_eq!(Role::from_name(role.name()), Some(role));
        }
        assert_eq!(Role::all().count(), Role::COUNT);
        assert_eq!(Role::from_name("colour"), None);
    }

    #[test]
    fn a_palette_colours_its_roles_and_no_color_still_wins() {
        let palette = Palette::with([
            (Role::Error, Color::Rgb(0xff, 0x55, 0x55)),
            (Role::SelectedBg, Color::Blue),
        ]);
        let themed = Theme::coloured().with_palette(palette);
        assert_eq!(themed.error().fg, Some(Color::Rgb(0xff, 0x55, 0x55)));
        assert_eq!(themed.selected().bg, Some(Color::Blue));
        assert!(!themed.selected().add_modifier.contains(Modifier::REVERSED));
        assert_eq!(themed.ok().fg, Some(Color::Green), "the rest keep theirs");

        let mono = Theme::for_no_color(Some(OsStr::new("1"))).with_palette(palette);
        assert!(!mono.has_colour());
        assert_eq!(mono.error().fg, None);
        assert_eq!(mono.selected().bg, None);
        assert!(mono.selected().add_modifier.contains(Modifier::REVERSED));
    }
}
