//! The verdict of a check of several nodes (`--node`, twice or more), with no I/O: every
//! node's steps, then the delivery matrix (probes published through each node's HTTP API,
//! received on every node's socket), judged pair by pair.

use super::{
    Delivery, Status, Step, StepName, Thresholds, Verdict, human_ms, perf_ms, perf_number,
};
use crate::cluster::matrix::nearest_rank;
use std::fmt::Write as _;
use std::time::Duration;

/// Pairs named in one reason; the rest are counted ("and 3 more"). The text and JSON
/// reports list every pair.
const MAX_NAMED: usize = 6;

/// One node as its check went: the connection's steps as for one connection, then the
/// `publish` step (its HTTP API taking the probes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeOutcome {
    pub name: String,
    /// `ws://host:port`, for people.
    pub target: String,
    pub steps: Vec<Step>,
}

impl NodeOutcome {
    /// Connected and subscribed: every step before the publish succeeded.
    pub fn connected(&self) -> bool {
        self.steps
            .iter()
            .filter(|s| s.name != StepName::Publish)
            .all(|s| s.ok)
            && self
                .steps
                .iter()
                .any(|s| s.name == StepName::ConnectionEstablished)
    }
}

/// One probe of a pair: published through `from` (and not refused by its API), received by
/// `to` that long after the publish began, or not (`None`: lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairSample {
    pub seq: u32,
    pub latency: Option<Duration>,
}

/// Probes published through node `from` as node `to`'s socket received them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub from: String,
    pub to: String,
    pub samples: Vec<PairSample>,
}

/// What a pair's samples say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairStats {
    pub sent: u32,
    pub received: u32,
    /// Nearest rank over the received probes.
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    pub max: Option<Duration>,
}

impl PairStats {
    pub fn of(pair: &Pair) -> PairStats {
        let mut latencies: Vec<Duration> = pair.samples.iter().filter_map(|s| s.latency).collect();
        latencies.sort_unstable();
        PairStats {
            sent: u32::try_from(pair.samples.len()).unwrap_or(u32::MAX),
            received: u32::try_from(latencies.len()).unwrap_or(u32::MAX),
            p50: nearest_rank(&latencies, 50),
            p99: nearest_rank(&latencies, 99),
            max: latencies.last().copied(),
        }
    }

    /// The share of the pair's probes that did not arrive, in percent (0 when none was
    /// sent).
    pub fn loss_percent(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        f64::from(self.sent - self.received.min(self.sent)) * 100.0 / f64::from(self.sent)
    }
}

/// Everything one check of several nodes saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOutcome {
    pub nodes: Vec<NodeOutcome>,
    /// Publisher by receiver, among the nodes that connected and could publish.
    pub pairs: Vec<Pair>,
    /// Whether probes were published (`planned` per publishing node), or why not.
    pub delivery: Delivery,
    /// The delivery as a whole, when it ran: it fails only when the time ran out.
    pub delivery_step: Option<Step>,
    pub notes: Vec<String>,
    pub total: Duration,
}

impl ClusterOutcome {
    /// `3 nodes: a=ws://127.0.0.1:6001 b=...`, for the JSON report.
    pub fn target(&self) -> String {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("{}={}", n.name, n.target))
            .collect();
        format!("{} nodes: {}", self.nodes.len(), nodes.join(" "))
    }
}

/// `a->b`: a pair as it is named in reasons, text and perfdata.
pub fn pair_name(pair: &Pair) -> String {
    format!("{}->{}", pair.from, pair.to)
}

/// Names, at most [`MAX_NAMED`] of them, then how many more.
fn named(list: &[String]) -> String {
    let mut text = list[..list.len().min(MAX_NAMED)].join(", ");
    if list.len() > MAX_NAMED {
        let _ = write!(text, " and {} more", list.len() - MAX_NAMED);
    }
    text
}

