//! [`Text`]: a text frame's payload as it arrived, shared (a slice of the read buffer) and
//! known to be UTF-8. The wire layer checks each payload once, with simdutf8, and the
//! connection machine reads it as `&str` without checking again.

use bytes::Bytes;
use std::fmt;
use std::ops::Deref;

/// Bytes that are valid UTF-8; cheap to clone (shared).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Text(Bytes);

/// The payload was not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("text is not valid UTF-8")]
pub struct NotUtf8;

impl Text {
    /// Check `bytes` (with vector instructions: about three times std's speed on a 5 KB
    /// event, and every byte of every message passes here).
    pub fn from_utf8(bytes: Bytes) -> Result<Text, NotUtf8> {
        match simdutf8::basic::from_utf8(&bytes) {
            Ok(_) => Ok(Text(bytes)),
            Err(_) => Err(NotUtf8),
        }
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor checked (or was handed) valid UTF-8, and the bytes are
        // never changed afterwards.
        #[allow(unsafe_code)]
        unsafe {
            std::str::from_utf8_unchecked(&self.0)
        }
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Bytes::from(s))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_utf8_is_text() {
        let t = Text::from_utf8(Bytes::from_static("é{}".as_bytes())).unwrap();
        assert_eq!(&*t, "é{}");
        assert_eq!(t.len(), 4);
        assert_eq!(
            Text::from_utf8(Bytes::from_static(b"\xff")).unwrap_err(),
            NotUtf8
        );
        assert_eq!(Text::from("a"), Text::from(String::from("a")));
    }
}
