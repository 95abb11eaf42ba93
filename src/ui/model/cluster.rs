//! What the records about the nodes together say (several `--node`s): the latest delivery
//! matrix and the divergences in force. The session sends a `delivery` record and each
//! divergence again about every second; a divergence ends with one more record marked
//! `resolved`, which takes it off. Each node's own records go to that node's
//! [`Model`](super::Model); these carry no node.

use super::{News, caps};
use crate::cluster::{Delivery, Divergence, DivergenceKind};
use crate::session_record::SessionRecord;
use indexmap::IndexMap;
use std::time::{Duration, Instant, SystemTime};

/// The most divergences kept at once; further ones are counted and dropped until some end.
pub const MAX_DIVERGENCES: usize = 1_000;

/// The latest delivery matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestDelivery {
    pub delivery: Delivery,
    /// Its stamp.
    pub ts: SystemTime,
    /// When it arrived.
    pub at: Instant,
}

/// A divergence in force, as its latest record says.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub divergence: Divergence,
    /// When its latest record arrived: it has lasted `for_ms` plus the time since.
    pub at: Instant,
}

impl Current {
    /// How long the difference has lasted at `now`.
    pub fn lasted(&self, now: Instant) -> Duration {
        Duration::from_millis(self.divergence.for_ms) + now.saturating_duration_since(self.at)
    }
}

/// One divergence: a member of a channel, or one of the channel's counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    channel: String,
    kind: DivergenceKind,
    member: Option<String>,
}

impl Key {
    fn of(d: &Divergence) -> Key {
        Key {
            channel: d.channel.clone(),
            kind: d.kind,
            member: d.member.clone(),
        }
    }
}

/// A [`Key`] by borrowed parts, for looking one up without building it: its fields in the
/// same order hash as the key's (a `String` hashes as its `str`).
#[derive(Hash)]
struct KeyRef<'a> {
    channel: &'a str,
    kind: DivergenceKind,
    member: Option<&'a str>,
}

impl indexmap::Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.channel == key.channel && self.kind == key.kind && self.member == key.member.as_deref()
    }
}

#[derive(Debug, Default)]
pub struct Cluster {
    delivery: Option<LatestDelivery>,
    /// In the order they began.
    divergences: IndexMap<Key, Current>,
    /// Divergences not kept because [`MAX_DIVERGENCES`] were in force.
    dropped: u64,
}

impl Cluster {
    pub fn delivery(&self) -> Option<&LatestDelivery> {
        self.delivery.as_ref()
    }

    /// The divergences in force, in the order they began.
    pub fn divergences(&self) -> impl ExactSizeIterator<Item = &Current> {
        self.divergences.values()
    }

    /// The divergence between the nodes' sockets about `member` of `channel`, while it
    /// lasts.
    pub fn member_divergence(&self, channel: &str, member: &str) -> Option<&Current> {
        self.divergences.get(&KeyRef {
            channel,
            kind: DivergenceKind::Members,
            member: Some(member),
        })
    }

    /// The divergence between sockets and their own nodes' HTTP APIs about `member` of
    /// `channel`, while it lasts.
    pub fn api_divergence(&self, channel: &str, member: &str) -> Option<&Current> {
        self.divergences.get(&KeyRef {
            channel,
            kind: DivergenceKind::ApiMembers,
            member: Some(member),
        })
    }

    /// Divergences not kept because too many were in force.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Take a `delivery` or `divergence` record; any other record is not about the nodes
    /// together and is ignored. What is worth a footer message comes back: a diagnosis
    /// that appears or changes, a member that turns into a ghost.
    pub fn apply(&mut self, ts: SystemTime, record: SessionRecord, now: Instant) -> Option<News> {
        match record {
            SessionRecord::Delivery(d) => self.on_delivery(ts, *d, now),
            SessionRecord::Divergence(d) => self.on_divergence(*d, now),
            _ => None,
        }
    }

    fn on_delivery(&mut self, ts: SystemTime, mut d: Delivery, now: Instant) -> Option<News> {
        d.diagnosis = d.diagnosis.map(caps::text);
        for reason in d.api_errors.values_mut() {
            *reason = caps::text(std::mem::take(reason));
        }
        let before = self
            .delivery
            .as_ref()
            .and_then(|l| l.delivery.diagnosis.as_deref());
        let news = match d.diagnosis.as_deref() {
            Some(text) if before != Some(text) => Some(News::Error(format!("cluster: {text}"))),
            _ => None,
        };
        self.delivery = Some(LatestDelivery {
            delivery: d,
            ts,
            at: now,
        });
        news
    }

