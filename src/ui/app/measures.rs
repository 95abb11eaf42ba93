//! The dashboard's measures and occupancy screens: which one is shown and the occupancy
//! table's selection, apart from the rest of the app. What they draw is fed by records in
//! the model ([`crate::ui::model::Measured`]); [`Panel`] answers the keys meant for a shown
//! screen with an [`Outcome`] the app carries out.

use crate::occupancy::{SortBy, Table};
use crate::prefs::keymap::Action;
use crate::session::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Measures,
    Occupancy,
    /// Received webhooks and their checks (`--webhook-listen`).
    Webhooks,
    /// Several nodes side by side: their states, the delivery matrix, presence across nodes.
    Cluster,
}

/// What the app should do about a key the panel took.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Redraw,
    /// Send this to the client (occupancy poll on or off).
    Command(Command),
    /// Subscribe to the channel picked in the occupancy table.
    Subscribe(String),
    /// Move the channel selection (the measures screen charts the selected channel).
    MoveChannel(isize),
    /// Sort the occupancy table this way.
    Sort(SortBy),
}

#[derive(Debug, Default)]
pub struct Panel {
    screen: Option<Screen>,
    selected: usize,
    /// Webhooks screen: rows scrolled back from the newest (0 follows).
    webhooks_back: usize,
    /// Cluster screen: rows scrolled down from its top.
    cluster_scroll: usize,
}

impl Panel {
    /// Whether measuring is on, from [`DISABLE_ENV`](crate::ui::model::measures::DISABLE_ENV).
    pub fn enabled_from_env() -> bool {
        crate::ui::model::Measured::enabled_from_env()
    }

    pub fn screen(&self) -> Option<Screen> {
        self.screen
    }
    pub fn occupancy_selected(&self) -> usize {
        self.selected
    }
    /// How far the webhooks screen is scrolled back from its newest row.
    pub fn webhooks_back(&self) -> usize {
        self.webhooks_back
    }
    /// How far the cluster screen is scrolled down.
    pub fn cluster_scroll(&self) -> usize {
        self.cluster_scroll
    }
    /// Keep the cluster screen's scroll within its content (`max` rows down at most).
    pub fn clamp_cluster(&mut self, max: usize) {
        self.cluster_scroll = self.cluster_scroll.min(max);
    }

    /// Keep the selection on a row of `occupancy`, which a record may have shortened.
    pub fn clamp(&mut self, occupancy: &Table) {
        self.selected = self.selected.min(occupancy.rows().len().saturating_sub(1));
    }

    fn show(&mut self, screen: Option<Screen>) -> Outcome {
        let was = self.screen;
        self.screen = screen;
        match (
            was == Some(Screen::Occupancy),
            screen == Some(Screen::Occupancy),
        ) {
            (false, true) => Outcome::Command(Command::Occupancy { on: true }),
            (true, false) => Outcome::Command(Command::Occupancy { on: false }),
            _ => Outcome::Redraw,
        }
    }

