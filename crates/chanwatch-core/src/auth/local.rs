//! Signing subscriptions locally with the app secret (`--secret`), as a server would, and,
//! given the server's encryption master key, handing out encrypted channels' keys too.

use super::signature::channel_auth;
use crate::connection::{AuthFailure, AuthFailureKind, AuthGrant, AuthRequest};
use crate::crypto::MasterKey;
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
    master_key: Option<MasterKey>,
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
            master_key: None,
        })
    }

    /// Adds the server's encryption master key (`--encryption-master-key`, base64 of 32
    /// bytes), so encrypted channels get their `shared_secret` derived as the server does.
    pub fn with_master_key(mut self, master_key_b64: &str) -> Result<LocalSigner, String> {
        self.master_key = Some(MasterKey::from_base64(master_key_b64).map_err(|e| e.to_string())?);
        Ok(self)
    }

    pub fn has_master_key(&self) -> bool {
        self.master_key.is_some()
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

    /// Signs `req`. Encrypted channels are signed like private ones; their `shared_secret` is
    /// derived from the server's encryption master key, so without one they fail.
    pub fn sign(&self, req: &AuthRequest) -> Result<AuthGrant, AuthFailure> {
        super::refuse_bad_socket_id(&req.socket_id)?;
        let kind = ChannelKind::of(&req.channel);
        match kind {
            ChannelKind::Encrypted => match &self.master_key {
                Some(master_key) => Ok(AuthGrant {
                    auth: channel_auth(&self.key, &self.secret, &req.socket_id, &req.channel, None),
                    channel_data: None,
                    shared_secret: Some(master_key.shared_secret_for(&req.channel)),
                }),
                None => Err(AuthFailure::new(
                    AuthFailureKind::BadSharedSecret,
                    format!(
                        "{}: local signing cannot provide the shared_secret an encrypted channel \
                         needs (it comes from the server's encryption master key); pass \
                         --encryption-master-key BASE64 or use --auth-endpoint URL",
                        req.channel
                    ),
                )),
            },
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
            .field("master_key", &self.master_key.as_ref().map(|_| "<hidden>"))
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
        assert!(
            f.message.contains("--encryption-master-key"),
            "{}",
            f.message
        );
        assert!(!f.message.contains(SECRET));
    }

    const MASTER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn a_master_key_gives_encrypted_channels_their_key() {
        let s = LocalSigner::new(KEY, SECRET, None, None)
            .unwrap()
            .with_master_key(MASTER)
            .unwrap();
        assert!(s.has_master_key());
        let g = s.sign(&req("private-encrypted-foo")).unwrap();
        // Signed like a private channel; shared_secret is not part of the signature.
        let expected = hmac_hex(SECRET, "1234.1234:private-encrypted-foo");
        assert_eq!(g.auth, format!("{KEY}:{expected}"));
        assert_eq!(g.channel_data, None);
        // The protocol.md §6 vector.
        let key = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            g.shared_secret.unwrap(),
        )
        .unwrap();
        assert_eq!(
            hex::encode(key),
            "13723a2b12f0a8fd51affa75ebbe95a67af0db70a445d4b96e45f935acd191e6"
        );
        // Other kinds are unaffected.
        assert_eq!(s.sign(&req("private-foobar")).unwrap().shared_secret, None);
    }

    #[test]
    fn bad_master_keys_are_refused_and_never_shown() {
        let s = LocalSigner::new(KEY, SECRET, None, None).unwrap();
        assert_eq!(
            s.clone().with_master_key("AAEC").unwrap_err(),
            "the encryption master key must be the base64 of 32 bytes, it decodes to 3 bytes"
        );
        assert_eq!(
            s.clone().with_master_key("not base64!").unwrap_err(),
            "the encryption master key is not valid base64"
        );
        assert!(!s.has_master_key());
        let with = s.with_master_key(MASTER).unwrap();
        let shown = format!("{with:?}");
        assert!(
            !shown.contains(MASTER) && !shown.contains(SECRET),
            "{shown}"
        );
        assert!(shown.contains("master_key: Some(\"<hidden>\")"), "{shown}");
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
    fn malformed_socket_ids_are_not_signed() {
        let s = LocalSigner::new(KEY, SECRET, None, None).unwrap();
        for bad in ["1234.1234:presence-x", "1234", "", "a.b"] {
            let f = s
                .sign(&AuthRequest {
                    channel: "private-foobar".into(),
                    socket_id: bad.into(),
                })
                .unwrap_err();
            assert_eq!(f.status, None);
            assert!(f.message.contains("socket id"), "{bad:?}: {}", f.message);
        }
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let s = LocalSigner::new(KEY, SECRET, None, None).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains(KEY));
    }
}
