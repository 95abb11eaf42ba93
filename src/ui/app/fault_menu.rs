//! The fault menu (`x`): one key per fault, listed from the keymap's fault table. Choosing
//! one sends [`Command::Fault`] and closes the menu; `delay` first asks for its length. The
//! timeline shows the session's `fault` record, so the key press itself is not noted there.

use super::{App, Modal, Overlay, Prompt, PromptKind, Update, quit};
use crate::faults::MAX_DELAY_MS;
use crate::prefs::keymap::Action;
use crate::session::Command;

/// The delay offered when the prompt opens.
pub const DEFAULT_DELAY_MS: u64 = 500;

impl App {
    pub(super) fn open_fault_menu(&mut self) -> Update {
        self.show(Modal::Overlay(Overlay::FaultMenu));
        Update::redraw()
    }

    pub(super) fn on_fault_menu_action(&mut self, action: Action) -> Update {
        match action {
            Action::Quit => quit(),
            Action::Cancel => {
                self.close_overlay();
                Update::redraw()
            }
            Action::Fault(pick) if pick.needs_node() => {
                self.close_overlay();
                let node = self
                    .selected_node()
                    .and_then(|i| self.node_names().get(i).cloned());
                match node.and_then(|n| pick.on_node(&n)) {
                    Some(kind) => Update::command(Command::Fault(kind)),
                    None => {
                        self.notify(
                            "node faults need the demo cluster: chanwatch demo --nodes 3",
                            super::NoticeLevel::Error,
                        );
                        Update::redraw()
                    }
                }
            }
            Action::Fault(pick) => {
                self.close_overlay();
                match pick.kind() {
                    Some(kind) => Update::command(Command::Fault(kind)),
                    None => {
                        self.show(Modal::Prompt(Prompt::new(
                            PromptKind::FaultDelay,
                            &DEFAULT_DELAY_MS.to_string(),
                        )));
                        Update::redraw()
                    }
                }
            }
            _ => Update::default(),
        }
    }

    pub(super) fn submit_fault_delay(&mut self, value: &str) -> Result<Update, String> {
        let ms = parse_delay_ms(value)?;
        Ok(Update::command(Command::Fault(
            crate::faults::FaultKind::Delay { ms },
        )))
    }
}

/// Milliseconds typed in the delay prompt: a whole number from 1 to [`MAX_DELAY_MS`], an
/// optional `ms` suffix; empty means [`DEFAULT_DELAY_MS`].
pub fn parse_delay_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(DEFAULT_DELAY_MS);
    }
    let digits = t.strip_suffix("ms").unwrap_or(t).trim();
    let ms: u64 = digits
        .parse()
        .map_err(|_| format!("{t:?} is not a whole number of milliseconds"))?;
    if !(1..=MAX_DELAY_MS).contains(&ms) {
        return Err(format!(
            "the delay must be 1 to {MAX_DELAY_MS} ms, not {ms}"
        ));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays() {
        assert_eq!(parse_delay_ms(""), Ok(500));
        assert_eq!(parse_delay_ms(" 250 "), Ok(250));
        assert_eq!(parse_delay_ms("60000ms"), Ok(60_000));
        assert_eq!(parse_delay_ms("1"), Ok(1));
        for bad in ["0", "60001", "-5", "soon", "2s", "1.5"] {
            assert!(parse_delay_ms(bad).is_err(), "{bad}");
        }
    }
}
