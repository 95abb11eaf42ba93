//! The files chanwatch writes for its user through the real binary: `--log-file` and
//! `--record` refuse a symbolic link at their path (its target untouched) and leave an
//! existing file at mode 0600. The exports share the same opening (`private_file`), tested
//! in `ui::app::export`.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_chanwatch")
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A file with `text`, mode 0644, and a symbolic link to it.
fn target_and_link(dir: &std::path::Path, text: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let target = dir.join("target");
    std::fs::write(&target, text).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    (target, link)
}

/// A run that stops early without a network: replaying a file that is not there, headless.
fn replay_missing(dir: &std::path::Path, extra: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(bin())
        .arg("replay")
        .arg(dir.join("missing.ndjson"))
        .arg("--headless")
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn a_log_file_symlink_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (target, link) = target_and_link(dir.path(), "keep me\n");
    let out = replay_missing(dir.path(), &["--log-file".as_ref(), link.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot open the log file {}", link.display()))
            && stderr.contains("it is a symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    assert_eq!(mode(&target), 0o644);
}

#[test]
fn an_existing_log_file_ends_up_0600_and_is_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("chanwatch.log");
    std::fs::write(&log, "earlier run\n").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = replay_missing(dir.path(), &["--log-file".as_ref(), log.as_os_str()]);
    // The replay fails (no such file); the log file was opened before that.
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(mode(&log), 0o600);
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .starts_with("earlier run\n")
    );
}

#[test]
fn a_record_symlink_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (target, link) = target_and_link(dir.path(), "an older recording\n");
    let out = Command::new(bin())
        .args(["demo", "--headless", "--record"])
        .arg(&link)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("--record: cannot create {}", link.display()))
            && stderr.contains("it is a symbolic link"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "an older recording\n"
    );
    assert_eq!(mode(&target), 0o644);
}
