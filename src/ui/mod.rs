//! The terminal dashboard. It only consumes [`crate::session_record::Stamped`] records and produces [`Command`]s, so
//! it knows nothing of sockets: [`run`] owns the terminal and the event loop, [`model`] what
//! the records say, [`app::App`] the interaction over it, [`view`] the drawing.
//!
//! Loop rules: crossterm's `EventStream` (no blocking poll inside a future); a frame is drawn
//! only after something changed and at most every [`FRAME_INTERVAL`], after draining every
//! queued record, so a burst of thousands of events costs a few frames; when idle only the
//! one-second tick wakes it. The terminal is restored on quit, error, panic and SIGTERM.

pub mod app;
pub mod format;
pub mod frame_stats;
pub mod model;
pub mod pacer;
pub mod replay;
pub mod view;

#[cfg(test)]
mod measures_tests;
#[cfg(test)]
mod tests;

use crate::session::{Command, DashboardInfo};
use anyhow::Context;
use app::{App, AppConfig, Msg, Update};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream, KeyEventKind};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{Stdout, stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{self, error::TryRecvError, error::TrySendError};

/// At most about 30 frames a second.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// Clocks and countdowns move once a second.
pub const TICK_INTERVAL: Duration = Duration::from_secs(1);
/// Records applied before the loop looks at keys again, so a flood cannot starve the keyboard.
const DRAIN_BATCH: usize = 20_000;

/// Run the dashboard until the user quits or SIGTERM arrives. Colours follow `NO_COLOR`.
pub async fn run(
    commands: mpsc::Sender<Command>,
    records: chanwatch_core::client::Records<crate::session_record::Stamped>,
    info: DashboardInfo,
) -> anyhow::Result<()> {
    let config = AppConfig {
        theme: crate::prefs::theme::Theme::from_env(),
        ..AppConfig::default()
    };
    run_with(commands, records, info, config).await
}

/// [`run`] with an explicit configuration (log ring size, theme).
pub async fn run_with(
    commands: mpsc::Sender<Command>,
    mut records: chanwatch_core::client::Records<crate::session_record::Stamped>,
    info: DashboardInfo,
    config: AppConfig,
) -> anyhow::Result<()> {
    let mut term = TerminalGuard::enter()?;
    let mut app = App::new(info, config, Instant::now());
    let size = term.terminal.size().context("reading the terminal size")?;
    app.update(Msg::Resize(size.width, size.height), Instant::now());

    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut signals = Signals::new()?;
    let mut records_open = true;
    let mut pacer = pacer::FramePacer::new(FRAME_INTERVAL);
    let mut frame_stats = frame_stats::FrameStats::from_env();

    loop {
        if pacer.should_draw(Instant::now()) {
            let started = Instant::now();
            term.draw(|f| view::render(&app, f))?;
            let now = Instant::now();
            frame_stats.record(now - started);
            pacer.drawn(now);
        }
        let wake = pacer.wake_at();

        // Whether this turn handled the user's input, which is drawn without waiting for the
        // frame slot (see `pacer`).
        let mut from_input = false;
        let update = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => match to_msg(ev) {
                    Some(msg) => {
                        from_input = true;
                        app.update(msg, Instant::now())
                    }
                    None => Update::default(),
                },
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                // The terminal went away: nothing more can be shown.
                None => break,
            },
            rec = records.recv(), if records_open => {
                let mut redraw = false;
                match rec {
                    Some(r) => {
                        redraw |= app.update(Msg::Record(r), Instant::now()).redraw;
                        // Coalesce a burst: apply everything already queued, then draw once.
                        for _ in 0..DRAIN_BATCH {
                            match records.try_recv() {
                                Ok(r) => redraw |= app.update(Msg::Record(r), Instant::now()).redraw,
                                Err(TryRecvError::Empty) => break,
                                Err(TryRecvError::Disconnected) => {
                                    records_open = false;
                                    redraw |= app.update(Msg::RecordsClosed, Instant::now()).redraw;
                                    break;
                                }
                            }
                        }
                    }
                    None => {
                        records_open = false;
                        redraw |= app.update(Msg::RecordsClosed, Instant::now()).redraw;
                    }
                }
                Update { redraw, ..Update::default() }
            },
            _ = tick.tick() => app.update(Msg::Tick, Instant::now()),
            _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now).into()), if wake.is_some() => {
                Update::default()
            }
            _ = signals.terminate() => {
                send_quit(&commands).await;
                break;
            }
        };

        if update.redraw {
            if from_input {
                pacer.mark_input();
            } else {
                pacer.mark_dirty();
            }
        }
        if let Some(cmd) = update.command {
            if update.quit {
                send_quit(&commands).await;
            } else if let Err(e) = commands.try_send(cmd) {
                let text = match e {
                    TrySendError::Full(_) => "the client is busy; the command was dropped",
                    TrySendError::Closed(_) => "the client has stopped; the command was not sent",
                };
                app.notify(text, app::NoticeLevel::Error);
                pacer.mark_dirty();
            }
        }
        if update.quit {
            break;
        }
    }
    drop(term);
    frame_stats.write()
}

