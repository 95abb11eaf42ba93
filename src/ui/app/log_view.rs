//! The event log's position: following the newest matches, or paused on a selected entry
//! while new events arrive below, and the filter that narrows it.

use super::{App, Move};
use crate::ui::model::log::Filter;

/// Position in the event log. Following shows the newest matches; paused keeps the view
/// on the selected entry while new events arrive below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogView {
    Follow,
    Paused {
        /// Sequence number of the selected entry.
        selected: u64,
        /// Sequence number of the top visible row.
        top: u64,
    },
}

impl App {
    /// The indices of the log entries on screen, oldest first, and the selected one.
    pub fn visible_log(&self) -> (Vec<usize>, Option<usize>) {
        let rows = self.log_rows();
        match self.log_view {
            LogView::Follow => {
                let v = self.model.log().tail(rows, &self.filter);
                let sel = v.last().copied();
                (v, sel)
            }
            LogView::Paused { selected, top } => {
                let Some(top_i) = self.model.log().index_of(top) else {
                    return (Vec::new(), None);
                };
                let v = self.model.log().window(top_i, rows, &self.filter);
                let sel = self
                    .model
                    .log()
                    .index_of(selected)
                    .filter(|i| v.contains(i));
                (v, sel)
            }
        }
    }

    pub(super) fn set_filter(&mut self, text: &str) {
        let f = Filter::parse(text);
        if f != self.filter {
            self.filter = f;
            // A paused position may not match any more: show the newest matches.
            self.log_view = LogView::Follow;
            self.unseen = 0;
        }
    }

    pub(super) fn follow(&mut self) {
        self.log_view = LogView::Follow;
        self.unseen = 0;
    }

    pub(super) fn pause_at_newest(&mut self) {
        let rows = self.log_rows();
        let tail = self.model.log().tail(rows, &self.filter);
        if let (Some(&first), Some(&last)) = (tail.first(), tail.last()) {
            self.log_view = LogView::Paused {
                selected: self.model.log().get(last).map_or(0, |e| e.seq),
                top: self.model.log().get(first).map_or(0, |e| e.seq),
            };
        } else {
            // Nothing to hold on to yet: pause at whatever arrives first.
            let seq = self.model.log().get(0).map_or(0, |e| e.seq);
            self.log_view = LogView::Paused {
                selected: seq,
                top: seq,
            };
        }
        self.unseen = 0;
    }

    pub(super) fn move_log(&mut self, m: Move) {
        if self.model.log().is_empty() {
            return;
        }
        if m == Move::Bottom {
            self.follow();
            return;
        }
        if self.log_view == LogView::Follow {
            self.pause_at_newest();
        }
        let LogView::Paused { selected, .. } = self.log_view else {
            return;
        };
        let Some(mut i) = self.model.log().index_of(selected) else {
            return;
        };
        match m {
            Move::Top => {
                if let Some(first) = self.model.log().match_at_or_after(0, &self.filter) {
                    i = first;
                }
            }
            Move::By(d) if d < 0 => {
                for _ in 0..d.unsigned_abs() {
                    match i
                        .checked_sub(1)
                        .and_then(|j| self.model.log().match_at_or_before(j, &self.filter))
                    {
                        Some(j) => i = j,
                        None => break,
                    }
                }
            }
            Move::By(d) => {
                for _ in 0..d {
                    match self.model.log().match_at_or_after(i + 1, &self.filter) {
                        Some(j) => i = j,
                        None => break,
                    }
                }
            }
            Move::Bottom => unreachable!("handled above"),
        }
        let seq = self.model.log().get(i).map_or(selected, |e| e.seq);
        let top = match self.log_view {
            LogView::Paused { top, .. } => top,
            LogView::Follow => seq,
        };
        self.log_view = LogView::Paused { selected: seq, top };
        self.clamp_log_view();
    }

    /// Keep the selected log entry inside the visible rows, scrolling the top as needed.
    pub(super) fn clamp_log_view(&mut self) {
        let LogView::Paused { selected, top } = self.log_view else {
            return;
        };
        let (Some(sel_i), Some(mut top_i)) = (
            self.model.log().index_of(selected),
            self.model.log().index_of(top),
        ) else {
            return;
        };
        let rows = self.log_rows();
        if sel_i < top_i {
            top_i = sel_i;
        } else {
            // Matches from top to the selection, inclusive; move top down until it fits.
            let between = self.model.log().window(top_i, usize::MAX, &self.filter);
            let upto: Vec<usize> = between.into_iter().take_while(|&i| i <= sel_i).collect();
            if upto.len() > rows {
                top_i = upto[upto.len() - rows];
            }
        }
        let seq = |i: usize| self.model.log().get(i).map_or(0, |e| e.seq);
        self.log_view = LogView::Paused {
            selected: seq(sel_i),
            top: seq(top_i),
        };
    }
}
