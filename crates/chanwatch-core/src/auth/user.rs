//! User authentication for `pusher:signin`: who signs `socket_id::user::user_data`.
//! The client redoes it after every reconnect, since the socket id changes.

use super::command::CommandAuthorizer;
use super::endpoint::EndpointAuthorizer;
use super::response::check_user_data;
use super::signature::user_auth;
use crate::connection::AuthFailure;
use std::fmt;

/// What `pusher:signin` sends: `auth` and the exact `user_data` string it signs (a JSON
/// object with a non-empty string `id`). The machine's type, so grants pass straight through.
pub use crate::connection::UserGrant;

#[derive(Clone, Debug)]
pub enum UserAuthenticator {
    /// Sign locally with the app secret and a fixed `user_data`.
    Local(LocalUserSigner),
    /// Ask the app's user-auth endpoint (POST or JSONP with `socket_id` and the params).
    Endpoint(EndpointAuthorizer),
    /// Run a command that gets `{"socket_id":..}` on stdin.
    Command(CommandAuthorizer),
}

impl UserAuthenticator {
    pub async fn authenticate(&self, socket_id: &str) -> Result<UserGrant, AuthFailure> {
        match self {
            UserAuthenticator::Local(signer) => signer.sign(socket_id),
            UserAuthenticator::Endpoint(endpoint) => endpoint.authenticate_user(socket_id).await,
            UserAuthenticator::Command(command) => command.authenticate_user(socket_id).await,
        }
    }
}

/// Signs user authentications with the app key and secret.
#[derive(Clone)]
pub struct LocalUserSigner {
    key: String,
    secret: String,
    user_data: String,
}

impl LocalUserSigner {
    /// `user_data` is kept verbatim (it is signed and sent as these exact bytes) and must be
    /// a JSON object with a non-empty string `id`.
    pub fn new(
        key: impl Into<String>,
        secret: impl Into<String>,
        user_data: impl Into<String>,
    ) -> Result<LocalUserSigner, String> {
        let (key, secret, user_data) = (key.into(), secret.into(), user_data.into());
        if key.is_empty() {
            return Err("cannot sign the user in locally: the app key is empty".into());
        }
        if secret.is_empty() {
            return Err("cannot sign the user in locally: the secret is empty".into());
        }
        check_user_data(&user_data)?;
        Ok(LocalUserSigner {
            key,
            secret,
            user_data,
        })
    }

    pub fn user_data(&self) -> &str {
        &self.user_data
    }

    pub fn sign(&self, socket_id: &str) -> Result<UserGrant, AuthFailure> {
        super::refuse_bad_socket_id(socket_id)?;
        Ok(UserGrant {
            auth: user_auth(&self.key, &self.secret, socket_id, &self.user_data),
            user_data: self.user_data.clone(),
        })
    }
}

/// Never print the secret, not even in debug output.
impl fmt::Debug for LocalUserSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalUserSigner")
            .field("key", &self.key)
            .field("secret", &"<hidden>")
            .field("user_data", &self.user_data)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "278d425bdf160c739803";
    const SECRET: &str = "7ad3773142a6692b25b8";

    #[tokio::test]
    async fn local_matches_the_protocol_vector() {
        let signer = LocalUserSigner::new(KEY, SECRET, r#"{"id":"12345"}"#).unwrap();
        let grant = UserAuthenticator::Local(signer)
            .authenticate("1234.1234")
            .await
            .unwrap();
        assert_eq!(
            grant,
            UserGrant {
                auth: "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
                    .into(),
                user_data: r#"{"id":"12345"}"#.into(),
            }
        );
    }

    #[test]
    fn user_data_is_kept_verbatim() {
        let data = r#"{ "id" : "u1", "user_info": {"name": "Ann"} }"#;
        let signer = LocalUserSigner::new(KEY, SECRET, data).unwrap();
        let grant = signer.sign("1.2").unwrap();
        assert_eq!(grant.user_data, data);
        assert_eq!(grant.auth, user_auth(KEY, SECRET, "1.2", data));
    }

    #[test]
    fn malformed_socket_ids_are_not_signed() {
        let signer = LocalUserSigner::new(KEY, SECRET, r#"{"id":"1"}"#).unwrap();
        for bad in ["1.2::user::x", "", "1.", "x.1"] {
            let f = signer.sign(bad).unwrap_err();
            assert!(f.message.contains("socket id"), "{bad:?}: {}", f.message);
        }
    }

    #[test]
    fn user_data_needs_a_non_empty_string_id() {
        let new = |data: &str| LocalUserSigner::new(KEY, SECRET, data).unwrap_err();
        assert!(new("{nope").contains("not valid JSON"), "{}", new("{nope"));
        assert!(new(r#"{"name":"x"}"#).contains("non-empty string `id`"));
        assert!(new(r#"{"id":""}"#).contains("empty `id`"));
        assert!(new(r#"{"id":7}"#).contains("got a number"));
        assert!(new(r#"["id"]"#).contains("JSON object"));
        assert!(
            LocalUserSigner::new("", SECRET, r#"{"id":"1"}"#)
                .unwrap_err()
                .contains("key")
        );
        assert!(
            LocalUserSigner::new(KEY, "", r#"{"id":"1"}"#)
                .unwrap_err()
                .contains("secret")
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let signer = LocalUserSigner::new(KEY, SECRET, r#"{"id":"1"}"#).unwrap();
        let shown = format!("{:?}", UserAuthenticator::Local(signer));
        assert!(!shown.contains(SECRET) && shown.contains(KEY), "{shown}");
    }
}