/// The verdict of several nodes. CRITICAL: a node that cannot connect or subscribe (or
/// whose HTTP API does not take its probes), a pair that delivered nothing (and when each
/// node delivered only its own publishes, the adapter failing, in those words), a pair's
/// latency over the critical threshold, the time running out. WARNING: a pair that lost some
/// probes, or whose latency is over the warning threshold. Each pair's p99 is held to the
/// thresholds (with fewer than 100 probes, its slowest).
pub fn judge(outcome: &ClusterOutcome, thresholds: Thresholds) -> Verdict {
    let mut status = Status::Ok;
    let mut reasons: Vec<(Status, String)> = Vec::new();
    let mut raise = |s: Status, reason: String| {
        status = status.worst(s);
        reasons.push((s, reason));
    };
    let failed = |publish: bool| {
        outcome.nodes.iter().flat_map(move |n| {
            n.steps
                .iter()
                .filter(move |s| !s.ok && (s.name == StepName::Publish) == publish)
                .map(move |s| format!("node {}: {} failed: {}", n.name, s.name, s.detail))
        })
    };
    let stats: Vec<PairStats> = outcome.pairs.iter().map(PairStats::of).collect();
    let names: Vec<String> = outcome.pairs.iter().map(pair_name).collect();
    let dead: Vec<String> = (0..stats.len())
        .filter(|&i| stats[i].sent > 0 && stats[i].received == 0)
        .map(|i| format!("{} (0/{})", names[i], stats[i].sent))
        .collect();
    let adapter = adapter_failing(outcome, &stats);
    // The adapter failing comes first: it is what the other failures then are (sockudo
    // without its Redis answers neither presence subscriptions nor publishes).
    if adapter {
        raise(
            Status::Critical,
            format!(
                "adapter failing: each node delivers only its own publishes, no node receives \
                 another's (nothing delivered on {})",
                named(&dead)
            ),
        );
    }
    for reason in failed(false) {
        raise(Status::Critical, reason);
    }
    if let Some(step) = outcome.delivery_step.as_ref().filter(|s| !s.ok) {
        raise(
            Status::Critical,
            format!("{} failed: {}", step.name, step.detail),
        );
    }
    if !adapter && !dead.is_empty() {
        raise(
            Status::Critical,
            format!("nothing delivered on {}", named(&dead)),
        );
    }
    for reason in failed(true) {
        raise(Status::Critical, reason);
    }
    let lossy: Vec<String> = (0..stats.len())
        .filter(|&i| stats[i].received > 0 && stats[i].received < stats[i].sent)
        .map(|i| {
            format!(
                "{} ({} of {})",
                names[i],
                stats[i].sent - stats[i].received,
                stats[i].sent
            )
        })
        .collect();
    if !lossy.is_empty() {
        raise(Status::Warning, format!("probes lost on {}", named(&lossy)));
    }
    let over = |limit: Duration| -> Vec<String> {
        (0..stats.len())
            .filter_map(|i| {
                let p99 = stats[i].p99.filter(|&l| l > limit)?;
                Some(format!("{} ({})", names[i], human_ms(p99)))
            })
            .collect()
    };
    let crit = over(thresholds.crit);
    let warn: Vec<String> = over(thresholds.warn)
        .into_iter()
        .filter(|w| !crit.contains(w))
        .collect();
    if !crit.is_empty() {
        raise(
            Status::Critical,
            format!(
                "latency over --crit-latency {} on {}",
                human_ms(thresholds.crit),
                named(&crit)
            ),
        );
    }
    if !warn.is_empty() {
        raise(
            Status::Warning,
            format!(
                "latency over --warn-latency {} on {}",
                human_ms(thresholds.warn),
                named(&warn)
            ),
        );
    }
    reasons.sort_by_key(|(s, _)| std::cmp::Reverse(s.exit_code()));
    let reasons: Vec<String> = reasons.into_iter().map(|(_, r)| r).collect();
    let summary = if reasons.is_empty() {
        ok_summary(outcome, &stats)
    } else {
        reasons.join("; ")
    };
    Verdict {
        status,
        reasons,
        summary,
        perfdata: perfdata(outcome, &stats, thresholds),
    }
}

/// Each node that published delivered its own probes and no node received another's:
/// `cluster::matrix::adapter_failing` over the pairs.
fn adapter_failing(outcome: &ClusterOutcome, stats: &[PairStats]) -> bool {
    let mut nodes: Vec<&str> = Vec::new();
    for pair in &outcome.pairs {
        for name in [&pair.from, &pair.to] {
            if !nodes.contains(&name.as_str()) {
                nodes.push(name);
            }
        }
    }
    let n = nodes.len();
    let index = |name: &str| nodes.iter().position(|n| *n == name);
    let mut cells = vec![(0, 0); n * n];
    for (pair, st) in outcome.pairs.iter().zip(stats) {
        if let (Some(from), Some(to)) = (index(&pair.from), index(&pair.to)) {
            cells[from * n + to] = (st.sent, st.received);
        }
    }
    crate::cluster::matrix::adapter_failing(n, &cells)
}

