//! Close and error codes: what the protocol says a client must do with each, and
//! a few words a person can read in the timeline.

/// What a close code (or a `pusher:error` code during the handshake) asks of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAction {
    /// 4000: the app wants TLS; switch and retry at once.
    SwitchToTls,
    /// 4001-4099 and 4300+: do not reconnect unchanged.
    Refused,
    /// 4100-4199 and 1002-1004: reconnect after a growing, jittered delay of at least 1 s.
    Backoff,
    /// 4200-4299: reconnect immediately.
    ReconnectNow,
    /// Any other close (1000, 1001, 1005, 1006, ...): reconnect after about 1 s.
    Reconnect,
}

/// pusher-js's `getCloseAction`, with its `null` case named [`CloseAction::Reconnect`].
pub fn close_action(code: u16) -> CloseAction {
    match code {
        4000 => CloseAction::SwitchToTls,
        4001..=4099 => CloseAction::Refused,
        4100..=4199 => CloseAction::Backoff,
        4200..=4299 => CloseAction::ReconnectNow,
        4300.. => CloseAction::Refused,
        1002..=1004 => CloseAction::Backoff,
        _ => CloseAction::Reconnect,
    }
}

/// The code's meaning in words, for the timeline and the error records.
pub fn describe(code: i64) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no status code",
        1006 => "abnormal closure (connection lost)",
        1007 => "invalid frame payload",
        1008 => "policy violation",
        1009 => "message too big",
        1011 => "server error",
        4000 => "application only accepts TLS",
        4001 => "application does not exist",
        4003 => "application disabled",
        4004 => "over connection quota",
        4005 => "path not found",
        4006 => "invalid version string format",
        4007 => "unsupported protocol version",
        4008 => "no protocol version supplied",
        4009 => "connection is unauthorized",
        4010..=4099 => "refused: do not reconnect unchanged",
        4100 => "over capacity",
        4101..=4199 => "server asked to back off",
        4200 => "server asked to reconnect",
        4201 => "pong reply not received",
        4202 => "closed after inactivity",
        4203..=4299 => "server asked to reconnect",
        4301 => "client event rate limit",
        4302 => "watchlist limit exceeded",
        4300..=4399 => "other error",
        _ => "unexpected code",
    }
}

/// What to change on our side when a refusal says so: appended to the server's message.
/// Servers with an origin allow-list (sockudo's `allowed_origins`, Reverb's
/// `allowed_origins`) refuse a connection without a matching `Origin` with 4009 and a
/// message about the origin; a terminal client sends no Origin unless told to.
pub fn hint(code: Option<i64>, message: &str) -> Option<&'static str> {
    let origin = message.to_ascii_lowercase().contains("origin");
    match code {
        Some(4009) if origin => Some(
            "the server accepts only listed origins: send one with --origin URL \
             (config key origin)",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_matches_pusher_js() {
        assert_eq!(close_action(4000), CloseAction::SwitchToTls);
        for c in [4001, 4004, 4009, 4099, 4300, 4301, 4399, 4500] {
            assert_eq!(close_action(c), CloseAction::Refused, "{c}");
        }
        for c in [4100, 4199, 1002, 1003, 1004] {
            assert_eq!(close_action(c), CloseAction::Backoff, "{c}");
        }
        for c in [4200, 4201, 4299] {
            assert_eq!(close_action(c), CloseAction::ReconnectNow, "{c}");
        }
        for c in [1000, 1001, 1005, 1006, 3999] {
            assert_eq!(close_action(c), CloseAction::Reconnect, "{c}");
        }
    }

    #[test]
    fn descriptions() {
        assert_eq!(describe(4004), "over connection quota");
        assert_eq!(describe(4200), "server asked to reconnect");
        assert_eq!(describe(4150), "server asked to back off");
    }

    #[test]
    fn an_origin_refusal_names_the_flag() {
        let h = hint(Some(4009), "Origin not allowed").unwrap();
        assert!(h.contains("--origin"), "{h}");
        assert_eq!(hint(Some(4009), "Invalid signature"), None);
        assert_eq!(hint(Some(4001), "Origin not allowed"), None);
        assert_eq!(hint(None, "Origin not allowed"), None);
    }
}
