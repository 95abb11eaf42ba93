//! How a check is printed: Nagios-style text (status line with perfdata, a line per step,
//! a verdict line) or one JSON document. Pure: an outcome and its verdict in, text out.

use super::verdict::{Delivery, LatencyStats, Outcome, Status, Thresholds, Verdict, human_ms};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;

#[path = "report_cluster.rs"]
pub mod cluster;

/// The plugin's name on the first line.
pub const NAME: &str = "CHANWATCH CHECK";

/// The text report: `CHANWATCH CHECK OK - summary | perfdata`, then one line per step,
/// the probes, what was not checked, and the verdict with its exit code.
pub fn text(outcome: &Outcome, verdict: &Verdict) -> String {
    let mut out = format!(
        "{NAME} {} - {} | {}\n",
        verdict.status.as_str(),
        one_line(&verdict.summary),
        verdict.perfdata
    );
    for step in &outcome.steps {
        let _ = writeln!(
            out,
            "{:<22} {:<6} {:>8}  {}",
            step.name.as_str(),
            if step.ok { "ok" } else { "FAILED" },
            human_ms(step.duration),
            one_line(&step.detail)
        );
    }
    for s in &outcome.samples {
        let publish = s.publish.map_or_else(|| "-".to_string(), human_ms);
        let latency = s.latency.map_or_else(|| "lost".to_string(), human_ms);
        let _ = writeln!(
            out,
            "  probe {:<3} latency {latency} (HTTP API accepted it in {publish})",
            s.seq
        );
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

/// A status line never spans lines: Nagios reads the first one.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

#[derive(Serialize)]
struct JsonReport<'a> {
    status: Status,
    exit_code: u8,
    summary: &'a str,
    target: &'a str,
    duration_ms: f64,
    steps: Vec<JsonStep<'a>>,
    delivery_checked: bool,
    samples: Vec<JsonSample>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<JsonLatency>,
    thresholds: JsonThresholds,
    reasons: &'a [String],
    notes: &'a [String],
    perfdata: &'a str,
}

#[derive(Serialize)]
struct JsonStep<'a> {
    name: &'static str,
    ok: bool,
    duration_ms: f64,
    detail: &'a str,
}

#[derive(Serialize)]
struct JsonSample {
    seq: u32,
    delivered: bool,
    latency_ms: Option<f64>,
    publish_ms: Option<f64>,
}

#[derive(Serialize)]
struct JsonLatency {
    min: f64,
    avg: f64,
    max: f64,
    delivered: u32,
    planned: u32,
    loss_percent: f64,
}

#[derive(Serialize)]
struct JsonThresholds {
    warn_latency_ms: f64,
    crit_latency_ms: f64,
    timeout_ms: f64,
}

