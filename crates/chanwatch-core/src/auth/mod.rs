//! Channel authorization and user authentication: signing locally with the app secret,
//! asking the app's HTTP auth endpoint as pusher-js does (ajax or JSONP), or running an
//! external command (the terminal counterpart of pusher-js's `customHandler`). The client task
//! calls [`Authorizer::authorize`] for each [`crate::connection::Output::Authorize`] and feeds
//! the result back to the machine, and [`UserAuthenticator::authenticate`] for `pusher:signin`.
//!
//! Secrets never appear in errors or debug output.

mod authorizer;
mod command;
mod endpoint;
mod jsonp;
mod local;
mod response;
pub mod signature;
mod user;

pub use authorizer::{Authorizer, parse_header, parse_param};
pub use command::CommandAuthorizer;
pub(crate) use endpoint::error_chain as http_error_chain;
pub use endpoint::{AuthTransport, DEFAULT_AUTH_TIMEOUT, EndpointAuthorizer};
pub use jsonp::{JSONP_CALLBACK, unwrap_callback};
pub use local::LocalSigner;
pub use response::{check_user_data, excerpt, interpret_response, interpret_user_response};
pub use signature::{channel_auth, hmac_hex, user_auth};
pub use user::{LocalUserSigner, UserAuthenticator, UserGrant};

use crate::connection::AuthFailure;

/// Refuses a socket id that is not `DIGITS.DIGITS` before it is signed, sent to an endpoint
/// or handed to a command. The machine already refuses such a handshake; this keeps every
/// signing path safe on its own, whoever calls it.
fn refuse_bad_socket_id(socket_id: &str) -> Result<(), AuthFailure> {
    crate::protocol::check_socket_id(socket_id).map_err(|e| {
        AuthFailure::new(
            crate::connection::AuthFailureKind::BadSocketId,
            format!("not signing: {e}"),
        )
    })
}
