//! The metrics tap: a layer around a [`SessionHandle`] that updates the [`Metrics`] from
//! every record on its way through and changes nothing else, so both modes are measured
//! the same way. One lock per batch, not per record.

use super::Metrics;
use crate::session::SessionHandle;
use chanwatch_core::client::{COMMANDS_CAPACITY, RECORDS_CAPACITY, batch};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;

/// Put the metrics around `inner`; the result is used exactly like it.
pub fn tap(inner: SessionHandle, metrics: Arc<Mutex<Metrics>>) -> SessionHandle {
    let (commands, mut command_rx) = mpsc::channel(COMMANDS_CAPACITY);
    let (out, records) = batch::channel(RECORDS_CAPACITY);
    let SessionHandle {
        commands: to_inner,
        records: mut from_inner,
        task: inner_task,
    } = inner;
    let task = tokio::spawn(async move {
        // Dropping the sender is how the session learns its watcher has gone.
        let mut to_inner = Some(to_inner);
        loop {
            tokio::select! {
                command = command_rx.recv(), if to_inner.is_some() => match command {
                    None => to_inner = None,
                    Some(command) => {
                        let sent = match &to_inner {
                            Some(tx) => tx.send(command).await.is_ok(),
                            None => false,
                        };
                        if !sent {
                            to_inner = None;
                        }
                    }
                },
                batch = from_inner.recv_batch() => {
                    let Some(batch) = batch else { break };
                    {
                        let now = Instant::now();
                        // A panic elsewhere while holding the lock leaves numbers that are
                        // still numbers: keep counting.
                        let mut m = metrics.lock().unwrap_or_else(|e| e.into_inner());
                        for stamped in &batch {
                            m.observe(&stamped.record, now);
                        }
                    }
                    if out.send_batch(batch).await.is_err() {
                        to_inner = None;
                    }
                }
            }
        }
        let ended = inner_task.await;
        if let Err(e) = ended
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    });
    SessionHandle {
        commands,
        records,
        task,
    }
}
