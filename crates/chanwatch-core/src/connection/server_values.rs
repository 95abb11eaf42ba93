//! Numbers a server announces, checked before the machine relies on them. A server may send
//! any JSON where a number belongs (huge, negative, fractional, a string, an object); none of
//! it may panic a timer computation or make the client spin.

use serde_json::Value;
use std::time::Duration;

/// The shortest server `activity_timeout` accepted: below it a client would ping after
/// nearly every frame.
pub const MIN_SERVER_ACTIVITY: Duration = Duration::from_secs(1);

/// The longest server `activity_timeout` accepted (Pusher announces 120 s).
pub const MAX_SERVER_ACTIVITY: Duration = Duration::from_secs(3600);

/// What the handshake's `activity_timeout` means for the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerActivity {
    /// Absent or `null`: use ours, as before (pusher-js would fail).
    Missing,
    /// In range, or clamped into it; `note` says what was changed and why.
    Seconds {
        timeout: Duration,
        note: Option<String>,
    },
    /// Not a usable number (zero, negative, not a number): use ours and say so.
    Ignored { note: String },
}

/// Read a handshake's `activity_timeout` (seconds): numbers and numeric strings are accepted,
/// then clamped into [`MIN_SERVER_ACTIVITY`]..=[`MAX_SERVER_ACTIVITY`].
pub fn server_activity(value: Option<&Value>) -> ServerActivity {
    let seconds = match value {
        None | Some(Value::Null) => return ServerActivity::Missing,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    let shown = shown(value);
    let Some(seconds) = seconds.filter(|s| s.is_finite() && *s > 0.0) else {
        return ServerActivity::Ignored {
            note: format!(
                "ignored the server's activity_timeout {shown}: not a positive number of seconds"
            ),
        };
    };
    let (min, max) = (
        MIN_SERVER_ACTIVITY.as_secs_f64(),
        MAX_SERVER_ACTIVITY.as_secs_f64(),
    );
    let clamped = seconds.clamp(min, max);
    let note = (clamped != seconds).then(|| {
        format!(
            "the server's activity_timeout {shown} s is out of range ({min}-{max} s); using {clamped} s"
        )
    });
    ServerActivity::Seconds {
        // In range now, so this cannot overflow or panic.
        timeout: Duration::from_secs_f64(clamped),
        note,
    }
}

/// The value as sent, cut short for a one-line message.
fn shown(value: Option<&Value>) -> String {
    let text = value.map(Value::to_string).unwrap_or_default();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// pusher-js takes the smaller of the client's and the server's activity timeouts.
pub fn effective_activity(ours: Duration, server: &ServerActivity) -> Duration {
    match server {
        ServerActivity::Seconds { timeout, .. } => ours.min(*timeout),
        _ => ours,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secs(v: Value) -> ServerActivity {
        server_activity(Some(&v))
    }

    #[test]
    fn in_range_values_pass_unchanged() {
        assert_eq!(
            secs(json!(120)),
            ServerActivity::Seconds {
                timeout: Duration::from_secs(120),
                note: None
            }
        );
        assert_eq!(
            secs(json!("30")),
            ServerActivity::Seconds {
                timeout: Duration::from_secs(30),
                note: None
            }
        );
        assert_eq!(server_activity(None), ServerActivity::Missing);
        assert_eq!(secs(Value::Null), ServerActivity::Missing);
    }

    #[test]
    fn extreme_numbers_are_clamped_never_panic() {
        let huge: Value = serde_json::from_str("1e20").unwrap();
        let tiny: Value = serde_json::from_str("5e-324").unwrap();
        let big_int: Value = serde_json::from_str("18446744073709551615").unwrap();
        let bigger: Value = serde_json::from_str("1e308").unwrap();
        for (v, want) in [
            (huge, MAX_SERVER_ACTIVITY),
            (big_int, MAX_SERVER_ACTIVITY),
            (bigger, MAX_SERVER_ACTIVITY),
            (tiny, MIN_SERVER_ACTIVITY),
            (json!(0.001), MIN_SERVER_ACTIVITY),
        ] {
            match secs(v.clone()) {
                ServerActivity::Seconds {
                    timeout,
                    note: Some(note),
                } => {
                    assert_eq!(timeout, want, "{v}");
                    assert!(note.contains("out of range"), "{note}");
                }
                other => panic!("{v}: {other:?}"),
            }
        }
    }

    #[test]
    fn unusable_values_are_ignored_with_a_note() {
        for v in [
            json!(0),
            json!(-5),
            json!(-1e300),
            json!("soon"),
            json!({"s": 1}),
            json!([1]),
            json!(true),
        ] {
            assert!(
                matches!(secs(v.clone()), ServerActivity::Ignored { .. }),
                "{v}"
            );
        }
    }

    #[test]
    fn the_smaller_timeout_wins() {
        let ours = Duration::from_secs(120);
        assert_eq!(
            effective_activity(ours, &secs(json!(30))),
            Duration::from_secs(30)
        );
        assert_eq!(effective_activity(ours, &secs(json!(600))), ours);
        assert_eq!(effective_activity(ours, &ServerActivity::Missing), ours);
    }
}
