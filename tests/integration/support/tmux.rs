//! Drive a real terminal program under tmux: start it in a detached session of a fixed size,
//! type keys, and read the screen back. Used by the end-to-end dashboard tests.

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    session: String,
}

/// This test process's own tmux server: no user's sessions, config or environment leak in,
/// and nothing of ours into theirs.
fn socket() -> String {
    format!("chanwatch-tests-{}", std::process::id())
}

fn tmux(args: &[&str]) -> std::process::Output {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    Command::new("tmux")
        .env_clear()
        .env("PATH", path)
        .env("TERM", "xterm-256color")
        .env("LANG", "C.UTF-8")
        .args(["-L", &socket(), "-f", "/dev/null"])
        .args(args)
        .output()
        .expect("tmux must be installed (apt-get install tmux)")
}

impl Tmux {
    /// Start `command` (run by the shell) in a new detached session `width`x`height`.
    pub fn start(name: &str, command: &str, width: u16, height: u16) -> Tmux {
        let session = format!("chanwatch-{name}-{}", std::process::id());
        let _ = tmux(&["kill-session", "-t", &session]);
        let (w, h) = (width.to_string(), height.to_string());
        // No config file of the developer's: the default one lives under these.
        let empty = std::env::temp_dir().join("chanwatch-tests-no-config");
        let xdg = format!("XDG_CONFIG_HOME={}", empty.display());
        let home = format!("HOME={}", empty.display());
        let out = tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            &w,
            "-y",
            &h,
            "-e",
            "TERM=xterm-256color",
            "-e",
            &xdg,
            "-e",
            &home,
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Keep the pane after the program exits so a crash can still be read.
        let _ = tmux(&["set-option", "-t", &session, "remain-on-exit", "on"]);
        Tmux { session }
    }

    /// Send keys as tmux names them ("s", "Enter", "Escape", "C-c", literal text...).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.session.as_str()];
        args.extend_from_slice(keys);
        let out = tmux(&args);
        assert!(out.status.success(), "send-keys failed");
    }

    /// Type literal text (no key-name interpretation).
    pub fn type_text(&self, text: &str) {
        let out = tmux(&["send-keys", "-t", &self.session, "-l", text]);
        assert!(out.status.success(), "send-keys -l failed");
    }

    pub fn screen(&self) -> String {
        let out = tmux(&["capture-pane", "-p", "-t", &self.session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pid of the pane's first process (the program, or the shell running it).
    pub fn pane_pid(&self) -> u32 {
        let out = tmux(&["display-message", "-p", "-t", &self.session, "#{pane_pid}"]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("tmux gives the pane's pid")
    }

    /// Whether the program in the pane has exited.
    pub fn dead(&self) -> bool {
        let out = tmux(&["display-message", "-p", "-t", &self.session, "#{pane_dead}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Wait until the screen satisfies `pred`, up to `limit`; panics with the screen otherwise.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > limit {
                panic!("timed out after {limit:?} waiting for {what}; screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_for_text(&self, text: &str, limit: Duration) -> String {
        self.wait_for(&format!("{text:?}"), limit, |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = tmux(&["kill-session", "-t", &self.session]);
    }
}
