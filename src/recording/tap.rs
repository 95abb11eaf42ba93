//! The recording as a tap around a session (`crate::session::tap`): every record and
//! every command is written on its way through, and the file is flushed when the session
//! ends.

use super::Recorder;
use crate::session::tap::Watcher;
use crate::session::{Command, SessionHandle};
use crate::session_record::Stamped;
use std::time::SystemTime;

impl Watcher for Recorder {
    fn command(&mut self, command: &Command) {
        Recorder::command(self, SystemTime::now(), command);
    }

    fn records(&mut self, batch: &[Stamped]) {
        Recorder::records(self, batch);
    }

    fn finish(&mut self) {
        let _ = self.flush();
    }
}

/// Put the recorder around `inner`; the result is used exactly like it.
pub fn tap(inner: SessionHandle, recorder: Recorder) -> SessionHandle {
    crate::session::tap::tap(inner, recorder)
}