/// Tell the client to close cleanly, without waiting long for a stuck one.
async fn send_quit(commands: &mpsc::Sender<Command>) {
    let _ = tokio::time::timeout(Duration::from_millis(500), commands.send(Command::QUIT)).await;
}

fn to_msg(ev: Event) -> Option<Msg> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
        Event::Mouse(m) => Some(Msg::Mouse(m)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

/// SIGTERM and SIGHUP end the dashboard like `q` does (the guard restores the terminal).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
                hup: signal(SignalKind::hangup()).context("listening for SIGHUP")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn terminate(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}

/// Raw mode, alternate screen and mouse capture for as long as it lives.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> anyhow::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode().context(
            "the dashboard needs an interactive terminal (use --headless for pipes and scripts)",
        )?;
        TERMINAL_TAKEN.store(true, Ordering::SeqCst);
        let mut out = stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, EnableMouseCapture) {
            restore_terminal();
            return Err(e).context("switching to the alternate screen");
        }
        match Terminal::new(CrosstermBackend::new(out)) {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore_terminal();
                Err(e).context("opening the terminal")
            }
        }
    }
}

impl TerminalGuard {
    /// Draw one frame. Drawing and the panic hook's restore exclude each other, so a panic
    /// on another thread never leaves a half-drawn frame over the shell; after one, nothing
    /// is drawn and the panic's message is the error.
    fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame)) -> anyhow::Result<()> {
        let _drawing = TERMINAL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(message) = crate::panic_report::message() {
            anyhow::bail!("{message}");
        }
        self.terminal
            .draw(render)
            .context("drawing the dashboard")?;
        Ok(())
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Set while the dashboard owns the terminal, so a panic after it has given the terminal back
/// (or in another mode) does not write screen-switching codes.
static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);

/// Undo everything `TerminalGuard::enter` did. Does nothing unless the dashboard holds the
/// terminal, so it is safe to call more than once and from the panic hook.
pub fn restore_terminal() {
    if !TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
}

/// Held while a frame is drawn, and by the panic hook while it gives the terminal back.
static TERMINAL_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Restore the terminal before the panic message is printed, so it is readable. The hook
/// waits for a frame being drawn on another thread to finish (briefly: a panic inside
/// drawing holds the lock itself, and then the terminal is restored all the same).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let deadline = std::time::Instant::now() + Duration::from_millis(200);
            let guard = loop {
                match TERMINAL_LOCK.try_lock() {
                    Ok(g) => break Some(g),
                    Err(std::sync::TryLockError::Poisoned(p)) => break Some(p.into_inner()),
                    Err(std::sync::TryLockError::WouldBlock)
                        if std::time::Instant::now() < deadline =>
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(std::sync::TryLockError::WouldBlock) => break None,
                }
            };
            restore_terminal();
            // Still holding the lock: the message is set before any frame could follow.
            previous(info);
            drop(guard);
        }));
    });
}
