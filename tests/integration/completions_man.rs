//! `chanwatch completions SHELL` and `chanwatch man` from the real binary: each names the
//! binary and the flags, and the bash script is valid bash.

use std::process::Output;

fn run(args: &[&str]) -> Output {
    let out = crate::support::isolated::chanwatch()
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run chanwatch");
    assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
    out
}

fn stdout(args: &[&str]) -> String {
    String::from_utf8(run(args).stdout).expect("UTF-8")
}

#[test]
fn every_shell_gets_a_script_that_knows_the_flags() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = stdout(&["completions", shell]);
        assert!(script.len() > 1000, "{shell}: {script}");
        assert!(script.contains("chanwatch"), "{shell}");
        for flag in ["activity-timeout", "origin", "ca-file", "user-auth-header"] {
            assert!(script.contains(flag), "{shell} lacks {flag}");
        }
        // The subcommands complete too.
        for sub in ["demo", "completions", "config"] {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
    }
}

#[test]
fn the_bash_script_is_valid_bash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chanwatch.bash");
    std::fs::write(&path, run(&["completions", "bash"]).stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("bash is installed");
    assert!(check.status.success(), "bash -n: {check:?}");
    // And loading it registers the completion for the binary.
    let loaded = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p chanwatch",
            path.display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&loaded.stdout).contains("chanwatch"),
        "{loaded:?}"
    );
}

#[test]
fn an_unknown_shell_is_refused() {
    let out = crate::support::isolated::chanwatch()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn the_man_page_is_roff_with_the_flags() {
    let page = stdout(&["man"]);
    assert!(page.contains(".TH chanwatch 1"), "{page}");
    assert!(page.contains(".SH NAME"));
    // roff writes a hyphen in a flag as \-.
    for flag in [
        r"\-\-activity\-timeout",
        r"\-\-origin",
        r"\-\-ca\-file",
        r"\-\-headless",
    ] {
        assert!(page.contains(flag), "man page lacks {flag}");
    }
}
