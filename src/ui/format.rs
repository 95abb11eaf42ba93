//! Small text helpers shared by the panes: clock times, durations, one-line previews.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `HH:MM:SS.mmm` in UTC (no time-zone database needed, and it matches the headless `ts`).
pub fn clock_ms(ts: SystemTime) -> String {
    let (h, m, s, ms) = clock_parts(ts);
    format!("{h:02}:{m:02}:{s:02}.{ms:03}")
}

/// `HH:MM:SS` in UTC.
pub fn clock(ts: SystemTime) -> String {
    let (h, m, s, _) = clock_parts(ts);
    format!("{h:02}:{m:02}:{s:02}")
}

fn clock_parts(ts: SystemTime) -> (u64, u64, u64, u32) {
    // Times before 1970 only come from a broken clock; show them as midnight rather than fail.
    let d = ts.duration_since(UNIX_EPOCH).unwrap_or_default();
    let day = d.as_secs() % 86_400;
    (day / 3600, day / 60 % 60, day % 60, d.subsec_millis())
}

/// A short human duration: `450ms`, `12.3s`, `3m12s`, `2h05m`, `3d04h`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    if s < 10 {
        return format!("{}.{}s", s, d.subsec_millis() / 100);
    }
    if s < 60 {
        return format!("{s}s");
    }
    if s < 3600 {
        return format!("{}m{:02}s", s / 60, s % 60);
    }
    if s < 86_400 {
        return format!("{}h{:02}m", s / 3600, s / 60 % 60);
    }
    format!("{}d{:02}h", s / 86_400, s / 3600 % 24)
}

/// Whole seconds, rounded up, for countdowns ("retry in 3s" until the moment it happens).
pub fn countdown(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    if secs < 60 {
        return format!("{secs}s");
    }
    duration(Duration::from_secs(secs))
}

/// A character as the screen shows it: a control character (C0, DEL, C1: ESC, BEL, CR, the
/// one-byte CSI U+009B ...) is a space, so that server text never reaches the terminal as
/// a command, on screen or in a file written from it.
pub fn printable_char(c: char) -> char {
    if c.is_control() { ' ' } else { c }
}

/// `s` with [`printable_char`] applied, borrowed when nothing changes.
pub fn printable(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(s.chars().map(printable_char).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// At most `max` characters of `s` on one line: control characters become spaces
/// ([`printable_char`]) and a cut is marked with `…`.
pub fn one_line(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    for (n, c) in s.chars().enumerate() {
        if n + 1 == max && s.chars().nth(max).is_some() {
            out.push('…');
            break;
        }
        if n == max {
            break;
        }
        out.push(printable_char(c));
    }
    out
}

/// The longest prefix of `s` that is at most `max_bytes` long and ends on a char boundary.
pub fn prefix_bytes(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// ASCII-case-insensitive substring test; `needle_lower` must already be lower case.
pub fn contains_ci(haystack: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    let h = haystack.as_bytes();
    let n = needle_lower.as_bytes();
    if n.len() > h.len() {
        return false;
    }
    h.windows(n.len())
        .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(clock_ms(t), "22:13:20.123");
        assert_eq!(clock(t), "22:13:20");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_millis(450)), "450ms");
        assert_eq!(duration(Duration::from_millis(1_250)), "1.2s");
        assert_eq!(duration(Duration::from_secs(42)), "42s");
        assert_eq!(duration(Duration::from_secs(192)), "3m12s");
        assert_eq!(duration(Duration::from_secs(7_500)), "2h05m");
        assert_eq!(duration(Duration::from_secs(90_000)), "1d01h");
        assert_eq!(countdown(Duration::from_millis(2_100)), "3s");
        assert_eq!(countdown(Duration::from_millis(300)), "300ms");
    }

    #[test]
    fn previews() {
        assert_eq!(one_line("a\nb", 10), "a b");
        assert_eq!(
            printable("esc\u{1b}[31m bel\u{7} cr\r c1\u{9b}1m"),
            "esc [31m bel  cr  c1 1m"
        );
        assert!(matches!(printable("plain é°"), Cow::Borrowed(_)));
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("abcd", 4), "abcd");
        assert_eq!(prefix_bytes("héllo", 2), "h");
        assert!(contains_ci("Private-Chat", "private-c"));
        assert!(!contains_ci("abc", "abcd"));
    }
}
