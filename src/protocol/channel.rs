//! Channel kinds (decided by prefix, as pusher-js does) and the name rules checked
//! before anything is sent.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Public,
    Private,
    Presence,
    Encrypted,
}

impl ChannelKind {
    /// Classify by prefix in pusher-js's order; cache variants fall into the same buckets.
    pub fn of(name: &str) -> ChannelKind {
        if name.starts_with("private-encrypted-") {
            ChannelKind::Encrypted
        } else if name.starts_with("private-") {
            ChannelKind::Private
        } else if name.starts_with("presence-") {
            ChannelKind::Presence
        } else {
            ChannelKind::Public
        }
    }

    /// Private, presence and encrypted channels need a signature before subscribing.
    pub fn needs_auth(self) -> bool {
        !matches!(self, ChannelKind::Public)
    }

    /// Client events are accepted by servers on private and presence channels only;
    /// pusher-js also refuses them on encrypted channels.
    pub fn allows_client_events(self) -> bool {
        matches!(self, ChannelKind::Private | ChannelKind::Presence)
    }

    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Public => "public",
            ChannelKind::Private => "private",
            ChannelKind::Presence => "presence",
            ChannelKind::Encrypted => "encrypted",
        }
    }
}

/// Cache channels (`cache-`, `private-cache-`, `private-encrypted-cache-`, `presence-cache-`).
pub fn is_cache(name: &str) -> bool {
    [
        "cache-",
        "private-cache-",
        "private-encrypted-cache-",
        "presence-cache-",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// The largest name any known server accepts (sockudo and pusher-http-node use 200;
/// Pusher's docs say 164, which we warn about nowhere because servers differ).
pub const MAX_CHANNEL_NAME: usize = 200;
pub const MAX_EVENT_NAME: usize = 200;

/// Check a channel name before sending it, with a message a person can act on.
pub fn validate_channel_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("channel name is empty".into());
    }
    if name.starts_with('#') {
        return Err(format!(
            "channel name {name:?} starts with '#', which is reserved"
        ));
    }
    if name.len() > MAX_CHANNEL_NAME {
        return Err(format!(
            "channel name is {} characters long; the limit is {MAX_CHANNEL_NAME}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-=@,.;".contains(*c)))
    {
        return Err(format!(
            "channel name {name:?} contains {bad:?}; allowed are A-Z a-z 0-9 and _ - = @ , . ;"
        ));
    }
    Ok(())
}

/// Check a client event name: `client-` prefix, length limit.
pub fn validate_client_event_name(event: &str) -> Result<(), String> {
    if !event.starts_with("client-") {
        return Err(format!(
            "client event {event:?} must start with \"client-\""
        ));
    }
    if event.len() > MAX_EVENT_NAME {
        return Err(format!(
            "event name is {} characters long; the limit is {MAX_EVENT_NAME}",
            event.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_prefix() {
        assert_eq!(ChannelKind::of("my-channel"), ChannelKind::Public);
        assert_eq!(ChannelKind::of("cache-x"), ChannelKind::Public);
        assert_eq!(ChannelKind::of("private-x"), ChannelKind::Private);
        assert_eq!(ChannelKind::of("private-cache-x"), ChannelKind::Private);
        assert_eq!(ChannelKind::of("presence-x"), ChannelKind::Presence);
        assert_eq!(ChannelKind::of("presence-cache-x"), ChannelKind::Presence);
        assert_eq!(
            ChannelKind::of("private-encrypted-x"),
            ChannelKind::Encrypted
        );
        assert_eq!(
            ChannelKind::of("private-encrypted-cache-x"),
            ChannelKind::Encrypted
        );
        assert!(is_cache("presence-cache-x"));
        assert!(!is_cache("presence-x"));
    }

    #[test]
    fn name_rules() {
        assert!(validate_channel_name("private-a_b-c=d@e,f.g;h").is_ok());
        assert!(validate_channel_name("").is_err());
        assert!(validate_channel_name("#server-to-user-1").is_err());
        assert!(validate_channel_name("has space").is_err());
        assert!(validate_channel_name("ünicode").is_err());
        assert!(validate_channel_name(&"a".repeat(200)).is_ok());
        assert!(validate_channel_name(&"a".repeat(201)).is_err());
        assert!(validate_client_event_name("client-typing").is_ok());
        assert!(validate_client_event_name("typing").is_err());
    }
}
