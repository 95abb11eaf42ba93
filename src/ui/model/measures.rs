//! What the measures and occupancy screens draw, fed by records: the measures model (every
//! record passes it) and the occupancy table (`occupancy` records and the poll's errors).
use crate::session_record::SessionRecord;

use crate::occupancy::{SortBy, Table};
use crate::stats::StatsModel;
use std::time::Instant;

/// Set to a non-empty value, the measures model is not fed: for measuring what it costs
/// (bench/dashboard-load.sh). The screens still open, empty.
pub const DISABLE_ENV: &str = "CHANWATCH_NO_MEASURES";

#[derive(Debug)]
pub struct Measured {
    enabled: bool,
    model: StatsModel,
    occupancy: Table,
    occupancy_error: Option<String>,
}

impl Measured {
    pub fn new(now: Instant, enabled: bool) -> Measured {
        Measured {
            enabled,
            model: StatsModel::new(now),
            occupancy: Table::default(),
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
    pub fn model(&self) -> &StatsModel {
        &self.model
    }
    pub fn occupancy(&self) -> &Table {
        &self.occupancy
    }
    pub fn occupancy_error(&self) -> Option<&str> {
        self.occupancy_error.as_deref()
    }

    /// Every record passes here first: O(1) for events.
    pub fn on_record(&mut self, now: Instant, record: &SessionRecord) {
        if !self.enabled {
            return;
        }
        self.model.on_record(now, record);
        match record {
            SessionRecord::Occupancy { channels } => {
                self.occupancy.apply(channels);
                self.occupancy_error = None;
            }
            SessionRecord::CommandError { cmd, message, .. } if cmd == "occupancy" => {
                self.occupancy_error = Some(message.clone());
            }
            _ => {}
        }
    }

    /// The occupancy screen's order, which the table keeps its rows in.
    pub fn sort_occupancy(&mut self, sort: SortBy) {
        self.occupancy.set_sort(sort);
    }

    pub fn on_tick(&mut self, now: Instant) {
        if self.enabled {
            self.model.tick(now);
        }
    }
}
