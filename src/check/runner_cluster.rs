//! The check of several nodes (`--node`, twice or more): every node connected and
//! subscribed at once, each step timed per node exactly as for one connection; then the
//! delivery matrix: each round publishes one probe through every node's HTTP API, and
//! every node's socket should receive each of them. Rounds are paced (the next one is
//! published once the last has arrived everywhere, or after `pace`), so that a pair that
//! delivers nothing costs one probe wait in all, not one per probe; a probe still counts
//! when it arrives within `sample_wait` of its publish. The HTTP API's answer is awaited
//! beside the sockets, not before them: sockudo delivers to its own sockets a publish its
//! API never answers (its Redis gone), and that is what the matrix must show.

use super::{CLOSE_GRACE, Conn, NO_API, NO_API_NOTE, PROBE_EVENT, Progress, Target, connect};
use crate::check::verdict::cluster::{ClusterOutcome, NodeOutcome, Pair, PairSample};
use crate::check::verdict::{Delivery, Step, StepName};
use futures_util::future::join_all;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, timeout_at};

/// Several nodes and how to check them together.
pub struct ClusterTarget {
    /// Each node's name and target (its own socket, authorizer and HTTP API).
    pub nodes: Vec<(String, Target)>,
    pub samples: u32,
    /// A probe not seen this long after its publish began is lost.
    pub sample_wait: Duration,
    /// The longest a round waits for its probes before the next round is published.
    pub pace: Duration,
    pub timeout: Duration,
}

/// A probe received: by node `to`, published through node `from`, round `seq`, at `at`.
struct Receipt {
    to: usize,
    from: String,
    seq: u32,
    at: Instant,
}

/// What a node's HTTP API answered about one probe.
#[derive(Clone)]
enum Answer {
    /// Not yet.
    Pending,
    Accepted(Duration),
    /// Refused or unreachable: nothing was published.
    Refused(String),
    /// No answer within the probe's wait: what it delivered still counts.
    Unanswered,
}

/// Run the check of every node, within the one timeout.
pub async fn run(target: &ClusterTarget) -> ClusterOutcome {
    let started = Instant::now();
    let deadline = started + target.timeout;
    let n = target.nodes.len();
    let mut progress: Vec<Progress> = (0..n).map(|_| Progress::default()).collect();
    let mut conns: Vec<Option<Conn>> = (0..n).map(|_| None).collect();
    let mut connected = vec![None; n];
    // The connections get what the delivery does not need: a node whose presence
    // subscription never answers (sockudo without its Redis) is named, and the probes still
    // go through the public channel it did subscribe to.
    let checked = target.nodes.iter().all(|(_, t)| t.api.is_some());
    let need = target.pace * target.samples + target.sample_wait + Duration::from_millis(250);
    let half = started + target.timeout / 2;
    let connect_deadline = if checked {
        deadline.checked_sub(need).map_or(half, |d| d.max(half))
    } else {
        deadline
    };
    {
        let each = target
            .nodes
            .iter()
            .zip(progress.iter_mut())
            .zip(conns.iter_mut())
            .zip(connected.iter_mut())
            .map(|((((_, t), p), slot), done)| async move {
                *done = Some(connect(t, p, slot).await.is_ok());
            });
        let _ = timeout_at(connect_deadline, join_all(each)).await;
    }
    let timeout = humantime::format_duration(target.timeout);
    let why = if connect_deadline < deadline {
        format!(
            "no answer within the {} the connections are given (the rest of the --timeout \
             of {timeout} is the delivery's)",
            format_args!("{:.1}s", (connect_deadline - started).as_secs_f64())
        )
    } else {
        format!("no answer within the --timeout of {timeout}")
    };
    for (i, (_, t)) in target.nodes.iter().enumerate() {
        if connected[i].is_none() {
            let p = &mut progress[i];
            if p.open_started.is_some() && p.current.is_none() && conns[i].is_none() {
                p.open_steps(t, Some(why.clone()));
            } else {
                p.fail(why.clone());
            }
        }
    }
    // Subscribed to the public channel, the connection still open: it can take part in the
    // delivery, whatever came after.
    let live: Vec<usize> = (0..n)
        .filter(|&i| {
            conns[i].is_some()
                && progress[i]
                    .steps
                    .iter()
                    .any(|s| s.name == StepName::Subscribe && s.ok)
        })
        .collect();
    let mut notes: Vec<String> = Vec::new();
    for note in progress.iter().flat_map(|p| p.notes.iter()) {
        if !notes.contains(note) {
            notes.push(note.clone());
        }
    }
    let mut pairs = Vec::new();
    let mut delivery_step = None;
    let delivery = if !checked {
        notes.push(NO_API_NOTE.to_string());
        Delivery::NotChecked(NO_API.to_string())
    } else {
        let down: Vec<&str> = (0..n)
            .filter(|i| !live.contains(i))
            .map(|i| target.nodes[i].0.as_str())
            .collect();
        if !down.is_empty() {
            notes.push(format!(
                "delivery through and to node{} {}: not connected and subscribed to the public channel",
                if down.len() == 1 { "" } else { "s" },
                down.join(", ")
            ));
        }
        if !live.is_empty() {
            let mut matrix = Matrix::new(target, &live);
            delivery_step = Some(matrix.run(&mut conns, deadline).await);
            for (k, &i) in live.iter().enumerate() {
                progress[i].steps.push(matrix.publish_step(k));
                if let Some(why) = &matrix.lost_connection[k] {
                    progress[i].steps.push(Step {
                        name: StepName::Delivery,
                        ok: false,
                        duration: Duration::ZERO,
                        detail: why.clone(),
                    });
                }
            }
            pairs = matrix.pairs(Instant::now());
        }
        Delivery::Checked {
            planned: target.samples,
        }
    };
    join_all(conns.iter_mut().flatten().map(|conn| async move {
        let _ = tokio::time::timeout(CLOSE_GRACE, conn.close()).await;
    }))
    .await;
    ClusterOutcome {
        nodes: target
            .nodes
            .iter()
            .zip(progress)
            .map(|((name, t), p)| NodeOutcome {
                name: name.clone(),
                target: t.display.clone(),
                steps: p.steps,
            })
            .collect(),
        pairs,
        delivery,
        delivery_step,
        notes,
        total: started.elapsed(),
    }
}

