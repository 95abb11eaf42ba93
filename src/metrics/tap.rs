//! The metrics as a tap around a session (`crate::session::tap`): the [`Metrics`] are
//! updated from every record on its way through, one lock per batch, not per record.

use super::Metrics;
use crate::session::SessionHandle;
use crate::session::tap::Watcher;
use crate::session_record::Stamped;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the tap holds: the metrics, shared with the server that encodes them.
struct Tap(Arc<Mutex<Metrics>>);

impl Watcher for Tap {
    fn records(&mut self, batch: &[Stamped]) {
        let now = Instant::now();
        // A panic elsewhere while holding the lock leaves numbers that are still numbers:
        // keep counting.
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for stamped in batch {
            m.observe_stamped(stamped, now);
        }
    }
}

/// Put the metrics around `inner`; the result is used exactly like it.
pub fn tap(inner: SessionHandle, metrics: Arc<Mutex<Metrics>>) -> SessionHandle {
    crate::session::tap::tap(inner, Tap(metrics))
}
