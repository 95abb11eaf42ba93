//! Which way subscriptions get authorized, chosen once from the options, plus the parsers
//! for the `--auth-param` and `--auth-header` flags.

use super::command::CommandAuthorizer;
use super::endpoint::{EndpointAuthorizer, header_pair};
use super::local::LocalSigner;
use crate::connection::{AuthFailure, AuthFailureKind, AuthGrant, AuthRequest};
use crate::protocol::ChannelKind;

#[derive(Clone, Debug, Default)]
pub enum Authorizer {
    /// `--secret`: sign locally.
    Local(LocalSigner),
    /// `--auth-endpoint URL`: ask the app's server.
    Endpoint(EndpointAuthorizer),
    /// An external command prints the auth JSON (pusher-js's `customHandler`).
    Command(CommandAuthorizer),
    /// Neither was configured: every private, presence or encrypted channel fails with advice.
    #[default]
    None,
}

impl Authorizer {
    /// What authorizing `req` involves, for the auth inspector; never a secret.
    pub fn describe(&self, req: &AuthRequest) -> serde_json::Value {
        match self {
            Authorizer::Local(signer) => {
                let mut signs = format!("{}:{}", req.socket_id, req.channel);
                if ChannelKind::of(&req.channel) == ChannelKind::Presence {
                    signs.push(':');
                    signs.push_str(&signer.channel_data());
                }
                serde_json::json!({"kind": "local", "hmac_sha256_of": signs})
            }
            Authorizer::Endpoint(endpoint) => endpoint.describe(req),
            Authorizer::Command(command) => {
                serde_json::json!({"kind": "command", "command": command.shown()})
            }
            Authorizer::None => serde_json::json!({"kind": "none"}),
        }
    }

    pub async fn authorize(&self, req: &AuthRequest) -> Result<AuthGrant, AuthFailure> {
        // The machine never asks for public channels; should it, there is nothing to sign.
        if !ChannelKind::of(&req.channel).needs_auth() {
            return Ok(AuthGrant::default());
        }
        match self {
            Authorizer::Local(signer) => signer.sign(req),
            Authorizer::Endpoint(endpoint) => endpoint.authorize(req).await,
            Authorizer::Command(command) => command.authorize(req).await,
            Authorizer::None => Err(AuthFailure::new(
                AuthFailureKind::NotConfigured,
                format!(
                    "{} needs authorization: pass --secret (sign locally) or --auth-endpoint URL",
                    req.channel
                ),
            )),
        }
    }
}

/// Parses `--auth-param key=value` (split at the first `=`; the value may be empty or hold `=`).
pub fn parse_param(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        // Never quote the argument: its value may be a token.
        Some(_) => Err("an auth param has an empty name; use key=value".into()),
        None => Err("an auth param must look like key=value (no '=' found)".into()),
    }
}

/// Parses `--auth-header`, `--user-auth-header` and `--ws-header` values, 'Name: value'
/// (split at the first `:`, surrounding spaces trimmed).
pub fn parse_header(arg: &str) -> Result<(String, String), String> {
    let Some((name, value)) = arg.split_once(':') else {
        // Never quote the argument: it may be `Bearer <token>` without its name.
        return Err("a header must look like 'Name: value' (no ':' found)".into());
    };
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() {
        return Err("a header has an empty name; use 'Name: value'".into());
    }
    header_pair(name, value).map_err(|e| format!("header: {e}"))?;
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(channel: &str) -> AuthRequest {
        AuthRequest {
            channel: channel.into(),
            socket_id: "1.1".into(),
        }
    }

    #[tokio::test]
    async fn none_explains_how_to_authorize() {
        let f = Authorizer::None
            .authorize(&req("private-orders"))
            .await
            .unwrap_err();
        assert_eq!(f.status, None);
        assert_eq!(f.kind, AuthFailureKind::NotConfigured);
        assert_eq!(
            f.message,
            "private-orders needs authorization: pass --secret (sign locally) or --auth-endpoint URL"
        );
    }

    #[tokio::test]
    async fn public_channels_need_nothing() {
        let g = Authorizer::None.authorize(&req("news")).await.unwrap();
        assert_eq!(g, AuthGrant::default());
    }

    #[tokio::test]
    async fn local_dispatches_to_the_signer() {
        let signer = LocalSigner::new("k", "s", Some("u".into()), None).unwrap();
        let a = Authorizer::Local(signer.clone());
        let g = a.authorize(&req("presence-x")).await.unwrap();
        assert_eq!(Ok(g), signer.sign(&req("presence-x")));
    }

    #[test]
    fn params() {
        assert_eq!(parse_param("a=b"), Ok(("a".into(), "b".into())));
        assert_eq!(parse_param("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_param("a="), Ok(("a".into(), String::new())));
        assert!(parse_param("=b").unwrap_err().contains("empty name"));
        assert!(parse_param("ab").unwrap_err().contains("key=value"));
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("Authorization: Bearer a:b"),
            Ok(("Authorization".into(), "Bearer a:b".into()))
        );
        assert_eq!(
            parse_header("X-Empty:"),
            Ok(("X-Empty".into(), String::new()))
        );
        assert!(
            parse_header("NoColon")
                .unwrap_err()
                .contains("'Name: value'")
        );
        assert!(parse_header(" : v").unwrap_err().contains("empty name"));
        assert!(
            parse_header("Bad Name: v")
                .unwrap_err()
                .contains("header name")
        );
        assert!(
            parse_header("X-A: a\u{7f}b")
                .unwrap_err()
                .contains("not allowed")
        );
    }
}
