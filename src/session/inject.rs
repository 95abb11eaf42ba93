//! Where an injected fault acts: network faults at the fault proxy, `close` and `no_pong`
//! at the demo server, `restore` at both. This lives in the session, the one place that
//! holds both, so that neither the proxy nor the demo server needs to know the other.

use crate::demo::DemoHandle;
use crate::faults::{FaultError, FaultHandle, FaultKind};

/// Apply a fault wherever it belongs. Errors name what is missing (e.g. `cut` against a
/// real server started without the proxy).
pub fn inject_fault(
    fault: &FaultKind,
    proxy: Option<&FaultHandle>,
    server: Option<&DemoHandle>,
) -> Result<(), FaultError> {
    let fault = fault.clone().validate()?;
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
    if fault.node().is_some() {
        // A node's fault is the demo cluster's (`crate::demo::DemoCluster::inject`).
        return Err(FaultError::NeedsDemoCluster(fault.label()));
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
