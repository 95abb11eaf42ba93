//! `chanwatch check`: one connection, timed step by step, judged and reported in the Nagios
//! plugin convention (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), for CI, cron,
//! Kubernetes probes and monitors. With several `--node`s, every node is checked the same
//! way at once, then probes published through each node's HTTP API are timed on every
//! node's socket, pair by pair (`runner::cluster`, `verdict::cluster`, `report::cluster`).
//!
//! The session's own setup is used ([`crate::setup::from_cli`]: flags, config file,
//! profiles, environment), so a check sees exactly the server, credentials and trust the
//! dashboard would. [`runner`] does the I/O, [`verdict`] judges with no I/O, [`report`]
//! prints.

pub mod report;
pub mod runner;
pub mod verdict;

use crate::cli::Cli;
use crate::cli::check::{CheckArgs, CheckOptions};
use verdict::{Status, Thresholds};

/// What to print on stdout, and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub text: String,
    pub exit_code: u8,
}

impl Report {
    /// UNKNOWN: the check could not run as asked.
    pub fn unknown(message: &str, json: bool) -> Report {
        Report {
            text: report::unknown(message, json),
            exit_code: Status::Unknown.exit_code(),
        }
    }
}

/// Set up from the flags and configuration, run the check, judge and format it.
pub async fn run(cli: &Cli, args: &CheckArgs) -> Report {
    let options = match args.options() {
        Ok(o) => o,
        Err(message) => return Report::unknown(&message, args.json),
    };
    // A configuration error's message names the flag, variable or file line, never a secret.
    let setup = match crate::setup::from_cli(cli) {
        Ok(s) => s,
        Err(e) => return Report::unknown(&format!("{e:#}"), options.json),
    };
    let thresholds = Thresholds {
        warn: options.warn_latency,
        crit: options.crit_latency,
    };
    if !setup.nodes.is_empty() {
        return run_cluster(&setup, &options, thresholds).await;
    }
    let target = match target(&setup.client, &setup.auth, &setup.api, &options) {
        Ok(t) => t,
        Err(message) => return Report::unknown(&message, options.json),
    };
    let outcome = runner::run(&target).await;
    let verdict = verdict::judge(&outcome, thresholds);
    let text = if options.json {
        report::json(&outcome, &verdict, thresholds, options.timeout)
    } else {
        report::text(&outcome, &verdict)
    };
    Report {
        text,
        exit_code: verdict.status.exit_code(),
    }
}

/// Several nodes (`--node`, twice or more): each connected and subscribed, then the delivery
/// matrix through every node's HTTP API to every node's socket.
async fn run_cluster(
    setup: &crate::setup::Setup,
    options: &CheckOptions,
    thresholds: Thresholds,
) -> Report {
    let mut nodes = Vec::with_capacity(setup.nodes.len());
    for node in &setup.nodes {
        match target(&node.client, &node.auth, &node.api, options) {
            Ok(t) => nodes.push((node.name.to_string(), t)),
            Err(message) => {
                return Report::unknown(&format!("node {}: {message}", node.name), options.json);
            }
        }
    }
    let target = runner::cluster::ClusterTarget {
        nodes,
        samples: options.samples,
        sample_wait: options.crit_latency * 2,
        // A round's probes are given until a slow one would warn, then the next round is
        // published: a pair that delivers nothing costs one probe wait, not one per probe.
        pace: options.warn_latency,
        timeout: options.timeout,
    };
    let outcome = runner::cluster::run(&target).await;
    let verdict = verdict::cluster::judge(&outcome, thresholds);
    let text = if options.json {
        report::cluster::json(&outcome, &verdict, thresholds, options.timeout)
    } else {
        report::cluster::text(&outcome, &verdict)
    };
    Report {
        text,
        exit_code: verdict.status.exit_code(),
    }
}

/// Where to connect and with what, from one connection's (or one node's) setup. The first
/// URL the transports allow is the one checked.
fn target(
    client: &chanwatch_core::client::ClientConfig,
    auth: &std::sync::Arc<dyn chanwatch_core::client::AuthProvider>,
    api: &Option<chanwatch_core::http_api::HttpApi>,
    options: &CheckOptions,
) -> Result<runner::Target, String> {
    let endpoint = &client.machine.endpoint;
    let Some((_, url)) = endpoint.candidates().into_iter().next() else {
        return Err(
            "no transport left to connect with: --enabled-transports and \
             --disabled-transports rule out both ws and wss"
                .to_string(),
        );
    };
    let secure = url.starts_with("wss:");
    let port = if secure {
        endpoint.wss_port
    } else {
        endpoint.ws_port
    };
    let host = if endpoint.host.contains(':') {
        format!(
            "[{}]",
            endpoint.host.trim_start_matches('[').trim_end_matches(']')
        )
    } else {
        endpoint.host.clone()
    };
    Ok(runner::Target {
        url,
        display: format!("{}://{host}:{port}", if secure { "wss" } else { "ws" }),
        host: endpoint.host.clone(),
        dial: client.dial.clone(),
        auth: auth.clone(),
        api: api.clone(),
        channel: options.channel.clone(),
        presence: options.presence,
        samples: options.samples,
        // Later than the critical threshold still counts as delivered (and is critical);
        // only much later is lost.
        sample_wait: options.crit_latency * 2,
        timeout: options.timeout,
    })
}
