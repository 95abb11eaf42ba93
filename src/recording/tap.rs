//! The recording tap: a layer around a [`SessionHandle`] that writes every record
//! and every command to the recording on their way through, and changes nothing else.
//! Both modes see one handle, so both are recorded the same way.

use super::Recorder;
use crate::session::SessionHandle;
use chanwatch_core::client::{COMMANDS_CAPACITY, RECORDS_CAPACITY, batch};
use std::time::SystemTime;
use tokio::sync::mpsc;

/// Put the recorder around `inner`; the result is used exactly like it.
pub fn tap(inner: SessionHandle, recorder: Recorder) -> SessionHandle {
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
                        recorder.command(SystemTime::now(), &command);
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
                    recorder.records(&batch);
                    if out.send_batch(batch).await.is_err() {
                        to_inner = None;
                    }
                }
            }
        }
        let ended = inner_task.await;
        let _ = recorder.flush();
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