    fn on_divergence(&mut self, d: Divergence, now: Instant) -> Option<News> {
        let key = Key::of(&d);
        if d.resolved {
            self.divergences.shift_remove(&key);
            return None;
        }
        let was_ghost = match self.divergences.get(&key) {
            Some(c) => c.divergence.ghost,
            None if self.divergences.len() >= MAX_DIVERGENCES => {
                self.dropped += 1;
                return None;
            }
            None => false,
        };
        let news = (d.ghost && !was_ghost).then(|| ghost_news(&d));
        self.divergences.insert(
            key,
            Current {
                divergence: d,
                at: now,
            },
        );
        news
    }
}

/// "presence-room: 3 is a ghost: listed on a, b, missing on c", or "presence-room: guest is
/// a ghost: a's socket lists it, a's API does not".
fn ghost_news(d: &Divergence) -> News {
    if d.kind == DivergenceKind::ApiMembers {
        let whose = possessive(&d.listed_on);
        let (sockets, list, apis, does) = match d.listed_on.len() {
            1 => ("socket", "lists", "API", "does"),
            _ => ("sockets", "list", "APIs", "do"),
        };
        let text = format!(
            "{}: {} is a ghost: {whose} {sockets} {list} it, {whose} {apis} {does} not",
            d.channel,
            d.member.as_deref().unwrap_or("a member"),
        );
        return News::Error(caps::text(text));
    }
    let mut text = format!(
        "{}: {} is a ghost: listed on {}",
        d.channel,
        d.member.as_deref().unwrap_or("a member"),
        d.listed_on.join(", ")
    );
    if !d.missing_on.is_empty() {
        text.push_str(&format!(", missing on {}", d.missing_on.join(", ")));
    }
    News::Error(caps::text(text))
}

