//! Presence members, kept as pusher-js keeps them: ids as strings, `me` from our own
//! channel_data, count adjusted only when an id really appears or leaves.

use crate::protocol::frame::id_string;
use crate::record::Member;
use indexmap::IndexMap;
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Members {
    pub my_id: Option<String>,
    members: IndexMap<String, Value>,
}

impl Members {
    /// Fill from `subscription_succeeded` data `{"presence":{"ids":[..],"hash":{..},"count":N}}`.
    pub fn load(&mut self, data: &Value) {
        self.members.clear();
        let presence = data.get("presence");
        let hash = presence
            .and_then(|p| p.get("hash"))
            .and_then(Value::as_object);
        let ids = presence
            .and_then(|p| p.get("ids"))
            .and_then(Value::as_array);
        if let Some(ids) = ids {
            for id in ids.iter().filter_map(id_string) {
                let info = hash
                    .and_then(|h| h.get(&id))
                    .cloned()
                    .unwrap_or(Value::Null);
                self.members.insert(id, info);
            }
        }
        if let Some(hash) = hash {
            for (id, info) in hash {
                self.members
                    .entry(id.clone())
                    .or_insert_with(|| info.clone());
            }
        }
    }

    /// Returns the member as added; an id already present just gets new info.
    pub fn add(&mut self, id: String, info: Value) -> Member {
        self.members.insert(id.clone(), info.clone());
        Member { id, info }
    }

    /// Returns whether the id was present.
    pub fn remove(&mut self, id: &str) -> bool {
        self.members.shift_remove(id).is_some()
    }

    pub fn count(&self) -> usize {
        self.members.len()
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
}
