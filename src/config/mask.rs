//! What counts as a secret and how it is shown: `••••`, plus the last two characters when
//! the value is long enough that they give nothing useful away.

/// Header and parameter names whose values are credentials, compared case-insensitively as
/// substrings: `Authorization`, `Cookie`, `X-Api-Key`, `access_token`, `client_secret`...
/// `auth` covers the home-made names reverse proxies use (`X-Proxy-Auth`, `X-Auth-User`).
/// (The app key is not one of these: it is public, it is in every connection URL.)
const SECRET_NAME_PARTS: &[&str] = &[
    "auth",
    "cookie",
    "token",
    "secret",
    "key",
    "password",
    "passwd",
    "signature",
    "session",
    "credential",
];

pub const MASK: &str = "••••";

/// Whether a header or parameter called `name` carries a credential.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
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

/// The value as it may be shown: masked when its name looks secret.
pub fn shown_value(name: &str, value: &str) -> String {
    if is_secret_name(name) {
        mask(value)
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "X-Api-Key",
            "access_token",
            "X-CSRF-TOKEN",
            "client_secret",
            "password",
            "X-Session-Id",
            "X-Proxy-Auth",
        ] {
            assert!(is_secret_name(name), "{name} should be secret");
        }
        for name in ["Accept", "X-Tenant", "user", "channel_name", "Content-Type"] {
            assert!(!is_secret_name(name), "{name} should be shown");
        }
    }

    #[test]
    fn masking_keeps_only_a_short_tail_of_long_values() {
        assert_eq!(mask(""), MASK);
        assert_eq!(mask("short"), MASK);
        assert_eq!(mask("7ad3773142a6692b25b8"), format!("{MASK}b8"));
        assert_eq!(shown_value("Accept", "text/plain"), "text/plain");
        assert_eq!(shown_value("Authorization", "Bearer abc"), MASK);
    }
}
