//! Frame::decode over arbitrary text: see checks/frame_decode.rs.
#![no_main]

#[path = "../checks/frame_decode.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| check::check(bytes));
