//! Signing subscriptions locally with the app secret (`--secret`), as a server would.

use super::signature::channel_auth;
use crate::connection::{AuthFailure, AuthGrant, AuthRequest};
use crate::protocol::ChannelKind;
use serde_json::Value;
use std::fmt;

/// Signs private and presence subscriptions with the app key and secret.
///
/// The presence identity is fixed when the signer is built: a generated user id must stay the
/// same across reconnects, or every reconnect would look like a new member to the others.
#[derive(Clone)]
pub struct LocalSigner {
    key: String,
    secret: String,
    user_id: String,
    user_info: Option<Value>,
}

impl LocalSigner {
    /// `user_id` defaults to `chanwatch-<8 hex>`, chosen once here.
    pub fn new(
        key: impl Into<String>,
        secret: impl Into<String>,
        user_id: Option<String>,
        user_info: Option<Value>,
    ) -> Result<LocalSigner, String> {
        let key = key.into();
        let secret = secret.into();
        if key.is_empty() {
            return Err("cannot sign locally: the app key is empty".into());
        }
        if secret.is_empty() {
            return Err("cannot sign locally: the secret is empty".into());
        }
        let user_id = match user_id {
            Some(id) if id.trim().is_empty() => {
                return Err("the presence user id is empty; omit it to get a random one".into());
            }
            Some(id) => id,
            None => format!("chanwatch-{:08x}", rand::random::<u32>()),
        };
        Ok(LocalSigner {
            key,
            secret,
            user_id,
            user_info,
        })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn user_info(&self) -> Option<&Value> {
        self.user_info.as_ref()
    }

    /// The presence `channel_data`: `{"user_id":"<id>","user_info":<info>}`, `user_info`
    /// left out when none was given. Built by hand so the field order is fixed.
    pub fn channel_data(&self) -> String {
        let id = Value::String(self.user_id.clone());
        match &self.user_info {
            Some(info) => format!(r#"{{"user_id":{id},"user_info":{info}}}"#),
            None => format!(r#"{{"user_id":{id}}}"#),
        }
    }

    /// Signs `req`. Encrypted channels fail: their `shared_secret` is derived from the
    /// server's encryption master key, which the app secret does not give us.
    pub fn sign(&self, req: &AuthRequest) -> Result<AuthGrant, AuthFailure> {
        let kind = ChannelKind::of(&req.channel);
        match kind {
            ChannelKind::Encrypted => Err(AuthFailure {
                status: None,
                message: format!(
                    "{}: local signing cannot provide the shared_secret an encrypted channel needs \
                     (it comes from the server's encryption master key); use --auth-endpoint URL",
                    req.channel
                ),
            }),
            ChannelKind::Presence => {
                let data = self.channel_data();
                Ok(AuthGrant {
                    auth: channel_auth(
                        &self.key,
                        &self.secret,
                        &req.socket_id,
                        &req.channel,
                        Some(&data),
                    ),
                    channel_data: Some(data),
                    shared_secret: None,
                })
            }
            ChannelKind::Private | ChannelKind::Public => Ok(AuthGrant {
                auth: channel_auth(&self.key, &self.secret, &req.socket_id, &req.channel, None),
                channel_data: None,
                shared_secret: None,
            }),
        }
    }
}

/// Never print the secret, not even in debug output.
impl fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSigner")
            .field("key", &self.key)
            .field("secret", &"<hidden>")
            .field("user_id", &self.user_id)
            .field("user_info", &self.user_info)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::signature::hmac_hex;
    use serde_json::json;

    const KEY: &str = "278d425bdf160c739803";
    const SECRET: &str = "7ad3773142a6692b25b8";

    fn req(channel: &str) -> AuthRequest {
        AuthRequest {
            channel: channel.into(),
            socket_id: "1234.1234".into(),
        }
    }

    #[test]
    fn private_channel_matches_the_vector() {
        let s = LocalSigner::new(KEY, SECRET, None, None).unwrap();
        let g = s.sign(&req("private-foobar")).unwrap();
        assert_eq!(
            g.auth,
            "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
        );
        assert_eq!(g.channel_data, None);
        assert_eq!(g.shared_secret, None);
    }

    #[test]
    fn presence_signs_the_exact_channel_data_it_returns() {
        let s =
            LocalSigner::new(KEY, SECRET, Some("42".into()), Some(json!({"name": "Ann"}))).unwrap();
        let g = s.sign(&req("presence-room")).unwrap();
        let data = g.channel_data.clone().unwrap();
        assert_eq!(data, r#"{"user_id":"42","user_info":{"name":"Ann"}}"#);
        let expected = hmac_hex(SECRET, &format!("1234.1234:presence-room:{data}"));
        assert_eq!(g.auth, format!("{KEY}:{expected}"));
    }

    #[test]
    fn presence_without_info_omits_it_and_escapes_the_id() {
        let s = LocalSigner::new(KEY, SECRET, Some("a\"b".into()), None).unwrap();
        assert_eq!(s.channel_data(), r#"{"user_id":"a\"b"}"#);
        let parsed: Value = serde_json::from_str(&s.channel_data()).unwrap();
        assert_eq!(parsed, json!({"user_id": "a\"b"}));
    }

    #[test]
    fn generated_user_id_is_stable_for_one_signer() {
        let s = LocalSigner::new(KEY, SECRET, None, None).unwrap();
        let id = s.user_id().to_string();
        assert!(
            id.starts_with("chanwatch-") && id.len() == "chanwatch-".len() + 8,
            "{id}"
        );
        assert!(
            id["chanwatch-".len()..]
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
        let first = s.sign(&req("presence-a")).unwrap().channel_data;
        let clone = s.clone();
        let again = AuthRequest {
            channel: "presence-a".into(),
            socket_id: "99.1".into(), // a reconnect: new socket id, same member
        };
        assert_eq!(clone.sign(&again).unwrap().channel_data, first);
        assert_eq!(clone.user_id(), id);
    }

    #[test]
    fn encrypted_channels_are_refused_with_a_reason() {
        let s = LocalSigner::new(KEY, SECRET, None, None).unwrap();
        let f = s.sign(&req("private-encrypted-x")).unwrap_err();
        assert_eq!(f.status, None);
        assert!(f.message.contains("shared_secret"), "{}", f.message);
        assert!(f.message.contains("--auth-endpoint"), "{}", f.message);
        assert!(!f.message.contains(SECRET));
    }

    #[test]
    fn bad_construction_is_explained() {
        assert!(
            LocalSigner::new("", SECRET, None, None)
                .unwrap_err()
                .contains("key")
        );
        assert!(
            LocalSigner::new(KEY, "", None, None)
                .unwrap_err()
                .contains("secret")
        );
        assert!(
            LocalSigner::new(KEY, SECRET, Some(" ".into()), None)
                .unwrap_err()
                .contains("user id")
        );
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let s = LocalSigner::new(KEY, SECRET, None, None).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains(KEY));
    }
}
