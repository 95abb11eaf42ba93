//! Recording and replaying through the real binary: a demo session with faults recorded
//! with `--record`, replayed headless with `--speed max`, gives the very lines the demo
//! printed; bad files are reported as the README says.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_chanwatch")
}

fn replay_headless(path: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("replay")
        .arg(path)
        .args(["--headless", "--speed", "max"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_recorded_demo_with_faults_replays_to_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.ndjson");
    let mut child = Command::new(bin())
        .args(["demo", "--headless", "--record"])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let mut wait_for = |what: &str, printed: &mut Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "no {what} in {printed:#?}");
            let line = lines.next().expect("the demo ended early").unwrap();
            let found = line.contains(what);
            printed.push(line);
            if found {
                return;
            }
        }
    };
    wait_for("\"current\":\"connected\"", &mut printed);
    writeln!(stdin, r#"{{"cmd":"fault","kind":"close","code":4200}}"#).unwrap();
    wait_for("\"fault\":\"close 4200\"", &mut printed);
    wait_for("\"current\":\"connected\"", &mut printed);
    writeln!(stdin, r#"{{"cmd":"fault","kind":"delay","ms":50}}"#).unwrap();
    wait_for("\"fault\":\"delay 50ms\"", &mut printed);
    writeln!(stdin, r#"{{"cmd":"fault","kind":"restore"}}"#).unwrap();
    wait_for("\"fault\":\"restore\"", &mut printed);
    writeln!(stdin, r#"{{"cmd":"quit"}}"#).unwrap();
    printed.extend(lines.map(Result::unwrap));
    assert!(child.wait().unwrap().success());

    let recording = std::fs::read_to_string(&path).unwrap();
    let header: serde_json::Value =
        serde_json::from_str(recording.lines().next().unwrap()).unwrap();
    assert_eq!(header["type"], "chanwatch_recording");
    assert_eq!(header["format"], 1);
    assert_eq!(header["key"], "demo-key");
    assert!(
        !recording.contains("demo-secret"),
        "no secret in the recording"
    );
    let commands: Vec<&str> = recording
        .lines()
        .filter(|l| l.contains(r#""type":"command""#))
        .collect();
    assert_eq!(commands.len(), 4, "{commands:#?}");
    assert!(commands[0].ends_with(r#""command":{"cmd":"fault","kind":"close","code":4200}}"#));

    let out = replay_headless(&path, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        replayed, printed,
        "the same records, in order, with the same ts"
    );

    // The three faults are in the replay, as the demo printed them.
    let faults = replayed
        .iter()
        .filter(|l| l.contains(r#""type":"fault""#))
        .count();
    assert_eq!(faults, 3);

    // `--since 0s` is the whole recording ...
    let out = replay_headless(&path, &["--since", "0s"]);
    assert_eq!(
        out.stdout.len(),
        printed.iter().map(|l| l.len() + 1).sum::<usize>()
    );
    // ... and `--channel` keeps exactly the recorded lines on that channel.
    let channel_of = |l: &str| {
        serde_json::from_str::<serde_json::Value>(l).unwrap()["channel"]
            .as_str()
            .map(str::to_string)
    };
    let channel = printed
        .iter()
        .find_map(|l| channel_of(l))
        .expect("the demo recorded events on a channel");
    let want: Vec<&String> = printed
        .iter()
        .filter(|l| channel_of(l).as_deref() == Some(channel.as_str()))
        .collect();
    let out = replay_headless(&path, &["--channel", &channel]);
    let narrowed: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(narrowed.len() < printed.len(), "narrowed to {channel}");
    assert_eq!(narrowed.iter().collect::<Vec<_>>(), want);
}

fn write_recording(dir: &std::path::Path, header_format: u32, body: &[&str]) -> std::path::PathBuf {
    let path = dir.join("r.ndjson");
    let mut text = format!(
        r#"{{"type":"chanwatch_recording","format":{header_format},"chanwatch":"9.9.9","host":"h","key":"k","tls":false,"channels":[],"started":"2026-01-01T00:00:00.000Z"}}"#
    );
    for l in body {
        text.push('\n');
        text.push_str(l);
    }
    std::fs::write(&path, text).unwrap();
    path
}

const GOOD: &str = r#"{"ts":"2026-01-01T00:00:01.000Z","type":"event","channel":"news","event":"e","data":{"n":1}}"#;
const LATER: &str = r#"{"ts":"2026-01-01T00:00:02.000Z","type":"fault","fault":"cut"}"#;

#[test]
fn corrupt_and_truncated_lines_are_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path(), 1, &[GOOD, "{not json", LATER, &GOOD[..40]]);
    let out = replay_headless(&path, &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{GOOD}\n{LATER}\n")
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("line 3: not a record"), "{err}");
    assert!(err.contains("line 5: truncated"), "{err}");
}

#[test]
fn a_newer_format_exits_2_and_a_missing_file_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path(), 99, &[GOOD]);
    for headless in [true, false] {
        let mut cmd = Command::new(bin());
        cmd.arg("replay").arg(&path);
        if headless {
            cmd.arg("--headless");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("format 99, newer than this chanwatch reads"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    let out = replay_headless(&dir.path().join("nope.ndjson"), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cannot open the recording"), "{err}");
    assert!(err.contains("nope.ndjson"), "{err}");
    let out = replay_headless(&dir.path().join("nope.ndjson"), &["--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2), "a bad flag");
}

#[test]
fn an_offset_past_the_end_of_time_is_a_usage_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_recording(dir.path(), 1, &[GOOD, LATER]);
    for flag in ["--since", "--until"] {
        for offset in ["500000000000years", "101years", "99999999999999999999999s"] {
            let out = replay_headless(&path, &[flag, offset]);
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(out.status.code(), Some(2), "{flag} {offset}: {err}");
            assert!(
                err.contains(flag) && err.contains("at most 100 years"),
                "{flag} {offset}: {err}"
            );
            assert!(out.stdout.is_empty());
        }
    }
    // The longest offset allowed still works: everything is before it.
    let out = replay_headless(&path, &["--until", "100years"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{GOOD}\n{LATER}\n")
    );
}

/// A panic ends the program with code 70; what was recorded up to it is on disk.
#[test]
fn a_panic_still_leaves_the_recording_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("panic.ndjson");
    let out = Command::new(bin())
        .args(["demo", "--headless", "--record"])
        .arg(&path)
        .env(chanwatch::panic_report::DEBUG_PANIC_VAR, "client")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(70));
    let recording = std::fs::read_to_string(&path).unwrap();
    // The records up to the panic, and the session's report of it.
    assert!(recording.contains("asked for a panic"), "{recording}");
    assert!(
        recording.contains(r#""current":"disconnected""#),
        "{recording}"
    );
    // Every line the program printed before it stopped was recorded.
    let printed = String::from_utf8(out.stdout).unwrap();
    for line in printed.lines() {
        assert!(recording.contains(line), "{line} is not in the recording");
    }
}
