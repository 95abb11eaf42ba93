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
//!
//! A command shows only its program, and only when the program is a plain path or word
//! ([`is_plain_program`]): a leading `NAME=value` is an assignment to the environment, the
//! usual way to hand a token to a command, and anything with shell syntax may hide one.
//!
//! A URL ([`shown_url`]) shows its scheme, host, port and path; its user info (user and
//! password) is replaced by `••••` whole, its query values are masked as params are, and the
//! fragment is dropped. The path is shown as given: telling a token from a route by its
//! looks would be a guess, so a credential belongs in a header or a param, not the path.

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

/// Whether `word` may be shown as a command's program: a plain path or word, made of
/// letters, digits and `/ . _ - + ~` only. Anything else (`=`, quotes, `$`, spaces, pipes,
/// redirections ...) is shell syntax or an assignment and may carry a secret.
pub fn is_plain_program(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | '~'))
}

/// Whether `word` is a shell assignment (`NAME=value`), which sets the environment of the
/// command that follows.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        name.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The program as it may be shown: itself if plain, else `••••`.
fn shown_program(word: &str) -> &str {
    if is_plain_program(word) { word } else { MASK }
}

/// An argument vector as it may be shown: the program if it is a plain path or word, then
/// `••••` for each argument (a token is as often an argument as it is in the environment).
pub fn shown_argv<S: AsRef<str>>(argv: &[S]) -> String {
    let mut words = argv.iter().map(AsRef::as_ref);
    let mut shown = shown_program(words.next().unwrap_or_default()).to_string();
    for _ in words {
        shown.push(' ');
        shown.push_str(MASK);
    }
    shown
}

/// A shell command line as it may be shown: split into words as the shell would (quotes
/// taken into account); leading assignments (`API_TOKEN=... prog`) are `••••` each, then the
/// program as [`shown_argv`] shows it, then `••••` for each argument. A line the shell
/// could not split (an unclosed quote) is split at whitespace; either way nothing but a
/// plain program shows.
pub fn shown_command_line(line: &str) -> String {
    let words = match shlex::split(line) {
        Some(words) if !words.is_empty() => words,
        _ => line.split_whitespace().map(str::to_string).collect(),
    };
    let assignments = words.iter().take_while(|w| is_assignment(w)).count();
    let mut shown: Vec<&str> = vec![MASK; assignments];
    if let Some(program) = words.get(assignments) {
        shown.push(shown_program(program));
        shown.extend(std::iter::repeat_n(MASK, words.len() - assignments - 1));
    }
    shown.join(" ")
}

/// A URL as it may be shown: scheme, `••••@` for any user info (user and password alike),
/// host, port and path as given, the query with values masked as [`shown_param`] says, no
/// fragment.
pub fn shown_url(url: &url::Url) -> String {
    let mut out = format!("{}://", url.scheme());
    if !url.username().is_empty() || url.password().is_some() {
        out.push_str(MASK);
        out.push('@');
    }
    if let Some(host) = url.host() {
        out.push_str(&host.to_string());
    }
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    if let Some(query) = url.query() {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if is_shown_param(name) => pair.to_string(),
                Some((name, value)) => format!("{name}={}", mask(value)),
                None => mask(pair),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
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
        assert_eq!(shown_command_line("./auth.sh"), "./auth.sh");
        assert_eq!(
            shown_command_line("/usr/local/bin/auth_v2.1+x ~/a"),
            format!("/usr/local/bin/auth_v2.1+x {MASK}")
        );
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

    #[test]
    fn assignments_and_shell_syntax_are_never_shown() {
        // The environment assignment is masked, the program after it shown.
        assert_eq!(
            shown_command_line("API_TOKEN=s3cr3t false"),
            format!("{MASK} false")
        );
        assert_eq!(
            shown_command_line("A=1 _B2='x y' ./auth --k v"),
            format!("{MASK} {MASK} ./auth {MASK} {MASK}")
        );
        assert_eq!(shown_command_line("API_TOKEN=s3cr3t"), MASK);
        // A first word that is not a plain path or word: quoted, with spaces, `=`, `$`,
        // pipes, redirections, substitutions.
        for line in [
            "'/opt/my tools/auth' --x",
            "\"s3cr3t helper\" --x",
            "--token=s3cr3t helper",
            "$(cat /run/s3cr3t) x",
            "`s3cr3t` x",
            "s3cr3t|x y",
            "s3cr3t>x y",
            "s3cr3t;x y",
            "{s3cr3t,} y",
            "$S3CR3T y",
            "s3cr3t:pw y",
            "=s3cr3t y",
        ] {
            let shown = shown_command_line(line);
            assert!(
                !shown.contains("s3cr3t") && !shown.contains("S3CR3T"),
                "{line}: {shown}"
            );
            assert!(shown.starts_with(MASK), "{line}: {shown}");
        }
        assert_eq!(shown_argv(&["TOKEN=s3cr3t", "x"]), format!("{MASK} {MASK}"));
        assert_eq!(shown_argv::<&str>(&[]), MASK);
        assert_eq!(shown_command_line("   "), "");
        assert!(is_plain_program("aüth"));
        assert!(!is_plain_program(""));
    }

    fn url(s: &str) -> String {
        shown_url(&url::Url::parse(s).unwrap())
    }

    #[test]
    fn urls_show_scheme_host_port_and_path_only() {
        assert_eq!(
            url("https://TOKEN@auth.example.test/p/route/auth"),
            format!("https://{MASK}@auth.example.test/p/route/auth")
        );
        assert_eq!(
            url("http://TOKEN:PW@127.0.0.1:8080/auth?team=red&socket_id=1.2&flag#frag"),
            format!("http://{MASK}@127.0.0.1:8080/auth?team={MASK}&socket_id=1.2&{MASK}")
        );
        // A password alone, an empty user: the user info still goes whole.
        assert_eq!(url("http://:PW@h.test/"), format!("http://{MASK}@h.test/"));
        assert_eq!(url("http://[::1]:9/a"), "http://[::1]:9/a");
        assert_eq!(url("https://h.test"), "https://h.test/");
        let long = url("http://averyveryverylongtoken:anotherlongpassword@h.test/");
        assert!(!long.contains("en") && !long.contains("rd"), "{long}");
    }
}
