//! Encrypted channels (`private-encrypted-`): NaCl secretbox (XSalsa20-Poly1305) as pusher-js
//! and the Pusher server libraries use it, protocol.md §6.
//!
//! The client side is [`decrypt_event`], keyed by the `shared_secret` of the channel's auth
//! response. The server side ([`MasterKey`], [`shared_secret_for`], [`encrypt_event`]) exists for
//! tests, the demo server and local signing with `--encryption-master-key`.
//!
//! Keys never appear in errors or debug output.

use crate::protocol::RawJson;
use crate::protocol::frame::json_kind as kind_of;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fmt;

/// Length of a secretbox key, and of the encryption master key.
pub const KEY_LEN: usize = 32;
/// Length of a secretbox nonce.
pub const NONCE_LEN: usize = 24;
/// The Poly1305 tag that starts every ciphertext (NaCl layout, as in tweetnacl).
pub const TAG_LEN: usize = 16;

/// Why an encrypted event could not be read. The key is never quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("the channel key (shared_secret) is unusable: {0}")]
    BadKey(KeyError),
    #[error("encrypted event data must be an object {{\"nonce\":..,\"ciphertext\":..}}, got {0}")]
    NotAnObject(String),
    #[error("encrypted event data has no nonce")]
    MissingNonce,
    #[error("encrypted event nonce is invalid: {0}")]
    InvalidNonce(String),
    #[error("encrypted event data has no ciphertext")]
    MissingCiphertext,
    #[error("encrypted event ciphertext is invalid: {0}")]
    InvalidCiphertext(String),
    #[error(
        "encrypted event ciphertext is {len} bytes, shorter than the {TAG_LEN}-byte authentication tag"
    )]
    TooShort { len: usize },
    /// The MAC did not verify: the key is not the one the event was sealed with (rotated, or
    /// the auth endpoint derives it from another master key), or the data was altered.
    #[error("cannot decrypt the event: wrong key or altered data (authentication failed)")]
    WrongKey,
    #[error("the decrypted event is not valid UTF-8")]
    NotUtf8,
}

/// A base64 key that does not decode to 32 bytes. `what` names the key in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{what} is not valid base64")]
    NotBase64 { what: &'static str },
    #[error("{what} must be the base64 of {KEY_LEN} bytes, it decodes to {len} bytes")]
    WrongLength { what: &'static str, len: usize },
}

/// Decodes a base64 32-byte key.
fn decode_key(b64: &str, what: &'static str) -> Result<[u8; KEY_LEN], KeyError> {
    let bytes = STANDARD
        .decode(b64.trim())
        .map_err(|_| KeyError::NotBase64 { what })?;
    <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| KeyError::WrongLength {
        what,
        len: bytes.len(),
    })
}

/// The server's encryption master key (`--encryption-master-key`, base64 of 32 bytes), from
/// which every encrypted channel's key is derived.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; KEY_LEN]);

impl MasterKey {
    pub fn from_base64(b64: &str) -> Result<MasterKey, KeyError> {
        decode_key(b64, "the encryption master key").map(MasterKey)
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> MasterKey {
        MasterKey(bytes)
    }

    /// The channel key as the auth response's `shared_secret`:
    /// base64(SHA-256(channel_name || master_key)), as the Node server library derives it.
    pub fn shared_secret_for(&self, channel: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(channel.as_bytes());
        hash.update(self.0);
        STANDARD.encode(hash.finalize())
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<hidden>)")
    }
}

/// [`MasterKey::shared_secret_for`] from the base64 master key.
pub fn shared_secret_for(channel: &str, master_key_b64: &str) -> Result<String, KeyError> {
    Ok(MasterKey::from_base64(master_key_b64)?.shared_secret_for(channel))
}

fn cipher(shared_secret_b64: &str) -> Result<XSalsa20Poly1305, KeyError> {
    let key = decode_key(shared_secret_b64, "shared_secret")?;
    Ok(XSalsa20Poly1305::new(Key::from_slice(&key)))
}

