//! The delivery matrix, sans-IO: each probe round publishes one message through every
//! node's HTTP API, and every node's socket should receive each of them. Cell `(from, to)`
//! says how many of the publishes through `from` reached `to`'s socket, and how fast.
//!
//! The session does the I/O: it begins a round ([`Matrix::begin_round`]), tells when each
//! publish began ([`Matrix::published`], when the HTTP request starts: sockudo delivers
//! locally even when its API hangs, so waiting for the answer would time the wrong thing)
//! and how it ended, hands over every probe event a node's socket receives
//! ([`Matrix::received`], found with [`parse_probe`]) and ticks. Everything is kept in
//! arrays sized once at [`Matrix::new`] (`window` rounds of `n` publishes and `n × n`
//! cells), so memory is bounded by n² × window and a received probe costs an index
//! computation, never an allocation: with a few nodes and one round a second this runs on
//! every probe event of every node.

use super::record::{Delivery, DeliveryCell};
use chanwatch_core::record::NodeName;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// An API error is kept for the report and the dashboard up to this many bytes: it may
/// carry an excerpt of what a server answered.
const MAX_ERROR_LEN: usize = 300;

/// Cells named in the diagnosis's list of partial losses; the dashboard shows them all.
const MAX_LOSSY_NAMED: usize = 4;

#[derive(Serialize)]
struct ProbeOut<'a> {
    round: u64,
    from: &'a str,
}

#[derive(Deserialize)]
struct ProbeIn<'a> {
    round: u64,
    #[serde(borrow)]
    from: &'a str,
}

/// The data of round `round`'s probe published through node `from`:
/// `{"round":N,"from":"<name>"}`.
pub fn probe_data(round: u64, from: &str) -> String {
    serde_json::to_string(&ProbeOut { round, from }).expect("a number and a string serialise")
}

/// The round and publishing node of a probe's data, borrowed from `data` without
/// allocating (every node receives every probe, so this runs n² times a round). A name that
/// needed escaping cannot be borrowed and gives `None`, as does anything that is not a
/// probe (reading that far costs serde's error, an allocation, only on that path).
pub fn parse_probe(data: &str) -> Option<(u64, &str)> {
    let probe: ProbeIn = serde_json::from_str(data).ok()?;
    Some((probe.round, probe.from))
}

/// What became of one round's publish through one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Publish {
    /// Not begun (yet, or ever: the node may have no HTTP API): its cells count nothing.
    NotBegun,
    /// The HTTP request started then; its probes are awaited from then on.
    Began(Instant),
    /// The publish failed: the round does not count in that row, whatever arrived.
    Failed,
}

/// What became of one probe at one receiving node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Awaited,
    Received(Instant),
    /// Not received within the timeout of its publish's start.
    Lost,
}

/// The diagnosis reads each cell's latest probes whose fate is known, this many.
pub const DIAGNOSIS_ROUNDS: u32 = 5;

/// One cell's numbers over the window, for the dashboard and the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellStats {
    /// Probes published through `from` in the window whose fate is known: received, or
    /// past the timeout, from a publish that began and did not fail.
    pub sent: u32,
    /// Of those, received by `to`.
    pub received: u32,
    /// `1 - received / sent`; `None` before anything was sent.
    pub loss: Option<f64>,
    /// Publish-to-receive latency percentiles (nearest rank), in milliseconds.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// The delivery matrix over the last `window` rounds.
#[derive(Debug)]
pub struct Matrix {
    nodes: Vec<NodeName>,
    window: usize,
    timeout: Duration,
    /// The round the next [`Matrix::begin_round`] begins (rounds count from 1).
    next_round: u64,
    /// The round each slot of the ring holds (0: none yet). Round `r` lives in slot
    /// `r % window`, so beginning a round forgets the one `window` rounds before it.
    rounds: Vec<u64>,
    /// `[slot * n + from]`.
    publishes: Vec<Publish>,
    /// `[(slot * n + from) * n + to]`.
    fates: Vec<Fate>,
    /// Each node's latest publish error, until its API answers a publish again.
    api_errors: Vec<Option<String>>,
    /// Whether each node's socket is connected: a node that is not receives nothing, so
    /// what it awaits is lost at once rather than after the timeout.
    receiving: Vec<bool>,
}

impl Matrix {
    /// A matrix over `nodes` (indices `0..n` in this order) remembering `window` rounds
    /// (at least 1); a probe not received `timeout` after its publish began is lost.
    pub fn new(nodes: &[NodeName], window: u32, timeout: Duration) -> Matrix {
        let n = nodes.len();
        let window = (window as usize).max(1);
        Matrix {
            nodes: nodes.to_vec(),
            window,
            timeout,
            next_round: 1,
            rounds: vec![0; window],
            publishes: vec![Publish::NotBegun; window * n],
            fates: vec![Fate::Awaited; window * n * n],
            receiving: vec![true; n],
            api_errors: vec![None; n],
        }
    }

