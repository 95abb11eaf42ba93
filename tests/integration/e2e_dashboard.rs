//! The real binary's dashboard in a real terminal (tmux): what a person sees and types.
//! Needs tmux (`apt-get install tmux`; scripts/install-test-deps.sh installs it).

use crate::support::tmux::Tmux;
use chanwatch::demo::{DemoConfig, DemoServer};
use std::time::Duration;

/// Generous: a loaded CI machine may take a while to start and draw.
const WAIT: Duration = Duration::from_secs(20);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_chanwatch")
}

/// Subscribe with `s`, see an event arrive, disconnect with `d`, reconnect with `r`, quit.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn subscribe_watch_disconnect_reconnect_quit() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _in_runtime = rt.enter();
    let server = rt
        .block_on(DemoServer::start(DemoConfig::default()))
        .unwrap();
    let _traffic = server.start_traffic();
    let command = format!(
        "{} --no-tls --host 127.0.0.1 --ws-port {} --key {}",
        bin(),
        server.addr().port(),
        server.key()
    );
    let t = Tmux::start("basic", &command, 100, 30);
    t.wait_for_text("connecting → connected", WAIT);

    t.keys(&["s"]);
    t.wait_for_text("Subscribe to channel", WAIT);
    t.type_text("ticker");
    t.keys(&["Enter"]);
    // The demo server sends a price on `ticker` every 1.5 s or so.
    t.wait_for("a price event on ticker", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("ticker") && l.contains("price"))
    });

    t.keys(&["d"]);
    t.wait_for_text("connected → disconnected", WAIT);
    t.keys(&["r"]);
    t.wait_for_text("disconnected → connecting", WAIT);
    t.wait_for("connected again, after the reconnect", WAIT, |s| {
        match (
            s.rfind("disconnected → connecting"),
            s.rfind("connecting → connected"),
        ) {
            (Some(again), Some(connected)) => connected > again,
            _ => false,
        }
    });

    t.keys(&["q"]);
    t.wait_for("the program to exit", WAIT, |_| t.dead());
}

/// Typing into a prompt never triggers bindings: a `q` in a channel name does not quit.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn prompt_typing_is_not_a_binding() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _in_runtime = rt.enter();
    let server = rt
        .block_on(DemoServer::start(DemoConfig::default()))
        .unwrap();
    let command = format!(
        "{} --no-tls --host 127.0.0.1 --ws-port {} --key {}",
        bin(),
        server.addr().port(),
        server.key()
    );
    let t = Tmux::start("prompt", &command, 80, 24);
    t.wait_for_text("connected", WAIT);
    t.keys(&["s"]);
    // Type only once the prompt is up: before it, `q` would rightly quit.
    t.wait_for_text("Subscribe to channel", WAIT);
    t.type_text("quiet-qq");
    t.keys(&["Enter"]);
    t.wait_for_text("quiet-qq", WAIT);
    assert!(!t.dead(), "typing q in a prompt must not quit");
    t.keys(&["?"]);
    t.wait_for_text("Fault menu", WAIT);
    t.keys(&["Escape"]);
    t.keys(&["C-c"]);
    t.wait_for("the program to exit", WAIT, |_| t.dead());
}

/// `chanwatch demo`: events within seconds, and a fault from the keyboard reads in order in
/// the timeline: fault, ping, pong timeout, connecting, then connected after restore.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn demo_fault_from_the_keyboard() {
    let command = format!(
        "{} --activity-timeout 2s --pong-timeout 1s --unavailable-timeout 3s --retry-cap 1s --handshake-timeout 2s demo",
        bin()
    );
    let t = Tmux::start("demo", &command, 120, 36);
    t.wait_for_text("DEMO", WAIT);
    t.wait_for("demo events", WAIT, |s| {
        s.contains("price") && s.contains("ticker")
    });

    t.keys(&["x"]);
    t.keys(&["c"]);
    t.wait_for_text("fault: cut", WAIT);
    t.wait_for_text("ping sent", WAIT);
    t.wait_for_text("pong timeout", WAIT);
    t.wait_for_text("connected → connecting", WAIT);
    t.wait_for_text("→ unavailable", WAIT);

    t.keys(&["x"]);
    t.keys(&["e"]);
    t.wait_for_text("fault: restore", WAIT);
    t.wait_for("connected again, after the restore", WAIT, |s| {
        match (s.rfind("fault: restore"), s.rfind("→ connected")) {
            (Some(restore), Some(connected)) => connected > restore,
            _ => false,
        }
    });
    t.keys(&["q"]);
    t.wait_for("the program to exit", WAIT, |_| t.dead());
}

/// `chanwatch demo` with its probe: `m` shows the measures screen with the probe's numbers,
/// `o` the server's occupancy with the demo's channels, `Esc` goes back to the panes.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn demo_measures_and_occupancy_screens() {
    let command = format!("{} --occupancy-interval 1s demo", bin());
    let t = Tmux::start("measures", &command, 80, 24);
    t.wait_for_text("DEMO", WAIT);
    t.wait_for_text("probe p50", WAIT);
    t.keys(&["m"]);
    t.wait_for_text("Events/s", WAIT);
    t.wait_for("the probe's percentiles and the state band", WAIT, |s| {
        s.contains("probe p50") && s.contains("p99") && s.contains("█ connected")
    });
    t.keys(&["o"]);
    t.wait_for("the demo's channels with counts", WAIT, |s| {
        s.contains("Occupancy") && s.contains("ticker") && s.contains("presence-lobby")
    });
    t.keys(&["Escape"]);
    t.wait_for("the panes again", WAIT, |s| {
        s.contains("Channels") && s.contains("Events")
    });
    t.keys(&["q"]);
    t.wait_for("the program to exit", WAIT, |_| t.dead());
}

