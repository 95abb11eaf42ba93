//! The JSONP answer format: the auth JSON wrapped in a call of the callback we named,
//! `callback({...});`. Pure, so the forms real servers produce can be pinned down.

/// The callback name chanwatch sends. A plain identifier: servers commonly validate callback
/// names against `[A-Za-z0-9_$.]`, and pusher-js's `Pusher.auth_callbacks['1']` form only
/// matters to a browser.
pub const JSONP_CALLBACK: &str = "chanwatch_auth";

/// Returns the argument of `callback(...)` in `body`.
///
/// Tolerates surrounding whitespace, a trailing `;`, and the prefixes frameworks add against
/// content sniffing: a leading `/**/` comment (Rails, Laravel, Express) and Express's
/// `typeof callback === 'function' && ` guard.
pub fn unwrap_callback<'a>(body: &'a [u8], callback: &str) -> Result<&'a str, String> {
    let text = std::str::from_utf8(body).map_err(|_| "it is not UTF-8 text".to_string())?;
    let mut rest = text.trim_start_matches('\u{feff}').trim();
    if rest.is_empty() {
        return Err("it is empty".into());
    }
    while let Some(after) = rest.strip_prefix("/*") {
        let Some(end) = after.find("*/") else {
            return Err("it opens a /* comment that never closes".into());
        };
        rest = after[end + 2..].trim_start();
    }
    if rest.starts_with("typeof ") || rest.starts_with("typeof\t") {
        let Some(i) = rest.find("&&") else {
            return Err(format!(
                "it starts with a `typeof` guard but has no `&& {callback}(...)`"
            ));
        };
        rest = rest[i + 2..].trim_start();
    }
    let Some(open) = rest.find('(') else {
        return Err(format!("it is not a call `{callback}(...)`"));
    };
    let called = rest[..open].trim();
    if called != callback {
        return Err(if called.is_empty() {
            format!("it is not a call `{callback}(...)`")
        } else {
            format!("it calls `{called}` instead of the requested callback `{callback}`")
        });
    }
    let tail = rest[open + 1..].trim_end();
    let tail = tail.strip_suffix(';').unwrap_or(tail).trim_end();
    let Some(inner) = tail.strip_suffix(')') else {
        return Err(format!("the call `{callback}(` is not closed by `)`"));
    };
    Ok(inner.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CB: &str = JSONP_CALLBACK;

    fn ok(body: &str) -> &str {
        unwrap_callback(body.as_bytes(), CB).unwrap()
    }

    fn err(body: &str) -> String {
        unwrap_callback(body.as_bytes(), CB).unwrap_err()
    }

    #[test]
    fn plain_and_spaced_forms() {
        assert_eq!(ok(r#"chanwatch_auth({"auth":"k:s"})"#), r#"{"auth":"k:s"}"#);
        assert_eq!(
            ok("\n  chanwatch_auth ( {\"auth\":\"k:s\"} ) ;\r\n"),
            r#"{"auth":"k:s"}"#
        );
        assert_eq!(ok("\u{feff}chanwatch_auth({});"), "{}");
    }

    #[test]
    fn framework_prefixes() {
        // Laravel / Rails.
        assert_eq!(ok(r#"/**/chanwatch_auth({"a":1});"#), r#"{"a":1}"#);
        // Express res.jsonp.
        assert_eq!(
            ok(r#"/**/ typeof chanwatch_auth === 'function' && chanwatch_auth({"a":1});"#),
            r#"{"a":1}"#
        );
    }

    #[test]
    fn parentheses_inside_the_json_are_kept() {
        assert_eq!(
            ok(r#"chanwatch_auth({"note":"a (b) c)"});"#),
            r#"{"note":"a (b) c)"}"#
        );
    }

    #[test]
    fn wrong_or_missing_wrappers_are_named() {
        assert_eq!(
            err(r#"{"auth":"k:s"}"#),
            "it is not a call `chanwatch_auth(...)`"
        );
        assert_eq!(
            err(r#"callback({"auth":"k:s"})"#),
            "it calls `callback` instead of the requested callback `chanwatch_auth`"
        );
        assert_eq!(
            err(r#"chanwatch_auth({"auth":"k:s"}"#),
            "the call `chanwatch_auth(` is not closed by `)`"
        );
        assert_eq!(err("  \n"), "it is empty");
        assert_eq!(
            err("/* never closed"),
            "it opens a /* comment that never closes"
        );
        assert!(err("typeof x === 'function'").contains("typeof"));
        assert_eq!(
            unwrap_callback(&[0xff, b'('], CB).unwrap_err(),
            "it is not UTF-8 text"
        );
    }
}
