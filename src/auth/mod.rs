//! Channel authorization: signing locally with the app secret, or asking the app's HTTP auth
//! endpoint as pusher-js does.

pub mod signature;

pub use signature::{channel_auth, hmac_hex, user_auth};
