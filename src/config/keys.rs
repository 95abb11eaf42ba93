//! The `[keys]` table: action names (those of [`crate::prefs::keymap::Action::name`]) to one key
//! name or a list of them, e.g. `quit = ["z", "ctrl-c"]`.
//!
//! Names and key names are checked as the file is read, so serde puts the file position on
//! those errors. Whether the bindings fit together (no key doing two things in one mode, no
//! letter for `submit`) depends on the defaults and on the base under a profile, so
//! [`KeysLayer::keymap`] checks that after merging; its errors keep the byte span of the
//! entry at fault for [`super::file`] to turn into a line.

pub use crate::prefs::keymap::KeyList;
use crate::prefs::keymap::{Action, Keymap};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// One layer's `[keys]`: per action, the keys that replace its defaults. Merged per action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeysLayer(pub BTreeMap<ActionName, Spanned<KeyList>>);

/// An action's name as the file writes it; only known names deserialize.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ActionName(String);

/// Bindings that do not fit together, with the span of the entry to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysError {
    pub span: Option<Range<usize>>,
    /// The `[keys]` entry at fault.
    pub key: String,
    pub message: String,
}

impl fmt::Display for KeysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "keys.{}: {}", self.key, self.message)
    }
}

impl ActionName {
    pub fn new(name: &str) -> Result<ActionName, String> {
        if Action::from_name(name).is_some() {
            return Ok(ActionName(name.to_string()));
        }
        let names: Vec<String> = Action::names().map(str::to_string).collect();
        let hint = match super::file::closest(name, &names) {
            Some(near) => format!("did you mean \"{near}\"?"),
            None => format!("known are {}", names.join(", ")),
        };
        Err(format!("unknown action \"{name}\"; {hint}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn action(&self) -> Action {
        Action::from_name(&self.0).expect("checked when made")
    }
}

impl<'de> Deserialize<'de> for ActionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        ActionName::new(&name).map_err(de::Error::custom)
    }
}

