//! What feeds the one dashboard loop ([`super::run_source`]): its inputs as one [`Event`],
//! and a [`Source`] of records — a live session ([`Live`]) or a recording
//! ([`super::replay`]). The loop owns the terminal, signals, the panic check, the pacer and
//! drawing; a source only says where records come from, what its keys and commands do and
//! what it draws over the dashboard.

use super::app::{App, Msg, NoticeLevel, Update};
use super::view;
use crate::session::Command;
use crate::session_record::Stamped;
use chanwatch_core::client::Records;
use crossterm::event::KeyEvent;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{self, error::TryRecvError, error::TrySendError};

/// Records applied before the loop looks at keys again, so a flood cannot starve the keyboard.
const DRAIN_BATCH: usize = 20_000;

/// One turn's input to the dashboard loop.
#[derive(Debug)]
pub(crate) enum Event {
    /// A key, mouse or resize event from the terminal.
    Input(crossterm::event::Event),
    /// Reading the terminal failed.
    InputError(std::io::Error),
    /// The terminal went away: nothing more can be shown.
    InputClosed,
    /// A record pushed by the source (`None`: it has no more).
    Record(Option<Stamped>),
    /// The once-a-second tick (ages, rates).
    Tick,
    /// The pacer's frame slot came.
    Frame,
    /// The source asked to be woken (a replay's next record or its moving position).
    Wake,
    /// SIGTERM or SIGHUP.
    Terminate,
}

/// Where the dashboard's records come from, and what differs between a live dashboard and
/// a replay.
pub(crate) trait Source {
    /// Apply what is due at `now` before a frame (a replay's records, a budget at a time);
    /// whether anything changed.
    fn pump(&mut self, app: &mut App, now: Instant) -> anyhow::Result<bool>;
    /// The next record pushed from outside; pending for ever when there is none to wait for.
    async fn next_record(&mut self) -> Option<Stamped>;
    /// Apply a record [`Source::next_record`] gave and whatever else is queued; whether
    /// anything changed.
    fn apply(&mut self, app: &mut App, first: Option<Stamped>) -> bool;
    /// When the loop should wake besides input, ticks and frames.
    fn wake_at(&self, now: Instant) -> Option<Instant>;
    /// The app's clock at `now` (a replay's is the recording's).
    fn clock(&self, now: Instant) -> Instant;
    /// A key press.
    fn key(&mut self, app: &mut App, key: KeyEvent, now: Instant) -> anyhow::Result<Update>;
    /// The tick.
    fn tick(&mut self, app: &mut App, now: Instant) -> Update {
        app.update(Msg::Tick, self.clock(now))
    }
    /// Carry out a command the app asked for; whether a notice needs drawing.
    fn send(&mut self, app: &mut App, command: Command) -> bool;
    /// The dashboard is closing: tell whatever runs behind it.
    async fn quit(&mut self);
    /// Draw a frame.
    fn draw(&self, app: &App, frame: &mut ratatui::Frame, now: Instant);
}

/// A live session: records from the client, commands to it.
pub(crate) struct Live {
    commands: mpsc::Sender<Command>,
    records: Records<Stamped>,
    open: bool,
}

impl Live {
    pub(crate) fn new(commands: mpsc::Sender<Command>, records: Records<Stamped>) -> Live {
        Live {
            commands,
            records,
            open: true,
        }
    }
}

impl Source for Live {
    fn pump(&mut self, _: &mut App, _: Instant) -> anyhow::Result<bool> {
        Ok(false)
    }

    async fn next_record(&mut self) -> Option<Stamped> {
        if !self.open {
            std::future::pending::<()>().await;
        }
        self.records.recv().await
    }