    pub fn nodes(&self) -> &[NodeName] {
        &self.nodes
    }

    /// The index of the node named `name` (a probe's `from`), without allocating.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|node| &**node == name)
    }

    /// Rounds in the window: those begun, up to `window`.
    pub fn rounds(&self) -> u32 {
        let begun = self.next_round - 1;
        begun.min(self.window as u64) as u32
    }

    /// Begins the next round, forgetting the one `window` rounds before it, and returns
    /// its number (1, 2, ...). `now` is not kept: each publish is timed from its own start.
    pub fn begin_round(&mut self, _now: Instant) -> u64 {
        let round = self.next_round;
        self.next_round += 1;
        let n = self.nodes.len();
        let slot = self.slot_index(round);
        self.rounds[slot] = round;
        self.publishes[slot * n..(slot + 1) * n].fill(Publish::NotBegun);
        self.fates[slot * n * n..(slot + 1) * n * n].fill(Fate::Awaited);
        round
    }

    /// Publisher `from`'s publish of `round` began at `at` (its HTTP request started). A
    /// second call, or one after the publish failed, changes nothing.
    pub fn published(&mut self, round: u64, from: usize, at: Instant) {
        if let Some(i) = self.publish_index(round, from)
            && self.publishes[i] == Publish::NotBegun
        {
            self.publishes[i] = Publish::Began(at);
        }
    }

    /// The publish of `round` through `from` failed (the API unreachable, an error status,
    /// no answer in time): row `from` does not count that round, even for probes that did
    /// arrive. The error is kept as the node's latest, for the report and the dashboard.
    pub fn publish_failed(&mut self, round: u64, from: usize, error: &str) {
        if let Some(i) = self.publish_index(round, from) {
            self.publishes[i] = Publish::Failed;
        }
        if let Some(kept) = self.api_errors.get_mut(from) {
            let kept = kept.get_or_insert_with(String::new);
            kept.clear();
            kept.push_str(cut(error, MAX_ERROR_LEN));
        }
    }

    /// Node `from`'s API did not answer a publish in time, which may still have been
    /// delivered (sockudo delivers to its own sockets while a publish it cannot pass to its
    /// bus hangs): the error is kept for the report, and the round still counts.
    pub fn publish_unanswered(&mut self, from: usize, error: &str) {
        if let Some(kept) = self.api_errors.get_mut(from) {
            let kept = kept.get_or_insert_with(String::new);
            kept.clear();
            kept.push_str(cut(error, MAX_ERROR_LEN));
        }
    }

    /// Node `from`'s API answered a publish: its error, if any, is over.
    pub fn publish_answered(&mut self, from: usize) {
        if let Some(kept) = self.api_errors.get_mut(from) {
            *kept = None;
        }
    }

    /// Node `to`'s socket received round `round`'s probe published through `from`, at
    /// `now`. A duplicate, a probe already lost, an unknown node and a round outside the
    /// window are ignored. Never allocates (`tests/matrix_alloc.rs` holds that).
    pub fn received(&mut self, round: u64, from: usize, to: usize, now: Instant) {
        let n = self.nodes.len();
        if to >= n {
            return;
        }
        let Some(p) = self.publish_index(round, from) else {
            return;
        };
        let fate = &mut self.fates[p * n + to];
        if *fate == Fate::Awaited {
            *fate = Fate::Received(now);
        }
    }

    /// Probes still awaited `timeout` after their publish began are lost.
    pub fn tick(&mut self, now: Instant) {
        let n = self.nodes.len();
        for (p, publish) in self.publishes.iter().enumerate() {
            let Publish::Began(at) = *publish else {
                continue;
            };
            let expired = now.saturating_duration_since(at) >= self.timeout;
            for (to, fate) in self.fates[p * n..(p + 1) * n].iter_mut().enumerate() {
                if *fate == Fate::Awaited && (expired || !self.receiving[to]) {
                    *fate = Fate::Lost;
                }
            }
        }
    }

    /// Node `to`'s socket is connected (`true`) or not: while it is not, every probe it
    /// awaits is lost at the next [`Matrix::tick`], without waiting out the timeout.
    pub fn set_receiving(&mut self, to: usize, receiving: bool) {
        if let Some(r) = self.receiving.get_mut(to) {
            *r = receiving;
        }
    }

    /// Node `node`'s latest publish error, while its API has not answered since.
    pub fn api_error(&self, node: usize) -> Option<&str> {
        self.api_errors.get(node)?.as_deref()
    }

    /// Cell `(from, to)` over the window. Allocates a buffer of at most `window` latencies
    /// for the percentiles.
    pub fn cell(&self, from: usize, to: usize) -> CellStats {
        let n = self.nodes.len();
        let mut stats = CellStats {
            sent: 0,
            received: 0,
            loss: None,
            p50_ms: None,
            p99_ms: None,
        };
        if from >= n || to >= n {
            return stats;
        }
        let mut latencies = Vec::new();
        for slot in 0..self.window {
            if self.rounds[slot] == 0 {
                continue;
            }
            let p = slot * n + from;
            let Publish::Began(at) = self.publishes[p] else {
                continue;
            };
            match self.fates[p * n + to] {
                Fate::Awaited => {}
                Fate::Lost => stats.sent += 1,
                Fate::Received(t) => {
                    stats.sent += 1;
                    stats.received += 1;
                    // A probe can beat the `published` call only by a hair: count it as 0.
                    latencies.push(t.saturating_duration_since(at));
                }
            }
        }
        if stats.sent > 0 {
            stats.loss = Some(1.0 - f64::from(stats.received) / f64::from(stats.sent));
        }
        latencies.sort_unstable();
        stats.p50_ms = nearest_rank(&latencies, 50).map(ms);
        stats.p99_ms = nearest_rank(&latencies, 99).map(ms);
        stats
    }

    /// Cell `(from, to)` over its latest [`DIAGNOSIS_ROUNDS`] rounds with a known fate or a
    /// failed publish: what the diagnosis reads, so that a fault is named within a few
    /// rounds instead of once it has filled the whole window. A publisher whose recent
    /// publishes all failed (its node is down) has nothing recent to say, rather than its
    /// probes from before it went. No percentiles.
    fn recent_cell(&self, from: usize, to: usize) -> CellStats {
        let n = self.nodes.len();
        let mut stats = CellStats {
            sent: 0,
            received: 0,
            loss: None,
            p50_ms: None,
            p99_ms: None,
        };
        let newest = self.next_round.saturating_sub(1);
        let oldest = newest.saturating_sub(self.window as u64 - 1).max(1);
        let mut failed = 0;
        for round in (oldest..=newest).rev() {
            if stats.sent + failed == DIAGNOSIS_ROUNDS {
                break;
            }
            let slot = (round % self.window as u64) as usize;
            if self.rounds[slot] != round {
                continue;
            }
            let p = slot * n + from;
            match self.publishes[p] {
                Publish::Began(_) => {}
                Publish::Failed => {
                    failed += 1;
                    continue;
                }
                _ => continue,
            }
            match self.fates[p * n + to] {
                Fate::Awaited => {}
                Fate::Lost => stats.sent += 1,
                Fate::Received(_) => {
                    stats.sent += 1;
                    stats.received += 1;
                }
            }
        }
        if stats.sent > 0 {
            stats.loss = Some(1.0 - f64::from(stats.received) / f64::from(stats.sent));
        }
        stats
    }

    /// The `delivery` record: every cell, publishers then receivers in node order.
    pub fn report(&self) -> Delivery {
        let n = self.nodes.len();
        let mut cells = Vec::with_capacity(n * n);
        for from in 0..n {
            for to in 0..n {
                let c = self.cell(from, to);
                cells.push(DeliveryCell {
                    from: self.nodes[from].to_string(),
                    to: self.nodes[to].to_string(),
                    sent: c.sent,
                    received: c.received,
                    loss: c.loss,
                    p50_ms: c.p50_ms,
                    p99_ms: c.p99_ms,
                });
            }
        }
        let api_errors = self
            .nodes
            .iter()
            .zip(&self.api_errors)
            .filter_map(|(node, error)| Some((node.to_string(), error.clone()?)))
            .collect();
        Delivery {
            rounds: self.rounds(),
            cells,
            api_errors,
            diagnosis: self.diagnosis(),
        }
    }

    /// What the matrix means in words, when it means something is wrong between nodes: the
    /// most important first, joined with "; ". Read from each cell's latest
    /// [`DIAGNOSIS_ROUNDS`] known probes, not the whole window. `None` when every cell with data delivers
    /// everything and every API answers.
    pub fn diagnosis(&self) -> Option<String> {
        let n = self.nodes.len();
        let cells: Vec<CellStats> = (0..n * n).map(|i| self.recent_cell(i / n, i % n)).collect();
        let at = |from: usize, to: usize| cells[from * n + to];
        // A cell with data that received nothing.
        let dead = |c: CellStats| c.sent > 0 && c.received == 0;
        let delivers = |c: CellStats| c.received > 0;
        let mut said: Vec<String> = Vec::new();

        // The bus between nodes: each node delivers its own publishes, none another's.
        let counts: Vec<(u32, u32)> = cells.iter().map(|c| (c.sent, c.received)).collect();
        let adapter = adapter_failing(n, &counts);
        if adapter {
            said.push(
                "adapter failing: each node delivers its own publishes but no node receives \
                 another's (the bus between nodes, e.g. Redis, is not passing messages)"
                    .to_string(),
            );
        }

        let anything_sent = cells.iter().any(|c| c.sent > 0);
        let anything_received = cells.iter().any(|&c| delivers(c));
        if anything_sent && !anything_received {
            said.push(
                "no node receives any probe (are the sockets connected and subscribed?)"
                    .to_string(),
            );
        }

        // A receiving node whose column is lost while other nodes receive.
        let deaf = |to: usize| {
            let column = (0..n).map(|from| at(from, to));
            column.clone().any(|c| c.sent > 0) && column.filter(|c| c.sent > 0).all(dead)
        };
        let mut api_said = vec![false; n];
        if anything_received && !adapter {
            for to in (0..n).filter(|&to| deaf(to)) {
                let name = &self.nodes[to];
                match &self.api_errors[to] {
                    Some(error) => {
                        api_said[to] = true;
                        said.push(format!(
                            "node {name} looks down: it receives nothing and its HTTP API is \
                             not answering: {error}"
                        ));
                    }
                    None => said.push(format!(
                        "node {name} receives nothing (its socket is down or it is off the bus)"
                    )),
                }
            }
        }

        for (i, (node, error)) in self.nodes.iter().zip(&self.api_errors).enumerate() {
            if let Some(error) = error
                && !api_said[i]
            {
                said.push(format!("node {node}'s HTTP API is not answering: {error}"));
            }
        }

        // A publisher whose accepted publishes reach nobody, not even its own socket.
        if anything_received && !adapter {
            for from in 0..n {
                let row = (0..n).map(|to| at(from, to));
                if row.clone().any(|c| c.sent > 0) && row.filter(|c| c.sent > 0).all(dead) {
                    said.push(format!(
                        "publishes through node {} reach no node (its API accepts them but \
                         nothing is delivered)",
                        self.nodes[from]
                    ));
                }
            }
        }

        // Intermittent loss (soketi #428): cells that lose some probes, not all.
        let lossy: Vec<String> = (0..n * n)
            .filter(|&i| cells[i].received > 0 && cells[i].received < cells[i].sent)
            .map(|i| {
                let loss = cells[i].loss.unwrap_or(0.0) * 100.0;
                format!("{}→{} {loss:.0}%", self.nodes[i / n], self.nodes[i % n])
            })
            .collect();
        if !lossy.is_empty() {
            let mut words = format!(
                "probes lost: {}",
                lossy[..lossy.len().min(MAX_LOSSY_NAMED)].join(", ")
            );
            if lossy.len() > MAX_LOSSY_NAMED {
                words.push_str(&format!(" and {} more", lossy.len() - MAX_LOSSY_NAMED));
            }
            said.push(words);
        }

        (!said.is_empty()).then(|| said.join("; "))
    }

    fn slot_index(&self, round: u64) -> usize {
        (round % self.window as u64) as usize
    }

    /// Where `round`'s publish through `from` is kept, if the round is in the window.
    fn publish_index(&self, round: u64, from: usize) -> Option<usize> {
        let slot = self.slot_index(round);
        (round != 0 && self.rounds[slot] == round && from < self.nodes.len())
            .then(|| slot * self.nodes.len() + from)
    }
}

