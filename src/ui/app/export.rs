//! Export what the dashboard shows: the log, as the current filter narrows it, as NDJSON
//! (the headless `event` lines), and the timeline as text. The path is asked for in a
//! prompt whose default lies in the platform's data directory.
use crate::session_record::SessionRecord;

use super::{App, Modal, NoticeLevel, Prompt, PromptKind, Update};
use crate::session_record::Stamped;
use chanwatch_core::record::{LineWriter, Record};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// The log's events that match the filter, as NDJSON.
    Log,
    /// The timeline, one line per entry, as text.
    Timeline,
}

impl ExportKind {
    pub fn label(self) -> &'static str {
        match self {
            ExportKind::Log => "Write the log (filtered) as NDJSON to",
            ExportKind::Timeline => "Write the timeline as text to",
        }
    }

    fn stem(self) -> &'static str {
        match self {
            ExportKind::Log => "log",
            ExportKind::Timeline => "timeline",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ExportKind::Log => "ndjson",
            ExportKind::Timeline => "txt",
        }
    }
}

/// `<data dir>/chanwatch-<what>-<UTC time>.<ext>`; Linux: `~/.local/share/chanwatch/`.
pub fn default_path(kind: ExportKind, now: SystemTime) -> PathBuf {
    let dir = directories::ProjectDirs::from("", "", "chanwatch")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."));
    let stamp: String = humantime::format_rfc3339_seconds(now)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    dir.join(format!(
        "chanwatch-{}-{stamp}.{}",
        kind.stem(),
        kind.extension()
    ))
}

impl App {
    pub(super) fn start_export(&mut self, kind: ExportKind) -> Update {
        let path = default_path(kind, self.wall_now());
        self.show(Modal::Prompt(Prompt::new(
            PromptKind::Export(kind),
            &path.display().to_string(),
        )));
        Update::redraw()
    }

    /// Write the file and say where, or why not. The prompt stays open on an empty path.
    pub(super) fn submit_export(&mut self, kind: ExportKind, path: &str) -> Result<Update, String> {
        if path.is_empty() {
            return Err("a path is needed".into());
        }
        let path = expand_home(path);
        let written = match kind {
            ExportKind::Log => self.write_log(&path),
            ExportKind::Timeline => self.write_timeline(&path),
        };
        match written {
            Ok(n) => {
                let what = match kind {
                    ExportKind::Log => "events",
                    ExportKind::Timeline => "timeline entries",
                };
                self.notify(
                    format!("wrote {n} {what} to {}", path.display()),
                    NoticeLevel::Info,
                );
            }
            Err(e) => self.notify(
                format!("cannot write {}: {e}", path.display()),
                NoticeLevel::Error,
            ),
        }
        Ok(Update::redraw())
    }

    fn write_log(&self, path: &Path) -> io::Result<usize> {
        write_file(path, |out| {
            let mut lines = LineWriter::default();
            let mut line = Vec::new();
            let mut n = 0;
            let log = self.model.log();
            for e in (0..log.len()).filter_map(|i| log.get(i)) {
                if !self.filter.matches(e) {
                    continue;
                }
                // With several nodes each line says its node, as headless output does.
                let s = Stamped {
                    node: e.node.clone(),
                    ts: e.ts,
                    record: SessionRecord::Client(Record::Event {
                        channel: e.channel.clone(),
                        event: e.event.clone(),
                        data: e.data.clone(),
                        user_id: e.user_id.clone(),
                        decrypted: e.decrypted,
                    }),
                };
                line.clear();
                lines.write(&s, &mut line);
                line.push(b'\n');
                out.write_all(&line)?;
                n += 1;
            }
            Ok(n)
        })
    }

    fn write_timeline(&self, path: &Path) -> io::Result<usize> {
        write_file(path, |out| {
            for e in self.model.timeline().iter() {
                let line = crate::ui::view::timeline::line(&self.theme, e, true);
                // Server text (an error's message, a close reason) as the screen shows it.
                let text: String = line
                    .spans
                    .iter()
                    .map(|s| crate::ui::format::printable(&s.content))
                    .collect();
                writeln!(out, "{text}")?;
            }
            Ok(self.model.timeline().len())
        })
    }
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), directories::BaseDirs::new()) {
        (Some(rest), Some(dirs)) => dirs.home_dir().join(rest),
        _ => PathBuf::from(path),
    }
}

