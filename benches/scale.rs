//! Many channels and many members: `cargo bench --bench scale`.
//!
//! The real `chanwatch --headless` binary watches the in-process demo server:
//! 1. 10 000 channels subscribed through stdin commands: time until every `subscribed`
//!    record has been printed, and the client process's RSS (VmRSS, VmHWM) before and after.
//! 2. A presence channel that 1 000 simulated members join and then leave: time until the
//!    client has printed every `member_added` / `member_removed`.
//! 3. The dashboard's App fed with those very records (parsed back from the NDJSON): update
//!    cost per record, and frame times of a 200x50 `TestBackend` render with 10 001 channels
//!    in the list and 1 000 members in the members pane, so the UI stays responsive.
//!
//! Without `--bench` (as under `cargo test --all-targets`) it runs a small smoke version.

use chanwatch::demo::{DemoConfig, DemoServer};
use chanwatch::session::DashboardInfo;
use chanwatch::session_record::SessionRecord;
use chanwatch::ui::app::{App, AppConfig, Msg};
use chanwatch::ui::view;
use chanwatch_core::record::{Record, Stamped};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use std::hint::black_box;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BOUND: Duration = Duration::from_secs(120);
const PRESENCE: &str = "presence-big";

/// `VmRSS` and `VmHWM` (peak) of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Reader {
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    records: Vec<Value>,
}

impl Reader {
    /// Read records until `count` more of them satisfy `pred`.
    async fn until(&mut self, what: &str, count: usize, pred: impl Fn(&Value) -> bool) {
        let mut seen = 0;
        let deadline = tokio::time::Instant::now() + BOUND;
        while seen < count {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what} ({seen}/{count})"))
                .expect("read stdout")
                .unwrap_or_else(|| panic!("chanwatch ended waiting for {what}"));
            let v: Value = serde_json::from_str(&line).expect("NDJSON");
            assert_ne!(v["type"], "subscription_error", "{v}");
            if pred(&v) {
                seen += 1;
            }
            self.records.push(v);
        }
    }
}

