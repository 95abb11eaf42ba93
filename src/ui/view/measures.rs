//! The measures screen: events per second (total and the selected channel), ping round trips
//! and the probe's p50 / p99 over the last two minutes, a band of connection states with
//! faults marked, and the numbers behind them. Every series also differs by its marker, so
//! the charts read without colour (`NO_COLOR`).

use crate::prefs::theme::Theme;
use crate::stats::{Band, BandCell, StatsModel};
use crate::ui::app::App;
use crate::ui::format::duration;
use crate::ui::view::{pane_block, title};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};
use std::time::{Duration, Instant};

/// The charts' time window.
pub const CHART_SECS: u64 = 120;

/// Glyphs of the band, so states differ without colour too.
pub const CONNECTED: char = '█';
pub const CONNECTING: char = '▒';
pub const DOWN: char = '░';
pub const FAULT: char = '!';

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.theme();
    let m = app.measured().model();
    let now = app.now;
    let [events, latency, band, summary] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(3),
        Constraint::Length(4),
    ])
    .areas(area);
    let selected = app.selected_channel().map(|c| c.name.as_str());
    render_rates(t, m, now, selected, frame, events);
    render_latency(t, m, now, frame, latency);
    render_band(t, m, now, frame, band);
    render_summary(t, app, m, now, selected, frame, summary);
}

fn x_axis<'a>(t: &Theme) -> Axis<'a> {
    Axis::default()
        .style(t.dim())
        .bounds([-(CHART_SECS as f64), 0.0])
        .labels(["-2m", "-1m", "now"])
}

fn y_axis<'a>(t: &Theme, max: f64, unit: &str) -> Axis<'a> {
    let top = nice_ceiling(max);
    Axis::default()
        .style(t.dim())
        .bounds([0.0, top])
        .labels([String::from("0"), format!("{}{unit}", fmt_num(top))])
}

/// A round number at or above `v` (at least 1), so the axis label stays short.
fn nice_ceiling(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * mag >= v {
            return step * mag;
        }
    }
    10.0 * mag
}

fn fmt_num(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{}M", v / 1_000_000.0)
    } else if v >= 1000.0 {
        format!("{}k", v / 1000.0)
    } else {
        format!("{v}")
    }
}

fn render_rates(
    t: &Theme,
    m: &StatsModel,
    now: Instant,
    selected: Option<&str>,
    frame: &mut Frame,
    area: Rect,
) {
    let sec = m.sec(now);
    let series = |ring: &crate::stats::RateRing| -> Vec<(f64, f64)> {
        ring.series(sec, CHART_SECS)
            .enumerate()
            .map(|(i, b)| (i as f64 + 1.0 - CHART_SECS as f64, f64::from(b.events)))
            .collect()
    };
    let total = series(m.rates().total());
    let channel = selected
        .and_then(|n| m.rates().channel(n))
        .map(series)
        .unwrap_or_default();
    let max = total.iter().map(|p| p.1).fold(0.0, f64::max);
    let now_total = m.events_per_s(now);
    let mut extra = vec![
        Span::styled(format!("{} total ", glyph::TOTAL), t.channel()),
        Span::styled(now_total.to_string(), t.value()),
    ];
    if let Some(name) = selected {
        let n = m.rates().channel(name).map_or(0, |r| r.sum(sec, 1).events);
        extra.extend([
            Span::raw("  "),
            Span::styled(format!("{} {name} ", glyph::CHANNEL), t.event()),
            Span::styled(n.to_string(), t.value()),
        ]);
    }
    let mut datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.channel())
            .data(&total),
    ];
    if !channel.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(t.event())
                .data(&channel),
        );
    }
    let chart = Chart::new(datasets)
        .block(pane_block(t, false, heading(t, "Events/s", extra)))
        .x_axis(x_axis(t))
        .y_axis(y_axis(t, max, ""))
        .legend_position(None);
    frame.render_widget(chart, area);
}

/// The glyph each series is drawn with, repeated in the titles as its legend.
mod glyph {
    pub const TOTAL: &str = "⣿";
    pub const CHANNEL: &str = "•";
    pub const RTT: &str = "•";
    pub const P50: &str = "⣿";
    pub const P99: &str = "▀";
}

fn heading<'a>(t: &Theme, name: &'a str, extra: Vec<Span<'a>>) -> Line<'a> {
    let mut spans = title(t, name, String::new()).spans;
    spans.extend(extra);
    spans.push(Span::raw(" "));
    Line::from(spans)
}

fn ago(now: Instant, at: Instant) -> f64 {
    -now.saturating_duration_since(at).as_secs_f64()
}