/// Seals `plaintext` (normally the JSON-encoded event data) the way a Pusher server does:
/// `{"nonce": base64(nonce), "ciphertext": base64(tag || encrypted)}`. The caller supplies the
/// nonce (random in production, fixed in tests); it must never repeat under one key.
pub fn encrypt_event(
    shared_secret_b64: &str,
    plaintext: &str,
    nonce: [u8; NONCE_LEN],
) -> Result<Value, KeyError> {
    let sealed = cipher(shared_secret_b64)?
        .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
        // The in-memory AEAD only fails on inputs beyond its length limit (~256 GiB).
        .expect("secretbox encryption of an in-memory message cannot fail");
    Ok(json!({
        "nonce": STANDARD.encode(nonce),
        "ciphertext": STANDARD.encode(sealed),
    }))
}

/// Opens an encrypted event. `data` is the event's `data`: the object
/// `{"nonce","ciphertext"}` or, as it arrives on the wire, a JSON string holding it.
/// The plaintext is returned as JSON when it parses, else as a string (as pusher-js does).
pub fn decrypt_event(shared_secret_b64: &str, data: &Value) -> Result<RawJson, DecryptError> {
    let cipher = cipher(shared_secret_b64).map_err(DecryptError::BadKey)?;
    let parsed;
    let obj = match data {
        Value::Object(obj) => obj,
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).map_err(|_| {
                DecryptError::NotAnObject(format!("a string that is not JSON: {}", quote(text)))
            })?;
            match &parsed {
                Value::Object(obj) => obj,
                other => {
                    return Err(DecryptError::NotAnObject(format!(
                        "a string holding {}",
                        kind_of(other)
                    )));
                }
            }
        }
        other => return Err(DecryptError::NotAnObject(kind_of(other).into())),
    };

    let nonce = match obj.get("nonce") {
        None | Some(Value::Null) => return Err(DecryptError::MissingNonce),
        Some(Value::String(s)) => STANDARD
            .decode(s)
            .map_err(|_| DecryptError::InvalidNonce("not valid base64".into()))?,
        Some(other) => {
            return Err(DecryptError::InvalidNonce(format!(
                "expected a base64 string, got {}",
                kind_of(other)
            )));
        }
    };
    if nonce.len() != NONCE_LEN {
        return Err(DecryptError::InvalidNonce(format!(
            "it decodes to {} bytes, expected {NONCE_LEN}",
            nonce.len()
        )));
    }
    let sealed = match obj.get("ciphertext") {
        None | Some(Value::Null) => return Err(DecryptError::MissingCiphertext),
        Some(Value::String(s)) => STANDARD
            .decode(s)
            .map_err(|_| DecryptError::InvalidCiphertext("not valid base64".into()))?,
        Some(other) => {
            return Err(DecryptError::InvalidCiphertext(format!(
                "expected a base64 string, got {}",
                kind_of(other)
            )));
        }
    };
    if sealed.len() < TAG_LEN {
        return Err(DecryptError::TooShort { len: sealed.len() });
    }
    let plain = cipher
        .decrypt(Nonce::from_slice(&nonce), sealed.as_slice())
        .map_err(|_| DecryptError::WrongKey)?;
    let text = String::from_utf8(plain).map_err(|_| DecryptError::NotUtf8)?;
    Ok(RawJson::parse(&text).unwrap_or_else(|| RawJson::string(&text)))
}

