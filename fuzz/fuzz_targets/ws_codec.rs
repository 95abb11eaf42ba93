//! The WebSocket frame decoder over arbitrary server bytes: see checks/ws_codec.rs.
#![no_main]

#[path = "../checks/ws_codec.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