/// The delivery among the live nodes (indices into `live`, not into every node).
struct Matrix<'a> {
    target: &'a ClusterTarget,
    live: &'a [usize],
    nonce: String,
    /// `[from][seq - 1]`: when the publish began.
    sent_at: Vec<Vec<Option<Instant>>>,
    /// `[from][seq - 1]`.
    answers: Vec<Vec<Answer>>,
    /// `[(from * m + to) * samples + seq - 1]`: the latency of a probe received in time.
    received: Vec<Option<Duration>>,
    /// Per live node, why its socket failed during the delivery.
    lost_connection: Vec<Option<String>>,
}

impl<'a> Matrix<'a> {
    fn new(target: &'a ClusterTarget, live: &'a [usize]) -> Matrix<'a> {
        let m = live.len();
        let samples = target.samples as usize;
        Matrix {
            target,
            live,
            nonce: format!("{:016x}", rand::random::<u64>()),
            sent_at: vec![vec![None; samples]; m],
            answers: vec![vec![Answer::Pending; samples]; m],
            received: vec![None; m * m * samples],
            lost_connection: vec![None; m],
        }
    }

    fn cell(&self, from: usize, to: usize, seq: u32) -> usize {
        let m = self.live.len();
        (from * m + to) * self.target.samples as usize + seq as usize - 1
    }

    /// The probes of round `seq` still awaited (published, not refused, not received).
    fn awaited(&self, seq: u32) -> usize {
        let m = self.live.len();
        let s = seq as usize - 1;
        (0..m)
            .filter(|&from| {
                self.sent_at[from][s].is_some()
                    && !matches!(self.answers[from][s], Answer::Refused(_))
            })
            .map(|from| {
                (0..m)
                    .filter(|&to| self.received[self.cell(from, to, seq)].is_none())
                    .count()
            })
            .sum()
    }

    fn on_receipt(&mut self, r: Receipt) {
        let Some(from) = self
            .live
            .iter()
            .position(|&i| self.target.nodes[i].0 == r.from)
        else {
            return;
        };
        if r.seq == 0 || r.seq > self.target.samples {
            return;
        }
        let Some(sent) = self.sent_at[from][r.seq as usize - 1] else {
            return;
        };
        let latency = r.at.saturating_duration_since(sent);
        if latency <= self.target.sample_wait {
            let cell = self.cell(from, r.to, r.seq);
            self.received[cell].get_or_insert(latency);
        }
    }

    /// Publish every round and gather what arrives, until every probe has arrived or is
    /// past its wait, and every API has answered or is past it; the `delivery` step.
    async fn run(&mut self, conns: &mut [Option<Conn>], deadline: Instant) -> Step {
        let started = Instant::now();
        let target = self.target;
        let channel = &target.nodes[self.live[0]].1.channel;
        let (receipts_tx, mut receipts) = mpsc::unbounded_channel::<Receipt>();
        let (answers_tx, mut answers) = mpsc::unbounded_channel::<(usize, u32, Answer)>();
        let (stop, stopped) = watch::channel(false);
        let mut readers = Vec::with_capacity(self.live.len());
        for (k, &i) in self.live.iter().enumerate() {
            let conn = conns[i].take().expect("a live node has its connection");
            readers.push(tokio::spawn(read(
                k,
                conn,
                channel.clone(),
                self.nonce.clone(),
                receipts_tx.clone(),
                stopped.clone(),
            )));
        }
        drop(receipts_tx);
        let mut timed_out = false;
        for seq in 1..=target.samples {
            for (k, &i) in self.live.iter().enumerate() {
                let api = target.nodes[i].1.api.clone().expect("checked before");
                let data = serde_json::json!({
                    "chanwatch_check": self.nonce,
                    "from": target.nodes[i].0,
                    "seq": seq,
                })
                .to_string();
                let channels = [channel.clone()];
                let answers = answers_tx.clone();
                let wait = target.sample_wait;
                let at = Instant::now();
                self.sent_at[k][seq as usize - 1] = Some(at);
                tokio::spawn(async move {
                    let answer = match tokio::time::timeout(
                        wait,
                        api.trigger(&channels, PROBE_EVENT, &data, None),
                    )
                    .await
                    {
                        Ok(Ok(())) => Answer::Accepted(at.elapsed()),
                        Ok(Err(e)) => Answer::Refused(e.to_string()),
                        Err(_) => Answer::Unanswered,
                    };
                    let _ = answers.send((k, seq, answer));
                });
            }
            // The round's probes everywhere, or the pace: then the next round.
            let until = (Instant::now() + target.pace).min(deadline);
            while self.awaited(seq) > 0 {
                tokio::select! {
                    Some(r) = receipts.recv() => self.on_receipt(r),
                    Some((k, s, a)) = answers.recv() => self.answers[k][s as usize - 1] = a,
                    _ = tokio::time::sleep_until(until) => break,
                }
            }
            if Instant::now() >= deadline {
                timed_out = true;
                break;
            }
        }
        drop(answers_tx);
        // The stragglers: every probe in or past its wait, every API answered or past it.
        if !timed_out {
            let last = self
                .sent_at
                .iter()
                .flatten()
                .flatten()
                .max()
                .copied()
                .unwrap_or(started);
            let until = last + target.sample_wait + Duration::from_millis(50);
            let end = until.min(deadline);
            loop {
                let pending = self
                    .answers
                    .iter()
                    .flatten()
                    .any(|a| matches!(a, Answer::Pending));
                let awaited: usize = (1..=target.samples).map(|s| self.awaited(s)).sum();
                if !pending && awaited == 0 {
                    break;
                }
                tokio::select! {
                    Some(r) = receipts.recv() => self.on_receipt(r),
                    Some((k, s, a)) = answers.recv() => self.answers[k][s as usize - 1] = a,
                    _ = tokio::time::sleep_until(end) => {
                        timed_out = end < until;
                        break;
                    }
                }
            }
        }
        while let Ok((k, s, a)) = answers.try_recv() {
            self.answers[k][s as usize - 1] = a;
        }
        let _ = stop.send(true);
        for (k, reader) in readers.into_iter().enumerate() {
            if let Ok((conn, lost)) = reader.await {
                conns[self.live[k]] = Some(conn);
                self.lost_connection[k] = lost;
            }
        }
        while let Ok(r) = receipts.try_recv() {
            self.on_receipt(r);
        }
        let duration = started.elapsed();
        if timed_out {
            return Step {
                name: StepName::Delivery,
                ok: false,
                duration,
                detail: format!(
                    "probes still awaited at the --timeout of {}",
                    humantime::format_duration(target.timeout)
                ),
            };
        }
        let received = self.received.iter().flatten().count();
        let sent: usize = self
            .pairs(Instant::now())
            .iter()
            .map(|p| p.samples.len())
            .sum();
        Step {
            name: StepName::Delivery,
            ok: true,
            duration,
            detail: format!(
                "{received}/{sent} probes published through {} node{} on {channel} arrived",
                self.live.len(),
                if self.live.len() == 1 { "" } else { "s" },
            ),
        }
    }

    /// Node `k`'s `publish` step: its HTTP API taking its probes.
    fn publish_step(&self, k: usize) -> Step {
        let answers = &self.answers[k];
        let planned = answers.len();
        let accepted: Vec<Duration> = answers
            .iter()
            .filter_map(|a| match a {
                Answer::Accepted(d) => Some(*d),
                _ => None,
            })
            .collect();
        let slowest = accepted.iter().max().copied().unwrap_or_default();
        let first_bad = answers
            .iter()
            .enumerate()
            .find(|(_, a)| !matches!(a, Answer::Accepted(_)));
        let wait = humantime::format_duration(self.target.sample_wait);
        match first_bad {
            None => Step {
                name: StepName::Publish,
                ok: true,
                duration: slowest,
                detail: format!("{planned}/{planned} probes accepted by its HTTP API"),
            },
            Some((s, answer)) => {
                let seq = s + 1;
                let detail = match answer {
                    Answer::Refused(e) => format!("the HTTP API did not take probe {seq}: {e}"),
                    _ => format!("the HTTP API did not answer probe {seq} within {wait}"),
                };
                let others = planned - accepted.len() - 1;
                let detail = if others > 0 {
                    format!("{detail} (and {others} more)")
                } else {
                    detail
                };
                Step {
                    name: StepName::Publish,
                    ok: false,
                    duration: if matches!(answer, Answer::Refused(_)) {
                        slowest
                    } else {
                        self.target.sample_wait
                    },
                    detail,
                }
            }
        }
    }

    /// Publisher by receiver, in node order: each probe published (not refused) whose fate
    /// is known at `now`, received in time or past its wait.
    fn pairs(&self, now: Instant) -> Vec<Pair> {
        let m = self.live.len();
        let mut pairs = Vec::with_capacity(m * m);
        for from in 0..m {
            for to in 0..m {
                let mut samples = Vec::new();
                for seq in 1..=self.target.samples {
                    let s = seq as usize - 1;
                    let Some(sent) = self.sent_at[from][s] else {
                        continue;
                    };
                    if matches!(self.answers[from][s], Answer::Refused(_)) {
                        continue;
                    }
                    match self.received[self.cell(from, to, seq)] {
                        Some(latency) => samples.push(PairSample {
                            seq,
                            latency: Some(latency),
                        }),
                        None if now.saturating_duration_since(sent) >= self.target.sample_wait => {
                            samples.push(PairSample { seq, latency: None });
                        }
                        None => {}
                    }
                }
                pairs.push(Pair {
                    from: self.target.nodes[self.live[from]].0.clone(),
                    to: self.target.nodes[self.live[to]].0.clone(),
                    samples,
                });
            }
        }
        pairs
    }
}