fn frame_stats(label: &str, app: &App, frames: usize) {
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let mut times = Vec::with_capacity(frames);
    for _ in 0..frames {
        let t = Instant::now();
        term.draw(|f| view::render(black_box(app), f)).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / frames as u32;
    println!(
        "  render 200x50, {label:<38} mean {:>7.3} ms   p99 {:>7.3} ms   ({frames} frames)",
        ms(mean),
        ms(times[(frames * 99 / 100).min(frames - 1)])
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (channels, members, frames) = if full {
        (10_000, 1_000, 200)
    } else {
        (200, 50, 5)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let records = rt.block_on(watch(channels, members));
    app_costs(&records, channels, members, frames);
}

async fn watch(channels: usize, members: usize) -> Vec<Value> {
    let server = DemoServer::start(DemoConfig::default()).await.unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_chanwatch"))
        .args([
            "--headless",
            "--no-tls",
            "--host",
            "127.0.0.1",
            "--ws-port",
            &server.addr().port().to_string(),
            "--key",
            server.key(),
            "--secret",
            server.secret(),
            "--user-id",
            "watcher",
            "-s",
            PRESENCE,
        ])
        // Nothing of the developer's configuration.
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("chanwatch-bench-no-config"),
        )
        .env(
            "HOME",
            std::env::temp_dir().join("chanwatch-bench-no-config"),
        )
        .env_remove("PUSHER_URL")
        .env_remove("CHANWATCH_CONFIG")
        .env_remove("CHANWATCH_PROFILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn chanwatch");
    let pid = child.id().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut r = Reader {
        lines: BufReader::new(child.stdout.take().unwrap()).lines(),
        records: Vec::new(),
    };
    r.until("the presence members", 1, |v| v["type"] == "members")
        .await;
    let (rss0, _) = memory_kib(pid);

    // 1. Channels.
    let mut commands = String::new();
    for i in 0..channels {
        commands.push_str(&json!({"cmd": "subscribe", "channel": format!("ch-{i}")}).to_string());
        commands.push('\n');
    }
    let start = Instant::now();
    let writer = tokio::spawn(async move {
        stdin.write_all(commands.as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
        stdin
    });
    r.until("every subscription", channels, |v| {
        v["type"] == "subscribed" && v["channel"] != PRESENCE
    })
    .await;
    let took = start.elapsed();
    let mut stdin = writer.await.unwrap();
    let (rss1, hwm1) = memory_kib(pid);
    assert_eq!(server.subscriber_count(&format!("ch-{}", channels - 1)), 1);
    println!("Client (real binary, headless, records to a pipe)");
    println!(
        "  {channels} channels subscribed in {:.1} ms ({:.0}/s); client RSS {} -> {} KiB (peak {} KiB), {:.2} KiB per channel",
        ms(took),
        channels as f64 / took.as_secs_f64(),
        rss0,
        rss1,
        hwm1,
        (rss1.saturating_sub(rss0)) as f64 / channels as f64
    );

    // 2. Members.
    let start = Instant::now();
    for i in 0..members {
        server.join_member(
            PRESENCE,
            &format!("member-{i}"),
            json!({"name": format!("Member {i}")}),
        );
    }
    r.until("every member_added", members, |v| {
        v["type"] == "member_added"
    })
    .await;
    let joined = start.elapsed();
    let start = Instant::now();
    for i in 0..members {
        server.leave_member(PRESENCE, &format!("member-{i}"));
    }
    r.until("every member_removed", members, |v| {
        v["type"] == "member_removed"
    })
    .await;
    let left = start.elapsed();
    let (rss2, hwm2) = memory_kib(pid);
    println!(
        "  {members} members joined in {:.1} ms, left in {:.1} ms (server fan-out + client + pipe); RSS {} KiB (peak {} KiB)",
        ms(joined),
        ms(left),
        rss2,
        hwm2
    );

    stdin.write_all(b"{\"cmd\":\"quit\"}\n").await.unwrap();
    stdin.flush().await.unwrap();
    let status = tokio::time::timeout(BOUND, child.wait())
        .await
        .expect("chanwatch exits after quit")
        .unwrap();
    assert!(status.success());
    r.records
}

/// The dashboard's share: App::update over the same records, and frames drawn at the
/// interesting moments.
fn app_costs(records: &[Value], channels: usize, members: usize, frames: usize) {
    let stamped: Vec<Stamped> = records
        .iter()
        .filter_map(|v| serde_json::from_value::<Record>(v.clone()).ok())
        .map(Stamped::now)
        .collect();
    assert!(stamped.len() >= channels + 2 * members);
    let info = DashboardInfo {
        nodes: Vec::new(),
        host: "127.0.0.1".into(),
        key: "demo-key".into(),
        tls: false,
        demo: false,
    };
    let mut app = App::new(info, AppConfig::default(), Instant::now());
    app.update(Msg::Resize(200, 50), Instant::now());
    // Split at the last member_added: the moment the members pane is fullest.
    let full_at = stamped
        .iter()
        .rposition(|s| matches!(s.record, Record::MemberAdded { .. }))
        .unwrap()
        + 1;
    let subscribed_at = stamped
        .iter()
        .position(|s| matches!(s.record, Record::MemberAdded { .. }))
        .unwrap_or(full_at);

    println!("Dashboard App (the same {} records)", stamped.len());
    let phase = |label: &str, slice: &[Stamped], app: &mut App| {
        let start = Instant::now();
        let mut worst = Duration::ZERO;
        for s in slice {
            let t = Instant::now();
            black_box(app.update(
                Msg::Record(s.clone().map(SessionRecord::Client)),
                Instant::now(),
            ));
            worst = worst.max(t.elapsed());
        }
        let took = start.elapsed();
        println!(
            "  update: {label:<34} {:>6} records in {:>8.2} ms ({:>6.2} us each, worst {:>7.3} ms)",
            slice.len(),
            ms(took),
            took.as_secs_f64() * 1e6 / slice.len().max(1) as f64,
            ms(worst)
        );
    };
    phase("subscriptions", &stamped[..subscribed_at], &mut app);
    frame_stats(
        &format!("{} channels", app.channels().count()),
        &app,
        frames,
    );
    phase(
        "members joining",
        &stamped[subscribed_at..full_at],
        &mut app,
    );
    let shown = app
        .selected_channel()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    frame_stats(
        &format!("{members} members ({shown} selected)"),
        &app,
        frames,
    );
    phase("members leaving", &stamped[full_at..], &mut app);
    frame_stats("after the members left", &app, frames);
}
