//! The replay marker drawn over the right end of the status bar: REPLAY, play or pause,
//! the position and the length of the recording, and the speed.

use super::layout;
use crate::replay::Speed;
use crate::ui::app::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayBar {
    pub position: Duration,
    pub total: Duration,
    pub speed: Speed,
    pub paused: bool,
    pub ended: bool,
}

impl ReplayBar {
    pub fn text(&self) -> String {
        let state = if self.ended {
            "end"
        } else if self.paused {
            "paused"
        } else {
            "▶"
        };
        format!(
            " REPLAY {state} {} / {} {} ",
            clock(self.position),
            clock(self.total),
            self.speed
        )
    }
}

/// `m:ss.t` under an hour, `h:mm:ss` from there.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}.{}", s / 60, s % 60, d.subsec_millis() / 100)
    }
}

pub fn render(bar: &ReplayBar, app: &App, frame: &mut Frame) {
    let status = layout::compute(frame.area(), app.focus()).status;
    let text = bar.text();
    let width = (text.chars().count() as u16).min(status.width);
    if width == 0 || status.height == 0 {
        return;
    }
    let area = Rect::new(status.right() - width, status.y, width, 1);
    frame.render_widget(Clear, area);
    let line = Line::from(Span::styled(text, app.theme().badge()));
    frame.render_widget(Paragraph::new(line), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_says_replay_position_total_and_speed() {
        let bar = ReplayBar {
            position: Duration::from_millis(83_450),
            total: Duration::from_secs(300),
            speed: Speed::Times(4.0),
            paused: true,
            ended: false,
        };
        assert_eq!(bar.text(), " REPLAY paused 1:23.4 / 5:00.0 ×4 ");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }
}
