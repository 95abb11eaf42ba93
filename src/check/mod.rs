//! `chanwatch check`: one connection, timed step by step, judged and reported in the Nagios
//! plugin convention (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), for CI, cron,
//! Kubernetes probes and monitors.
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
    let target = match target(&setup, &options) {
        Ok(t) => t,
        Err(message) => return Report::unknown(&message, options.json),
    };
    let outcome = runner::run(&target).await;
    let thresholds = Thresholds {
        warn: options.warn_latency,
        crit: options.crit_latency,
    };
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

/// Where to connect and with what, from the session's setup. The first URL the transports
/// allow is the one checked.
fn target(setup: &crate::setup::Setup, options: &CheckOptions) -> Result<runner::Target, String> {
    let endpoint = &setup.client.machine.endpoint;
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
        dial: setup.client.dial.clone(),
        auth: setup.auth.clone(),
        api: setup.api.clone(),
        channel: options.channel.clone(),
        presence: options.presence,
        samples: options.samples,
        // Later than the critical threshold still counts as delivered (and is critical);
        // only much later is lost.
        sample_wait: options.crit_latency * 2,
        timeout: options.timeout,
    })
}