impl KeysLayer {
    /// `self`'s actions over `lower`'s: an action named here replaces its keys there.
    pub fn over(self, mut lower: KeysLayer) -> KeysLayer {
        lower.0.extend(self.0);
        lower
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Builds a binding from key names, as a file entry would (tests, callers without a file).
    pub fn bind(&mut self, action: &str, keys: &[&str]) -> Result<(), String> {
        let name = ActionName::new(action)?;
        let keys = KeyList::parse(keys.iter().copied())?;
        self.0.insert(name, Spanned::new(0..0, keys));
        Ok(())
    }

    /// The default keymap with these bindings in place, checked for clashes.
    pub fn keymap(&self) -> Result<Keymap, KeysError> {
        let mut keymap = Keymap::default();
        for (name, keys) in &self.0 {
            keymap
                .rebind(name.action(), &keys.get_ref().0)
                .map_err(|message| KeysError {
                    span: self.span_of(name.action()),
                    key: name.0.clone(),
                    message,
                })?;
        }
        let Some(conflict) = keymap.conflict() else {
            return Ok(keymap);
        };
        // Blame the entry written last: of two configured actions the later line, else the
        // one configured over a default.
        let [a, b] = conflict.actions;
        let (blamed, other) = match (self.span_of(a), self.span_of(b)) {
            (Some(sa), Some(sb)) if sa.start > sb.start => (a, b),
            (Some(_), Some(_)) | (None, Some(_)) => (b, a),
            _ => (a, b),
        };
        let how = if self.span_of(other).is_some() {
            "also given to"
        } else {
            "by default the key of"
        };
        Err(KeysError {
            span: self.span_of(blamed),
            key: blamed.name().to_string(),
            message: format!(
                "\"{}\" is {how} \"{}\" {}; give one of them another key",
                conflict.chord.name(),
                other.name(),
                conflict.mode.describe()
            ),
        })
    }

    fn span_of(&self, action: Action) -> Option<Range<usize>> {
        self.0
            .iter()
            .find(|(name, _)| name.action() == action)
            .map(|(_, keys)| keys.span())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prefs::keymap::Mode;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn parse(text: &str) -> Result<KeysLayer, String> {
        toml::from_str::<BTreeMap<String, KeysLayer>>(text)
            .map(|mut t| t.remove("keys").unwrap_or_default())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn names_and_lists_parse() {
        let keys = parse("[keys]\nquit = [\"z\", \"ctrl-c\"]\nsubscribe = \"A\"\n").unwrap();
        let km = keys.keymap().unwrap();
        let press = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(km.action_for(Mode::Normal, &press('z')), Some(Action::Quit));
        assert_eq!(
            km.action_for(Mode::Normal, &press('A')),
            Some(Action::Subscribe)
        );
        assert_eq!(km.action_for(Mode::Normal, &press('s')), None);
        // Written back the way it reads.
        let text = toml::to_string(&keys).unwrap();
        assert!(text.contains("quit = [\"z\", \"ctrl-c\"]"), "{text}");
        assert!(text.contains("subscribe = \"A\""), "{text}");
    }

    #[test]
    fn unknown_names_say_what_is_known() {
        let err = parse("[keys]\nquiet = \"e\"\n").unwrap_err();
        assert!(
            err.contains("unknown action \"quiet\"; did you mean \"quit\"?"),
            "{err}"
        );
        let err = parse("[keys]\nquit = \"hyper-e\"\n").unwrap_err();
        assert!(err.contains("\"hyper-e\" is not a key name"), "{err}");
        let err = parse("[keys]\nquit = 5\n").unwrap_err();
        assert!(err.contains("a key name or a list of key names"), "{err}");
    }

    #[test]
    fn clashes_blame_the_configured_entry() {
        let keys = parse("[keys]\nclear_log = \"q\"\n").unwrap();
        let err = keys.keymap().unwrap_err();
        assert_eq!(err.key, "clear_log");
        assert_eq!(
            err.message,
            "\"q\" is by default the key of \"quit\" on the dashboard; give one of them another key"
        );
        assert!(err.span.is_some());

        let keys = parse("[keys]\nhelp = \"z\"\nclear_log = \"z\"\n").unwrap();
        let err = keys.keymap().unwrap_err();
        assert_eq!(err.key, "clear_log", "the later line");
        assert!(
            err.message.contains("also given to \"help\""),
            "{}",
            err.message
        );

        let keys = parse("[keys]\nsubmit = \"y\"\n").unwrap();
        let err = keys.keymap().unwrap_err();
        assert_eq!(err.key, "submit");
        assert!(
            err.message.contains("is text in a prompt"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_higher_layer_replaces_an_action_whole() {
        let mut base = KeysLayer::default();
        base.bind("quit", &["z", "ctrl-c"]).unwrap();
        base.bind("help", &["f1"]).unwrap();
        let mut top = KeysLayer::default();
        top.bind("quit", &["Q"]).unwrap();
        let merged = top.over(base);
        let km = merged.keymap().unwrap();
        let help = &km.help_sections()[0].1;
        assert!(
            help.iter().any(|(k, d)| k == "Q" && *d == "quit"),
            "{help:?}"
        );
        assert!(
            help.iter().any(|(k, d)| k == "F1" && *d == "this help"),
            "{help:?}"
        );
    }

    #[test]
    fn replay_keys_rebind_and_clash_only_with_keys_that_work_in_a_replay() {
        let keys = parse("[keys]\nreplay_pause = \"s\"\nreplay_step = \"f6\"\n").unwrap();
        let km = keys.keymap().unwrap();
        let press = |code| KeyEvent::new(code, KeyModifiers::NONE);
        assert_eq!(
            km.replay_action(&press(KeyCode::Char('s'))),
            Some(Action::ReplayPause)
        );
        assert_eq!(
            km.replay_action(&press(KeyCode::F(6))),
            Some(Action::ReplayStep)
        );
        assert_eq!(km.replay_action(&press(KeyCode::Char('P'))), None);

        let err = parse("[keys]\nreplay_pause = \"space\"\n")
            .unwrap()
            .keymap()
            .unwrap_err();
        assert_eq!(err.key, "replay_pause");
        assert_eq!(
            err.message,
            "\"space\" is by default the key of \"toggle_pause\" in a replay; give one of them another key"
        );
        let err = parse("[keys]\nfilter = \"+\"\n")
            .unwrap()
            .keymap()
            .unwrap_err();
        assert_eq!(err.key, "filter");
        assert!(
            err.message
                .contains("by default the key of \"replay_faster\" in a replay"),
            "{}",
            err.message
        );
    }
}
