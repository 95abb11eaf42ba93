//! What is shown of a configured value, in one place: `--print-config`, the auth inspector,
//! the headless `auth` records and the logs all go through these functions.
//!
//! The rule: every header value, param value and command argument is masked, except the
//! values of a short list of header names that never carry credentials and of the two
//! params the protocol itself sends. Guessing from a name (`token`, `key`...) is not
//! enough: `X-Team`, `tenant` or `sig` can hold a credential as well as `Authorization`.
//!
//! A masked value is `••••`, plus the last two characters when the value is long enough
//! that they give nothing useful away (so two configured secrets can be told apart).

/// Headers whose values are shown, compared case-insensitively: content negotiation and
/// client identification, which servers need to see and which hold no credential.
pub const SHOWN_HEADERS: &[&str] = &[
    "Accept",
    "Accept-Language",
    "Content-Type",
    "User-Agent",
    "X-Requested-With",
];

/// Params whose values are shown: the two fields every auth request carries by the
/// protocol. Their values are already in the `auth` record (`socket_id`, `channel`), so
/// masking them would hide nothing. Every configured param (`--auth-param`) is masked.
pub const SHOWN_PARAMS: &[&str] = &["socket_id", "channel_name"];

pub const MASK: &str = "••••";

/// Whether the value of header `name` may be shown.
pub fn is_shown_header(name: &str) -> bool {
    SHOWN_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Whether the value of param `name` (a form field or a query parameter) may be shown.
pub fn is_shown_param(name: &str) -> bool {
    SHOWN_PARAMS.contains(&name)
}

/// `••••` for short values; `••••` and the last two characters for values of 12 or more,
/// enough to tell two configured secrets apart without revealing either.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() >= 12 {
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("{MASK}{tail}")
    } else {
        MASK.to_string()
    }
}

/// A header's value as it may be shown.
pub fn shown_header(name: &str, value: &str) -> String {
    if is_shown_header(name) {
        value.to_string()
    } else {
        mask(value)
    }
}

/// A param's value as it may be shown.
pub fn shown_param(name: &str, value: &str) -> String {
    if is_shown_param(name) {
        value.to_string()
    } else {
        mask(value)
    }
}

/// An argument vector as it may be shown: the program as given, then `••••` for each
/// argument (a token is as often an argument as it is in the environment).
pub fn shown_argv<S: AsRef<str>>(argv: &[S]) -> String {
    let mut words = argv.iter().map(AsRef::as_ref);
    let mut shown = words.next().unwrap_or_default().to_string();
    for _ in words {
        shown.push(' ');
        shown.push_str(MASK);
    }
    shown
}

/// A shell command line as it may be shown: split into words as the shell would (quotes
/// taken into account), then shown like [`shown_argv`]. A line the shell could not split
/// (an unclosed quote) is split at whitespace; either way nothing past the first word shows.
pub fn shown_command_line(line: &str) -> String {
    match shlex::split(line) {
        Some(words) if !words.is_empty() => shown_argv(&words),
        _ => shown_argv(&line.split_whitespace().collect::<Vec<_>>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_headers_are_shown() {
        for name in [
            "Accept",
            "accept-language",
            "CONTENT-TYPE",
            "User-Agent",
            "x-requested-with",
        ] {
            assert_eq!(shown_header(name, "text/plain"), "text/plain", "{name}");
        }
        for name in [
            "Authorization",
            "Cookie",
            "X-Team-Token",
            "X-Tenant",
            "X-Trace",
            "Accept-Token",
            "Content-Type-X",
        ] {
            assert_eq!(shown_header(name, "sekrit"), MASK, "{name}");
        }
    }

    #[test]
    fn only_the_protocol_params_are_shown() {
        assert_eq!(shown_param("socket_id", "1.2"), "1.2");
        assert_eq!(shown_param("channel_name", "private-a"), "private-a");
        for name in ["token", "team", "user", "Socket_Id", "callback"] {
            assert_eq!(shown_param(name, "sekrit"), MASK, "{name}");
        }
    }

    #[test]
    fn masking_keeps_only_a_short_tail_of_long_values() {
        assert_eq!(mask(""), MASK);
        assert_eq!(mask("short"), MASK);
        assert_eq!(mask("7ad3773142a6692b25b8"), format!("{MASK}b8"));
        assert_eq!(shown_header("Authorization", "Bearer abc"), MASK);
    }

    #[test]
    fn commands_show_their_program_only() {
        assert_eq!(
            shown_command_line("my-auth-helper --token sekrit"),
            format!("my-auth-helper {MASK} {MASK}")
        );
        assert_eq!(
            shown_command_line("'/opt/my tools/auth' \"--token=a b\""),
            format!("/opt/my tools/auth {MASK}")
        );
        assert_eq!(shown_command_line("./auth.sh"), "./auth.sh");
        // An unclosed quote: the shell would refuse it, the mask still holds.
        assert_eq!(
            shown_command_line("helper 'sekrit --x"),
            format!("helper {MASK} {MASK}")
        );
        assert_eq!(
            shown_argv(&["node", "auth.js", "sekrit"]),
            format!("node {MASK} {MASK}")
        );
    }
}
