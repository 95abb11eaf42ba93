//! The `[measures]` table: the latency probe, the occupancy poll and `stats` records, the
//! same settings as the flags `--probe`, `--no-probe`, `--probe-channel`, `--show-probe`,
//! `--occupancy-interval` and `--stats-interval`, which win over it.
//!
//! ```toml
//! [measures]
//! probe = "2s"              # or true (every second), or false (off, even in the demo)
//! probe_channel = "chanwatch-probe"
//! show_probe = false
//! occupancy_interval = "5s"  # at least 1s
//! stats_interval = "10s"     # at least 1s
//! metrics_listen = "127.0.0.1:9464"   # serve Prometheus metrics there (off by default)
//! ```

use super::values::{check_channel, parse_duration};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Below this, probing would mostly measure itself (and load the server's API).
pub const MIN_PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// Each occupancy poll is one or more HTTP API requests: polling faster would load the
/// server's API for counts that a person reads at most once a second.
pub const MIN_OCCUPANCY_INTERVAL: Duration = Duration::from_secs(1);

/// `stats` rates are per complete second: a shorter interval would repeat the same numbers
/// (a `stats` record carries every channel's rates, so that would flood stdout too).
pub const MIN_STATS_INTERVAL: Duration = Duration::from_secs(1);

/// What `probe = ...` (or `--probe` / `--no-probe`) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Off,
    Every(Duration),
}

/// One layer's measures settings; each unset value falls through to the layer below.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasuresLayer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "channel"
    )]
    pub probe_channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_probe: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "occupancy_interval",
        serialize_with = "human"
    )]
    pub occupancy_interval: Option<Duration>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "stats_interval",
        serialize_with = "human"
    )]
    pub stats_interval: Option<Duration>,
    /// Serve Prometheus metrics on this address (`--metrics-listen`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "socket_addr"
    )]
    pub metrics_listen: Option<SocketAddr>,
}

impl MeasuresLayer {
    /// `self` over `lower`, value by value.
    pub fn over(self, lower: MeasuresLayer) -> MeasuresLayer {
        MeasuresLayer {
            probe: self.probe.or(lower.probe),
            probe_channel: self.probe_channel.or(lower.probe_channel),
            show_probe: self.show_probe.or(lower.show_probe),
            occupancy_interval: self.occupancy_interval.or(lower.occupancy_interval),
            stats_interval: self.stats_interval.or(lower.stats_interval),
            metrics_listen: self.metrics_listen.or(lower.metrics_listen),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == MeasuresLayer::default()
    }
}

/// A probe interval as a flag or the file writes it: a duration of at least 100ms.
pub fn parse_probe_interval(s: &str) -> Result<Duration, String> {
    at_least(s, MIN_PROBE_INTERVAL)
}

/// An occupancy poll interval as a flag or the file writes it: at least 1s.
pub fn parse_occupancy_interval(s: &str) -> Result<Duration, String> {
    at_least(s, MIN_OCCUPANCY_INTERVAL)
}

/// A `stats` record interval as a flag or the file writes it: at least 1s.
pub fn parse_stats_interval(s: &str) -> Result<Duration, String> {
    at_least(s, MIN_STATS_INTERVAL)
}

fn at_least(s: &str, min: Duration) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < min {
        return Err(format!(
            "must be at least {}",
            humantime::format_duration(min)
        ));
    }
    Ok(d)
}

impl Serialize for Probe {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Probe::Off => s.serialize_bool(false),
            Probe::Every(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Probe, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Probe;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an interval such as \"2s\", true (every second) or false (off)")
            }
            fn visit_bool<E: de::Error>(self, on: bool) -> Result<Probe, E> {
                Ok(if on {
                    Probe::Every(crate::probe::DEFAULT_INTERVAL)
                } else {
                    Probe::Off
                })
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Probe, E> {
                parse_probe_interval(s).map(Probe::Every).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

fn channel<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    check_channel(&String::deserialize(d)?)
        .map(Some)
        .map_err(de::Error::custom)
}

fn occupancy_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    parse_occupancy_interval(&String::deserialize(d)?)
        .map(Some)
        .map_err(de::Error::custom)
}

fn stats_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    parse_stats_interval(&String::deserialize(d)?)
        .map(Some)
        .map_err(de::Error::custom)
}

/// An address to listen on, as `--metrics-listen` and `metrics_listen` take it.
pub fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim().parse().map_err(|_| {
        format!(
            "{s:?} is not an address to listen on: give an IP address and a port, such as \
             127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464 (port 0 picks a free one)"
        )
    })
}

fn socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    parse_listen_addr(&String::deserialize(d)?)
        .map(Some)
        .map_err(de::Error::custom)
}

fn human<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MeasuresLayer, String> {
        toml::from_str::<MeasuresLayer>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_setting_parses() {
        let m = parse(
            "probe = \"2s\"\nprobe_channel = \"p\"\nshow_probe = true\n\
             occupancy_interval = \"3s\"\nstats_interval = \"10s\"\n",
        )
        .unwrap();
        assert_eq!(m.probe, Some(Probe::Every(Duration::from_secs(2))));
        assert_eq!(m.probe_channel.as_deref(), Some("p"));
        assert_eq!(m.show_probe, Some(true));
        assert_eq!(m.occupancy_interval, Some(Duration::from_secs(3)));
        assert_eq!(m.stats_interval, Some(Duration::from_secs(10)));
        assert_eq!(parse("probe = false").unwrap().probe, Some(Probe::Off));
        assert_eq!(
            parse("probe = true").unwrap().probe,
            Some(Probe::Every(crate::probe::DEFAULT_INTERVAL))
        );
    }

    #[test]
    fn bad_settings_say_why() {
        for (text, why) in [
            ("probe = \"10ms\"", "at least 100ms"),
            ("probe = 5", "an interval"),
            ("probe_channel = \"bad name\"", "channel"),
            ("stats_interval = \"soon\"", "soon"),
            ("occupancy_interval = \"1ms\"", "at least 1s"),
            ("occupancy_interval = \"999ms\"", "at least 1s"),
            ("stats_interval = \"10ms\"", "at least 1s"),
            ("probes = true", "unknown field"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn upper_layers_win_value_by_value() {
        let file = parse("probe = \"2s\"\nstats_interval = \"10s\"").unwrap();
        let flags = MeasuresLayer {
            probe: Some(Probe::Off),
            ..MeasuresLayer::default()
        };
        let m = flags.over(file);
        assert_eq!(m.probe, Some(Probe::Off));
        assert_eq!(m.stats_interval, Some(Duration::from_secs(10)));
        assert!(MeasuresLayer::default().is_empty());
    }
}
