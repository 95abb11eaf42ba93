//! The one-string form of a connection: `pusher://KEY:SECRET@HOST:PORT/apps/ID`.
//!
//! - Scheme: `pusher://` (or `http://`) means plain `ws://`; `pushers://` (or `https://`)
//!   means TLS. The `http(s)` spellings accept the URL the Pusher dashboard and server
//!   libraries (`Pusher.forURL`) use.
//! - `KEY` is required, `:SECRET` and `/apps/ID` are optional; both may be percent-encoded.
//! - `HOST` is the server. A Pusher host (`api-CLUSTER.pusher.com` or
//!   `ws-CLUSTER.pusher.com`) becomes `cluster = CLUSTER` instead, so the same URL serves
//!   both the WebSocket and the HTTP API.
//! - `:PORT`, when given, sets both `ws_port` and `wss_port`: self-hosted servers (sockudo,
//!   soketi, Reverb) serve one port, whichever the scheme.
//! - No query string: the scheme says whether TLS is on.
//!
//! Error messages never quote the URL, since it may hold the secret.

use super::layer::Layer;
use super::values::{Secret, check_app_id, check_cluster, check_host, check_key};
use url::Url;

pub fn parse(s: &str) -> Result<Layer, String> {
    let url = Url::parse(s.trim()).map_err(|e| {
        format!("not a pusher:// URL ({e}); expected pusher://KEY:SECRET@HOST:PORT/apps/ID")
    })?;
    let tls = match url.scheme() {
        "pusher" | "http" => false,
        "pushers" | "https" => true,
        other => {
            return Err(format!(
                "unknown scheme \"{other}://\"; use pusher:// (plain) or pushers:// (TLS)"
            ));
        }
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(
            "the URL takes no query or fragment; use pushers:// for TLS and the config keys for the rest"
                .into(),
        );
    }
    let decode = |part: &str| {
        percent_decode(part).ok_or_else(|| "the URL's user info is not valid UTF-8".to_string())
    };
    let key = decode(url.username())?;
    if key.is_empty() {
        return Err("the URL has no app key; expected pusher://KEY:SECRET@HOST...".into());
    }
    let key = check_key(&key)?;
    let secret = match url.password() {
        Some(p) => Some(Secret::new(decode(p)?).map_err(|e| format!("in the URL, {e}"))?),
        None => None,
    };
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h.trim_start_matches('[').trim_end_matches(']').to_string(),
        _ => return Err("the URL has no host".into()),
    };
    let app_id = app_id_from_path(url.path())?;

    let mut layer = Layer {
        key: Some(key),
        secret,
        app_id,
        tls: Some(tls),
        ..Layer::default()
    };
    match pusher_cluster(&host) {
        Some(cluster) => layer.cluster = Some(check_cluster(cluster)?),
        None => layer.host = Some(check_host(&host)?),
    }
    if let Some(port) = url.port() {
        if port == 0 {
            return Err("the URL's port is 0".into());
        }
        layer.ws_port = Some(port);
        layer.wss_port = Some(port);
    }
    Ok(layer)
}

/// `/apps/ID` (a trailing slash is fine), or nothing.
fn app_id_from_path(path: &str) -> Result<Option<String>, String> {
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return Ok(None);
    }
    match path.strip_prefix("/apps/") {
        Some(id) if !id.contains('/') => Ok(Some(check_app_id(id)?)),
        _ => Err(format!("the URL path \"{path}\" is not /apps/APP_ID")),
    }
}

/// `CLUSTER` from `api-CLUSTER.pusher.com` or `ws-CLUSTER.pusher.com`.
fn pusher_cluster(host: &str) -> Option<&str> {
    let name = host.strip_suffix(".pusher.com")?;
    name.strip_prefix("api-")
        .or_else(|| name.strip_prefix("ws-"))
        .filter(|c| !c.is_empty() && !c.contains('.'))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_form_for_a_self_hosted_server() {
        let l = parse("pusher://testkey:testsecret@127.0.0.1:6001/apps/app1").unwrap();
        assert_eq!(l.key.as_deref(), Some("testkey"));
        assert_eq!(l.secret.as_ref().map(|s| s.expose()), Some("testsecret"));
        assert_eq!(l.host.as_deref(), Some("127.0.0.1"));
        assert_eq!((l.ws_port, l.wss_port), (Some(6001), Some(6001)));
        assert_eq!(l.tls, Some(false));
        assert_eq!(l.app_id.as_deref(), Some("app1"));
        assert_eq!(l.cluster, None);
    }

    #[test]
    fn tls_schemes_and_pusher_hosts() {
        let l = parse("pushers://k@soketi.example.com").unwrap();
        assert_eq!(l.tls, Some(true));
        assert_eq!(l.host.as_deref(), Some("soketi.example.com"));
        assert_eq!(
            (l.ws_port, l.wss_port, l.secret.is_none()),
            (None, None, true)
        );
        let l = parse("https://k:s@api-eu.pusher.com/apps/12345").unwrap();
        assert_eq!(l.tls, Some(true));
        assert_eq!(l.cluster.as_deref(), Some("eu"));
        assert_eq!(l.host, None);
        assert_eq!(l.app_id.as_deref(), Some("12345"));
        let l = parse("http://k@[::1]:6001/apps/a/").unwrap();
        assert_eq!(l.host.as_deref(), Some("::1"));
        assert_eq!(l.tls, Some(false));
    }

    #[test]
    fn percent_encoded_secret() {
        let l = parse("pusher://k:s%2Fc%40t@h/apps/1").unwrap();
        assert_eq!(l.secret.unwrap().expose(), "s/c@t");
    }

    #[test]
    fn bad_urls_say_why_without_echoing_the_secret() {
        for (url, needle) in [
            ("ws://k:topsecret@h", "unknown scheme"),
            ("pusher://h:6001", "no app key"),
            ("pusher://k:topsecret@h/app/1", "/apps/APP_ID"),
            ("pusher://k:topsecret@h/apps/1?tls=true", "no query"),
            ("not a url", "not a pusher:// URL"),
            ("pusher://k:topsecret@h:0", "port"),
        ] {
            let err = parse(url).unwrap_err();
            assert!(err.contains(needle), "{url}: {err}");
            assert!(!err.contains("topsecret"), "{url}: {err}");
        }
    }
}
