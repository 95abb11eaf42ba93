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
mod source;
pub mod view;

#[cfg(test)]
mod cluster_tests;
#[cfg(test)]
mod measures_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod webhooks_tests;

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
use tokio::sync::mpsc;

/// At most about 30 frames a second.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// Clocks and countdowns move once a second.
pub const TICK_INTERVAL: Duration = Duration::from_secs(1);

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
    records: chanwatch_core::client::Records<crate::session_record::Stamped>,
    info: DashboardInfo,
    config: AppConfig,
) -> anyhow::Result<()> {
    let app = App::new(info, config, Instant::now());
    run_source(app, source::Live::new(commands, records)).await
}

/// The one dashboard loop, live or replay: terminal, signals, panic check, pacer and
/// drawing here; records, keys that are the source's own and commands go to `source`.
pub(crate) async fn run_source<S: source::Source>(
    mut app: App,
    mut source: S,
) -> anyhow::Result<()> {
    let mut term = TerminalGuard::enter()?;
    let size = term.terminal.size().context("reading the terminal size")?;
    app.update(
        Msg::Resize(size.width, size.height),
        source.clock(Instant::now()),
    );
    let mut inputs = Inputs::new()?;
    let mut pacer = pacer::FramePacer::new(FRAME_INTERVAL);
    let mut frame_stats = frame_stats::FrameStats::from_env();

    loop {
        if let Some(message) = crate::panic_report::message() {
            anyhow::bail!("{message}");
        }
        let now = Instant::now();
        if source.pump(&mut app, now)? {
            pacer.mark_dirty();
        }
        if pacer.should_draw(now) {
            let started = Instant::now();
            term.draw(|f| source.draw(&app, f, now))?;
            let done = Instant::now();
            frame_stats.push(done - started);
            pacer.drawn(done);
        }
        let wake = source.wake_at(now);
        let event = inputs.next(&mut source, pacer.wake_at(), wake).await;
        if !step(&mut app, &mut source, &mut pacer, event).await? {
            break;
        }
    }
    drop(term);
    frame_stats.write()
}

/// Carry out one event; whether the dashboard goes on.
async fn step<S: source::Source>(
    app: &mut App,
    source: &mut S,
    pacer: &mut pacer::FramePacer,
    event: source::Event,
) -> anyhow::Result<bool> {
    use source::Event as E;
    let now = Instant::now();
    // Whether this turn handled the user's input, which is drawn without waiting for the
    // frame slot (see `pacer`).
    let mut from_input = false;
    let update = match event {
        E::Input(Event::Key(k)) if k.kind != KeyEventKind::Release => {
            from_input = true;
            source.key(app, k, now)?
        }
        E::Input(ev) => match to_msg(ev) {
            Some(msg) => {
                from_input = true;
                app.update(msg, source.clock(now))
            }
            None => Update::default(),
        },
        E::InputError(e) => return Err(e).context("reading the terminal"),
        E::InputClosed => return Ok(false),
        E::Record(r) => Update {
            redraw: source.apply(app, r),
            ..Update::default()
        },
        E::Tick => source.tick(app, now),
        E::Frame => Update::default(),
        E::Wake => Update::redraw(),
        E::Terminate => {
            source.quit().await;
            return Ok(false);
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
            source.quit().await;
        } else if source.send(app, app.addressed(cmd)) {
            pacer.mark_dirty();
        }
    }
    Ok(!update.quit)
}

/// The loop's inputs besides the source's records.
struct Inputs {
    events: EventStream,
    tick: tokio::time::Interval,
    signals: Signals,
}

impl Inputs {
    fn new() -> anyhow::Result<Inputs> {
        let mut tick = tokio::time::interval(TICK_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ok(Inputs {
            events: EventStream::new(),
            tick,
            signals: Signals::new()?,
        })
    }

    /// Wait for the next thing to do: input, a record, the tick, the frame slot (`frame`),
    /// the source's wake-up (`wake`) or a signal.
    async fn next<S: source::Source>(
        &mut self,
        source: &mut S,
        frame: Option<Instant>,
        wake: Option<Instant>,
    ) -> source::Event {
        use source::Event as E;
        let at = |t: Option<Instant>| t.unwrap_or_else(Instant::now).into();
        tokio::select! {
            ev = self.events.next() => match ev {
                Some(Ok(ev)) => E::Input(ev),
                Some(Err(e)) => E::InputError(e),
                None => E::InputClosed,
            },
            rec = source.next_record() => E::Record(rec),
            _ = self.tick.tick() => E::Tick,
            _ = tokio::time::sleep_until(at(frame)), if frame.is_some() => E::Frame,
            _ = tokio::time::sleep_until(at(wake)), if wake.is_some() => E::Wake,
            _ = self.signals.terminate() => E::Terminate,
        }
    }
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