/// Node `to`'s socket during the delivery: every probe of this check it receives, until
/// stopped. Gives the connection back, with why it failed if it did.
async fn read(
    to: usize,
    mut conn: Conn,
    channel: String,
    nonce: String,
    receipts: mpsc::UnboundedSender<Receipt>,
    mut stop: watch::Receiver<bool>,
) -> (Conn, Option<String>) {
    loop {
        let frame = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return (conn, None),
            // Cancel-safe: what was read stays in the connection's buffer.
            frame = conn.next_frame() => frame,
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(why) => return (conn, Some(why)),
        };
        let at = Instant::now();
        if frame.event == "pusher:error" {
            return (conn, Some(super::pusher_error(&frame)));
        }
        if frame.event != PROBE_EVENT || frame.channel.as_deref() != Some(channel.as_str()) {
            continue;
        }
        if frame.data_field("chanwatch_check").and_then(|v| v.as_str()) != Some(&nonce) {
            continue;
        }
        let from = frame
            .data_field("from")
            .and_then(|v| v.as_str().map(str::to_string));
        let seq = frame
            .data_field("seq")
            .and_then(|v| v.as_u64())
            .and_then(|s| u32::try_from(s).ok());
        if let (Some(from), Some(seq)) = (from, seq) {
            let _ = receipts.send(Receipt { to, from, seq, at });
        }
    }
}
