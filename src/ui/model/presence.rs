//! Presence members of one channel, with recent joins and leaves remembered for a few seconds
//! so the members pane can highlight them.

use crate::ui::model::caps::{self, MAX_MEMBER_ID, MAX_MEMBER_INFO};
use chanwatch_core::connection::MAX_MEMBERS;
use chanwatch_core::record::Member;
use indexmap::IndexMap;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a join or a leave stays highlighted.
pub const HIGHLIGHT: Duration = Duration::from_secs(5);

/// The most recent leaves kept for highlighting.
const MAX_DEPARTED: usize = 500;

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
    /// Members past [`MAX_MEMBERS`]: counted, shown as "+N more", not kept.
    pub more: usize,
}

impl Roster {
    /// `count` is the channel's whole membership, which may exceed the members listed.
    /// Members past [`MAX_MEMBERS`], or with an id over [`MAX_MEMBER_ID`], are counted
    /// only; each member's info is kept up to [`MAX_MEMBER_INFO`].
    pub fn from_snapshot(me: Option<&Member>, members: &[Member], count: usize) -> Roster {
        let members: IndexMap<String, MemberRow> = members
            .iter()
            .filter(|m| m.id.len() <= MAX_MEMBER_ID)
            .take(MAX_MEMBERS + 1)
            .map(|m| {
                (
                    m.id.clone(),
                    MemberRow {
                        info: caps::json(m.info.clone(), MAX_MEMBER_INFO),
                        joined_at: None,
                    },
                )
            })
            .collect();
        Roster {
            more: count.saturating_sub(members.len()),
            me: me
                .filter(|m| m.id.len() <= MAX_MEMBER_ID)
                .map(|m| m.id.clone()),
            members,
            departed: Vec::new(),
        }
    }

    pub fn add(&mut self, id: &str, info: Value, now: Instant) {
        self.departed.retain(|d| d.id != id);
        if id.len() > MAX_MEMBER_ID
            || (!self.members.contains_key(id) && self.members.len() >= MAX_MEMBERS)
        {
            self.more += 1;
            return;
        }
        self.members.insert(
            id.to_string(),
            MemberRow {
                info: caps::json(info, MAX_MEMBER_INFO),
                joined_at: Some(now),
            },
        );
    }

    pub fn remove(&mut self, id: &str, now: Instant) {
        if let Some(row) = self.members.shift_remove(id) {
            // Bounded like the roster: a mass leave highlights the newest few hundred.
            if self.departed.len() >= MAX_DEPARTED {
                self.departed.remove(0);
            }
            self.departed.push(Departed {
                id: id.to_string(),
                info: row.info,
                at: now,
            });
        } else if self.more > 0 {
            self.more -= 1;
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

    /// Every member, listed or only counted.
    pub fn count(&self) -> usize {
        self.members.len() + self.more
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
        let mut r = Roster::from_snapshot(Some(&me), std::slice::from_ref(&me), 1);
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

    #[test]
    fn a_huge_roster_lists_the_cap_and_counts_the_rest() {
        let t0 = Instant::now();
        let listed: Vec<Member> = (0..MAX_MEMBERS)
            .map(|i| Member {
                id: i.to_string(),
                info: json!(null),
            })
            .collect();
        let mut r = Roster::from_snapshot(None, &listed, 1_000_000);
        assert_eq!(
            (r.members.len(), r.count(), r.more),
            (MAX_MEMBERS, 1_000_000, 1_000_000 - MAX_MEMBERS)
        );
        r.add("late", json!(null), t0);
        assert_eq!((r.members.len(), r.count()), (MAX_MEMBERS, 1_000_001));
        r.remove("0", t0);
        r.remove("unknown", t0);
        assert_eq!(r.count(), 999_999);
        for i in 1..2_000 {
            r.remove(&i.to_string(), t0);
        }
        assert!(r.departed.len() <= MAX_DEPARTED);
    }
}
