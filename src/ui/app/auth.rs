//! The auth inspector (`a`): the latest authorization exchange of each channel, i.e. what
//! was asked (method, URL, form and headers, secrets masked by the authorizer) and what
//! came back, with a hint that names the usual cause of a failure. The exchanges are kept
//! by the model ([`crate::ui::model::auth`]); this is the box that shows one.

use super::{App, Modal, NoticeLevel, Overlay, Update, quit};
use crate::prefs::keymap::Action;

/// The inspector overlay: which channel, scrolled how far.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthView {
    pub channel: String,
    pub scroll: usize,
}

impl App {
    pub(super) fn open_auth_inspector(&mut self) -> Update {
        let Some(c) = self.selected_channel() else {
            self.notify("select a channel first (Channels pane)", NoticeLevel::Error);
            return Update::redraw();
        };
        let channel = c.name.clone();
        if self.model.auth_exchange(&channel).is_some() {
            self.show(Modal::Overlay(Overlay::Auth(AuthView {
                channel,
                scroll: 0,
            })));
            return Update::redraw();
        }
        let text = if c.kind.needs_auth() {
            format!("no authorization of {channel} seen yet")
        } else {
            format!("{channel} is public: it needs no authorization")
        };
        self.notify(text, NoticeLevel::Info);
        Update::redraw()
    }

    pub(super) fn on_auth_view_action(&mut self, action: Action) -> Update {
        let page = self.size.height.saturating_sub(6).max(1) as usize;
        let Some(Overlay::Auth(v)) = self.overlay_mut() else {
            return Update::default();
        };
        if super::scroll_by(&mut v.scroll, action, page) {
            return Update::redraw();
        }
        match action {
            Action::Quit => return quit(),
            Action::Back | Action::Open | Action::InspectAuth => self.close_overlay(),
            Action::Help => self.show(Modal::Help),
            _ => return Update::default(),
        }
        Update::redraw()
    }
}
