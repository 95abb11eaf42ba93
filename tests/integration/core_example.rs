//! The client crate's example (`crates/chanwatch-core/examples/print_records.rs`), built and
//! run against the built-in demo server: the library alone connects, subscribes and reports.

use chanwatch::demo::{DemoConfig, DemoServer};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;

/// Build the example (cargo's own lock makes this safe beside other tests) and return its path.
fn example() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO"))
        .current_dir(root)
        .args([
            "build",
            "-q",
            "-p",
            "chanwatch-core",
            "--example",
            "print_records",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("debug/examples/print_records")
}

#[tokio::test]
async fn the_core_example_connects_subscribes_and_prints_records() {
    let demo = DemoServer::start(DemoConfig::default()).await.unwrap();
    let _traffic = demo.start_traffic();
    let mut child = tokio::process::Command::new(example())
        .arg(demo.addr().to_string())
        .arg(demo.key())
        .arg("ticker")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    let read = async {
        while let Some(line) = out.next_line().await.unwrap() {
            let done = line.contains(r#""type":"event","channel":"ticker""#);
            lines.push(line);
            if done {
                break;
            }
        }
    };
    // Bounds the wait only; the assertions below say what was missing.
    let _ = tokio::time::timeout(Duration::from_secs(30), read).await;
    child.kill().await.unwrap();
    let all = lines.join("\n");
    assert!(all.contains(r#""current":"connected""#), "{all}");
    assert!(
        all.contains(r#""type":"subscribed","channel":"ticker""#),
        "{all}"
    );
    assert!(
        all.contains(r#""type":"event","channel":"ticker""#),
        "{all}"
    );
}
