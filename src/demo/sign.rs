//! Signatures and encryption as a Pusher server checks and produces them (protocol.md §5.2,
//! §6, §9). The signing itself is the library's own (`auth::signature`, `crypto`,
//! `http_api::string_to_sign`), pinned by the published vectors; this module adds the
//! server's side: checking, and deriving channel keys from the master key.

use chanwatch_core::crypto::MasterKey;
use chanwatch_core::http_api::string_to_sign as api_string_to_sign;
use md5::{Digest as _, Md5};

pub use chanwatch_core::auth::signature::{channel_auth, hmac_hex};

/// Compare two strings in time independent of where they differ (signatures).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The string a channel authorization signs: `socket:channel` or `socket:channel:channel_data`
/// (quoted back to clients whose signature does not match, as Pusher does).
pub fn channel_string_to_sign(
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
) -> String {
    match channel_data {
        Some(cd) => format!("{socket_id}:{channel}:{cd}"),
        None => format!("{socket_id}:{channel}"),
    }
}

/// Whether `auth` is what [`channel_auth`] gives for these values.
pub fn verify_channel_auth(
    key: &str,
    secret: &str,
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
    auth: &str,
) -> bool {
    same(
        auth,
        &channel_auth(key, secret, socket_id, channel, channel_data),
    )
}

/// The base64 key of an encrypted channel: SHA-256(channel name || master key).
pub fn channel_shared_secret(channel: &str, master_key: &[u8; 32]) -> String {
    MasterKey::from_bytes(*master_key).shared_secret_for(channel)
}

/// Encrypt `plaintext` for an encrypted channel: the event `data` string
/// `{"nonce": base64, "ciphertext": base64}` with a fresh random 24-byte nonce.
pub fn encrypt_event_data(channel: &str, master_key: &[u8; 32], plaintext: &str) -> String {
    let key = channel_shared_secret(channel, master_key);
    chanwatch_core::crypto::encrypt_event(&key, plaintext, rand::random())
        .expect("a derived channel key is always 32 bytes")
        .to_string()
}

/// Lower-case hex MD5 of an HTTP body, as `body_md5` carries it.
pub fn body_md5(body: &[u8]) -> String {
    hex::encode(Md5::digest(body))
}

/// Check a signed HTTP API request (protocol.md §9). `params` are the decoded query
/// parameters; `now` is the server's unix time. The error says what is wrong.
pub fn verify_api_request(
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    params: &[(String, String)],
    body: &[u8],
    now: u64,
) -> Result<(), String> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let auth_key = get("auth_key").ok_or("missing auth_key")?;
    if auth_key != key {
        return Err(format!("unknown auth_key {auth_key:?}"));
    }
    let ts: u64 = get("auth_timestamp")
        .ok_or("missing auth_timestamp")?
        .parse()
        .map_err(|_| "auth_timestamp is not a number")?;
    if ts.abs_diff(now) > 600 {
        return Err(format!(
            "auth_timestamp {ts} is more than 600 s away from server time {now}"
        ));
    }
    if get("auth_version") != Some("1.0") {
        return Err("auth_version must be 1.0".into());
    }
    if !body.is_empty() {
        let md5 = body_md5(body);
        match get("body_md5") {
            Some(given) if same(given, &md5) => {}
            Some(_) => return Err("body_md5 does not match the body".into()),
            None => return Err("missing body_md5 for a non-empty body".into()),
        }
    }
    let sig = get("auth_signature").ok_or("missing auth_signature")?;
    let expected = hmac_hex(secret, &api_string_to_sign(method, path, params));
    if !same(sig, &expected) {
        return Err(format!(
            "invalid signature: expected HMAC SHA256 hex digest of {:?}",
            api_string_to_sign(method, path, params)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "278d425bdf160c739803";
    const SECRET: &str = "7ad3773142a6692b25b8";

    #[test]
    fn published_private_vector() {
        assert_eq!(
            channel_auth(KEY, SECRET, "1234.1234", "private-foobar", None),
            format!("{KEY}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4")
        );
    }

    #[test]
    fn recomputed_presence_vector() {
        let cd = r#"{"user_id":10,"user_info":{"name":"Mr. Channels"}}"#;
        let auth =
            format!("{KEY}:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80");
        assert_eq!(
            channel_auth(KEY, SECRET, "1234.1234", "presence-foobar", Some(cd)),
            auth
        );
        assert!(verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "presence-foobar",
            Some(cd),
            &auth
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1235",
            "presence-foobar",
            Some(cd),
            &auth
        ));
    }

    #[test]
    fn shared_secret_vector() {
        let master: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            hex::encode(
                base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    channel_shared_secret("private-encrypted-foo", &master)
                )
                .unwrap()
            ),
            "13723a2b12f0a8fd51affa75ebbe95a67af0db70a445d4b96e45f935acd191e6"
        );
    }

    #[test]
    fn encryption_round_trip_and_wrong_key() {
        let master = [7u8; 32];
        let data = encrypt_event_data("private-encrypted-x", &master, r#"{"a":1}"#);
        let data: serde_json::Value = serde_json::from_str(&data).unwrap();
        let key = channel_shared_secret("private-encrypted-x", &master);
        assert_eq!(
            chanwatch_core::crypto::decrypt_event(&key, &data).unwrap(),
            serde_json::json!({"a": 1})
        );
        let other = channel_shared_secret("private-encrypted-y", &master);
        assert!(chanwatch_core::crypto::decrypt_event(&other, &data).is_err());
    }

    #[test]
    fn published_api_example() {
        let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
        assert_eq!(body_md5(body), "ec365a775a4cd0599faeb73354201b6f");
        let q = chanwatch_core::http_api::sign_query(
            "POST",
            "/apps/3/events",
            KEY,
            SECRET,
            1353088179,
            Some(body),
            &[],
        );
        assert!(q.ends_with(
            "auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
        ));
        let params: Vec<(String, String)> = q
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        verify_api_request(
            KEY,
            SECRET,
            "POST",
            "/apps/3/events",
            &params,
            body,
            1353088179 + 5,
        )
        .unwrap();
        let err = verify_api_request(
            KEY,
            SECRET,
            "POST",
            "/apps/3/events",
            &params,
            body,
            1353088179 + 601,
        )
        .unwrap_err();
        assert!(err.contains("600"), "{err}");
        let err = verify_api_request(
            KEY,
            "other",
            "POST",
            "/apps/3/events",
            &params,
            body,
            1353088179,
        )
        .unwrap_err();
        assert!(err.contains("invalid signature"), "{err}");
        let err = verify_api_request(
            KEY,
            SECRET,
            "POST",
            "/apps/3/events",
            &params,
            b"{}",
            1353088179,
        )
        .unwrap_err();
        assert!(err.contains("body_md5"), "{err}");
    }
}
