//! Log lines on stderr carry ANSI colour codes only for a terminal, and not even there with
//! NO_COLOR set. The terminal is a pty from `script` (util-linux).

use std::process::{Command, Stdio};
use std::time::Duration;

/// Debug logs of a client retrying a port where nothing listens: a few lines at once.
const ARGS: &[&str] = &[
    "--headless",
    "--no-tls",
    "--host",
    "127.0.0.1",
    "--ws-port",
    "1",
    "--key",
    "k",
    "-vv",
];

/// Runs the client for a moment and returns what it wrote to stderr.
fn stderr_of(mut cmd: Command) -> String {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_piped_stderr_gets_no_colour_codes() {
    let mut cmd = crate::support::isolated::chanwatch();
    cmd.args(ARGS).env_remove("NO_COLOR");
    let stderr = stderr_of(cmd);
    assert!(stderr.contains("opening socket"), "no log lines: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "escape codes in a pipe: {stderr:?}"
    );
}

/// The client under `script`, which gives it a pty for stdin, stdout and stderr and copies
/// what it prints to our pipe.
fn in_a_terminal(no_color: Option<&str>) -> String {
    let line = format!("{} {} 2>&1", crate::support::isolated::BIN, ARGS.join(" "));
    let mut cmd = Command::new("script");
    cmd.args(["-qfec", &line, "/dev/null"]);
    // The isolated environment of the other tests, applied to `script` and so to its child.
    let isolated = crate::support::isolated::chanwatch();
    for (name, value) in isolated.get_envs() {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    match no_color {
        Some(v) => cmd.env("NO_COLOR", v),
        None => cmd.env_remove("NO_COLOR"),
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) is installed");
    std::thread::sleep(Duration::from_millis(1500));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    let coloured = in_a_terminal(None);
    assert!(coloured.contains("opening socket"), "{coloured:?}");
    assert!(
        coloured.contains("\u{1b}["),
        "no colour at a terminal: {coloured:?}"
    );

    let plain = in_a_terminal(Some("1"));
    assert!(plain.contains("opening socket"), "{plain:?}");
    assert!(
        !plain.contains('\u{1b}'),
        "colour despite NO_COLOR: {plain:?}"
    );
}