/// Whether a matrix of `n` nodes says the adapter (the bus between nodes) is failing: each
/// node that published delivered its own publishes, and no node received another's.
/// `cells` holds `(sent, received)` per publisher then receiver (`cells[from * n + to]`);
/// a cell with nothing sent says nothing. Also what `chanwatch check` and the metrics
/// judge a cluster by.
pub fn adapter_failing(n: usize, cells: &[(u32, u32)]) -> bool {
    if n < 2 || cells.len() != n * n {
        return false;
    }
    let sent = |&(sent, _): &(u32, u32)| sent > 0;
    let mut own = (0..n).map(|i| cells[i * n + i]).filter(sent).peekable();
    let cross = || {
        (0..n * n)
            .filter(|i| i / n != i % n)
            .map(|i| cells[i])
            .filter(sent)
    };
    own.peek().is_some()
        && own.all(|(_, received)| received > 0)
        && cross().next().is_some()
        && cross().all(|(_, received)| received == 0)
}

/// The `p`th percentile of sorted samples, nearest rank (the stats module's convention):
/// with fewer than 100 samples, p99 is the largest. `chanwatch check` uses it for its pairs.
pub fn nearest_rank(sorted: &[Duration], p: usize) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
#[path = "matrix_tests.rs"]
mod tests;