/// "a's", "a's, b's": whose, of each node named.
pub fn possessive(nodes: &[String]) -> String {
    let each: Vec<String> = nodes.iter().map(|n| format!("{n}'s")).collect();
    each.join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cluster::DeliveryCell;
    use std::collections::BTreeMap;
    use std::time::UNIX_EPOCH;

    /// A cell from `from` to `to`: `received` of `sent`, at p50 / p99.
    pub fn cell(
        from: &str,
        to: &str,
        sent: u32,
        received: u32,
        p: Option<(f64, f64)>,
    ) -> DeliveryCell {
        DeliveryCell {
            from: from.into(),
            to: to.into(),
            sent,
            received,
            loss: (sent > 0).then(|| 1.0 - f64::from(received) / f64::from(sent)),
            p50_ms: p.map(|p| p.0),
            p99_ms: p.map(|p| p.1),
        }
    }

    pub fn members(
        channel: &str,
        member: &str,
        listed_on: &[&str],
        missing_on: &[&str],
        for_ms: u64,
        ghost: bool,
    ) -> Divergence {
        Divergence {
            channel: channel.into(),
            kind: DivergenceKind::Members,
            member: Some(member.into()),
            listed_on: listed_on.iter().map(|s| s.to_string()).collect(),
            missing_on: missing_on.iter().map(|s| s.to_string()).collect(),
            counts: BTreeMap::new(),
            since: UNIX_EPOCH,
            for_ms,
            ghost,
            resolved: false,
        }
    }

    fn delivery(diagnosis: Option<&str>) -> SessionRecord {
        SessionRecord::Delivery(Box::new(Delivery {
            rounds: 10,
            cells: vec![cell("a", "b", 10, 10, Some((2.0, 5.0)))],
            api_errors: BTreeMap::new(),
            diagnosis: diagnosis.map(str::to_string),
        }))
    }

    #[test]
    fn the_latest_delivery_is_kept_and_a_new_diagnosis_is_news() {
        let t0 = Instant::now();
        let mut c = Cluster::default();
        assert!(c.delivery().is_none());
        assert_eq!(c.apply(UNIX_EPOCH, delivery(None), t0), None);
        let failing = delivery(Some(
            "adapter failing: no node delivers another's publishes",
        ));
        assert_eq!(
            c.apply(UNIX_EPOCH, failing.clone(), t0),
            Some(News::Error(
                "cluster: adapter failing: no node delivers another's publishes".into()
            ))
        );
        // Said once, not every second it lasts.
        assert_eq!(c.apply(UNIX_EPOCH, failing, t0), None);
        let later = UNIX_EPOCH + Duration::from_secs(1);
        assert_eq!(c.apply(later, delivery(None), t0), None);
        let latest = c.delivery().unwrap();
        assert_eq!(
            (latest.ts, latest.delivery.diagnosis.as_deref()),
            (later, None)
        );
        // Other records are not the cluster's.
        let fault = SessionRecord::Fault {
            fault: "cut".into(),
        };
        assert_eq!(c.apply(UNIX_EPOCH, fault, t0), None);
    }

    #[test]
    fn divergences_last_until_resolved_and_a_new_ghost_is_news() {
        let t0 = Instant::now();
        let mut c = Cluster::default();
        let d = |for_ms, ghost| members("presence-room", "3", &["a", "b"], &["c"], for_ms, ghost);
        let rec = |d: Divergence| SessionRecord::Divergence(Box::new(d));
        assert_eq!(c.apply(UNIX_EPOCH, rec(d(1_000, false)), t0), None);
        let count = Divergence {
            kind: DivergenceKind::UserCount,
            member: None,
            counts: [("a".into(), 3), ("c".into(), 2)].into(),
            ..d(500, false)
        };
        c.apply(UNIX_EPOCH, rec(count.clone()), t0);
        assert_eq!(c.divergences().len(), 2);
        // Repeated: one entry, updated; turning ghost is said once.
        let t1 = t0 + Duration::from_secs(5);
        let news = c.apply(UNIX_EPOCH, rec(d(6_000, true)), t1);
        assert_eq!(
            news,
            Some(News::Error(
                "presence-room: 3 is a ghost: listed on a, b, missing on c".into()
            ))
        );
        assert_eq!(c.apply(UNIX_EPOCH, rec(d(7_000, true)), t1), None);
        assert_eq!(c.divergences().len(), 2);
        let m = c.member_divergence("presence-room", "3").unwrap();
        assert!(m.divergence.ghost);
        assert_eq!(
            m.lasted(t1 + Duration::from_secs(2)),
            Duration::from_secs(9)
        );
        assert!(c.member_divergence("presence-room", "4").is_none());
        // Resolved: gone, the other stays.
        let resolved = Divergence {
            resolved: true,
            ..d(8_000, true)
        };
        c.apply(UNIX_EPOCH, rec(resolved), t1);
        assert!(c.member_divergence("presence-room", "3").is_none());
        let left: Vec<_> = c.divergences().map(|c| c.divergence.kind).collect();
        assert_eq!(left, [DivergenceKind::UserCount]);
    }

    #[test]
    fn a_socket_its_api_disagrees_with_is_its_own_divergence_and_its_ghost_is_news() {
        let t0 = Instant::now();
        let mut c = Cluster::default();
        let rec = |d: Divergence| SessionRecord::Divergence(Box::new(d));
        let api = |listed_on: &[&str], ghost| Divergence {
            kind: DivergenceKind::ApiMembers,
            ..members("presence-room", "guest", listed_on, &[], 3_000, ghost)
        };
        // The same member differing between sockets too: two divergences, apart.
        c.apply(
            UNIX_EPOCH,
            rec(members(
                "presence-room",
                "guest",
                &["a"],
                &["b"],
                1_000,
                false,
            )),
            t0,
        );
        assert_eq!(c.apply(UNIX_EPOCH, rec(api(&["a"], false)), t0), None);
        assert_eq!(c.divergences().len(), 2);
        assert_eq!(
            c.api_divergence("presence-room", "guest")
                .unwrap()
                .divergence
                .listed_on,
            ["a"]
        );
        assert_eq!(
            c.apply(UNIX_EPOCH, rec(api(&["a"], true)), t0),
            Some(News::Error(
                "presence-room: guest is a ghost: a's socket lists it, a's API does not".into()
            ))
        );
        assert_eq!(
            c.apply(UNIX_EPOCH, rec(api(&["a", "c"], true)), t0),
            None,
            "a ghost already"
        );
        assert_eq!(
            ghost_news(&api(&["a", "c"], true)),
            News::Error(
                "presence-room: guest is a ghost: a's, c's sockets list it, a's, c's APIs do \
                 not"
                .into()
            )
        );
        // Resolving one leaves the other.
        let resolved = Divergence {
            resolved: true,
            ..api(&["a"], true)
        };
        c.apply(UNIX_EPOCH, rec(resolved), t0);
        assert!(c.api_divergence("presence-room", "guest").is_none());
        assert!(c.member_divergence("presence-room", "guest").is_some());
    }

    #[test]
    fn divergences_are_bounded() {
        let t0 = Instant::now();
        let mut c = Cluster::default();
        for i in 0..MAX_DIVERGENCES + 5 {
            let d = members("presence-room", &i.to_string(), &["a"], &["b"], 0, false);
            c.apply(UNIX_EPOCH, SessionRecord::Divergence(Box::new(d)), t0);
        }
        assert_eq!(c.divergences().len(), MAX_DIVERGENCES);
        assert_eq!(c.dropped(), 5);
        // One already kept is still updated.
        let d = members("presence-room", "0", &["a"], &["b"], 0, true);
        c.apply(UNIX_EPOCH, SessionRecord::Divergence(Box::new(d)), t0);
        assert!(
            c.member_divergence("presence-room", "0")
                .unwrap()
                .divergence
                .ghost
        );
    }
}
