//! Channel authorization: signing locally with the app secret, or asking the app's HTTP auth
//! endpoint as pusher-js does. The client task calls [`Authorizer::authorize`] for each
//! [`crate::connection::Output::Authorize`] and feeds the result back to the machine.
//!
//! Secrets never appear in errors or debug output.

mod authorizer;
mod endpoint;
mod local;
mod response;
pub mod signature;

pub use authorizer::{Authorizer, parse_header, parse_param};
pub use endpoint::{DEFAULT_AUTH_TIMEOUT, EndpointAuthorizer};
pub use local::LocalSigner;
pub use response::{excerpt, interpret_response};
pub use signature::{channel_auth, hmac_hex, user_auth};