fn ms(d: Duration) -> f64 {
    // Microsecond precision: more digits say nothing about a network.
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// The JSON report: one document, on one line.
pub fn json(
    outcome: &Outcome,
    verdict: &Verdict,
    thresholds: Thresholds,
    timeout: Duration,
) -> String {
    let stats = match outcome.delivery {
        Delivery::Checked { planned } => LatencyStats::of(&outcome.samples, planned),
        Delivery::NotChecked(_) => None,
    };
    let report = JsonReport {
        status: verdict.status,
        exit_code: verdict.status.exit_code(),
        summary: &verdict.summary,
        target: &outcome.target,
        duration_ms: ms(outcome.total),
        steps: outcome
            .steps
            .iter()
            .map(|s| JsonStep {
                name: s.name.as_str(),
                ok: s.ok,
                duration_ms: ms(s.duration),
                detail: &s.detail,
            })
            .collect(),
        delivery_checked: matches!(outcome.delivery, Delivery::Checked { .. }),
        samples: outcome
            .samples
            .iter()
            .map(|s| JsonSample {
                seq: s.seq,
                delivered: s.latency.is_some(),
                latency_ms: s.latency.map(ms),
                publish_ms: s.publish.map(ms),
            })
            .collect(),
        latency_ms: stats.map(|st| JsonLatency {
            min: ms(st.min),
            avg: ms(st.avg),
            max: ms(st.max),
            delivered: st.delivered,
            planned: st.planned,
            loss_percent: (st.loss_percent() * 1000.0).round() / 1000.0,
        }),
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

/// UNKNOWN: the check could not run as asked (a bad flag, a bad configuration). The same
/// two shapes as a run's report, so a monitor parses one format whatever happened.
pub fn unknown(message: &str, json: bool) -> String {
    let status = Status::Unknown;
    if json {
        let doc = serde_json::json!({
            "status": status,
            "exit_code": status.exit_code(),
            "summary": one_line(message),
            "steps": [],
            "samples": [],
            "reasons": [one_line(message)],
        });
        return format!("{doc}\n");
    }
    format!(
        "{NAME} UNKNOWN - {}\nverdict: UNKNOWN (exit {})\n",
        one_line(message),
        status.exit_code()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::verdict::{Sample, Step, StepName, judge};

    fn outcome() -> Outcome {
        Outcome {
            target: "127.0.0.1:6001".into(),
            steps: vec![
                Step {
                    name: StepName::Tcp,
                    ok: true,
                    duration: Duration::from_micros(250),
                    detail: "127.0.0.1:6001".into(),
                },
                Step {
                    name: StepName::Delivery,
                    ok: true,
                    duration: Duration::from_millis(4),
                    detail: "2/2 probes delivered".into(),
                },
            ],
            samples: vec![
                Sample {
                    seq: 1,
                    publish: Some(Duration::from_millis(1)),
                    latency: Some(Duration::from_micros(1500)),
                },
                Sample {
                    seq: 2,
                    publish: Some(Duration::from_millis(1)),
                    latency: None,
                },
            ],
            delivery: Delivery::Checked { planned: 2 },
            notes: vec!["private channels: no authorizer".into()],
            total: Duration::from_millis(9),
        }
    }

    const T: Thresholds = Thresholds {
        warn: Duration::from_millis(500),
        crit: Duration::from_secs(2),
    };

    #[test]
    fn the_text_starts_with_the_nagios_line_and_ends_with_the_verdict() {
        let o = outcome();
        let v = judge(&o, T);
        let text = text(&o, &v);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "CHANWATCH CHECK WARNING - 1 of 2 probes lost | time=9ms tcp=0.25ms delivery=4ms \
             latency_max=1.5ms;500;2000;0 latency_avg=1.5ms;;;0 loss=50%;0;;0;100 delivered=1;;;0;2"
        );
        assert!(
            lines[1].starts_with("tcp ")
                && lines[1].contains(" ok ")
                && lines[1].ends_with("0.2 ms  127.0.0.1:6001"),
            "{}",
            lines[1]
        );
        assert!(
            lines[3].contains("probe 1") && lines[3].contains("latency 1.5 ms"),
            "{}",
            lines[3]
        );
        assert!(
            lines[4].contains("probe 2") && lines[4].contains("latency lost"),
            "{}",
            lines[4]
        );
        assert_eq!(lines[5], "not checked: private channels: no authorizer");
        assert_eq!(lines[6], "verdict: WARNING (exit 1) in 9.0 ms");
        assert_eq!(lines.len(), 7);
    }

    #[test]
    fn the_json_has_every_field() {
        let o = outcome();
        let v = judge(&o, T);
        let doc: serde_json::Value =
            serde_json::from_str(&json(&o, &v, T, Duration::from_secs(10))).unwrap();
        assert_eq!(doc["status"], "WARNING");
        assert_eq!(doc["exit_code"], 1);
        assert_eq!(
            doc["steps"][0],
            serde_json::json!({"name": "tcp", "ok": true, "duration_ms": 0.25, "detail": "127.0.0.1:6001"})
        );
        assert_eq!(
            doc["samples"][1],
            serde_json::json!({"seq": 2, "delivered": false, "latency_ms": null, "publish_ms": 1.0})
        );
        assert_eq!(doc["latency_ms"]["max"], 1.5);
        assert_eq!(doc["latency_ms"]["loss_percent"], 50.0);
        assert_eq!(doc["thresholds"]["timeout_ms"], 10000.0);
        assert_eq!(doc["reasons"], serde_json::json!(["1 of 2 probes lost"]));
        assert_eq!(doc["delivery_checked"], true);
    }

    #[test]
    fn unknown_is_one_status_line_in_either_shape() {
        let text = unknown(
            "error: unexpected argument '--bogus'\n\nUsage: chanwatch check",
            false,
        );
        assert!(text.starts_with("CHANWATCH CHECK UNKNOWN - error: unexpected argument '--bogus' / Usage: chanwatch check\n"), "{text}");
        let doc: serde_json::Value = serde_json::from_str(&unknown("bad", true)).unwrap();
        assert_eq!(
            (doc["status"].as_str(), doc["exit_code"].as_u64()),
            (Some("UNKNOWN"), Some(3))
        );
    }
}
