//! The connection state machine fed arbitrary steps: see checks/machine_input.rs.
#![no_main]

#[path = "../checks/machine_input.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
