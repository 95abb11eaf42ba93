//! Where each pane goes, as plain arithmetic on the terminal size. It is shared by the renderer
//! and by the app state (mouse hit-testing, page sizes), so both always agree.

use ratatui::layout::{Position, Rect};

/// The four panes that can have the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Channels,
    Log,
    Timeline,
    Members,
}

impl Pane {
    /// Tab order: down the left column, then the right one, in reading order of the screen.
    pub const ORDER: [Pane; 4] = [Pane::Channels, Pane::Log, Pane::Timeline, Pane::Members];

    pub fn next(self) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ORDER[(i + 1) % Pane::ORDER.len()]
    }

    pub fn prev(self) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Pane::ORDER[(i + Pane::ORDER.len() - 1) % Pane::ORDER.len()]
    }

    pub fn title(self) -> &'static str {
        match self {
            Pane::Channels => "Channels",
            Pane::Log => "Events",
            Pane::Timeline => "Timeline",
            Pane::Members => "Members",
        }
    }
}

/// Rows of the status bar at the top and the footer (hints, messages) at the bottom.
pub const STATUS_ROWS: u16 = 2;
pub const FOOTER_ROWS: u16 = 1;
/// Below this the four panes would be too cramped to read: show only the focused one.
pub const MIN_SPLIT_WIDTH: u16 = 60;
pub const MIN_SPLIT_HEIGHT: u16 = 12;

/// The areas of one frame; a pane is `None` when the terminal is too small to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    pub status: Rect,
    pub footer: Rect,
    pub channels: Option<Rect>,
    pub log: Option<Rect>,
    pub timeline: Option<Rect>,
    pub members: Option<Rect>,
}

impl Areas {
    pub fn pane(&self, pane: Pane) -> Option<Rect> {
        match pane {
            Pane::Channels => self.channels,
            Pane::Log => self.log,
            Pane::Timeline => self.timeline,
            Pane::Members => self.members,
        }
    }

    /// The pane under a screen cell, for the mouse.
    pub fn pane_at(&self, column: u16, row: u16) -> Option<Pane> {
        let p = Position::new(column, row);
        Pane::ORDER
            .into_iter()
            .find(|pane| self.pane(*pane).is_some_and(|r| r.contains(p)))
    }
}

pub fn compute(area: Rect, focus: Pane) -> Areas {
    let status_h = STATUS_ROWS.min(area.height);
    let footer_h = FOOTER_ROWS.min(area.height - status_h);
    let status = Rect::new(area.x, area.y, area.width, status_h);
    let footer = Rect::new(
        area.x,
        area.y + area.height - footer_h,
        area.width,
        footer_h,
    );
    let main = Rect::new(
        area.x,
        area.y + status_h,
        area.width,
        area.height - status_h - footer_h,
    );
    let mut out = Areas {
        status,
        footer,
        ..Areas::default()
    };
    if main.height == 0 || main.width == 0 {
        return out;
    }
    if main.width < MIN_SPLIT_WIDTH || main.height < MIN_SPLIT_HEIGHT {
        match focus {
            Pane::Channels => out.channels = Some(main),
            Pane::Log => out.log = Some(main),
            Pane::Timeline => out.timeline = Some(main),
            Pane::Members => out.members = Some(main),
        }
        return out;
    }
    let left_w = (main.width * 35 / 100).clamp(26, 48);
    let right_w = main.width - left_w;
    let channels_h = main.height.div_ceil(2);
    out.channels = Some(Rect::new(main.x, main.y, left_w, channels_h));
    out.members = Some(Rect::new(
        main.x,
        main.y + channels_h,
        left_w,
        main.height - channels_h,
    ));
    let timeline_h = (main.height * 35 / 100).clamp(5, 14);
    let log_h = main.height - timeline_h;
    out.log = Some(Rect::new(main.x + left_w, main.y, right_w, log_h));
    out.timeline = Some(Rect::new(
        main.x + left_w,
        main.y + log_h,
        right_w,
        timeline_h,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighty_by_twenty_four_shows_every_pane() {
        let a = compute(Rect::new(0, 0, 80, 24), Pane::Log);
        for p in Pane::ORDER {
            let r = a.pane(p).unwrap();
            assert!(r.width >= 26 && r.height >= 5, "{p:?} {r:?}");
        }
        assert_eq!(a.pane_at(0, 3), Some(Pane::Channels));
        assert_eq!(a.pane_at(79, 3), Some(Pane::Log));
        assert_eq!(a.pane_at(0, 0), None);
    }

    #[test]
    fn tiny_terminal_shows_only_the_focus() {
        let a = compute(Rect::new(0, 0, 40, 10), Pane::Members);
        assert!(a.members.is_some());
        assert!(a.log.is_none() && a.channels.is_none() && a.timeline.is_none());
        let a = compute(Rect::new(0, 0, 5, 2), Pane::Log);
        assert!(a.log.is_none());
        assert_eq!(a.footer.height, 0);
    }

    #[test]
    fn tab_order_cycles() {
        let mut p = Pane::Channels;
        for _ in 0..4 {
            p = p.next();
        }
        assert_eq!(p, Pane::Channels);
        assert_eq!(Pane::Channels.prev(), Pane::Members);
    }
}