    fn apply(&mut self, app: &mut App, first: Option<Stamped>) -> bool {
        let Some(r) = first else {
            self.open = false;
            return app.update(Msg::RecordsClosed, Instant::now()).redraw;
        };
        let mut redraw = app.update(Msg::Record(r), Instant::now()).redraw;
        // Coalesce a burst: apply everything already queued, then draw once.
        for _ in 0..DRAIN_BATCH {
            match self.records.try_recv() {
                Ok(r) => redraw |= app.update(Msg::Record(r), Instant::now()).redraw,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.open = false;
                    redraw |= app.update(Msg::RecordsClosed, Instant::now()).redraw;
                    break;
                }
            }
        }
        redraw
    }

    fn wake_at(&self, _: Instant) -> Option<Instant> {
        None
    }

    fn clock(&self, now: Instant) -> Instant {
        now
    }

    fn key(&mut self, app: &mut App, key: KeyEvent, now: Instant) -> anyhow::Result<Update> {
        Ok(app.update(Msg::Key(key), now))
    }

    fn send(&mut self, app: &mut App, command: Command) -> bool {
        let Err(e) = self.commands.try_send(command) else {
            return false;
        };
        let text = match e {
            TrySendError::Full(_) => "the client is busy; the command was dropped",
            TrySendError::Closed(_) => "the client has stopped; the command was not sent",
        };
        app.notify(text, NoticeLevel::Error);
        true
    }

    /// Tell the client to close cleanly, without waiting long for a stuck one.
    async fn quit(&mut self) {
        let quit = self.commands.send(Command::QUIT);
        let _ = tokio::time::timeout(Duration::from_millis(500), quit).await;
    }

    fn draw(&self, app: &App, frame: &mut ratatui::Frame, _: Instant) {
        view::render(app, frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::DashboardInfo;
    use crate::session_record::SessionRecord;
    use crate::ui::app::AppConfig;
    use crate::ui::pacer::FramePacer;
    use crate::ui::{FRAME_INTERVAL, step};
    use chanwatch_core::record::{Record, State};
    use crossterm::event::{KeyCode, KeyModifiers};
    use futures_util::FutureExt;

    fn app() -> App {
        let info = DashboardInfo {
            nodes: Vec::new(),
            host: "ws.example".into(),
            key: "app-key".into(),
            tls: true,
            demo: false,
        };
        App::new(info, AppConfig::default(), Instant::now())
    }

    fn connected() -> Stamped {
        Stamped {
            node: None,
            ts: std::time::SystemTime::now(),
            record: SessionRecord::Client(Record::State {
                previous: State::Connecting,
                current: State::Connected,
                socket_id: Some("1.2".into()),
                cause: None,
            }),
        }
    }

    /// The live source through the loop's step: records in (a burst at once, then the end,
    /// after which it waits for none), a command out, a refused one said, SIGTERM's quit.
    #[tokio::test]
    async fn the_live_source_through_the_loops_step() {
        let (tx, records) = chanwatch_core::client::batch::channel(8);
        let (commands, mut sent) = mpsc::channel(1);
        let mut live = Live::new(commands, records);
        let mut app = app();
        let mut pacer = FramePacer::new(FRAME_INTERVAL);

        tx.send_batch(vec![connected(), connected()]).await.unwrap();
        drop(tx);
        let first = live.next_record().await;
        assert!(first.is_some());
        let go_on = step(&mut app, &mut live, &mut pacer, Event::Record(first)).await;
        assert!(go_on.unwrap());
        assert_eq!(app.model().status().state, State::Connected);
        assert!(
            live.next_record().now_or_never().is_none(),
            "the burst was drained"
        );
        assert!(!live.open, "the end was seen in the burst");

        let disconnect = || {
            let key = KeyEvent::new(KeyCode::Char('d'), KeyModifiers::NONE);
            Event::Input(crossterm::event::Event::Key(key))
        };
        let go_on = step(&mut app, &mut live, &mut pacer, disconnect()).await;
        assert!(go_on.unwrap());
        let command = sent.try_recv().expect("the disconnect was sent");
        assert_ne!(command, Command::QUIT);
        // The channel holds one: a second is sent, a third refused with a notice.
        step(&mut app, &mut live, &mut pacer, disconnect())
            .await
            .unwrap();
        step(&mut app, &mut live, &mut pacer, disconnect())
            .await
            .unwrap();
        let notice = app.notice().map(|n| n.text.clone()).unwrap_or_default();
        assert!(notice.contains("the client is busy"), "{notice}");

        sent.try_recv().unwrap();
        let go_on = step(&mut app, &mut live, &mut pacer, Event::Terminate).await;
        assert!(!go_on.unwrap());
        assert_eq!(sent.try_recv().unwrap(), Command::QUIT);
    }
}
