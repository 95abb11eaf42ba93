//! The webhook receiver's settings: `webhook_listen`, `webhook_path` and `webhook_forward`
//! in the config file, the same as `--webhook-listen`, `--webhook-path` and
//! `--webhook-forward`, which win over it. Checked as they are read, so a bad value names
//! its key (or flag).

use serde::{Deserialize, Deserializer, de};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// `ADDR:PORT`, or `:PORT` for loopback. A host name is refused: the receiver binds one
/// address, and which one a name resolves to is a guess.
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Some(port) = s.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("{s:?} is not :PORT (a port from 0 to 65535)"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    s.parse().map_err(|_| {
        format!("{s:?} is not ADDR:PORT (e.g. 127.0.0.1:8787, [::1]:8787 or :8787 for loopback)")
    })
}

/// A path starting with `/`, printable ASCII with no spaces or `?`, at most 256 bytes.
pub fn check_path(s: &str) -> Result<String, String> {
    if !s.starts_with('/') {
        return Err(format!("{s:?} must start with '/'"));
    }
    if s.len() > 256
        || !s
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#')
    {
        return Err(format!(
            "{s:?} must be at most 256 printable ASCII characters, without spaces, '?' or '#'"
        ));
    }
    Ok(s.to_string())
}

/// An `http://` or `https://` URL to pass webhooks on to. The message never repeats the
/// URL: it may carry credentials.
pub fn parse_forward(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    Ok(url)
}

pub(super) fn de_listen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    parse_listen(&String::deserialize(d)?)
        .map(Some)
        .map_err(de::Error::custom)
}

pub(super) fn de_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    check_path(&String::deserialize(d)?)
        .map(Some)
        .map_err(de::Error::custom)
}

pub(super) fn de_forward<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    parse_forward(&s).map_err(de::Error::custom)?;
    Ok(Some(s))
}

/// The forward URL as `--print-config` shows it: without credentials or query.
pub(super) fn ser_forward<S: serde::Serializer>(
    v: &Option<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v.as_deref().map(url::Url::parse) {
        Some(Ok(url)) => s.serialize_str(&crate::webhook::shown_url(&url)),
        _ => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen(":8787").unwrap().to_string(), "127.0.0.1:8787");
        assert_eq!(parse_listen("0.0.0.0:1").unwrap().to_string(), "0.0.0.0:1");
        assert_eq!(parse_listen("[::1]:9").unwrap().to_string(), "[::1]:9");
        for bad in ["localhost:1", "8787", ":99999", "", "1.2.3.4"] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_and_forward_urls() {
        assert_eq!(check_path("/pusher/hooks").unwrap(), "/pusher/hooks");
        for bad in ["hooks", "/a b", "/a?b", ""] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        assert!(parse_forward("http://127.0.0.1:3000/x").is_ok());
        for bad in ["ftp://h/x", "127.0.0.1:3000", "http://"] {
            assert!(parse_forward(bad).is_err(), "{bad}");
        }
        let e = parse_forward("gopher://user:hunter2@h/").unwrap_err();
        assert!(!e.contains("hunter2"));
    }
}
