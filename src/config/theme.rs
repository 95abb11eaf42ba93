//! The `[theme]` table: a colour per role of [`crate::prefs::theme::Role`], e.g.
//! `error = "#ff5555"`, `selected_bg = "blue"`. Colours are what ratatui's `Color` parses:
//! names (`red`, `light-red`, `dark-gray`, `reset`), `#rrggbb`, or an index 0-255.
//! `NO_COLOR` still wins: the monochrome theme ignores every colour.

use crate::prefs::theme::{Palette, Role};
use ratatui::style::Color;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::str::FromStr;

/// One layer's `[theme]`: colours by role name. Merged per role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ThemeLayer(pub BTreeMap<RoleName, Colour>);

/// A role's name as the file writes it; only known names deserialize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleName(pub Role);

/// A colour as the file writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(pub Color);

impl RoleName {
    pub fn parse(name: &str) -> Result<RoleName, String> {
        if let Some(role) = Role::from_name(name) {
            return Ok(RoleName(role));
        }
        let names: Vec<String> = Role::all().map(|r| r.name().to_string()).collect();
        let hint = match super::file::closest(name, &names) {
            Some(near) => format!("did you mean \"{near}\"?"),
            None => format!("known are {}", names.join(", ")),
        };
        Err(format!("unknown colour role \"{name}\"; {hint}"))
    }
}

impl Colour {
    pub fn parse(text: &str) -> Result<Colour, String> {
        Color::from_str(text.trim()).map(Colour).map_err(|_| {
            format!(
                "\"{text}\" is not a colour (a name such as \"green\" or \"light-red\", \"#rrggbb\", or 0-255)"
            )
        })
    }
}

impl Serialize for RoleName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for RoleName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RoleName::parse(&String::deserialize(d)?).map_err(de::Error::custom)
    }
}

impl Serialize for Colour {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // ratatui writes names capitalised ("LightRed"), which parse back.
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Colour {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Colour::parse(&String::deserialize(d)?).map_err(de::Error::custom)
    }
}

impl ThemeLayer {
    pub fn over(self, mut lower: ThemeLayer) -> ThemeLayer {
        lower.0.extend(self.0);
        lower
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The built-in palette with these colours in place.
    pub fn palette(&self) -> Palette {
        Palette::with(self.0.iter().map(|(r, c)| (r.0, c.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ThemeLayer, String> {
        toml::from_str::<BTreeMap<String, ThemeLayer>>(text)
            .map(|mut t| t.remove("theme").unwrap_or_default())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn names_hex_and_indexes() {
        let theme =
            parse("[theme]\nconnected = \"light-green\"\nerror = \"#ff5555\"\nborder = \"240\"\n")
                .unwrap();
        let p = theme.palette();
        assert_eq!(p.get(Role::Connected), Color::LightGreen);
        assert_eq!(p.get(Role::Error), Color::Rgb(0xff, 0x55, 0x55));
        assert_eq!(p.get(Role::Border), Color::Indexed(240));
        assert_eq!(p.get(Role::Ok), Palette::default().get(Role::Ok));
        let text = toml::to_string(&theme).unwrap();
        assert_eq!(parse(&format!("[theme]\n{text}")).unwrap(), theme, "{text}");
    }

    #[test]
    fn unknown_roles_and_colours_are_errors() {
        let err = parse("[theme]\nerorr = \"red\"\n").unwrap_err();
        assert!(
            err.contains("unknown colour role \"erorr\"; did you mean \"error\"?"),
            "{err}"
        );
        let err = parse("[theme]\nerror = \"#ff55\"\n").unwrap_err();
        assert!(err.contains("\"#ff55\" is not a colour"), "{err}");
    }
}
