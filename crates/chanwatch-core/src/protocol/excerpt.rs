//! Text a server chose (an error message, a close reason, a channel or event name echoed
//! back) is kept as an excerpt: its first [`EXCERPT_BYTES`] bytes, cut on a character
//! boundary and marked `… (N bytes cut)`. A server could otherwise make every place that
//! keeps such text (the timeline, notices, records, `--record` files) hold megabytes per
//! message. One helper, applied where the text enters, so every consumer gets the cut text.

use std::borrow::Cow;

/// The most bytes of one server-provided text that are kept (1 KiB), marker aside.
pub const EXCERPT_BYTES: usize = 1024;

/// `text` if it fits in [`EXCERPT_BYTES`], else its start and the marker.
pub fn excerpt(text: &str) -> Cow<'_, str> {
    if text.len() <= EXCERPT_BYTES {
        return Cow::Borrowed(text);
    }
    let end = floor_boundary(text, EXCERPT_BYTES);
    Cow::Owned(format!("{}{}", &text[..end], marker(text.len() - end)))
}

/// [`excerpt`] in place: a short text is left alone (no allocation); a long one is cut, and
/// its buffer shrunk so that the bytes cut are given back.
pub fn cut(text: &mut String) {
    if text.len() <= EXCERPT_BYTES {
        return;
    }
    let end = floor_boundary(text, EXCERPT_BYTES);
    let cut = text.len() - end;
    text.truncate(end);
    text.push_str(&marker(cut));
    text.shrink_to_fit();
}

/// [`cut`] for an optional text.
pub fn cut_option(text: &mut Option<String>) {
    if let Some(t) = text {
        cut(t);
    }
}

fn marker(cut: usize) -> String {
    format!("… ({cut} bytes cut)")
}

/// The largest char boundary of `text` at or below `at`.
fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_kept_whole() {
        assert!(matches!(excerpt(""), Cow::Borrowed("")));
        let fits = "x".repeat(EXCERPT_BYTES);
        assert!(matches!(excerpt(&fits), Cow::Borrowed(_)));
        let mut s = fits.clone();
        let before = s.as_ptr();
        cut(&mut s);
        assert_eq!((s.as_str(), s.as_ptr()), (fits.as_str(), before));
    }

    #[test]
    fn long_texts_keep_their_start_and_say_how_much_was_cut() {
        let long = "a".repeat(EXCERPT_BYTES + 10);
        assert_eq!(
            excerpt(&long),
            format!("{}… (10 bytes cut)", "a".repeat(EXCERPT_BYTES))
        );
        let mut huge = "b".repeat(30 << 20);
        cut(&mut huge);
        assert!(huge.ends_with(&format!("… ({} bytes cut)", (30 << 20) - EXCERPT_BYTES)));
        assert!(huge.capacity() < 2 * EXCERPT_BYTES, "{}", huge.capacity());
    }

    #[test]
    fn multibyte_characters_are_never_split() {
        // 'é' is 2 bytes, '€' 3, '🦀' 4: every offset of the cut is tried.
        for pad in 0..4 {
            for c in ['é', '€', '🦀'] {
                let text = format!("{}{}", "x".repeat(pad), c.to_string().repeat(EXCERPT_BYTES));
                let shown = excerpt(&text);
                let (kept, mark) = shown.split_once('…').unwrap();
                assert!(kept.len() <= EXCERPT_BYTES && kept.len() > EXCERPT_BYTES - 4);
                assert!(kept.trim_start_matches('x').chars().all(|k| k == c));
                assert_eq!(mark, format!(" ({} bytes cut)", text.len() - kept.len()));
                let mut s = text.clone();
                cut(&mut s);
                assert_eq!(s, shown);
            }
        }
    }
}
