//! `chanwatch check` and its options: a one-shot health check for monitors, cron and probes.

use crate::config;
use chanwatch_core::protocol::channel::ChannelKind;
use clap::Args;
use std::time::Duration;

/// The public channel subscribed to and published through when `--channel` is not given.
pub const DEFAULT_CHANNEL: &str = "chanwatch-check";
pub const DEFAULT_SAMPLES: u32 = 3;
pub const MAX_SAMPLES: u32 = 100;
pub const DEFAULT_WARN_LATENCY: Duration = Duration::from_millis(500);
pub const DEFAULT_CRIT_LATENCY: Duration = Duration::from_secs(2);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The public channel to subscribe to and publish the probes through; its private- and
    /// presence- twins are checked too when channels can be authorized [default:
    /// chanwatch-check].
    #[arg(long, value_name = "CHANNEL", value_parser = parse_public_channel)]
    pub channel: Option<String>,
    /// Do not check the presence- twin (for an auth endpoint that authorizes private
    /// channels only).
    #[arg(long)]
    pub no_presence: bool,
    /// How many probe messages to publish through the HTTP API and time on the socket
    /// (1 to 100) [default: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_SAMPLES as i64))]
    pub samples: Option<u32>,
    /// A probe slower than this is a WARNING [default: 500ms].
    #[arg(long, value_name = "DURATION", value_parser = config::parse_duration)]
    pub warn_latency: Option<Duration>,
    /// A probe slower than this is CRITICAL [default: 2s].
    #[arg(long, value_name = "DURATION", value_parser = config::parse_duration)]
    pub crit_latency: Option<Duration>,
    /// The whole check's time limit; a step still running then is CRITICAL [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = config::parse_duration)]
    pub timeout: Option<Duration>,
    /// Print one JSON document instead of the Nagios-style text.
    #[arg(long)]
    pub json: bool,
}

/// [`CheckArgs`] with the defaults filled in and checked against each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    pub channel: String,
    pub presence: bool,
    pub samples: u32,
    pub warn_latency: Duration,
    pub crit_latency: Duration,
    pub timeout: Duration,
    pub json: bool,
}

impl CheckArgs {
    /// The options in force, or the usage error to report (exit 3, UNKNOWN).
    pub fn options(&self) -> Result<CheckOptions, String> {
        let options = CheckOptions {
            channel: self
                .channel
                .clone()
                .unwrap_or_else(|| DEFAULT_CHANNEL.to_string()),
            presence: !self.no_presence,
            samples: self.samples.unwrap_or(DEFAULT_SAMPLES),
            warn_latency: self.warn_latency.unwrap_or(DEFAULT_WARN_LATENCY),
            crit_latency: self.crit_latency.unwrap_or(DEFAULT_CRIT_LATENCY),
            timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            json: self.json,
        };
        if options.warn_latency > options.crit_latency {
            return Err(format!(
                "--warn-latency ({}) is over --crit-latency ({}): a probe would be critical \
                 before it could warn",
                humantime::format_duration(options.warn_latency),
                humantime::format_duration(options.crit_latency)
            ));
        }
        Ok(options)
    }
}

/// Whether `args` (the program's, name first) ask for `chanwatch check`, read as far as
/// clap can when they do not parse, so that a bad flag given to `check` is reported the way
/// a monitor expects.
pub fn is_check_command<I, T>(command: clap::Command, args: I) -> bool
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    command
        .ignore_errors(true)
        .try_get_matches_from(args)
        .is_ok_and(|m| m.subcommand_name() == Some("check"))
}

/// The probes go through a public channel, so that checking delivery needs no authorizer.
fn parse_public_channel(s: &str) -> Result<String, String> {
    let name = config::check_channel(s)?;
    match ChannelKind::of(&name) {
        ChannelKind::Public => {
            // Its twins must be valid names too (the length limit).
            config::check_channel(&format!("presence-{name}"))
                .map_err(|e| format!("presence-{name}, its presence twin: {e}"))?;
            Ok(name)
        }
        _ => Err(format!(
            "\"{name}\" is not a public channel: give a name without the private- or \
             presence- prefix (its private- and presence- twins are checked when they can be \
             authorized)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> CheckArgs {
        CheckArgs {
            channel: None,
            no_presence: false,
            samples: None,
            warn_latency: None,
            crit_latency: None,
            timeout: None,
            json: false,
        }
    }

    #[test]
    fn defaults_fill_in() {
        let o = args().options().unwrap();
        assert_eq!(o.channel, DEFAULT_CHANNEL);
        assert_eq!(o.samples, 3);
        assert_eq!(o.warn_latency, Duration::from_millis(500));
        assert_eq!(o.crit_latency, Duration::from_secs(2));
        assert_eq!(o.timeout, Duration::from_secs(10));
    }

    #[test]
    fn a_warning_over_the_critical_threshold_is_refused() {
        let mut a = args();
        a.warn_latency = Some(Duration::from_secs(3));
        let e = a.options().unwrap_err();
        assert!(
            e.contains("--warn-latency (3s)") && e.contains("--crit-latency (2s)"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_flag_given_to_check_is_still_known_as_check() {
        use clap::CommandFactory;
        let is_check =
            |args: &[&str]| is_check_command(crate::cli::Cli::command(), args.iter().copied());
        assert!(is_check(&["chanwatch", "check", "--bogus"]));
        assert!(is_check(&["chanwatch", "check", "--samples", "many"]));
        assert!(is_check(&[
            "chanwatch",
            "--key",
            "k",
            "check",
            "--timeout",
            "soon"
        ]));
        assert!(is_check(&["chanwatch", "check", "--channel", "private-x"]));
        assert!(!is_check(&["chanwatch", "--bogus"]));
        assert!(!is_check(&["chanwatch", "demo", "--bogus"]));
        assert!(!is_check(&["chanwatch", "replay"]));
    }

    #[test]
    fn only_public_channels_carry_the_probes() {
        assert_eq!(parse_public_channel("health").unwrap(), "health");
        for name in ["private-x", "presence-x", "private-encrypted-x"] {
            assert!(
                parse_public_channel(name)
                    .unwrap_err()
                    .contains("not a public"),
                "{name}"
            );
        }
        assert!(parse_public_channel("").is_err());
        // Long enough alone, too long with the presence- prefix.
        let long = "a".repeat(193);
        assert!(
            parse_public_channel(&long)
                .unwrap_err()
                .contains("presence twin")
        );
    }
}
