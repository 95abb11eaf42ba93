//! How a check of several nodes is printed: the status line with perfdata, a line per step
//! of each node (its name first), the delivery, a line per publisher/receiver pair, what was
//! not checked and the verdict; or one JSON document with the nodes and the pairs. Pure.

use super::{JsonStep, JsonThresholds, NAME, ms, one_line};
use crate::check::verdict::cluster::{ClusterOutcome, PairStats, pair_name};
use crate::check::verdict::{Delivery, Status, Step, Thresholds, Verdict, human_ms};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;

fn step_line(out: &mut String, prefix: &str, step: &Step) {
    let _ = writeln!(
        out,
        "{prefix}{:<22} {:<6} {:>8}  {}",
        step.name.as_str(),
        if step.ok { "ok" } else { "FAILED" },
        human_ms(step.duration),
        one_line(&step.detail)
    );
}

/// The text report.
pub fn text(outcome: &ClusterOutcome, verdict: &Verdict) -> String {
    let mut out = format!(
        "{NAME} {} - {} | {}\n",
        verdict.status.as_str(),
        one_line(&verdict.summary),
        verdict.perfdata
    );
    let width = outcome
        .nodes
        .iter()
        .map(|n| n.name.len())
        .max()
        .unwrap_or(0);
    for node in &outcome.nodes {
        let prefix = format!("{:<width$}  ", node.name);
        for step in &node.steps {
            step_line(&mut out, &prefix, step);
        }
    }
    if let Some(step) = &outcome.delivery_step {
        step_line(&mut out, &format!("{:<width$}  ", ""), step);
    }
    let pair_width = outcome
        .pairs
        .iter()
        .map(|p| p.from.len() + p.to.len() + 2)
        .max()
        .unwrap_or(0);
    for pair in &outcome.pairs {
        let st = PairStats::of(pair);
        let mut line = format!(
            "pair {:<pair_width$}  delivered {}/{}",
            pair_name(pair),
            st.received,
            st.sent
        );
        if let (Some(p50), Some(p99)) = (st.p50, st.p99) {
            let _ = write!(line, "  p50 {}  p99 {}", human_ms(p50), human_ms(p99));
        }
        if st.sent > 0 {
            let _ = write!(line, "  loss {:.0}%", st.loss_percent());
        }
        let _ = writeln!(out, "{line}");
    }
    for note in &outcome.notes {
        let _ = writeln!(out, "not checked: {}", one_line(note));
    }
    let _ = writeln!(
        out,
        "verdict: {} (exit {}) in {}",
        verdict.status.as_str(),
        verdict.status.exit_code(),
        human_ms(outcome.total)
    );
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    status: Status,
    exit_code: u8,
    summary: &'a str,
    target: String,
    duration_ms: f64,
    nodes: Vec<JsonNode<'a>>,
    delivery_checked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<JsonStep<'a>>,
    pairs: Vec<JsonPair>,
    thresholds: JsonThresholds,
    reasons: &'a [String],
    notes: &'a [String],
    perfdata: &'a str,
}

#[derive(Serialize)]
struct JsonNode<'a> {
    name: &'a str,
    target: &'a str,
    /// Connected and subscribed.
    connected: bool,
    steps: Vec<JsonStep<'a>>,
}

#[derive(Serialize)]
struct JsonPair {
    from: String,
    to: String,
    sent: u32,
    received: u32,
    loss_percent: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    max_ms: Option<f64>,
    samples: Vec<JsonPairSample>,
}

#[derive(Serialize)]
struct JsonPairSample {
    seq: u32,
    delivered: bool,
    latency_ms: Option<f64>,
}

fn json_step(s: &Step) -> JsonStep<'_> {
    JsonStep {
        name: s.name.as_str(),
        ok: s.ok,
        duration_ms: ms(s.duration),
        detail: &s.detail,
    }
}

