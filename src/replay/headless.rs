//! `chanwatch replay FILE --headless`: the recorded lines on stdout, byte for byte (but for
//! controls a terminal would act on, escaped as live headless output escapes them), at the
//! recorded pace or as fast as possible, optionally narrowed by channel, event and time.

use super::args::{ReplayArgs, Speed};
use super::file::{self, Line};
use super::index::offset;
use super::pace::{Clock, Due};
use std::io::{self, Write};
use std::time::{Instant, SystemTime};

/// Which lines are printed.
#[derive(Debug, Clone, Default)]
pub struct Narrow {
    pub channels: Vec<String>,
    pub events: Vec<String>,
    pub since: Option<SystemTime>,
    pub until: Option<SystemTime>,
}

impl Narrow {
    pub fn from_args(args: &ReplayArgs, started: SystemTime) -> Narrow {
        Narrow {
            channels: args.channels.clone(),
            events: args.events.clone(),
            since: args.since.map(|b| b.resolve(started)),
            until: args.until.map(|b| b.resolve(started)),
        }
    }

    fn keeps(&self, line: &Line) -> bool {
        let named = |wanted: &[String], have: &Option<std::borrow::Cow<str>>| {
            wanted.is_empty()
                || have
                    .as_deref()
                    .is_some_and(|h| wanted.iter().any(|w| w == h))
        };
        named(&self.channels, &line.channel)
            && named(&self.events, &line.event)
            && self.since.is_none_or(|t| line.ts >= t)
    }

    /// Past `until`: nothing later is printed. Lines are written in time order, so reading
    /// stops here.
    fn past(&self, line: &Line) -> bool {
        self.until.is_some_and(|t| line.ts > t)
    }
}

/// Copy the lines to `out` at `speed`; bad lines are reported on `errors` by number and
/// skipped. Ends at the end of the file or when `out` fails (a closed pipe).
pub async fn run(
    args: &ReplayArgs,
    out: &mut impl Write,
    errors: &mut impl Write,
) -> Result<(), super::ReplayError> {
    let (header, mut reader) = file::open(&args.file)?;
    let narrow = Narrow::from_args(args, header.started);
    let mut clock: Option<Clock> = None;
    let speed = args.speed.unwrap_or_default();
    let path = args.file.display().to_string();
    while let Some(line) = reader.next_line() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                let _ = writeln!(errors, "chanwatch: {path}: {e}");
                continue;
            }
        };
        if line.is_command() || !narrow.keeps(&line) {
            if narrow.past(&line) {
                break;
            }
            continue;
        }
        if narrow.past(&line) {
            break;
        }
        let at = offset(header.started, line.ts);
        // Pacing starts at the first line printed, so --since does not wait for the lines
        // it leaves out.
        let clock = clock.get_or_insert_with(|| {
            let mut c = Clock::new(speed, runtime_now());
            c.set(at, runtime_now());
            c
        });
        if speed != Speed::Max
            && let Due::In(wait) = clock.due(at, runtime_now())
        {
            if out.flush().is_err() {
                return Ok(());
            }
            tokio::time::sleep(wait).await;
        }
        // A recording is a file anyone may hand over: its lines are printed as live
        // headless prints records, with what a terminal would act on escaped.
        if out
            .write_all(chanwatch_core::record::terminal_safe(line.text).as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .is_err()
        {
            return Ok(()); // the reader has gone
        }
    }
    let _ = out.flush();
    Ok(())
}

