//! The boxes drawn over the panes (event detail, prompt, help, fault menu, channel picker,
//! auth inspector) as one stack. The top one takes the keys; they are drawn bottom-up, so
//! the one that takes the keys is always the one on top. A box opens on top of what is
//! open, whatever that is (a channel list that arrives while an event's detail is open
//! covers it); each kind is open at most once, and the overlays (menu, picker, inspector)
//! share one place, so opening one of them closes the other two.

use super::{App, Detail, Overlay, Prompt};
use std::mem::discriminant;

/// One box over the panes.
#[derive(Debug, Clone)]
pub enum Modal {
    /// The event opened with Enter.
    Detail(Detail),
    /// A line being edited: subscribe, filter, trigger, publish, fault delay, list prefix.
    Prompt(Prompt),
    /// The key bindings (`?`).
    Help,
    /// The fault menu, the channel picker or the auth inspector.
    Overlay(Overlay),
}

impl App {
    /// The open boxes, bottom first: the order to draw them in.
    pub fn modals(&self) -> &[Modal] {
        &self.modals
    }

    /// The box that takes the keys.
    pub fn top_modal(&self) -> Option<&Modal> {
        self.modals.last()
    }

    /// Open `modal` on top, closing an open one of its kind first.
    pub(super) fn show(&mut self, modal: Modal) {
        let kind = discriminant(&modal);
        self.modals.retain(|m| discriminant(m) != kind);
        self.modals.push(modal);
    }

    fn find(&self, f: impl Fn(&Modal) -> bool) -> Option<usize> {
        self.modals.iter().rposition(f)
    }

    fn remove(&mut self, f: impl Fn(&Modal) -> bool) -> Option<Modal> {
        self.find(f).map(|i| self.modals.remove(i))
    }

    pub fn prompt(&self) -> Option<&Prompt> {
        self.modals.iter().rev().find_map(|m| match m {
            Modal::Prompt(p) => Some(p),
            _ => None,
        })
    }

    pub(super) fn prompt_mut(&mut self) -> Option<&mut Prompt> {
        self.modals.iter_mut().rev().find_map(|m| match m {
            Modal::Prompt(p) => Some(p),
            _ => None,
        })
    }

    /// Close the prompt, handing it back.
    pub(super) fn take_prompt(&mut self) -> Option<Prompt> {
        match self.remove(|m| matches!(m, Modal::Prompt(_)))? {
            Modal::Prompt(p) => Some(p),
            _ => None,
        }
    }

    pub fn detail(&self) -> Option<&Detail> {
        self.modals.iter().rev().find_map(|m| match m {
            Modal::Detail(d) => Some(d),
            _ => None,
        })
    }

    pub(super) fn detail_mut(&mut self) -> Option<&mut Detail> {
        self.modals.iter_mut().rev().find_map(|m| match m {
            Modal::Detail(d) => Some(d),
            _ => None,
        })
    }

    pub(super) fn close_detail(&mut self) {
        self.remove(|m| matches!(m, Modal::Detail(_)));
    }

    pub fn help_visible(&self) -> bool {
        self.find(|m| matches!(m, Modal::Help)).is_some()
    }

    pub(super) fn close_help(&mut self) {
        self.remove(|m| matches!(m, Modal::Help));
    }

    /// The fault menu, the channel picker or the auth inspector, if one is open.
    pub fn overlay(&self) -> Option<&Overlay> {
        self.modals.iter().rev().find_map(|m| match m {
            Modal::Overlay(o) => Some(o),
            _ => None,
        })
    }

    pub(super) fn overlay_mut(&mut self) -> Option<&mut Overlay> {
        self.modals.iter_mut().rev().find_map(|m| match m {
            Modal::Overlay(o) => Some(o),
            _ => None,
        })
    }

    pub(super) fn close_overlay(&mut self) {
        self.remove(|m| matches!(m, Modal::Overlay(_)));
    }
}