/// The JSON report: one document, on one line.
pub fn json(
    outcome: &ClusterOutcome,
    verdict: &Verdict,
    thresholds: Thresholds,
    timeout: Duration,
) -> String {
    let report = JsonReport {
        status: verdict.status,
        exit_code: verdict.status.exit_code(),
        summary: &verdict.summary,
        target: outcome.target(),
        duration_ms: ms(outcome.total),
        nodes: outcome
            .nodes
            .iter()
            .map(|n| JsonNode {
                name: &n.name,
                target: &n.target,
                connected: n.connected(),
                steps: n.steps.iter().map(json_step).collect(),
            })
            .collect(),
        delivery_checked: matches!(outcome.delivery, Delivery::Checked { .. }),
        delivery: outcome.delivery_step.as_ref().map(json_step),
        pairs: outcome
            .pairs
            .iter()
            .map(|p| {
                let st = PairStats::of(p);
                JsonPair {
                    from: p.from.clone(),
                    to: p.to.clone(),
                    sent: st.sent,
                    received: st.received,
                    loss_percent: (st.loss_percent() * 1000.0).round() / 1000.0,
                    p50_ms: st.p50.map(ms),
                    p99_ms: st.p99.map(ms),
                    max_ms: st.max.map(ms),
                    samples: p
                        .samples
                        .iter()
                        .map(|s| JsonPairSample {
                            seq: s.seq,
                            delivered: s.latency.is_some(),
                            latency_ms: s.latency.map(ms),
                        })
                        .collect(),
                }
            })
            .collect(),
        thresholds: JsonThresholds {
            warn_latency_ms: ms(thresholds.warn),
            crit_latency_ms: ms(thresholds.crit),
            timeout_ms: ms(timeout),
        },
        reasons: &verdict.reasons,
        notes: &outcome.notes,
        perfdata: &verdict.perfdata,
    };
    let mut text = serde_json::to_string(&report).expect("the report serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::verdict::StepName;
    use crate::check::verdict::cluster::{NodeOutcome, Pair, PairSample, judge};

    const T: Thresholds = Thresholds {
        warn: Duration::from_millis(500),
        crit: Duration::from_secs(2),
    };

    fn step(name: StepName, us: u64, ok: bool, detail: &str) -> Step {
        Step {
            name,
            ok,
            duration: Duration::from_micros(us),
            detail: detail.into(),
        }
    }

    fn outcome() -> ClusterOutcome {
        let node = |name: &str, port: u16| NodeOutcome {
            name: name.into(),
            target: format!("ws://127.0.0.1:{port}"),
            steps: vec![
                step(StepName::Tcp, 300, true, "connected"),
                step(StepName::ConnectionEstablished, 100, true, "socket id 1.2"),
                step(StepName::Subscribe, 200, true, "chanwatch-check"),
                step(
                    StepName::Publish,
                    1500,
                    true,
                    "2/2 probes accepted by its HTTP API",
                ),
            ],
        };
        let sample = |seq, us: Option<u64>| PairSample {
            seq,
            latency: us.map(Duration::from_micros),
        };
        let pair = |from: &str, to: &str, samples| Pair {
            from: from.into(),
            to: to.into(),
            samples,
        };
        ClusterOutcome {
            nodes: vec![node("a", 6001), node("bb", 6002)],
            pairs: vec![
                pair("a", "a", vec![sample(1, Some(1000)), sample(2, Some(1200))]),
                pair("a", "bb", vec![sample(1, Some(2000)), sample(2, None)]),
                pair(
                    "bb",
                    "a",
                    vec![sample(1, Some(2500)), sample(2, Some(2600))],
                ),
                pair("bb", "bb", vec![sample(1, Some(900)), sample(2, Some(800))]),
            ],
            delivery: Delivery::Checked { planned: 2 },
            delivery_step: Some(step(
                StepName::Delivery,
                9000,
                true,
                "7/8 probes published through 2 nodes on chanwatch-check arrived",
            )),
            notes: vec![],
            total: Duration::from_millis(12),
        }
    }

    #[test]
    fn the_text_has_a_line_per_node_step_and_per_pair() {
        let o = outcome();
        let v = judge(&o, T);
        let text = text(&o, &v);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("CHANWATCH CHECK WARNING - probes lost on a->bb (1 of 2) | time=12ms 'a_connect'=0.4ms"),
            "{}",
            lines[0]
        );
        assert_eq!(
            lines[1],
            "a   tcp                    ok       0.3 ms  connected"
        );
        assert_eq!(
            lines[5],
            "bb  tcp                    ok       0.3 ms  connected"
        );
        assert_eq!(
            lines[8],
            "bb  publish                ok       1.5 ms  2/2 probes accepted by its HTTP API"
        );
        assert_eq!(
            lines[9],
            "    delivery               ok       9.0 ms  7/8 probes published through 2 nodes on chanwatch-check arrived"
        );
        assert_eq!(
            lines[10],
            "pair a->a    delivered 2/2  p50 1.0 ms  p99 1.2 ms  loss 0%"
        );
        assert_eq!(
            lines[11],
            "pair a->bb   delivered 1/2  p50 2.0 ms  p99 2.0 ms  loss 50%"
        );
        assert_eq!(lines[14], "verdict: WARNING (exit 1) in 12 ms");
        assert_eq!(lines.len(), 15);
    }

    #[test]
    fn the_json_has_the_nodes_and_the_pairs() {
        let o = outcome();
        let v = judge(&o, T);
        let doc: serde_json::Value =
            serde_json::from_str(&json(&o, &v, T, Duration::from_secs(10))).unwrap();
        assert_eq!(doc["status"], "WARNING");
        assert_eq!(doc["exit_code"], 1);
        assert_eq!(
            doc["target"],
            "2 nodes: a=ws://127.0.0.1:6001 bb=ws://127.0.0.1:6002"
        );
        assert_eq!(doc["nodes"][1]["name"], "bb");
        assert_eq!(doc["nodes"][1]["connected"], true);
        assert_eq!(doc["nodes"][1]["steps"][3]["name"], "publish");
        assert_eq!(doc["delivery"]["ok"], true);
        assert_eq!(doc["pairs"].as_array().unwrap().len(), 4);
        assert_eq!(
            doc["pairs"][1],
            serde_json::json!({
                "from": "a", "to": "bb", "sent": 2, "received": 1, "loss_percent": 50.0,
                "p50_ms": 2.0, "p99_ms": 2.0, "max_ms": 2.0,
                "samples": [
                    {"seq": 1, "delivered": true, "latency_ms": 2.0},
                    {"seq": 2, "delivered": false, "latency_ms": null}
                ]
            })
        );
        assert_eq!(
            doc["reasons"],
            serde_json::json!(["probes lost on a->bb (1 of 2)"])
        );
        assert_eq!(doc["delivery_checked"], true);
        assert_eq!(doc["perfdata"], v.perfdata.as_str());
    }
}
