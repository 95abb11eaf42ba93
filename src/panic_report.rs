//! A panic anywhere is a bug, and never a success: the first one is reported in one line on
//! stderr and remembered, so `main` exits non-zero even when the panic happened in a task
//! whose end would otherwise look like a normal shutdown.

use std::sync::OnceLock;

/// The exit status after a panic (EX_SOFTWARE, "internal software error").
pub const EXIT_CODE: u8 = 70;

/// Set by the test suite to make the client task panic once it is connected, so the
/// reporting path is tested on the real binary.
pub const DEBUG_PANIC_VAR: &str = "CHANWATCH_DEBUG_PANIC";

static FIRST: OnceLock<String> = OnceLock::new();

/// Replace the default hook (several lines, and a backtrace hint) with one line. Hooks
/// installed later (the dashboard's, which restores the terminal first) run before it.
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = format!("internal error: {what}{at} (this is a bug in chanwatch)");
        if FIRST.set(message.clone()).is_ok() {
            eprintln!("chanwatch: {message}");
            if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
                eprintln!("{}", std::backtrace::Backtrace::force_capture());
            }
        }
    }));
}

/// The first panic's message, if any thread has panicked since [`install`].
pub fn message() -> Option<&'static str> {
    FIRST.get().map(String::as_str)
}

/// Whether the debug hook asks the client task to panic (the environment is read once).
pub fn debug_panic_requested() -> bool {
    static REQUESTED: OnceLock<bool> = OnceLock::new();
    *REQUESTED.get_or_init(|| std::env::var_os(DEBUG_PANIC_VAR).is_some_and(|v| v == "client"))
}