/// The time a node took to connect: every step up to `connection_established`.
pub fn connect_time(node: &NodeOutcome) -> Duration {
    node.steps
        .iter()
        .filter(|s| {
            matches!(
                s.name,
                StepName::Resolve
                    | StepName::Tcp
                    | StepName::Tls
                    | StepName::Websocket
                    | StepName::ConnectionEstablished
            )
        })
        .map(|s| s.duration)
        .sum()
}

/// The time a node took to subscribe: its subscriptions and their authorizations.
pub fn subscribe_time(node: &NodeOutcome) -> Duration {
    node.steps
        .iter()
        .filter(|s| {
            matches!(
                s.name,
                StepName::Subscribe
                    | StepName::Auth
                    | StepName::SubscribePrivate
                    | StepName::AuthPresence
                    | StepName::SubscribePresence
            )
        })
        .map(|s| s.duration)
        .sum()
}

fn ok_summary(outcome: &ClusterOutcome, stats: &[PairStats]) -> String {
    let names: Vec<&str> = outcome.nodes.iter().map(|n| n.name.as_str()).collect();
    let slowest = outcome
        .nodes
        .iter()
        .map(connect_time)
        .max()
        .unwrap_or_default();
    let has = |name| {
        outcome
            .nodes
            .iter()
            .all(|n| n.steps.iter().any(|s| s.name == name))
    };
    let private = match (
        has(StepName::SubscribePrivate),
        has(StepName::SubscribePresence),
    ) {
        (true, true) => " (public, private and presence)",
        (true, false) => " (public and private)",
        _ => "",
    };
    let mut text = format!(
        "{} nodes ({}) connected in {} at most and subscribed{private}",
        names.len(),
        names.join(", "),
        human_ms(slowest)
    );
    match &outcome.delivery {
        Delivery::NotChecked(why) => {
            let _ = write!(text, "; delivery not checked ({why})");
        }
        Delivery::Checked { .. } => {
            let delivered = stats.iter().filter(|s| s.received > 0).count();
            let received: u32 = stats.iter().map(|s| s.received).sum();
            let sent: u32 = stats.iter().map(|s| s.sent).sum();
            let _ = write!(
                text,
                ", {delivered}/{} pairs delivered {received}/{sent} probes",
                stats.len()
            );
            // The first of the slowest, in pair order.
            let slowest = (0..stats.len())
                .filter_map(|i| Some((stats[i].p99?, i)))
                .fold(
                    None,
                    |best: Option<(Duration, usize)>, (p99, i)| match best {
                        Some((b, _)) if b >= p99 => best,
                        _ => Some((p99, i)),
                    },
                );
            if let Some((p99, i)) = slowest {
                let _ = write!(
                    text,
                    ", latency p99 {} at most ({})",
                    human_ms(p99),
                    pair_name(&outcome.pairs[i])
                );
            }
        }
    }
    text
}

/// `time`, each node's connect and subscribe times (and its API's slowest answer), then
/// each pair's p50, p99 (held to the thresholds) and loss. Labels are quoted: a pair's has
/// `->` in it, and node names may hold `.`.
fn perfdata(outcome: &ClusterOutcome, stats: &[PairStats], t: Thresholds) -> String {
    let mut out = format!("time={}ms", perf_ms(outcome.total));
    for node in &outcome.nodes {
        let name = &node.name;
        if node.steps.is_empty() {
            continue;
        }
        let _ = write!(out, " '{name}_connect'={}ms", perf_ms(connect_time(node)));
        if node.connected() {
            let _ = write!(
                out,
                " '{name}_subscribe'={}ms",
                perf_ms(subscribe_time(node))
            );
        }
        if let Some(publish) = node.steps.iter().find(|s| s.name == StepName::Publish) {
            let _ = write!(out, " '{name}_publish'={}ms", perf_ms(publish.duration));
        }
    }
    let (warn, crit) = (perf_ms(t.warn), perf_ms(t.crit));
    for (pair, st) in outcome.pairs.iter().zip(stats) {
        if st.sent == 0 {
            continue;
        }
        let name = pair_name(pair);
        if let (Some(p50), Some(p99)) = (st.p50, st.p99) {
            let _ = write!(
                out,
                " '{name}_p50'={}ms;;;0 '{name}_p99'={}ms;{warn};{crit};0",
                perf_ms(p50),
                perf_ms(p99)
            );
        }
        let _ = write!(
            out,
            " '{name}_loss'={}%;0;;0;100",
            perf_number(st.loss_percent())
        );
    }
    out
}

#[cfg(test)]
#[path = "verdict_cluster_tests.rs"]
mod tests;
