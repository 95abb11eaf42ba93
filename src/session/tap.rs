//! A tap: a layer around a [`SessionHandle`] that shows a [`Watcher`] every command and
//! every batch of records on their way through, and changes nothing else. The recording
//! and the metrics endpoint are taps, so both modes (dashboard and headless) are recorded
//! and measured the same way.

use super::{Command, SessionHandle};
use crate::session_record::Stamped;
use chanwatch_core::client::{COMMANDS_CAPACITY, RECORDS_CAPACITY, batch};
use tokio::sync::mpsc;

/// What a tap shows its watcher.
pub trait Watcher: Send + 'static {
    /// A command on its way to the session.
    fn command(&mut self, _command: &Command) {}
    /// A batch of records on its way to whoever watches the session.
    fn records(&mut self, batch: &[Stamped]);
    /// The session has ended (normally or by a panic, which the tap then passes on).
    fn finish(&mut self) {}
}

/// Put `watcher` around `inner`; the result is used exactly like it.
pub fn tap(inner: SessionHandle, mut watcher: impl Watcher) -> SessionHandle {
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
                        watcher.command(&command);
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
                    watcher.records(&batch);
                    if out.send_batch(batch).await.is_err() {
                        to_inner = None;
                    }
                }
            }
        }
        let ended = inner_task.await;
        watcher.finish();
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