/// A short quote of public (still encrypted) data for messages.
fn quote(text: &str) -> String {
    const MAX: usize = 60;
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX).collect();
    if chars.next().is_some() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // protocol.md §6: bytes 0..31 as the master key.
    const MASTER: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const NONCE: [u8; NONCE_LEN] = [7; NONCE_LEN];

    fn secret() -> String {
        shared_secret_for("private-encrypted-foo", MASTER).unwrap()
    }

    #[test]
    fn shared_secret_matches_the_protocol_vector() {
        let key = STANDARD.decode(secret()).unwrap();
        assert_eq!(
            hex::encode(key),
            "13723a2b12f0a8fd51affa75ebbe95a67af0db70a445d4b96e45f935acd191e6"
        );
        // Another channel, another key.
        assert_ne!(
            shared_secret_for("private-encrypted-bar", MASTER).unwrap(),
            secret()
        );
    }

    #[test]
    fn bad_master_keys_are_explained_without_quoting_them() {
        assert_eq!(
            shared_secret_for("c", "not base64!")
                .unwrap_err()
                .to_string(),
            "the encryption master key is not valid base64"
        );
        assert_eq!(
            MasterKey::from_base64("AAEC").unwrap_err().to_string(),
            "the encryption master key must be the base64 of 32 bytes, it decodes to 3 bytes"
        );
        let key = MasterKey::from_base64(MASTER).unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey(<hidden>)");
        assert_eq!(MasterKey::from_bytes(std::array::from_fn(|i| i as u8)), key);
    }

    #[test]
    fn nacl_secretbox_vector() {
        // NaCl's tests/secretbox.c (also in the crypto_secretbox crate's tests): the tag comes
        // first, as tweetnacl's secretbox output that pusher-js reads.
        let key = hex::decode("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389")
            .unwrap();
        let nonce: [u8; NONCE_LEN] =
            hex::decode("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37")
                .unwrap()
                .try_into()
                .unwrap();
        let plaintext = hex::decode(
            "be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a\
             1ac728d45e6c61296cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057\
             e2f6556ad6b1318a024a838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040\
             e082f937763848645e0705",
        )
        .unwrap();
        let expected = "f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce48332ea7164d96a4\
             476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738\
             b48eeee314a7cc8ab932164548e526ae90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de\
             56244a9e88d5f9b37973f622a43d14a6599b1f654cb45a74e355a5";
        let cipher = XSalsa20Poly1305::new(Key::from_slice(&key));
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_slice())
            .unwrap();
        assert_eq!(hex::encode(&sealed), expected);
        // And through our event format (the plaintext is not UTF-8).
        let data = json!({"nonce": STANDARD.encode(nonce), "ciphertext": STANDARD.encode(&sealed)});
        assert_eq!(
            decrypt_event(&STANDARD.encode(&key), &data),
            Err(DecryptError::NotUtf8)
        );
    }

    #[test]
    fn round_trip_json_data() {
        let data = encrypt_event(&secret(), r#"{"price":42,"item":"é"}"#, NONCE).unwrap();
        assert_eq!(data["nonce"], STANDARD.encode(NONCE));
        // 23 bytes of UTF-8 plus the tag.
        let sealed = STANDARD
            .decode(data["ciphertext"].as_str().unwrap())
            .unwrap();
        assert_eq!(sealed.len(), r#"{"price":42,"item":"é"}"#.len() + TAG_LEN);
        assert_eq!(
            decrypt_event(&secret(), &data).map(|d| d.to_value()),
            Ok(json!({"price": 42, "item": "é"}))
        );
    }

    #[test]
    fn round_trip_through_a_json_string_as_on_the_wire() {
        let data = encrypt_event(&secret(), r#"[1,2]"#, NONCE).unwrap();
        let wire = Value::String(data.to_string());
        assert_eq!(
            decrypt_event(&secret(), &wire).map(|d| d.to_value()),
            Ok(json!([1, 2]))
        );
    }

    #[test]
    fn plaintext_that_is_not_json_comes_back_as_a_string() {
        let data = encrypt_event(&secret(), "hello there", NONCE).unwrap();
        assert_eq!(
            decrypt_event(&secret(), &data).map(|d| d.to_value()),
            Ok(json!("hello there"))
        );
        let data = encrypt_event(&secret(), "", NONCE).unwrap();
        assert_eq!(
            decrypt_event(&secret(), &data).map(|d| d.to_value()),
            Ok(json!(""))
        );
    }

    #[test]
    fn a_different_key_fails_the_mac() {
        let data = encrypt_event(&secret(), "{}", NONCE).unwrap();
        let other = shared_secret_for("private-encrypted-bar", MASTER).unwrap();
        assert_eq!(decrypt_event(&other, &data), Err(DecryptError::WrongKey));
    }

    #[test]
    fn altered_data_fails_the_mac() {
        let data = encrypt_event(&secret(), r#"{"a":1}"#, NONCE).unwrap();
        let mut sealed = STANDARD
            .decode(data["ciphertext"].as_str().unwrap())
            .unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        let altered = json!({"nonce": data["nonce"], "ciphertext": STANDARD.encode(&sealed)});
        assert_eq!(
            decrypt_event(&secret(), &altered),
            Err(DecryptError::WrongKey)
        );
        let other_nonce =
            json!({"nonce": STANDARD.encode([8u8; 24]), "ciphertext": data["ciphertext"]});
        assert_eq!(
            decrypt_event(&secret(), &other_nonce),
            Err(DecryptError::WrongKey)
        );
    }

    #[test]
    fn nonce_problems() {
        let ct = STANDARD.encode([0u8; 32]);
        let k = secret();
        assert_eq!(
            decrypt_event(&k, &json!({"ciphertext": ct})),
            Err(DecryptError::MissingNonce)
        );
        assert_eq!(
            decrypt_event(&k, &json!({"nonce": null, "ciphertext": ct})),
            Err(DecryptError::MissingNonce)
        );
        let e = decrypt_event(&k, &json!({"nonce": "%%%", "ciphertext": ct})).unwrap_err();
        assert_eq!(e, DecryptError::InvalidNonce("not valid base64".into()));
        let e = decrypt_event(&k, &json!({"nonce": 5, "ciphertext": ct})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "encrypted event nonce is invalid: expected a base64 string, got a number"
        );
        let short = STANDARD.encode([1u8; 23]);
        let e = decrypt_event(&k, &json!({"nonce": short, "ciphertext": ct})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "encrypted event nonce is invalid: it decodes to 23 bytes, expected 24"
        );
    }

    #[test]
    fn ciphertext_problems() {
        let nonce = STANDARD.encode(NONCE);
        let k = secret();
        assert_eq!(
            decrypt_event(&k, &json!({"nonce": nonce})),
            Err(DecryptError::MissingCiphertext)
        );
        assert_eq!(
            decrypt_event(&k, &json!({"nonce": nonce, "ciphertext": "*"})),
            Err(DecryptError::InvalidCiphertext("not valid base64".into()))
        );
        assert!(matches!(
            decrypt_event(&k, &json!({"nonce": nonce, "ciphertext": []})),
            Err(DecryptError::InvalidCiphertext(m)) if m.contains("an array")
        ));
        let e = decrypt_event(
            &k,
            &json!({"nonce": nonce, "ciphertext": STANDARD.encode([0u8; 15])}),
        )
        .unwrap_err();
        assert_eq!(e, DecryptError::TooShort { len: 15 });
        assert!(e.to_string().contains("15 bytes"), "{e}");
        // Exactly a tag and nothing else is long enough to be checked, and fails the MAC.
        assert_eq!(
            decrypt_event(
                &k,
                &json!({"nonce": nonce, "ciphertext": STANDARD.encode([0u8; 16])})
            ),
            Err(DecryptError::WrongKey)
        );
    }

    #[test]
    fn data_of_the_wrong_shape() {
        let k = secret();
        assert_eq!(
            decrypt_event(&k, &json!(3)),
            Err(DecryptError::NotAnObject("a number".into()))
        );
        assert_eq!(
            decrypt_event(&k, &json!("[1]")),
            Err(DecryptError::NotAnObject(
                "a string holding an array".into()
            ))
        );
        let e = decrypt_event(&k, &json!("plain text")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "encrypted event data must be an object {\"nonce\":..,\"ciphertext\":..}, got a string that is not JSON: \"plain text\""
        );
    }

    #[test]
    fn unusable_shared_secrets_are_named_not_quoted() {
        let data = encrypt_event(&secret(), "{}", NONCE).unwrap();
        let e = decrypt_event("c2VjcmV0", &data).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the channel key (shared_secret) is unusable: shared_secret must be the base64 of 32 bytes, it decodes to 6 bytes"
        );
        let e = decrypt_event("s3cr3t!", &data).unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        assert_eq!(
            encrypt_event("s3cr3t!", "{}", NONCE).unwrap_err(),
            KeyError::NotBase64 {
                what: "shared_secret"
            }
        );
    }
}
