//! Replay at `--speed max` over a generated recording of 1 M records (about 120 MB):
//! the headless binary (records/s, MB/s, peak RSS of the child), and in process the
//! dashboard's path, the index pass and the player parsing every record. Measured, never
//! asserted. `RECORDS=200000 cargo bench --bench replay` for a shorter run.

use chanwatch::recording::{Header, Recorder};
use chanwatch::replay::index::Index;
use chanwatch::replay::player::{Budget, FileSource, Item, Player};
use chanwatch::replay::{Speed, file};
use chanwatch::session_record::SessionRecord;
use chanwatch_core::record::{Record, Stamped, State};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it, and then a small smoke run is enough to prove it still works.
    let full = std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::var("RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 1_000_000 } else { 2_000 });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.ndjson");
    let started = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    let info = chanwatch::session::DashboardInfo {
        nodes: Vec::new(),
        host: "bench".into(),
        key: "k".into(),
        tls: false,
        demo: false,
    };
    let rec = Recorder::create(&path, &Header::new(&info, vec!["ch".into()], started)).unwrap();
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        // A state change every 10 000 records, events between: 100 indexed marks per 1 M.
        let record = if i % 10_000 == 0 {
            Record::State {
                previous: State::Connected,
                current: State::Connecting,
                socket_id: None,
                cause: Some("bench".into()),
            }
        } else {
            Record::Event {
                channel: Some("ch".into()),
                event: "tick".into(),
                data: serde_json::json!({"n": i, "pad": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}).into(),
                user_id: None,
                decrypted: false,
            }
        };
        batch.push(Stamped {
            node: None,
            ts: started + Duration::from_micros(i * 100),
            record: SessionRecord::Client(record),
        });
        if batch.len() == 1000 {
            rec.records(&batch);
            batch.clear();
        }
    }
    rec.records(&batch);
    rec.flush().unwrap();
    drop(rec);
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!("recording: {n} records, {:.1} MB", bytes as f64 / 1e6);

    // The headless binary, its output thrown away.
    let t = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_chanwatch"))
        .arg("replay")
        .arg(&path)
        .args(["--headless", "--speed", "max"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (status, max_rss_kib) = wait_with_rss(child);
    let took = t.elapsed().as_secs_f64();
    assert!(status, "the replay failed");
    println!(
        "headless --speed max: {:.2} s, {:.2} M records/s, {:.0} MB/s, peak RSS {:.1} MiB",
        took,
        n as f64 / took / 1e6,
        bytes as f64 / took / 1e6,
        max_rss_kib as f64 / 1024.0
    );

    // The dashboard's path, in process: the index pass, then every record parsed and handed
    // to a sink that only counts.
    let t = Instant::now();
    let (header, mut reader) = file::open(&path).unwrap();
    let index = Index::build(&mut reader, header.started);
    let index_took = t.elapsed().as_secs_f64();
    let marks = index.marks.len();
    let t = Instant::now();
    let mut player = Player::new(
        FileSource(path.clone()),
        header.started,
        index,
        Speed::Max,
        Instant::now(),
    )
    .unwrap();
    let mut count = 0u64;
    let mut sink = |item: Item| {
        if let Item::Record(..) = item {
            count += 1;
        }
    };
    // The dashboard's budget per turn of its loop.
    let budget = Budget {
        lines: 20_000,
        bytes: 4 << 20,
    };
    loop {
        let mut left = budget;
        if player.play(Instant::now(), &mut left, &mut sink) == chanwatch::replay::pace::Due::End {
            break;
        }
    }
    let play_took = t.elapsed().as_secs_f64();
    assert_eq!(count, n);
    println!(
        "dashboard path: index pass {:.2} s ({:.2} M lines/s, {marks} marks); records parsed and applied to a no-op sink {:.2} s ({:.2} M/s); peak RSS of this process {:.1} MiB",
        index_took,
        n as f64 / index_took / 1e6,
        play_took,
        n as f64 / play_took / 1e6,
        self_peak_rss_kib() as f64 / 1024.0
    );
}

/// Wait for the child; its success and peak RSS in KiB, the child's VmHWM as last read
/// while it ran (sampled every 5 ms: a peak in its last milliseconds may be missed).
fn wait_with_rss(mut child: std::process::Child) -> (bool, i64) {
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0i64;
    loop {
        if let Some(kib) = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<i64>().ok())
        }) {
            peak = peak.max(kib);
        }
        match child.try_wait().expect("wait for the replay") {
            Some(status) => return (status.success(), peak),
            None => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    }
}

fn self_peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
