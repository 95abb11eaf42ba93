//! The demo server's webhooks: what a real server would post to an app's webhook URL
//! (channel occupied and vacated, member added and removed, client events), signed with
//! the demo app's secret, plus two requests that show what the receiver flags: one with a
//! forged signature, and one `channel_vacated` for a channel our client is still
//! subscribed to, as a buggy server might send. The diffing and the script are pure (a
//! [`Snapshot`] against the last one, ticks counted); the task posts what they say.

use super::hub::{ClientEventSeen, Hub};
use super::server::Shared;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

/// How often the hub is looked at.
pub const TICK: Duration = Duration::from_millis(250);
/// The tick of the forged-signature request (about 4 s in).
pub const FORGED_AT: u64 = 16;
/// The tick of the false `channel_vacated` (about 6 s in).
pub const FALSE_VACATED_AT: u64 = 24;
/// The channel the false `channel_vacated` names (the demo client subscribes to it).
pub const FALSE_VACATED_CHANNEL: &str = "news";

/// What the hub holds that webhooks are about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub occupied: BTreeSet<String>,
    /// Presence channels' member ids.
    pub members: BTreeMap<String, BTreeSet<String>>,
}

impl Snapshot {
    pub fn of(hub: &Hub) -> Snapshot {
        let occupied: BTreeSet<String> =
            hub.occupied("").into_iter().map(|(name, _)| name).collect();
        let members = occupied
            .iter()
            .filter(|c| c.starts_with("presence-"))
            .map(|c| (c.clone(), hub.member_ids(c).into_iter().collect()))
            .collect();
        Snapshot { occupied, members }
    }
}

/// The webhook events between two snapshots, in the order a server sends them: members
/// leave before their channel is vacated, a channel is occupied before members join.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<Value> {
    let mut events = Vec::new();
    let empty = BTreeSet::new();
    for (channel, was) in &before.members {
        let now = after.members.get(channel).unwrap_or(&empty);
        for id in was.difference(now) {
            events.push(json!({"name": "member_removed", "channel": channel, "user_id": id}));
        }
    }
    for channel in before.occupied.difference(&after.occupied) {
        events.push(json!({"name": "channel_vacated", "channel": channel}));
    }
    for channel in after.occupied.difference(&before.occupied) {
        events.push(json!({"name": "channel_occupied", "channel": channel}));
    }
    for (channel, now) in &after.members {
        let was = before.members.get(channel).unwrap_or(&empty);
        for id in now.difference(was) {
            events.push(json!({"name": "member_added", "channel": channel, "user_id": id}));
        }
    }
    events
}

/// A `client_event` webhook for a relayed client event.
pub fn client_event(seen: &ClientEventSeen) -> Value {
    let mut e = json!({
        "name": "client_event",
        "channel": seen.channel,
        "event": seen.event,
        "socket_id": seen.socket_id,
    });
    if let Some(u) = &seen.user_id {
        e["user_id"] = Value::from(u.as_str());
    }
    e
}

/// One request to post: its body and whether to sign it right.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub body: String,
    pub forged: bool,
}

/// The body of a webhook request.
pub fn body(time_ms: u64, events: &[Value]) -> String {
    json!({"time_ms": time_ms, "events": events}).to_string()
}

