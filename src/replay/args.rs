//! `chanwatch replay FILE` and its options.

use clap::Args;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The recording (written with --record).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// How fast: a factor of the recorded pace (4, 0.5), or max for as fast as possible [default: 1].
    #[arg(long, value_parser = parse_speed, value_name = "FACTOR|max")]
    pub speed: Option<Speed>,
    /// Headless: only records on this channel (repeatable).
    #[arg(long = "channel", value_name = "NAME")]
    pub channels: Vec<String>,
    /// Headless: only records with this event name (repeatable).
    #[arg(long = "event", value_name = "NAME")]
    pub events: Vec<String>,
    /// Headless: only records from this time on: RFC 3339, or an offset from the start of
    /// the recording such as 30s or 2m (at most 100 years).
    #[arg(long, value_parser = parse_bound, value_name = "TIME|OFFSET")]
    pub since: Option<Bound>,
    /// Headless: only records up to this time: RFC 3339, or an offset from the start (at
    /// most 100 years).
    #[arg(long, value_parser = parse_bound, value_name = "TIME|OFFSET")]
    pub until: Option<Bound>,
}

/// How fast a replay runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// This many times the recorded pace.
    Times(f64),
    /// As fast as the records can be read.
    Max,
}

impl Default for Speed {
    fn default() -> Self {
        Speed::Times(1.0)
    }
}

impl std::fmt::Display for Speed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Speed::Max => f.write_str("max"),
            Speed::Times(x) => write!(f, "×{x}"),
        }
    }
}

/// A point in the recording: a wall-clock time or an offset from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    At(SystemTime),
    After(Duration),
}

/// The longest offset --since/--until take: far past any recording, and small enough that
/// adding it to a recording's start cannot overflow the system's time type.
pub const MAX_OFFSET: Duration = Duration::from_secs(100 * 366 * 24 * 3600);

impl Bound {
    pub fn resolve(self, started: SystemTime) -> SystemTime {
        match self {
            Bound::At(t) => t,
            // Offsets are capped when parsed; a start near the end of time still must not
            // panic, and nothing is recorded after the latest time there is.
            Bound::After(d) => started
                .checked_add(d.min(MAX_OFFSET))
                .or_else(|| started.checked_add(MAX_OFFSET))
                .unwrap_or(started),
        }
    }
}

pub fn parse_speed(s: &str) -> Result<Speed, String> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    let x = s
        .trim_end_matches(['x', '×'])
        .parse::<f64>()
        .map_err(|_| format!("{s:?} is not a speed: a factor such as 4 or 0.5, or max"))?;
    if !(0.01..=10_000.0).contains(&x) {
        return Err(format!("{s}: the speed must be from 0.01 to 10000, or max"));
    }
    Ok(Speed::Times(x))
}

pub fn parse_bound(s: &str) -> Result<Bound, String> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(Bound::At(t));
    }
    match humantime::parse_duration(s) {
        Ok(d) if d <= MAX_OFFSET => Ok(Bound::After(d)),
        Ok(_) | Err(humantime::DurationError::NumberOverflow) => Err(format!(
            "{s:?} is too long an offset: at most 100 years from the start of the recording"
        )),
        Err(_) => Err(format!(
            "{s:?} is neither an RFC 3339 time (2026-01-02T03:04:05Z) nor an offset (30s, 2m)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn speeds_and_bounds_parse() {
        assert_eq!(parse_speed("max"), Ok(Speed::Max));
        assert_eq!(parse_speed("4"), Ok(Speed::Times(4.0)));
        assert_eq!(parse_speed("0.5x"), Ok(Speed::Times(0.5)));
        assert!(parse_speed("0").is_err());
        assert!(parse_speed("fast").is_err());
        assert_eq!(
            parse_bound("30s"),
            Ok(Bound::After(Duration::from_secs(30)))
        );
        let at = parse_bound("2023-11-14T22:13:20.123Z").unwrap();
        assert_eq!(
            at,
            Bound::At(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123))
        );
        assert_eq!(
            Bound::After(Duration::from_secs(2)).resolve(UNIX_EPOCH),
            UNIX_EPOCH + Duration::from_secs(2)
        );
        assert!(parse_bound("yesterday").is_err());
    }

    #[test]
    fn huge_offsets_are_refused_not_an_overflow() {
        for s in [
            "500000000000years",
            "101years",
            "18446744073709551615s",
            "99999999999999999999999s",
        ] {
            let e = parse_bound(s).unwrap_err();
            assert!(e.contains("at most 100 years"), "{s}: {e}");
        }
        assert_eq!(
            parse_bound("100years"),
            Ok(Bound::After(Duration::from_secs(3_155_760_000)))
        );
        // Resolving never panics, whatever the start.
        let late = UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 - 10);
        assert_eq!(Bound::After(MAX_OFFSET).resolve(late), late);
    }
}
