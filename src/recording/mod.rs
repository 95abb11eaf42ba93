//! Recording a session to a file (`--record FILE`) and the file's format, which
//! `chanwatch replay` reads back (see [`crate::replay`]).
//!
//! The file is NDJSON. Its first line is the [`Header`]; every line after it is either a
//! record, byte for byte the line headless mode prints for it, or a command the user issued:
//! `{"ts":...,"type":"command","command":{"cmd":...}}`. Injected faults need no kind of
//! their own: the session already reports each one as a `fault` record, and the command that
//! asked for it is a `command` line.

mod tap;
mod writer;

pub use tap::tap;
pub use writer::{Recorder, RecorderError};

use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// The format this build writes. A reader refuses files of a newer format: their lines may
/// mean something it cannot know.
pub const FORMAT_VERSION: u32 = 1;

/// The `type` of the header line.
pub const HEADER_TYPE: &str = "chanwatch_recording";

/// The `type` of a command line.
pub const COMMAND_TYPE: &str = "command";

/// What a recording says about itself, on its first line. Never a secret: the app key is
/// public (browsers send it), and no secret, auth header, auth param or token is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`HEADER_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    pub format: u32,
    /// The chanwatch version that wrote the file.
    pub chanwatch: String,
    pub host: String,
    pub key: String,
    pub tls: bool,
    /// The channels subscribed at start.
    pub channels: Vec<String>,
    /// When the recording started (RFC 3339, UTC, milliseconds); replay positions count
    /// from here.
    #[serde(with = "rfc3339")]
    pub started: SystemTime,
    /// Recorded from `chanwatch demo`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
    /// The nodes watched at once, in order (several `--node`s); not written for one
    /// connection, whose file stays as it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
}

impl Header {
    pub fn new(
        info: &crate::session::DashboardInfo,
        channels: Vec<String>,
        started: SystemTime,
    ) -> Self {
        Header {
            kind: HEADER_TYPE.to_string(),
            format: FORMAT_VERSION,
            chanwatch: env!("CARGO_PKG_VERSION").to_string(),
            host: info.host.clone(),
            key: info.key.clone(),
            tls: info.tls,
            channels,
            started,
            demo: info.demo,
            nodes: info.nodes.iter().map(|n| n.to_string()).collect(),
        }
    }

    /// What the dashboard shows in its status bar for this recording.
    pub fn dashboard_info(&self) -> crate::session::DashboardInfo {
        crate::session::DashboardInfo {
            nodes: self.nodes.iter().map(|n| n.as_str().into()).collect(),
            host: self.host.clone(),
            key: self.key.clone(),
            tls: self.tls,
            demo: self.demo,
        }
    }
}

/// Timestamps as the records write them.
pub(crate) mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::SystemTime;

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn the_header_round_trips_and_holds_no_secret_fields() {
        let info = crate::session::DashboardInfo {
            nodes: Vec::new(),
            host: "127.0.0.1:6001".into(),
            key: "app-key".into(),
            tls: false,
            demo: true,
        };
        let started = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let h = Header::new(&info, vec!["news".into()], started);
        let line = serde_json::to_string(&h).unwrap();
        assert!(
            line.starts_with(r#"{"type":"chanwatch_recording","format":1,"chanwatch":""#),
            "{line}"
        );
        assert!(
            line.contains(r#""started":"2023-11-14T22:13:20.123Z""#),
            "{line}"
        );
        let back: Header = serde_json::from_str(&line).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.dashboard_info(), info);
        // One connection: no `nodes` field at all, so the line is as it always was.
        assert!(!line.contains("nodes"), "{line}");
    }

    #[test]
    fn a_cluster_header_names_its_nodes_in_order() {
        let info = crate::session::DashboardInfo {
            nodes: vec!["a".into(), "b".into(), "c".into()],
            host: "127.0.0.1:6001".into(),
            key: "app-key".into(),
            tls: false,
            demo: false,
        };
        let h = Header::new(&info, vec![], UNIX_EPOCH);
        let line = serde_json::to_string(&h).unwrap();
        assert!(line.ends_with(r#","nodes":["a","b","c"]}"#), "{line}");
        let back: Header = serde_json::from_str(&line).unwrap();
        assert_eq!(back.dashboard_info(), info);
        // A header without the field (one connection, or an older file) reads as no nodes.
        let old = line.replace(r#","nodes":["a","b","c"]"#, "");
        let back: Header = serde_json::from_str(&old).unwrap();
        assert!(back.dashboard_info().nodes.is_empty());
    }
}