/// The runtime's clock (a paused runtime's virtual time in tests), the one the waits use.
fn runtime_now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// On the process's stdout and stderr.
pub async fn run_stdio(args: &ReplayArgs) -> Result<(), super::ReplayError> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut errors = io::stderr();
    run(args, &mut out, &mut errors).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::args::Bound;
    use crate::replay::file::tests::{event, file, line, state};
    use crate::session_record::SessionRecord;
    use chanwatch_core::record::Record;
    use chanwatch_core::record::State;
    use std::time::Duration;

    fn args(path: &std::path::Path) -> ReplayArgs {
        ReplayArgs {
            file: path.to_path_buf(),
            speed: Some(Speed::Max),
            channels: vec![],
            events: vec![],
            since: None,
            until: None,
        }
    }

    fn replay(lines: &[String], tweak: impl FnOnce(&mut ReplayArgs)) -> (String, String) {
        replay_timed(lines, tweak).0
    }

    /// Replayed on a paused runtime: the output and errors, and how much virtual time the
    /// replay took.
    fn replay_timed(
        lines: &[String],
        tweak: impl FnOnce(&mut ReplayArgs),
    ) -> ((String, String), Duration) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.ndjson");
        std::fs::write(&path, file(lines)).unwrap();
        let mut a = args(&path);
        tweak(&mut a);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let took = rt.block_on(async {
            let started = tokio::time::Instant::now();
            run(&a, &mut out, &mut err).await.unwrap();
            started.elapsed()
        });
        (
            (
                String::from_utf8(out).unwrap(),
                String::from_utf8(err).unwrap(),
            ),
            took,
        )
    }

    #[test]
    fn lines_come_out_byte_for_byte_without_commands_and_bad_lines_are_named() {
        let lines = vec![
            state(0, State::Connecting),
            r#"{"ts":"2023-11-14T22:13:20.001Z","type":"command","command":{"cmd":"fault","kind":"cut"}}"#.into(),
            event(5, 1),
            "{\"ts\":\"2023-11-14T22:13:20.006Z\",\"type\":\"event\",\"chan".into(),
            line(7, SessionRecord::Fault { fault: "cut".into() }),
        ];
        let (out, err) = replay(&lines, |_| {});
        assert_eq!(out, format!("{}\n{}\n{}\n", lines[0], lines[2], lines[4]));
        assert!(err.contains("line 5: truncated"), "{err}");
    }

    #[test]
    fn controls_in_a_recording_are_printed_escaped() {
        use crate::session_record::hostile::{HOSTILE, assert_terminal_safe};
        let error = line(
            2,
            SessionRecord::Client(Record::Error {
                code: None,
                message: HOSTILE.into(),
            }),
        );
        // A line as another program (or a hand) might have written it: raw DEL and C1 in
        // its strings, a raw CR between its tokens, all of it valid JSON.
        let raw = format!(
            "{{\"ts\":\"2023-11-14T22:13:20.003Z\",\r\"type\":\"event\",\"channel\":\"news\",\
             \"event\":\"e\u{9b}\",\"data\":{{\"t\":{}}}}}",
            serde_json::to_string(HOSTILE).unwrap()
        );
        assert!(raw.contains('\u{85}') && raw.contains('\r'));
        let lines = vec![event(1, 1), error, raw];
        let (out, err) = replay(&lines, |_| {});
        assert_eq!(err, "");
        assert_terminal_safe(&out);
        let printed: Vec<&str> = out.lines().collect();
        assert_eq!(printed.len(), 3, "{out}");
        assert_eq!(printed[0], lines[0], "a clean line is unchanged");
        for (printed, recorded) in printed.iter().zip(&lines) {
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(printed).unwrap(),
                serde_json::from_str::<serde_json::Value>(recorded).unwrap()
            );
        }
    }

    #[test]
    fn channel_event_and_time_narrow_the_output() {
        let mut lines = vec![state(0, State::Connecting)];
        lines.extend((1..=5).map(|n| event(n * 1000, n)));
        let (out, _) = replay(&lines, |a| a.channels = vec!["news".into()]);
        assert_eq!(out.lines().count(), 5);
        let (out, _) = replay(&lines, |a| a.events = vec!["nope".into()]);
        assert_eq!(out, "");
        let (out, _) = replay(&lines, |a| {
            a.since = Some(Bound::After(Duration::from_secs(2)));
            a.until = Some(Bound::After(Duration::from_secs(4)));
        });
        assert_eq!(out, format!("{}\n{}\n{}\n", lines[2], lines[3], lines[4]));
    }

    #[test]
    fn the_recorded_pace_is_kept() {
        let lines = vec![event(0, 1), event(300, 2), event(450, 3), event(1200, 4)];
        let ms = |n| Duration::from_millis(n);
        // Virtual time: the waits add up to the recording's span over the speed, each
        // measured from the first line printed (not one after another's drift). Timers
        // round up to the millisecond.
        for (speed, span) in [(1.0, ms(1200)), (3.0, ms(400)), (0.5, ms(2400))] {
            let ((out, _), took) = replay_timed(&lines, |a| a.speed = Some(Speed::Times(speed)));
            assert_eq!(out.lines().count(), 4);
            assert!(took >= span && took <= span + ms(4), "x{speed}: {took:?}");
        }
        let ((out, _), took) = replay_timed(&lines, |a| a.speed = Some(Speed::Max));
        assert_eq!(out.lines().count(), 4);
        assert_eq!(took, Duration::ZERO, "max speed never waits");
    }
}
