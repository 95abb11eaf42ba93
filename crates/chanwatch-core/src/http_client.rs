//! What the HTTP requests chanwatch makes (auth endpoints, the HTTP API) share: reading a
//! response body with a size cap, the rule for following redirects, and the client builder
//! that applies that rule and sends no `Referer`.
//!
//! The cap matters because an endpoint's answer is held in memory whole: a misconfigured
//! URL that streams a large file, or a hostile server, must not grow the process without
//! bound. The redirect rule matters because the auth request carries the configured
//! headers and params, often credentials, and reqwest strips only `Authorization`, `Cookie`
//! and a few others when a redirect leaves the host: an `X-Team-Token` would be sent along.
//! The HTTP API's request is signed, and a redirect elsewhere would carry the signed URL,
//! the body and (reqwest's default) a `Referer` holding that URL to a server that should see
//! none of them.

use reqwest::redirect::{Attempt, Policy};
use url::Url;

/// A client builder for every request chanwatch makes: redirects followed only within the
/// request's origin ([`same_origin_redirects`]) and no `Referer` header, which would repeat
/// the previous URL (its query may hold a signature or credentials) to the next server.
/// Callers add their timeout, user agent and TLS.
pub fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(same_origin_redirects())
        .referer(false)
}

/// Redirects followed within one origin before giving up (a loop ends here too).
pub const MAX_REDIRECTS: usize = 5;

/// Why a body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More than `limit` bytes arrived; the rest was not read.
    #[error("the body is over {} KiB", .limit / 1024)]
    TooLarge { limit: usize },
    /// The connection failed while reading.
    #[error(transparent)]
    Read(#[from] reqwest::Error),
}

/// Reads the response body, refusing it as soon as it grows past `limit` bytes (a
/// `Content-Length` over the limit is refused before reading anything).
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A redirect that the policy refused: it names where it pointed (scheme, host and port
/// only, since the path and query may carry a token), so the message says what happened.
#[derive(Debug, thiserror::Error)]
pub enum RedirectRefused {
    #[error(
        "redirected from {from} to another origin, {to}; only redirects within the same \
         scheme, host and port are followed"
    )]
    OtherOrigin { from: String, to: String },
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooMany,
}

/// Follows redirects only within the origin (scheme, host and port) of the request, at
/// most [`MAX_REDIRECTS`] of them.
pub fn same_origin_redirects() -> Policy {
    Policy::custom(|attempt: Attempt| {
        let Some(first) = attempt.previous().first() else {
            return attempt.follow();
        };
        if let Some(refused) = refuse_redirect(first, attempt.url(), attempt.previous().len()) {
            return attempt.error(refused);
        }
        attempt.follow()
    })
}

/// The policy's decision as a pure function: `first` is the URL originally asked for,
/// `next` where the server points, `followed` how many URLs were requested so far.
pub fn refuse_redirect(first: &Url, next: &Url, followed: usize) -> Option<RedirectRefused> {
    if first.origin() != next.origin() {
        return Some(RedirectRefused::OtherOrigin {
            from: first.origin().ascii_serialization(),
            to: next.origin().ascii_serialization(),
        });
    }
    (followed > MAX_REDIRECTS).then_some(RedirectRefused::TooMany)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn only_the_same_origin_is_followed() {
        let first = url("http://127.0.0.1:8080/pusher/auth");
        assert!(refuse_redirect(&first, &url("http://127.0.0.1:8080/other?x=1"), 1).is_none());
        for other in [
            "http://127.0.0.1:8081/pusher/auth",
            "https://127.0.0.1:8080/pusher/auth",
            "http://localhost:8080/pusher/auth",
        ] {
            let refused = refuse_redirect(&first, &url(other), 1).expect(other);
            let shown = refused.to_string();
            assert!(shown.contains("another origin"), "{shown}");
        }
        // The default port is the same origin whether written or not.
        assert!(
            refuse_redirect(&url("https://h.test/auth"), &url("https://h.test:443/x"), 1).is_none()
        );
    }

    #[test]
    fn the_target_is_named_without_its_path_or_query() {
        let refused = refuse_redirect(
            &url("http://127.0.0.1:1/auth"),
            &url("http://evil.test:9/steal?token=t0k3n"),
            1,
        )
        .unwrap();
        let shown = refused.to_string();
        assert!(shown.contains("http://evil.test:9"), "{shown}");
        assert!(
            !shown.contains("t0k3n") && !shown.contains("steal"),
            "{shown}"
        );
    }

    #[test]
    fn the_count_is_bounded() {
        let first = url("http://h.test/a");
        assert!(refuse_redirect(&first, &first, MAX_REDIRECTS).is_none());
        assert!(matches!(
            refuse_redirect(&first, &first, MAX_REDIRECTS + 1),
            Some(RedirectRefused::TooMany)
        ));
    }
}
