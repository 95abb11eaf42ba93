//! The Pusher Channels protocol 7 as data: frames, codes and channel rules. No I/O here.

pub mod channel;
pub mod codes;
pub mod excerpt;
pub mod frame;
pub mod frame_scan;
// SIMD intrinsics behind a CPU feature check (measured in its comments).
#[allow(unsafe_code)]
mod json_scan;
// Scanned event text kept without a second UTF-8 pass (measured in its comment).
#[allow(unsafe_code)]
pub mod raw_json;
pub mod socket_id;
pub mod text;

pub use channel::ChannelKind;
pub use frame::Frame;
pub use raw_json::RawJson;
pub use socket_id::{SocketIdError, check_socket_id};
pub use text::Text;

/// The protocol version this client speaks; always sent in the URL.
pub const PROTOCOL_VERSION: u32 = 7;
