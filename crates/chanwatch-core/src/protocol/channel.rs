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

/// Why a channel name cannot be sent. Its message names the value "channel name";
/// [`ChannelNameError::message_for`] words it for other uses of a name (a prefix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message_for("channel name"))]
pub enum ChannelNameError {
    Empty,
    /// `#` starts the names servers keep for themselves (`#server-to-user-…`).
    Reserved {
        name: String,
    },
    TooLong {
        len: usize,
    },
    BadCharacter {
        name: String,
        bad: char,
    },
}

impl ChannelNameError {
    /// The message, with `subject` for what the name is ("channel name", "prefix").
    pub fn message_for(&self, subject: &str) -> String {
        match self {
            ChannelNameError::Empty => format!("{subject} is empty"),
            ChannelNameError::Reserved { name } => {
                format!("{subject} {name:?} starts with '#', which is reserved")
            }
            ChannelNameError::TooLong { len } => {
                format!("{subject} is {len} characters long; the limit is {MAX_CHANNEL_NAME}")
            }
            ChannelNameError::BadCharacter { name, bad } => format!(
                "{subject} {name:?} contains {bad:?}; allowed are A-Z a-z 0-9 and _ - = @ , . ;"
            ),
        }
    }
}

/// Check a channel name before sending it, with a message a person can act on.
pub fn validate_channel_name(name: &str) -> Result<(), ChannelNameError> {
    if name.is_empty() {
        return Err(ChannelNameError::Empty);
    }
    if name.starts_with('#') {
        return Err(ChannelNameError::Reserved { name: name.into() });
    }
    if name.len() > MAX_CHANNEL_NAME {
        return Err(ChannelNameError::TooLong { len: name.len() });
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-=@,.;".contains(*c)))
    {
        return Err(ChannelNameError::BadCharacter {
            name: name.into(),
            bad,
        });
    }
    Ok(())
}

/// Why a client event name cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventNameError {
    #[error("client event {0:?} must start with \"client-\"")]
    NotClientEvent(String),
    #[error("event name is {0} characters long; the limit is {MAX_EVENT_NAME}")]
    TooLong(usize),
}

/// Check a client event name: `client-` prefix, length limit.
pub fn validate_client_event_name(event: &str) -> Result<(), EventNameError> {
    if !event.starts_with("client-") {
        return Err(EventNameError::NotClientEvent(event.into()));
    }
    if event.len() > MAX_EVENT_NAME {
        return Err(EventNameError::TooLong(event.len()));
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

    #[test]
    fn name_errors_keep_their_words_and_can_name_another_subject() {
        let e = validate_channel_name("#x").unwrap_err();
        assert_eq!(
            e.to_string(),
            r##"channel name "#x" starts with '#', which is reserved"##
        );
        assert_eq!(
            e.message_for("prefix"),
            r##"prefix "#x" starts with '#', which is reserved"##
        );
        assert_eq!(
            validate_channel_name("a b").unwrap_err().to_string(),
            r#"channel name "a b" contains ' '; allowed are A-Z a-z 0-9 and _ - = @ , . ;"#
        );
        assert_eq!(
            validate_client_event_name("x").unwrap_err().to_string(),
            r#"client event "x" must start with "client-""#
        );
    }
}
