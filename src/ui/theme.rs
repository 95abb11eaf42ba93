//! Colours, or none: with `NO_COLOR` set (and non-empty, per no-color.org) every style keeps
//! only modifiers (bold, reverse, underline), so the dashboard stays readable in monochrome.

use crate::record::State;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    colour: bool,
}

impl Theme {
    pub fn coloured() -> Theme {
        Theme { colour: true }
    }

    pub fn monochrome() -> Theme {
        Theme { colour: false }
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

    pub fn has_colour(&self) -> bool {
        self.colour
    }

    fn fg(&self, c: Color) -> Style {
        if self.colour {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn state(&self, s: State) -> Style {
        let c = match s {
            State::Connected => Color::Green,
            State::Connecting | State::Initialized => Color::Yellow,
            State::Unavailable => Color::LightRed,
            State::Failed => Color::Red,
            State::Disconnected => Color::Gray,
        };
        self.fg(c).add_modifier(Modifier::BOLD)
    }

    pub fn title(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    pub fn dim(&self) -> Style {
        if self.colour {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn label(&self) -> Style {
        self.fg(Color::Gray)
    }

    pub fn value(&self) -> Style {
        self.fg(Color::White).add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn channel(&self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn event(&self) -> Style {
        self.fg(Color::Magenta)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn joined(&self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }

    pub fn left(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::CROSSED_OUT)
    }

    pub fn badge(&self) -> Style {
        if self.colour {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }

    pub fn json_key(&self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn json_string(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn json_number(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn json_literal(&self) -> Style {
        self.fg(Color::Magenta)
    }

    pub fn json_punct(&self) -> Style {
        self.fg(Color::Gray)
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
}
