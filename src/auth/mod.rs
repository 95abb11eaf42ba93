//! Channel authorization: signing locally with the app secret, or asking the app's HTTP auth
//! endpoint as pusher-js does.
//!
//! Secrets never appear in errors or debug output.

mod local;
pub mod signature;

pub use local::LocalSigner;
pub use signature::{channel_auth, hmac_hex, user_auth};