fn render_latency(t: &Theme, m: &StatsModel, now: Instant, frame: &mut Frame, area: Rect) {
    let window = Duration::from_secs(CHART_SECS);
    let recent = |at: Instant| now.saturating_duration_since(at) <= window;
    let rtt: Vec<(f64, f64)> = m
        .rtt()
        .iter()
        .filter(|(at, _)| recent(*at))
        .map(|(at, v)| (ago(now, at), v as f64))
        .collect();
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    for (at, p) in m.probe_points().iter().filter(|(at, _)| recent(*at)) {
        if let Some(v) = p.p50 {
            p50.push((ago(now, at), v as f64));
        }
        if let Some(v) = p.p99 {
            p99.push((ago(now, at), v as f64));
        }
    }
    let max = rtt
        .iter()
        .chain(&p50)
        .chain(&p99)
        .map(|p| p.1)
        .fold(0.0, f64::max);
    let mut extra = Vec::new();
    let mut legend = |glyph: &str, name: &str, style: Style, v: Option<u64>| {
        extra.push(Span::styled(format!("{glyph} {name} "), style));
        extra.push(Span::styled(
            v.map_or_else(|| "–".into(), |v| format!("{v}ms")),
            t.value(),
        ));
        extra.push(Span::raw("  "));
    };
    let probe = m.probe().percentiles();
    legend(glyph::RTT, "rtt", t.warn(), m.rtt().last());
    legend(glyph::P50, "probe p50", t.ok(), probe.map(|p| p.p50));
    legend(glyph::P99, "p99", t.error(), probe.map(|p| p.p99));
    extra.pop();
    let datasets = vec![
        Dataset::default()
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(t.warn())
            .data(&rtt),
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(t.ok())
            .data(&p50),
        Dataset::default()
            .marker(Marker::HalfBlock)
            .graph_type(GraphType::Line)
            .style(t.error())
            .data(&p99),
    ];
    let chart = Chart::new(datasets)
        .block(pane_block(t, false, heading(t, "Latency", extra)))
        .x_axis(x_axis(t))
        .y_axis(y_axis(t, max, "ms"))
        .legend_position(None);
    frame.render_widget(chart, area);
}

/// The band's cells: the last [`CHART_SECS`] seconds squeezed into `width` cells, each the
/// worst state of its seconds, `!` where a fault was injected.
pub fn band_cells(m: &StatsModel, now: Instant, width: usize) -> Vec<BandCell> {
    let secs: Vec<BandCell> = m.uptime().band(m.sec(now), CHART_SECS).collect();
    if width == 0 {
        return Vec::new();
    }
    (0..width)
        .map(|j| {
            let from = j * secs.len() / width;
            let to = ((j + 1) * secs.len() / width).max(from + 1).min(secs.len());
            secs[from..to].iter().fold(
                BandCell {
                    band: Band::Unknown,
                    fault: false,
                },
                |acc, c| BandCell {
                    band: acc.band.max(c.band),
                    fault: acc.fault || c.fault,
                },
            )
        })
        .collect()
}

fn render_band(t: &Theme, m: &StatsModel, now: Instant, frame: &mut Frame, area: Rect) {
    let legend = vec![
        Span::styled(format!("{CONNECTED} connected "), t.ok()),
        Span::styled(format!("{CONNECTING} connecting "), t.warn()),
        Span::styled(format!("{DOWN} unavailable "), t.error()),
        Span::styled(format!("{FAULT} fault"), t.value()),
    ];
    let block = pane_block(t, false, heading(t, "State", legend));
    let inner = block.inner(area);
    let cells = band_cells(m, now, inner.width as usize);
    let spans: Vec<Span> = cells
        .iter()
        .map(|c| {
            let (glyph, style) = match c.band {
                Band::Unknown => (' ', t.dim()),
                Band::Connected => (CONNECTED, t.ok()),
                Band::Connecting => (CONNECTING, t.warn()),
                Band::Down => (DOWN, t.error()),
            };
            if c.fault {
                (FAULT.to_string(), t.value())
            } else {
                (glyph.to_string(), style)
            }
        })
        .map(|(g, s)| Span::styled(g, s))
        .collect();
    frame.render_widget(Paragraph::new(Line::from(spans)).block(block), area);
}

