//! What a user may set about the dashboard's look and keys: the keymap (actions, key names,
//! bindings) and the theme (colour roles). Plain data below the configuration, which reads
//! `[keys]` and `[theme]` into them; the dashboard uses them.

pub mod keymap;
pub mod theme;
