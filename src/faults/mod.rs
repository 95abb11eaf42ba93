//! Fault injection: a loopback TCP proxy that can cut, drop, refuse and delay connections
//! ([`FaultProxy`]), and [`FaultKind`], the faults as data, parsed from the words a person
//! types or the JSON a script sends (`{"kind":"delay","ms":200}`).
//!
//! Network faults (`cut`, `drop`, `down`, `delay`, `restore`) are the proxy's; `close` and
//! `no_pong` need the demo server ([`crate::demo::DemoHandle::apply_fault`]); `restore`
//! undoes both.

mod kind;
mod proxy;

pub use kind::{FaultError, FaultKind, MAX_DELAY_MS};
pub use proxy::{FaultHandle, FaultProxy, ProxyStatus};

use crate::demo::DemoHandle;

/// Apply a fault wherever it belongs: network faults to the proxy, `close`/`no_pong` to the
/// demo server, `restore` to both. Errors name what is missing (e.g. `cut` against a real
/// server started without the proxy).
pub fn apply(
    fault: &FaultKind,
    proxy: Option<&FaultHandle>,
    server: Option<&DemoHandle>,
) -> Result<(), FaultError> {
    let fault = fault.validate()?;
    if fault == FaultKind::Restore {
        if proxy.is_none() && server.is_none() {
            return Err(FaultError::NeedsProxy(fault.label()));
        }
        if let Some(p) = proxy {
            p.restore();
        }
        if let Some(s) = server {
            s.set_answer_pings(true);
        }
        return Ok(());
    }
    if fault.is_network() {
        proxy
            .ok_or_else(|| FaultError::NeedsProxy(fault.label()))?
            .apply(&fault)
    } else {
        server
            .ok_or_else(|| FaultError::NeedsDemoServer(fault.label()))?
            .apply_fault(&fault)
    }
}
