//! `chanwatch replay FILE` in a real terminal (tmux): pause, step, seek by time, jump
//! between state changes and faults, and the refusal of connection commands.
//! Needs tmux (`apt-get install tmux`).

use crate::support::tmux::Tmux;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn line(ms: u64, rest: &str) -> String {
    let ts = humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + Duration::from_millis(1_767_225_600_000 + ms),
    );
    format!(r#"{{"ts":"{ts}",{rest}}}"#)
}

/// 45 s: connected at 0.1 s, an event a second on `news`, a cut at 5.5 s, a pong timeout
/// at 20.5 s and the reconnection at 21 s.
fn recording(dir: &std::path::Path) -> std::path::PathBuf {
    let mut lines = vec![
        r#"{"type":"chanwatch_recording","format":1,"chanwatch":"0.1.0","host":"recorded.example","key":"app-key","tls":true,"channels":["news"],"started":"2026-01-01T00:00:00.000Z"}"#.to_string(),
        line(0, r#""type":"state","previous":"initialized","current":"connecting","cause":"connect requested""#),
        line(100, r#""type":"state","previous":"connecting","current":"connected","socket_id":"1.2""#),
        line(200, r#""type":"subscribed","channel":"news""#),
    ];
    for n in 1..=45 {
        if n == 6 {
            lines.push(line(5_500, r#""type":"fault","fault":"cut""#));
        }
        if n == 21 {
            lines.push(line(20_500, r#""type":"state","previous":"connected","current":"connecting","cause":"pong timeout""#));
            lines.push(line(
                20_900,
                r#""type":"state","previous":"connecting","current":"connected","socket_id":"3.4""#,
            ));
        }
        lines.push(line(
            n * 1000,
            &format!(r#""type":"event","channel":"news","event":"tick","data":{{"n":{n}}}"#),
        ));
    }
    let path = dir.join("replay.ndjson");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn pause_step_seek_and_jump() {
    let dir = tempfile::tempdir().unwrap();
    let path = recording(dir.path());
    let command = format!(
        "{} replay {}",
        env!("CARGO_BIN_EXE_chanwatch"),
        path.display()
    );
    let t = Tmux::start("replay", &command, 110, 32);
    t.wait_for_text("REPLAY ▶", WAIT);
    t.wait_for_text("recorded.example", WAIT);
    t.keys(&["P"]);
    t.wait_for_text("REPLAY paused", WAIT);

    // Forward 10 s: the cut at 5.5 s is in the timeline, events up to n=10 in the log.
    t.keys(&[">"]);
    t.wait_for("10 s further", WAIT, |s| {
        s.contains("fault: cut") && s.contains("REPLAY paused 0:1")
    });
    // Back to the start: a rebuild, so the cut is gone again.
    t.keys(&["<", "<"]);
    t.wait_for("back at the start", WAIT, |s| {
        s.contains("REPLAY paused 0:00.0") && !s.contains("fault: cut")
    });
    // One record: the connection.
    t.keys(&["."]);
    t.wait_for("stepped to connected", WAIT, |s| {
        s.contains("REPLAY paused 0:00.1") && s.contains("connecting → connected")
    });
    // Next state change or fault: the cut, then the pong timeout.
    t.keys(&["]"]);
    t.wait_for("at the cut", WAIT, |s| {
        s.contains("REPLAY paused 0:05.5") && s.contains("fault: cut")
    });
    t.keys(&["]"]);
    t.wait_for("at the pong timeout", WAIT, |s| {
        s.contains("REPLAY paused 0:20.5") && s.contains("pong timeout")
    });
    t.keys(&["["]);
    t.wait_for("back at the cut", WAIT, |s| {
        s.contains("REPLAY paused 0:05.5") && !s.contains("pong timeout")
    });

    // Nothing reaches a connection.
    t.keys(&["d"]);
    t.wait_for_text("this is a replay", WAIT);
    t.keys(&["?"]);
    t.wait_for_text("step one record", WAIT);
    t.keys(&["Escape"]);

    // Playing on from the cut reaches n=7 within a few seconds.
    t.keys(&["P"]);
    t.wait_for("playing on", WAIT, |s| {
        s.contains("{\"n\":7}") && s.contains("REPLAY ▶")
    });
    // Filter and export work as live; the timeline goes to the data directory by default.
    t.keys(&["P", "/"]);
    t.type_text("channel:news");
    t.keys(&["Enter"]);
    t.wait_for_text("channel:news", WAIT);
    t.keys(&["w"]);
    t.wait_for_text("Write the timeline as text to", WAIT);
    t.keys(&["Enter"]);
    t.wait_for("the export notice", WAIT, |s| {
        s.contains("wrote") && s.contains("timeline entries")
    });
    t.keys(&["q"]);
    t.wait_for("exit", WAIT, |_| t.dead());
}

/// A config file's `[keys]` rebinds a replay key for the real binary: `replay_pause` on
/// ctrl-p pauses and plays, and the footer shows it as bound.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn a_rebound_replay_key_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = recording(dir.path());
    let cfg = dir.path().join("keys.toml");
    std::fs::write(&cfg, "[keys]\nreplay_pause = \"ctrl-p\"\n").unwrap();
    let command = format!(
        "{} --config {} replay {}",
        env!("CARGO_BIN_EXE_chanwatch"),
        cfg.display(),
        path.display()
    );
    let t = Tmux::start("replay-keys", &command, 140, 32);
    t.wait_for_text("REPLAY ▶", WAIT);
    t.wait_for_text("Ctrl-p play", WAIT);
    t.keys(&["C-p"]);
    t.wait_for_text("REPLAY paused", WAIT);
    t.keys(&["C-p"]);
    t.wait_for_text("REPLAY ▶", WAIT);
    t.keys(&["q"]);
    t.wait_for("exit", WAIT, |_| t.dead());
}
