//! The WebSocket under a [`super::socket`]: opened with tungstenite's handshake, then read
//! and written with our own framing.

pub mod codec;
pub mod handshake;