    /// The panel's answer to an action, or `None` when the action is not the panel's.
    pub fn on_action(&mut self, action: Action, occupancy: &Table) -> Option<Outcome> {
        let toggle =
            |target: Screen, current: Option<Screen>| (current != Some(target)).then_some(target);
        match (action, self.screen) {
            (Action::Measures, s) => Some(self.show(toggle(Screen::Measures, s))),
            (Action::Occupancy, s) => Some(self.show(toggle(Screen::Occupancy, s))),
            (Action::Webhooks, s) => {
                self.webhooks_back = 0;
                Some(self.show(toggle(Screen::Webhooks, s)))
            }
            (Action::Up | Action::PageUp, Some(Screen::Webhooks)) => {
                let by = if action == Action::Up { 1 } else { 10 };
                self.webhooks_back = self.webhooks_back.saturating_add(by).min(10_000);
                Some(Outcome::Redraw)
            }
            (Action::Down | Action::PageDown, Some(Screen::Webhooks)) => {
                let by = if action == Action::Down { 1 } else { 10 };
                self.webhooks_back = self.webhooks_back.saturating_sub(by);
                Some(Outcome::Redraw)
            }
            (Action::Bottom, Some(Screen::Webhooks)) => {
                self.webhooks_back = 0;
                Some(Outcome::Redraw)
            }
            (Action::Cluster, s) => {
                self.cluster_scroll = 0;
                Some(self.show(toggle(Screen::Cluster, s)))
            }
            (
                Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::Top
                | Action::Bottom,
                Some(Screen::Cluster),
            ) => {
                // Clamped by the app, which knows how tall the screen's content is.
                let s = self.cluster_scroll;
                self.cluster_scroll = match action {
                    Action::Up => s.saturating_sub(1),
                    Action::Down => s.saturating_add(1),
                    Action::PageUp => s.saturating_sub(10),
                    Action::PageDown => s.saturating_add(10),
                    Action::Top => 0,
                    _ => usize::MAX,
                };
                Some(Outcome::Redraw)
            }
            (Action::Back, Some(_)) => Some(self.show(None)),
            (Action::Up, Some(Screen::Measures)) => Some(Outcome::MoveChannel(-1)),
            (Action::Down, Some(Screen::Measures)) => Some(Outcome::MoveChannel(1)),
            (Action::Up | Action::Down | Action::Top | Action::Bottom, Some(Screen::Occupancy)) => {
                let last = occupancy.rows().len().saturating_sub(1);
                self.selected = match action {
                    Action::Up => self.selected.saturating_sub(1),
                    Action::Down => (self.selected + 1).min(last),
                    Action::Top => 0,
                    _ => last,
                };
                Some(Outcome::Redraw)
            }
            (Action::SortOccupancy, Some(Screen::Occupancy)) => {
                let next = match occupancy.sort() {
                    SortBy::Name => SortBy::Count,
                    SortBy::Count => SortBy::Name,
                };
                Some(Outcome::Sort(next))
            }
            (Action::Open, Some(Screen::Occupancy)) => occupancy
                .rows()
                .get(self.selected)
                .map(|r| Outcome::Subscribe(r.channel.name.clone())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::occupancy::OccupiedChannel;
    use crate::session_record::SessionRecord;
    use crate::ui::model::Measured;
    use std::time::Instant;

    #[test]
    fn screens_toggle_and_the_occupancy_poll_follows_its_screen() {
        let t0 = Instant::now();
        let mut m = Measured::new(t0, true);
        let mut p = Panel::default();
        assert_eq!(
            p.on_action(Action::Measures, m.occupancy()),
            Some(Outcome::Redraw)
        );
        assert_eq!(p.screen(), Some(Screen::Measures));
        assert_eq!(
            p.on_action(Action::Occupancy, m.occupancy()),
            Some(Outcome::Command(Command::Occupancy { on: true }))
        );
        let ch = |n: &str, c| OccupiedChannel {
            name: n.into(),
            subscription_count: Some(c),
            user_count: None,
        };
        m.on_record(
            t0,
            &SessionRecord::Occupancy {
                channels: vec![ch("a", 1), ch("b", 5)],
            },
        );
        assert_eq!(
            p.on_action(Action::Down, m.occupancy()),
            Some(Outcome::Redraw)
        );
        assert_eq!(
            p.on_action(Action::Open, m.occupancy()),
            Some(Outcome::Subscribe("b".into()))
        );
        assert_eq!(
            p.on_action(Action::SortOccupancy, m.occupancy()),
            Some(Outcome::Sort(SortBy::Count))
        );
        assert_eq!(
            p.on_action(Action::Back, m.occupancy()),
            Some(Outcome::Command(Command::Occupancy { on: false }))
        );
        let none = p.on_action(Action::Up, m.occupancy());
        assert_eq!(none, None, "no screen: the panes move");
        assert_eq!(p.on_action(Action::Back, m.occupancy()), None);
    }
}