/// Create the file (and its directory), owner-only: events may be private.
fn write_file(
    path: &Path,
    body: impl FnOnce(&mut io::BufWriter<std::fs::File>) -> io::Result<usize>,
) -> io::Result<usize> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = crate::private_file::open(path, crate::private_file::Existing::Truncate)?;
    let mut out = io::BufWriter::new(file);
    let n = body(&mut out)?;
    out.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::app::{AppConfig, DashboardInfo, Msg};
    use crate::ui::model::log::Filter;
    use std::time::{Duration, Instant, UNIX_EPOCH};

    fn app() -> App {
        let info = DashboardInfo {
            nodes: Vec::new(),
            host: "h".into(),
            key: "k".into(),
            tls: false,
            demo: false,
        };
        let mut app = App::new(info, AppConfig::default(), Instant::now());
        for (i, channel) in ["a", "b", "a"].into_iter().enumerate() {
            let s = Stamped {
                node: None,
                ts: UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + i as u64),
                record: SessionRecord::Client(Record::Event {
                    channel: Some(channel.into()),
                    event: "e".into(),
                    data: serde_json::json!({ "i": i }).into(),
                    user_id: None,
                    decrypted: false,
                }),
            };
            app.update(Msg::Record(s), Instant::now());
        }
        app.update(
            Msg::Record(Stamped {
                node: None,
                ts: UNIX_EPOCH,
                record: SessionRecord::Fault {
                    fault: "cut".into(),
                },
            }),
            Instant::now(),
        );
        app
    }

    #[test]
    fn the_filtered_log_is_written_as_event_lines_and_a_notice_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/log.ndjson");
        let mut app = app();
        app.filter = Filter::parse("channel:a");
        app.submit_export(ExportKind::Log, path.to_str().unwrap())
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"ts\":\"2023-11-14T22:13:20.000Z\",\"type\":\"event\",\"channel\":\"a\",\"event\":\"e\",\"data\":{\"i\":0}}\n\
             {\"ts\":\"2023-11-14T22:13:20.002Z\",\"type\":\"event\",\"channel\":\"a\",\"event\":\"e\",\"data\":{\"i\":2}}\n"
        );
        let notice = app.notice().unwrap();
        assert_eq!(notice.level, NoticeLevel::Info);
        assert!(notice.text.contains("wrote 2 events to"), "{}", notice.text);
        assert!(notice.text.contains("log.ndjson"), "{}", notice.text);
    }

    #[test]
    fn the_timeline_is_written_as_text_and_failures_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timeline.txt");
        let mut app = app();
        app.submit_export(ExportKind::Timeline, path.to_str().unwrap())
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("fault: cut\n"), "{text}");
        // A directory where the file should be.
        app.submit_export(ExportKind::Timeline, dir.path().to_str().unwrap())
            .unwrap();
        let notice = app.notice().unwrap();
        assert_eq!(notice.level, NoticeLevel::Error);
        assert!(notice.text.starts_with("cannot write"), "{}", notice.text);
        assert!(app.submit_export(ExportKind::Log, "").is_err());
    }

    #[test]
    fn exports_escape_the_controls_of_server_text() {
        use crate::session_record::hostile::{HOSTILE, assert_terminal_safe};
        let mut app = app();
        app.update(
            Msg::Record(Stamped {
                node: None,
                ts: UNIX_EPOCH,
                record: SessionRecord::Client(Record::Event {
                    channel: Some("a".into()),
                    event: HOSTILE.into(),
                    data: serde_json::json!({ "t": HOSTILE }).into(),
                    user_id: None,
                    decrypted: false,
                }),
            }),
            Instant::now(),
        );
        app.update(
            Msg::Record(Stamped {
                node: None,
                ts: UNIX_EPOCH,
                record: SessionRecord::Client(Record::Error {
                    code: Some(4200),
                    message: HOSTILE.into(),
                }),
            }),
            Instant::now(),
        );
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.ndjson");
        app.submit_export(ExportKind::Log, log.to_str().unwrap())
            .unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert_terminal_safe(&text);
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["event"], HOSTILE);
        assert_eq!(last["data"]["t"], HOSTILE);
        let timeline = dir.path().join("timeline.txt");
        app.submit_export(ExportKind::Timeline, timeline.to_str().unwrap())
            .unwrap();
        let text = std::fs::read_to_string(&timeline).unwrap();
        assert_terminal_safe(&text);
        assert!(
            text.contains(" [31mred  ]0;title  cr over  del  nel  2J csi"),
            "{text}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_export_refuses_a_symlink_and_leaves_an_existing_file_0600() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep me").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("link.ndjson");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut app = app();
        for kind in [ExportKind::Log, ExportKind::Timeline] {
            app.submit_export(kind, link.to_str().unwrap()).unwrap();
            let notice = app.notice().unwrap();
            assert_eq!(notice.level, NoticeLevel::Error);
            assert!(notice.text.contains("symbolic link"), "{}", notice.text);
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert_eq!(mode(&target), 0o644);
        // Written over, the existing file is its owner's alone.
        app.submit_export(ExportKind::Log, target.to_str().unwrap())
            .unwrap();
        assert_eq!(app.notice().unwrap().level, NoticeLevel::Info);
        assert_eq!(mode(&target), 0o600);
    }

    #[test]
    fn the_default_path_is_in_the_data_directory() {
        let p = default_path(
            ExportKind::Log,
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        );
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(name, "chanwatch-log-20231114T221320.ndjson");
        assert!(
            p.parent().unwrap().ends_with("chanwatch"),
            "{}",
            p.display()
        );
    }
}
