//! Fault injection: a loopback TCP proxy that can cut, drop, refuse and delay connections
//! ([`FaultProxy`]), and [`FaultKind`], the faults as data, parsed from the words a person
//! types or the JSON a script sends (`{"kind":"delay","ms":200}`).
//!
//! Network faults (`cut`, `drop`, `down`, `delay`, `restore`) are the proxy's; `close` and
//! `no_pong` need the demo server; `restore` undoes both. The session, which holds both,
//! sends each fault where it acts.

mod kind;
mod proxy;

pub use kind::{FaultError, FaultKind, MAX_DELAY_MS};
pub use proxy::{FaultHandle, FaultProxy, ProxyStatus};
