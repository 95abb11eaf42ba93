//! The occupancy screen: the app's occupied channels from the HTTP API with their
//! subscription and user counts and a sparkline of each count over the last polls.

use crate::occupancy::SortBy;
use crate::ui::app::App;
use crate::ui::view::{pane_block, title};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

const NAME_W: usize = 32;
const COUNT_W: usize = 7;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let panel = app.measures();
    let table = app.measured().occupancy();
    let sort = match table.sort() {
        SortBy::Name => "by name",
        SortBy::Count => "by count",
    };
    let extra = match table.more() {
        0 => format!("{} channels, {sort}", table.rows().len()),
        more => format!("{} channels, +{more} more, {sort}", table.rows().len()),
    };
    let block = pane_block(t, true, title(t, "Occupancy", extra));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 {
        return;
    }
    let header = Line::from(vec![
        Span::styled(format!(" {:<NAME_W$}", "channel"), t.label()),
        Span::styled(format!("{:>COUNT_W$}", "subs"), t.label()),
        Span::styled(format!("{:>COUNT_W$}", "users"), t.label()),
        Span::styled("  history", t.label()),
    ]);
    frame.render_widget(Paragraph::new(header), Rect { height: 1, ..inner });
    let hint_text = match app.measured().occupancy_error() {
        Some(e) => Span::styled(e.to_string(), t.error()),
        None if table.polls() == 0 => Span::styled("waiting for the HTTP API…", t.dim()),
        None => Span::styled("↑↓ select  Enter subscribe  S sort  Esc back", t.dim()),
    };
    let hint = Rect {
        y: inner.bottom() - 1,
        height: 1,
        ..inner
    };
    frame.render_widget(Paragraph::new(Line::from(hint_text)), hint);
    let rows_area = Rect {
        y: inner.y + 1,
        height: inner.height - 2,
        ..inner
    };
    let visible = rows_area.height as usize;
    let sel = panel.occupancy_selected();
    let top = (sel + 1).saturating_sub(visible);
    let spark_x = inner.x + 1 + (NAME_W + 2 * COUNT_W + 2) as u16;
    for (i, row) in table.rows().iter().enumerate().skip(top).take(visible) {
        let y = rows_area.y + (i - top) as u16;
        let c = &row.channel;
        let count = |v: Option<u64>| v.map_or_else(|| "–".into(), |v| v.to_string());
        let mut name: String = c.name.chars().take(NAME_W).collect();
        if c.name.chars().count() > NAME_W {
            name.pop();
            name.push('…');
        }
        let style = if i == sel { t.selected() } else { t.channel() };
        let line = Line::from(vec![
            Span::styled(format!(" {name:<NAME_W$}"), style),
            Span::styled(
                format!("{:>COUNT_W$}", count(c.subscription_count)),
                t.value(),
            ),
            Span::styled(format!("{:>COUNT_W$}", count(c.user_count)), t.value()),
        ]);
        frame.render_widget(
            Paragraph::new(line),
            Rect {
                y,
                height: 1,
                ..inner
            },
        );
        if spark_x + 2 < inner.right() {
            let w = inner.right() - spark_x - 1;
            let data: Vec<u64> = row
                .history
                .iter()
                .rev()
                .take(w as usize)
                .rev()
                .copied()
                .collect();
            // A sparkline scales to its own maximum; the count column gives the scale.
            let spark = Sparkline::default().data(&data).style(t.ok());
            frame.render_widget(spark, Rect::new(spark_x + 1, y, w, 1));
        }
    }
}