fn render_summary(
    t: &Theme,
    app: &App,
    m: &StatsModel,
    now: Instant,
    selected: Option<&str>,
    frame: &mut Frame,
    area: Rect,
) {
    let block = pane_block(t, true, title(t, "Measures", String::new()));
    frame.render_widget(
        Paragraph::new(vec![
            uptime_line(t, m, now),
            probe_line(t, m),
            channel_line(t, app, m, selected),
        ])
        .block(block.borders(ratatui::widgets::Borders::TOP)),
        area,
    );
}

fn sep(t: &Theme) -> Span<'static> {
    Span::styled("  ", t.dim())
}

/// Uptime, outages, the mean time to reconnect and the current or last outage.
fn uptime_line(t: &Theme, m: &StatsModel, now: Instant) -> Line<'static> {
    let sep = || sep(t);
    let u = m.uptime();
    let mut first = vec![
        Span::styled("uptime ", t.label()),
        Span::styled(
            u.uptime_pct(now)
                .map_or_else(|| "–".into(), |p| format!("{p:.1}%")),
            t.value(),
        ),
        sep(),
        Span::styled("outages ", t.label()),
        Span::styled(u.outage_count().to_string(), t.value()),
        sep(),
        Span::styled("mean reconnect ", t.label()),
        Span::styled(
            u.mean_time_to_reconnect()
                .map_or_else(|| "–".into(), duration),
            t.value(),
        ),
    ];
    if let Some((started, cause)) = u.open_outage() {
        first.extend([
            sep(),
            Span::styled("down for ", t.error()),
            Span::styled(duration(now.saturating_duration_since(started)), t.error()),
        ]);
        if let Some(c) = cause {
            first.push(Span::styled(format!(": {c}"), t.label()));
        }
    } else if let Some(o) = u.outages().next_back() {
        first.extend([
            sep(),
            Span::styled("last ", t.label()),
            Span::styled(duration(o.duration), t.value()),
        ]);
        if let Some(c) = &o.cause {
            first.push(Span::styled(format!(": {c}"), t.label()));
        }
    }
    Line::from(first)
}

/// The latency probe's percentiles, losses and the HTTP API's round trip.
fn probe_line(t: &Theme, m: &StatsModel) -> Line<'static> {
    let sep = || sep(t);
    let probe = m.probe();
    let second = match probe.percentiles() {
        _ if probe.is_empty() => vec![Span::styled(
            "probe: no samples (--probe, with the app id and secret)",
            t.dim(),
        )],
        p => {
            let v = |f: fn(&crate::stats::Percentiles) -> u64| {
                p.as_ref()
                    .map_or_else(|| "–".into(), |p| format!("{}ms", f(p)))
            };
            let api = m.probe_api().percentiles();
            vec![
                Span::styled("probe ", t.label()),
                Span::styled(format!("p50 {} ", v(|p| p.p50)), t.value()),
                Span::styled(format!("p95 {} ", v(|p| p.p95)), t.value()),
                Span::styled(format!("p99 {} ", v(|p| p.p99)), t.value()),
                Span::styled(format!("max {}", v(|p| p.max)), t.value()),
                sep(),
                Span::styled("lost ", t.label()),
                Span::styled(
                    format!("{}/{}", probe.lost(), probe.len()),
                    if probe.lost() > 0 {
                        t.error()
                    } else {
                        t.value()
                    },
                ),
                sep(),
                Span::styled("api ", t.label()),
                Span::styled(
                    api.map_or_else(|| "–".into(), |a| format!("{}ms", a.p50)),
                    t.value(),
                ),
            ]
        }
    };
    Line::from(second)
}

/// The selected channel's authorization times, and the keys.
fn channel_line(t: &Theme, app: &App, m: &StatsModel, selected: Option<&str>) -> Line<'static> {
    let sep = || sep(t);
    let mut third = Vec::new();
    if let Some(name) = selected {
        third.push(Span::styled(format!("{name} "), t.channel()));
        match m.auth().get(name) {
            Some(a) => third.extend([
                Span::styled("auth ", t.label()),
                Span::styled(
                    format!(
                        "last {}ms mean {}ms max {}ms",
                        a.last_ms, a.mean_ms, a.max_ms
                    ),
                    t.value(),
                ),
            ]),
            None => third.push(Span::styled("no authorization", t.dim())),
        }
        third.push(sep());
    }
    if !app.measured().enabled() {
        third.push(Span::styled(
            "measures off (CHANWATCH_NO_MEASURES)",
            t.warn(),
        ));
    } else {
        third.push(Span::styled("↑↓ channel  Esc back", t.dim()));
    }
    Line::from(third)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(13.0), 20.0);
        assert_eq!(nice_ceiling(20_000.0), 20_000.0);
        assert_eq!(fmt_num(20_000.0), "20k");
    }
}
