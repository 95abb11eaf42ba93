//! The WebSocket under a client socket: opened with tungstenite's handshake, then read
//! and written with our own framing.

pub mod codec;
pub mod handshake;