/// What to post at `tick`, given what changed: the changes (if any) as one batch, and the
/// script's two flagged requests at their ticks.
pub fn plan(tick: u64, time_ms: u64, changes: Vec<Value>, after: &Snapshot) -> Vec<Request> {
    let mut out = Vec::new();
    if !changes.is_empty() {
        out.push(Request {
            body: body(time_ms, &changes),
            forged: false,
        });
    }
    if tick == FORGED_AT {
        let e = json!({"name": "channel_occupied", "channel": "forged-channel"});
        out.push(Request {
            body: body(time_ms, &[e]),
            forged: true,
        });
    }
    if tick == FALSE_VACATED_AT && after.occupied.contains(FALSE_VACATED_CHANNEL) {
        let e = json!({"name": "channel_vacated", "channel": FALSE_VACATED_CHANNEL});
        out.push(Request {
            body: body(time_ms, &[e]),
            forged: false,
        });
    }
    out
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Post the demo's webhooks to `url` until the server stops or the handle is dropped.
pub(super) fn spawn(shared: Arc<Shared>, url: String) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
        {
            Ok(c) => c,
            Err(_) => return,
        };
        let (key, secret) = (shared.config.key.clone(), shared.config.secret.clone());
        let mut last = Snapshot::default();
        let mut interval = tokio::time::interval(TICK);
        let mut stop = shared.stop_signal();
        for tick in 0u64.. {
            tokio::select! {
                _ = interval.tick() => {}
                _ = stop.changed() => return,
            }
            let (snapshot, relayed) = {
                let mut inner = shared.lock();
                (Snapshot::of(&inner.hub), inner.hub.take_client_events())
            };
            let mut changes = diff(&last, &snapshot);
            changes.extend(relayed.iter().map(client_event));
            for request in plan(tick, now_ms(), changes, &snapshot) {
                let signature = if request.forged {
                    crate::webhook::verify::sign("not-the-demo-secret", request.body.as_bytes())
                } else {
                    crate::webhook::verify::sign(&secret, request.body.as_bytes())
                };
                // A receiver that is down loses the demo's webhooks, as it would a server's.
                let _ = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .header("X-Pusher-Key", &key)
                    .header("X-Pusher-Signature", signature)
                    .body(request.body)
                    .send()
                    .await;
            }
            last = snapshot;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(occupied: &[&str], members: &[(&str, &[&str])]) -> Snapshot {
        Snapshot {
            occupied: occupied.iter().map(|s| s.to_string()).collect(),
            members: members
                .iter()
                .map(|(c, ids)| (c.to_string(), ids.iter().map(|s| s.to_string()).collect()))
                .collect(),
        }
    }

    fn names(events: &[Value]) -> Vec<String> {
        events
            .iter()
            .map(|e| format!("{} {} {}", e["name"], e["channel"], e["user_id"]))
            .collect()
    }

    #[test]
    fn changes_become_webhook_events_in_order() {
        let a = snap(
            &["news", "presence-lobby"],
            &[("presence-lobby", &["ada", "you"])],
        );
        let b = snap(
            &["presence-lobby", "ticker"],
            &[("presence-lobby", &["grace", "you"])],
        );
        assert_eq!(
            names(&diff(&a, &b)),
            [
                r#""member_removed" "presence-lobby" "ada""#,
                r#""channel_vacated" "news" null"#,
                r#""channel_occupied" "ticker" null"#,
                r#""member_added" "presence-lobby" "grace""#,
            ]
        );
        assert!(diff(&b, &b).is_empty());
    }

    #[test]
    fn the_script_forges_one_signature_and_one_false_vacated() {
        let s = snap(&["news"], &[]);
        assert!(plan(1, 5, vec![], &s).is_empty());
        let forged = plan(FORGED_AT, 5, vec![], &s);
        assert_eq!(forged.len(), 1);
        assert!(forged[0].forged);
        let vacated = plan(FALSE_VACATED_AT, 5, vec![], &s);
        assert_eq!(vacated.len(), 1);
        assert!(!vacated[0].forged);
        assert!(vacated[0].body.contains("channel_vacated"));
        // Not while nobody is subscribed: then it would be true.
        assert!(plan(FALSE_VACATED_AT, 5, vec![], &snap(&[], &[])).is_empty());
    }

    #[test]
    fn a_client_event_webhook_names_the_sender() {
        let e = client_event(&ClientEventSeen {
            channel: "private-chat".into(),
            event: "client-typing".into(),
            socket_id: "1.2".into(),
            user_id: None,
        });
        assert_eq!(e["name"], "client_event");
        assert_eq!(e["socket_id"], "1.2");
        assert!(e.get("user_id").is_none());
    }
}
