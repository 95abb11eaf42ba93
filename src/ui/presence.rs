//! Presence members of one channel, with recent joins and leaves remembered for a few seconds
//! so the members pane can highlight them.

use crate::record::Member;
use indexmap::IndexMap;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a join or a leave stays highlighted.
pub const HIGHLIGHT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq)]
pub struct MemberRow {
    pub info: Value,
    /// When the member joined, while that is recent; `None` for members of the snapshot.
    pub joined_at: Option<Instant>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Departed {
    pub id: String,
    pub info: Value,
    pub at: Instant,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roster {
    pub me: Option<String>,
    pub members: IndexMap<String, MemberRow>,
    /// Members who left within [`HIGHLIGHT`], newest last.
    pub departed: Vec<Departed>,
}

impl Roster {
    pub fn from_snapshot(me: Option<&Member>, members: &[Member]) -> Roster {
        Roster {
            me: me.map(|m| m.id.clone()),
            members: members
                .iter()
                .map(|m| {
                    (
                        m.id.clone(),
                        MemberRow {
                            info: m.info.clone(),
                            joined_at: None,
                        },
                    )
                })
                .collect(),
            departed: Vec::new(),
        }
    }

    pub fn add(&mut self, id: &str, info: Value, now: Instant) {
        self.departed.retain(|d| d.id != id);
        self.members.insert(
            id.to_string(),
            MemberRow {
                info,
                joined_at: Some(now),
            },
        );
    }

    pub fn remove(&mut self, id: &str, now: Instant) {
        if let Some(row) = self.members.shift_remove(id) {
            self.departed.push(Departed {
                id: id.to_string(),
                info: row.info,
                at: now,
            });
        }
    }

    /// Forget highlights older than [`HIGHLIGHT`]. True when anything changed.
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.departed.len();
        self.departed
            .retain(|d| now.saturating_duration_since(d.at) < HIGHLIGHT);
        let mut changed = before != self.departed.len();
        for row in self.members.values_mut() {
            if row
                .joined_at
                .is_some_and(|t| now.saturating_duration_since(t) >= HIGHLIGHT)
            {
                row.joined_at = None;
                changed = true;
            }
        }
        changed
    }

    pub fn count(&self) -> usize {
        self.members.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn join_leave_highlights_expire() {
        let t0 = Instant::now();
        let me = Member {
            id: "1".into(),
            info: json!({"name": "me"}),
        };
        let mut r = Roster::from_snapshot(Some(&me), std::slice::from_ref(&me));
        r.add("2", json!(null), t0);
        assert_eq!(r.count(), 2);
        r.remove("2", t0 + Duration::from_secs(1));
        assert_eq!(r.count(), 1);
        assert_eq!(r.departed.len(), 1);
        r.remove("nobody", t0);
        assert_eq!(r.departed.len(), 1);
        assert!(!r.expire(t0 + Duration::from_secs(2)));
        assert!(r.expire(t0 + Duration::from_secs(7)));
        assert!(r.departed.is_empty());
        r.add("3", json!(1), t0);
        assert!(r.expire(t0 + HIGHLIGHT));
        assert_eq!(r.members["3"].joined_at, None);
    }
}
