//! The committed files under `assets/` are what the code makes now: the README's screenshots
//! (rendered again in memory from the same scripted session, on the same fixed clock), the
//! shell completions and the man page. A stale one fails here; `scripts/gen-assets.sh`
//! regenerates them all. The demo recording cannot be made again byte for byte (it is a real
//! run), so only its format is checked.

#[allow(dead_code)]
#[path = "../../examples/screenshot.rs"]
mod screenshot;

use clap_complete::Shell;
use std::path::Path;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn committed(path: &str) -> Vec<u8> {
    let full = Path::new(MANIFEST_DIR).join(path);
    std::fs::read(&full)
        .unwrap_or_else(|e| panic!("{path}: {e}; run scripts/gen-assets.sh to write it"))
}

/// Equal, or a failure that says which file and how to fix it (and where they first
/// differ, rather than two walls of text).
fn assert_fresh(path: &str, fresh: &[u8]) {
    let old = committed(path);
    if old == fresh {
        return;
    }
    let at = old
        .iter()
        .zip(fresh)
        .position(|(a, b)| a != b)
        .unwrap_or(old.len().min(fresh.len()));
    let line = fresh[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    panic!(
        "{path} is stale (first difference on line {line}); run scripts/gen-assets.sh and commit the result"
    );
}

#[test]
fn screenshots_match_the_dashboard() {
    for (w, h, name) in screenshot::SHOTS {
        let svg = screenshot::shot(w, h, name);
        assert!(svg.starts_with("<svg "), "{name}");
        assert_fresh(&format!("assets/{name}"), svg.as_bytes());
    }
}

#[test]
fn screenshots_are_deterministic() {
    assert_eq!(screenshot::svg(80, 24), screenshot::svg(80, 24));
}

#[test]
fn completions_and_man_page_match_the_flags() {
    for (shell, file) in [
        (Shell::Bash, "chanwatch.bash"),
        (Shell::Zsh, "_chanwatch"),
        (Shell::Fish, "chanwatch.fish"),
        (Shell::PowerShell, "_chanwatch.ps1"),
    ] {
        assert_fresh(
            &format!("assets/completions/{file}"),
            &chanwatch::manual::completions(shell),
        );
    }
    assert_fresh("assets/man/chanwatch.1", &chanwatch::manual::man());
}

/// asciicast v2: a header object, then `[seconds, "o", text]` events in time order; the
/// recording shows the cut, its detection and the reconnection.
#[test]
fn the_demo_recording_is_an_asciicast_of_the_reconnection() {
    let text = String::from_utf8(committed("assets/demo-reconnect.cast")).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert!(header["width"].as_u64().unwrap() >= 80);
    assert!(header["height"].as_u64().unwrap() >= 24);
    let mut last = 0.0;
    let mut screens = String::new();
    for line in lines {
        let event: (f64, String, String) = serde_json::from_str(line).unwrap();
        assert!(event.0 >= last, "events out of order at {line}");
        assert_eq!(event.1, "o");
        last = event.0;
        screens.push_str(&without_escapes(&event.2));
    }
    for shown in ["DEMO", "fault: cut", "pong timeout", "fault: restore"] {
        assert!(
            screens.contains(shown),
            "the recording never shows {shown:?}"
        );
    }
    let restore = screens.rfind("fault: restore").unwrap();
    assert!(
        screens[restore..].contains("→ connected"),
        "no reconnection after the restore"
    );
}

/// The text without its escape sequences (`ESC [ ... letter`): colours split the words.
fn without_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