/// The demo under a shell that, once chanwatch ends, prints its exit status and whether the
/// terminal is back in cooked mode (`icanon` and `echo` in `stty -a`).
fn demo_then_report(env: &str) -> String {
    format!(
        "{env} RUST_BACKTRACE=0 {} demo; echo \"exit=$?\"; \
         stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo | tr '\\n' ' '; echo; sleep 60",
        bin()
    )
}

/// The children of process `pid` (from /proc: no procps needed).
fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                // pid (comm) state ppid ...: comm may hold spaces, so split after the ')'.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn quit_restores_the_terminal_and_exits_0() {
    let t = Tmux::start("quit", &demo_then_report(""), 100, 30);
    t.wait_for("demo events", WAIT, |s| {
        s.contains("price") && s.contains("ticker")
    });
    t.keys(&["q"]);
    let screen = t.wait_for_text("icanon echo", WAIT);
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(
        !screen.contains("DEMO"),
        "back on the main screen: {screen}"
    );
}
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn sigterm_restores_the_terminal_and_exits_0() {
    let t = Tmux::start("term", &demo_then_report(""), 100, 30);
    t.wait_for("demo events", WAIT, |s| {
        s.contains("price") && s.contains("ticker")
    });
    let shell = t.pane_pid();
    let kids = children(shell);
    assert_eq!(kids.len(), 1, "one chanwatch under the shell: {kids:?}");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &kids[0].to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let screen = t.wait_for_text("icanon echo", WAIT);
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(
        !screen.contains("DEMO"),
        "back on the main screen: {screen}"
    );
}

/// A panic while the dashboard runs: the terminal is given back (no alternate screen, not
/// raw: the shell's `stty` shows `icanon` and `echo`), one line says what happened, and the
/// exit status is 70, not 0.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn a_panic_restores_the_terminal_and_exits_70() {
    let t = Tmux::start(
        "panic",
        &demo_then_report("CHANWATCH_DEBUG_PANIC=client"),
        100,
        30,
    );
    let screen = t.wait_for_text("exit=70", WAIT);
    assert!(
        screen.contains("chanwatch: internal error: the client task was asked for a panic"),
        "{screen}"
    );
    let modes = t.wait_for_text("icanon echo", WAIT);
    // Back on the main screen: nothing of the dashboard's panes is left.
    assert!(
        !modes.contains("Timeline") && !modes.contains("DEMO"),
        "{modes}"
    );
}

/// A config file's `[keys]` rebinds quit to `z` for the real binary: `q` no longer quits,
/// the help overlay lists `z`, and `z` quits. The demo reads the file's keys too.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn a_rebound_quit_key_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("keys.toml");
    std::fs::write(&cfg, "[keys]\nquit = [\"z\", \"ctrl-c\"]\n").unwrap();
    let command = format!("{} --config {} demo", bin(), cfg.display());
    let t = Tmux::start("rebound", &command, 100, 30);
    t.wait_for_text("DEMO", WAIT);
    t.wait_for_text("connecting → connected", WAIT);

    // Keys are handled in order: once the help overlay that `?` opens is on screen, the `q`
    // before it has been handled too, and must not have quit.
    t.keys(&["q"]);
    t.keys(&["?"]);
    t.wait_for("the help overlay listing z for quit", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("z Ctrl-c") && l.contains("quit"))
    });
    assert!(!t.dead(), "q must not quit once quit is rebound");
    t.keys(&["Escape"]);
    t.keys(&["z"]);
    t.wait_for("the program to exit", WAIT, |_| t.dead());
}

/// `chanwatch demo --nodes 3` in a real terminal: the node strip, the cluster screen with
/// its matrix, then node c killed from the fault menu (on the node the panes show): its row
/// says its API is unreachable and its own member turns into a ghost.
#[cfg_attr(
    not(feature = "real-servers"),
    ignore = "needs tmux: run with --features real-servers"
)]
#[test]
fn demo_cluster_screen_and_a_killed_node() {
    let command = format!("{} demo --nodes 3 --ghost-after 1s", bin());
    let t = Tmux::start("cluster", &command, 120, 40);
    t.wait_for("the node strip", WAIT, |s| {
        s.contains("nodes [a ●] b ● c ●")
    });
    t.keys(&["C"]);
    t.wait_for("the delivery matrix, all delivered", WAIT, |s| {
        s.contains("Delivery") && s.contains("→ c") && s.matches(" 0%").count() >= 9
    });
    // The panes show c; the fault menu offers its node faults.
    t.keys(&["n", "n"]);
    t.wait_for_text("▸c", WAIT);
    t.keys(&["x"]);
    t.wait_for_text("the demo's node c", WAIT);
    t.keys(&["k"]);
    t.wait_for("node c's row and its ghost", WAIT, |s| {
        s.contains("API unreachable") && s.contains("GHOST") && s.contains("c ✕")
    });
    t.keys(&["q"]);
    t.wait_for("the program to exit", WAIT, |_| t.dead());
}
