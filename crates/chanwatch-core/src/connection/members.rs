//! Presence members, kept as pusher-js keeps them: ids as strings, `me` from our own
//! channel_data, count adjusted only when an id really appears or leaves.

use crate::protocol::frame::id_string;
use crate::record::Member;
use indexmap::IndexMap;
use serde_json::Value;

/// The most members a roster keeps with their info. A presence channel may be far larger
/// (or a hostile server may claim a million members): beyond this, members are only
/// counted, and shown as "+N more".
pub const MAX_MEMBERS: usize = 10_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Members {
    pub my_id: Option<String>,
    members: IndexMap<String, Value>,
    /// Members beyond [`MAX_MEMBERS`], counted but not kept. Their ids are not known, so a
    /// repeated join or an unknown leave past the cap moves this count by one.
    more: usize,
    /// Joins (with their info) and leaves that arrived before the `subscription_succeeded`
    /// snapshot, in order: replayed over it by [`Members::load`]. A server of several nodes
    /// may pass a join on from another node to a socket whose snapshot was taken before
    /// the join (seen with sockudo and Redis): pusher-js then loses that member for good.
    early: Vec<(String, Option<Value>)>,
}

impl Members {
    /// Fill from `subscription_succeeded` data `{"presence":{"ids":[..],"hash":{..},"count":N}}`.
    pub fn load(&mut self, data: &Value) {
        self.members.clear();
        self.more = 0;
        let early = std::mem::take(&mut self.early);
        let presence = data.get("presence");
        let hash = presence
            .and_then(|p| p.get("hash"))
            .and_then(Value::as_object);
        let ids = presence
            .and_then(|p| p.get("ids"))
            .and_then(Value::as_array);
        if let Some(ids) = ids {
            for id in ids.iter().filter_map(id_string) {
                if self.members.contains_key(&id) {
                    continue;
                }
                let info = hash.and_then(|h| h.get(&id)).unwrap_or(&Value::Null);
                self.keep(id, info);
            }
        }
        if let Some(hash) = hash {
            for (id, info) in hash {
                if !self.members.contains_key(id) && ids.is_none_or(|ids| ids.is_empty()) {
                    self.keep(id.clone(), info);
                }
            }
        }
        for (id, change) in early {
            match change {
                Some(info) => {
                    self.add(id, info);
                }
                None => {
                    self.members.shift_remove(&id);
                }
            }
        }
    }

    /// A join (`Some(info)`) or a leave (`None`) before the snapshot: kept to be replayed
    /// over it (at most [`MAX_MEMBERS`] of them).
    pub fn before_snapshot(&mut self, id: &str, change: Option<&Value>) {
        if self.early.len() < MAX_MEMBERS {
            self.early.push((id.to_string(), change.cloned()));
        }
    }

    /// A new subscription: what came before the last snapshot is forgotten.
    pub fn awaiting_snapshot(&mut self) {
        self.early.clear();
    }

    /// Keep a member not yet present, or only count it past the cap (ourselves excepted).
    fn keep(&mut self, id: String, info: &Value) {
        if self.members.len() < MAX_MEMBERS || self.my_id.as_ref() == Some(&id) {
            self.members.insert(id, info.clone());
        } else {
            self.more += 1;
        }
    }

    /// Returns the member as added; an id already present just gets new info.
    pub fn add(&mut self, id: String, info: Value) -> Member {
        match self.members.get_mut(&id) {
            Some(known) => *known = info.clone(),
            None => self.keep(id.clone(), &info),
        }
        Member { id, info }
    }

    /// Returns whether the id was present (or, past the cap, may have been).
    pub fn remove(&mut self, id: &str) -> bool {
        if self.members.shift_remove(id).is_some() {
            return true;
        }
        if self.more > 0 {
            self.more -= 1;
            return true;
        }
        false
    }

    /// Every member, kept or only counted.
    pub fn count(&self) -> usize {
        self.members.len() + self.more
    }

    pub fn list(&self) -> Vec<Member> {
        self.members
            .iter()
            .map(|(id, info)| Member {
                id: id.clone(),
                info: info.clone(),
            })
            .collect()
    }

    pub fn me(&self) -> Option<Member> {
        let id = self.my_id.as_ref()?;
        self.members.get(id).map(|info| Member {
            id: id.clone(),
            info: info.clone(),
        })
    }

    pub fn clear(&mut self) {
        self.members.clear();
        self.more = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn load_add_remove() {
        let mut m = Members {
            my_id: Some("10".into()),
            ..Default::default()
        };
        m.load(
            &json!({"presence":{"ids":["1",10],"hash":{"1":{"n":"a"},"10":{"n":"me"}},"count":2}}),
        );
        assert_eq!(m.count(), 2);
        assert_eq!(m.me().unwrap().info, json!({"n":"me"}));
        m.add("2".into(), json!(null));
        m.add("2".into(), json!({"n":"b"}));
        assert_eq!(m.count(), 3);
        assert!(m.remove("1"));
        assert!(!m.remove("1"));
        assert_eq!(m.count(), 2);
        assert_eq!(m.list()[1].info, json!({"n":"b"}));
    }

    #[test]
    fn a_huge_snapshot_keeps_the_cap_and_counts_the_rest() {
        let n = MAX_MEMBERS * 3;
        let ids: Vec<Value> = (0..n).map(|i| json!(i.to_string())).collect();
        let mut m = Members {
            my_id: Some((n - 1).to_string()),
            ..Default::default()
        };
        m.load(&json!({"presence": {"ids": ids, "hash": {}, "count": n}}));
        assert_eq!(m.count(), n);
        assert_eq!(m.list().len(), MAX_MEMBERS + 1, "the cap, and me");
        assert_eq!(m.me().unwrap().id, (n - 1).to_string());
        m.add("new".into(), json!(null));
        assert_eq!(m.count(), n + 1);
        assert!(m.remove("someone-never-kept"));
        assert!(m.remove("0"));
        assert_eq!(m.count(), n - 1);
        m.clear();
        assert_eq!(m.count(), 0);
        assert!(!m.remove("x"));
    }

    #[test]
    fn a_hash_without_ids_is_read_too() {
        let mut m = Members::default();
        m.load(&json!({"presence": {"hash": {"a": 1, "b": 2}}}));
        assert_eq!(m.count(), 2);
        assert_eq!(m.list()[0].id, "a");
    }
}
