//! Flags of the live measures: the latency probe, the occupancy poll and `stats` records.

use crate::config::{self, MeasuresLayer, Probe};
use crate::probe::{DEFAULT_INTERVAL, ProbeConfig};
use crate::session::measures::{DEFAULT_OCCUPANCY_INTERVAL, MeasuresOptions};
use clap::Args;
use std::time::Duration;

#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Measures")]
pub struct MeasureArgs {
    /// End-to-end latency probe: publish a small event through the HTTP API every INTERVAL
    /// [default: 1s] and time its arrival here (needs the app id and secret; on in the demo).
    #[arg(long, global = true, value_name = "INTERVAL", num_args = 0..=1,
          default_missing_value = "1s", value_parser = config::measures::parse_probe_interval)]
    pub probe: Option<Duration>,
    /// No latency probe, not even in the demo.
    #[arg(long, global = true, conflicts_with = "probe")]
    pub no_probe: bool,
    /// The channel probes go through, subscribed automatically [default: chanwatch-probe].
    #[arg(long, global = true, value_name = "CHANNEL", value_parser = config::check_channel)]
    pub probe_channel: Option<String>,
    /// Show probe events in the log and the record stream (hidden by default).
    #[arg(long, global = true)]
    pub show_probe: bool,
    /// Poll the HTTP API for occupied channels and their counts this often [default: 5s;
    /// at least 1s]: in the dashboard while its occupancy view is open; headless only when
    /// given. With several --node, also how often the nodes' APIs are compared (always on).
    #[arg(long, global = true, value_name = "DURATION",
          value_parser = config::measures::parse_occupancy_interval)]
    pub occupancy_interval: Option<Duration>,
    /// Emit a `stats` record this often (headless; off by default; at least 1s).
    #[arg(long, global = true, value_name = "DURATION",
          value_parser = config::measures::parse_stats_interval)]
    pub stats_interval: Option<Duration>,
    /// Serve Prometheus metrics at http://ADDR/metrics (OpenMetrics on request), readiness
    /// at /ready (200 while connected); ADDR is IP:PORT, port 0 picks one (said on stderr).
    #[arg(long, global = true, value_name = "ADDR",
          value_parser = config::measures::parse_listen_addr)]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl MeasureArgs {
    /// The flags as a config layer, which wins over the file's `[measures]`.
    pub fn layer(&self) -> Option<MeasuresLayer> {
        let probe = match (self.no_probe, self.probe) {
            (true, _) => Some(Probe::Off),
            (false, Some(d)) => Some(Probe::Every(d)),
            (false, None) => None,
        };
        let layer = MeasuresLayer {
            probe,
            probe_channel: self.probe_channel.clone(),
            show_probe: self.show_probe.then_some(true),
            occupancy_interval: self.occupancy_interval,
            stats_interval: self.stats_interval,
            metrics_listen: self.metrics_listen,
        };
        (!layer.is_empty()).then_some(layer)
    }

    /// The session's options from the flags alone (`chanwatch demo` reads no config file
    /// for these); see [`options`].
    pub fn options(&self, demo: bool, headless: bool) -> MeasuresOptions {
        options(&self.layer().unwrap_or_default(), demo, headless)
    }
}

/// The session's options from merged settings. `demo`: the probe is on unless turned off.
/// `headless`: the occupancy poll starts at once when an interval is set.
pub fn options(m: &MeasuresLayer, demo: bool, headless: bool) -> MeasuresOptions {
    let interval = match m.probe {
        Some(Probe::Every(d)) => Some(d),
        Some(Probe::Off) => None,
        None if demo => Some(DEFAULT_INTERVAL),
        None => None,
    };
    let probe = interval.map(|interval| {
        let mut p = ProbeConfig::new(interval);
        if let Some(c) = &m.probe_channel {
            p.channel = c.clone();
        }
        p.show = m.show_probe.unwrap_or(false);
        p
    });
    MeasuresOptions {
        probe,
        occupancy_interval: m.occupancy_interval.unwrap_or(DEFAULT_OCCUPANCY_INTERVAL),
        occupancy_at_start: headless && m.occupancy_interval.is_some(),
        stats_interval: m.stats_interval,
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::Cli;
    use clap::Parser;
    use std::time::Duration;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("chanwatch").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn probe_flags() {
        let o = parse(&["--probe", "--key", "k"])
            .measures
            .options(false, true);
        assert_eq!(o.probe.unwrap().interval, Duration::from_secs(1));
        let o = parse(&["--probe", "250ms"]).measures.options(false, false);
        assert_eq!(o.probe.unwrap().interval, Duration::from_millis(250));
        assert!(parse(&[]).measures.options(false, false).probe.is_none());
        let demo = parse(&["demo"]).measures.options(true, false);
        assert_eq!(demo.probe.unwrap().channel, "chanwatch-probe");
        assert!(
            parse(&["demo", "--no-probe"])
                .measures
                .options(true, false)
                .probe
                .is_none()
        );
        let c = parse(&["demo", "--probe-channel", "p2", "--show-probe"])
            .measures
            .options(true, false);
        assert!(c.probe.as_ref().unwrap().show);
        assert_eq!(c.probe.unwrap().channel, "p2");
        assert!(Cli::try_parse_from(["chanwatch", "--probe", "10ms"]).is_err());
    }

    #[test]
    fn occupancy_and_stats_flags() {
        let o = parse(&["--occupancy-interval", "2s", "--stats-interval", "1s"])
            .measures
            .options(false, true);
        assert!(o.occupancy_at_start);
        assert_eq!(o.occupancy_interval, Duration::from_secs(2));
        assert_eq!(o.stats_interval, Some(Duration::from_secs(1)));
        let o = parse(&["--occupancy-interval", "2s"])
            .measures
            .options(false, false);
        assert!(
            !o.occupancy_at_start,
            "the dashboard polls only while the view is open"
        );
        assert_eq!(
            parse(&[]).measures.options(false, true).stats_interval,
            None
        );
    }

    #[test]
    fn occupancy_and_stats_intervals_have_a_floor() {
        for flag in ["--occupancy-interval", "--stats-interval"] {
            for too_short in ["1ms", "999ms"] {
                let e = Cli::try_parse_from(["chanwatch", flag, too_short]).unwrap_err();
                let shown = e.to_string();
                assert!(shown.contains(flag), "{shown}");
                assert!(shown.contains("must be at least 1s"), "{shown}");
            }
            assert!(Cli::try_parse_from(["chanwatch", flag, "1s"]).is_ok());
        }
        // The demo takes the same global flags.
        assert!(Cli::try_parse_from(["chanwatch", "demo", "--occupancy-interval", "1ms"]).is_err());
    }
}
