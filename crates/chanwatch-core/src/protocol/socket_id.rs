//! The socket id the server hands out in `pusher:connection_established`: two runs of ASCII
//! digits joined by a dot (`1558581011.9716812641`). Every authorization signs it and every
//! auth endpoint and command receives it, so one that does not have this shape (a
//! misbehaving or hostile server) is refused before anything is signed or sent with it: a
//! `:` in it would shift the fields of the string an HMAC covers, and anything else would
//! reach the app's endpoint unchecked.

/// The longest socket id accepted. Servers use two 32- or 64-bit numbers (at most 20
/// digits each); this leaves room without letting a huge string through.
pub const MAX_SOCKET_ID_LEN: usize = 48;

/// Why a socket id was refused. The id itself is not quoted: it came from the server and
/// may be anything, of any length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SocketIdError {
    #[error("the socket id is empty")]
    Empty,
    #[error("the socket id is longer than {MAX_SOCKET_ID_LEN} characters")]
    TooLong,
    #[error("the socket id is not two runs of digits joined by a dot (like 1234.5678)")]
    Malformed,
}

/// Checks that `id` is `DIGITS.DIGITS`, ASCII only, at most [`MAX_SOCKET_ID_LEN`] long.
pub fn check_socket_id(id: &str) -> Result<(), SocketIdError> {
    if id.is_empty() {
        return Err(SocketIdError::Empty);
    }
    if id.len() > MAX_SOCKET_ID_LEN {
        return Err(SocketIdError::TooLong);
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match id.split_once('.') {
        Some((a, b)) if digits(a) && digits(b) => Ok(()),
        _ => Err(SocketIdError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_dot_digits_only() {
        for good in ["1.1", "123.456", "1558581011.9716812641", "0.0"] {
            assert_eq!(check_socket_id(good), Ok(()), "{good}");
        }
        assert_eq!(check_socket_id(""), Err(SocketIdError::Empty));
        for bad in [
            "123",
            "123.",
            ".456",
            "1.2.3",
            "12a.3",
            "1.2:private-x",
            "1.2\n",
            " 1.2",
            "-1.2",
            "+1.2",
            "١٢.٣", // Arabic-Indic digits are digits, not ASCII ones
            "1,2",
        ] {
            assert_eq!(
                check_socket_id(bad),
                Err(SocketIdError::Malformed),
                "{bad:?}"
            );
        }
        let long = format!("{}.1", "9".repeat(MAX_SOCKET_ID_LEN));
        assert_eq!(check_socket_id(&long), Err(SocketIdError::TooLong));
        let longest = format!("{}.1", "9".repeat(MAX_SOCKET_ID_LEN - 2));
        assert_eq!(check_socket_id(&longest), Ok(()));
    }

    #[test]
    fn messages_do_not_quote_the_id() {
        let shown = check_socket_id("1.2:evil").unwrap_err().to_string();
        assert!(!shown.contains("evil"), "{shown}");
    }
}
