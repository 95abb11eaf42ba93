//! The dashboard's measures and occupancy screens: their state apart from the rest of the
//! app. [`Panel`] keeps the measures model fed by every record, the occupancy table fed by
//! `occupancy` records, and which screen is shown; it answers the keys meant for a shown
//! screen with an [`Outcome`] the app carries out.

use super::keymap::Action;
use crate::measures::Measures;
use crate::occupancy::{SortBy, Table};
use crate::record::Record;
use crate::session::Command;
use std::time::Instant;

/// Set to a non-empty value, the measures model is not fed: for measuring what it costs
/// (bench/dashboard-load.sh). The screens still open, empty.
pub const DISABLE_ENV: &str = "CHANWATCH_NO_MEASURES";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Measures,
    Occupancy,
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
}

#[derive(Debug)]
pub struct Panel {
    enabled: bool,
    model: Measures,
    screen: Option<Screen>,
    occupancy: Table,
    selected: usize,
    occupancy_error: Option<String>,
}

impl Panel {
    pub fn new(now: Instant, enabled: bool) -> Panel {
        Panel {
            enabled,
            model: Measures::new(now),
            screen: None,
            occupancy: Table::default(),
            selected: 0,
            occupancy_error: None,
        }
    }

    /// Whether measuring is on, from [`DISABLE_ENV`].
    pub fn enabled_from_env() -> bool {
        std::env::var_os(DISABLE_ENV).is_none_or(|v| v.is_empty())
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }
    pub fn model(&self) -> &Measures {
        &self.model
    }
    pub fn screen(&self) -> Option<Screen> {
        self.screen
    }
    pub fn occupancy(&self) -> &Table {
        &self.occupancy
    }
    pub fn occupancy_selected(&self) -> usize {
        self.selected
    }
    pub fn occupancy_error(&self) -> Option<&str> {
        self.occupancy_error.as_deref()
    }

    /// Every record passes here first: O(1) for events.
    pub fn on_record(&mut self, now: Instant, record: &Record) {
        if !self.enabled {
            return;
        }
        self.model.on_record(now, record);
        match record {
            Record::Occupancy { channels } => {
                self.occupancy.apply(channels);
                self.occupancy_error = None;
                self.clamp();
            }
            Record::CommandError { cmd, message, .. } if cmd == "occupancy" => {
                self.occupancy_error = Some(message.clone());
            }
            _ => {}
        }
    }

    pub fn on_tick(&mut self, now: Instant) {
        if self.enabled {
            self.model.tick(now);
        }
    }

    fn clamp(&mut self) {
        self.selected = self
            .selected
            .min(self.occupancy.rows().len().saturating_sub(1));
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
    pub fn on_action(&mut self, action: Action) -> Option<Outcome> {
        let toggle =
            |target: Screen, current: Option<Screen>| (current != Some(target)).then_some(target);
        match (action, self.screen) {
            (Action::Measures, s) => Some(self.show(toggle(Screen::Measures, s))),
            (Action::Occupancy, s) => Some(self.show(toggle(Screen::Occupancy, s))),
            (Action::Back, Some(_)) => Some(self.show(None)),
            (Action::Up, Some(Screen::Measures)) => Some(Outcome::MoveChannel(-1)),
            (Action::Down, Some(Screen::Measures)) => Some(Outcome::MoveChannel(1)),
            (Action::Up | Action::Down | Action::Top | Action::Bottom, Some(Screen::Occupancy)) => {
                let last = self.occupancy.rows().len().saturating_sub(1);
                self.selected = match action {
                    Action::Up => self.selected.saturating_sub(1),
                    Action::Down => (self.selected + 1).min(last),
                    Action::Top => 0,
                    _ => last,
                };
                Some(Outcome::Redraw)
            }
            (Action::SortOccupancy, Some(Screen::Occupancy)) => {
                let next = match self.occupancy.sort() {
                    SortBy::Name => SortBy::Count,
                    SortBy::Count => SortBy::Name,
                };
                self.occupancy.set_sort(next);
                Some(Outcome::Redraw)
            }
            (Action::Open, Some(Screen::Occupancy)) => self
                .occupancy
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

    #[test]
    fn screens_toggle_and_the_occupancy_poll_follows_its_screen() {
        let t0 = Instant::now();
        let mut p = Panel::new(t0, true);
        assert_eq!(p.on_action(Action::Measures), Some(Outcome::Redraw));
        assert_eq!(p.screen(), Some(Screen::Measures));
        assert_eq!(
            p.on_action(Action::Occupancy),
            Some(Outcome::Command(Command::Occupancy { on: true }))
        );
        let ch = |n: &str, c| OccupiedChannel {
            name: n.into(),
            subscription_count: Some(c),
            user_count: None,
        };
        p.on_record(
            t0,
            &Record::Occupancy {
                channels: vec![ch("a", 1), ch("b", 5)],
            },
        );
        assert_eq!(p.on_action(Action::Down), Some(Outcome::Redraw));
        assert_eq!(
            p.on_action(Action::Open),
            Some(Outcome::Subscribe("b".into()))
        );
        p.on_action(Action::SortOccupancy);
        assert_eq!(p.occupancy().rows()[0].channel.name, "b");
        assert_eq!(
            p.on_action(Action::Back),
            Some(Outcome::Command(Command::Occupancy { on: false }))
        );
        assert_eq!(p.on_action(Action::Up), None, "no screen: the panes move");
        assert_eq!(p.on_action(Action::Back), None);
    }
}
