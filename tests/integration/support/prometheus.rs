//! A real Prometheus (Debian's `prometheus` package, installed by
//! scripts/install-test-deps.sh) on a free loopback port, with a temporary configuration
//! that scrapes the given targets every second and a temporary TSDB; killed on drop. Also
//! `promtool`, and a small client of the query API.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Generous: Prometheus starts in about a second here; only a hang reaches this.
const WAIT: Duration = Duration::from_secs(60);

/// A program of the prometheus package; panics with the fix when it is not there.
pub fn program(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{name} not found on PATH: run scripts/install-test-deps.sh (Debian's prometheus package)")
    })
}

/// Run `promtool` with `args` and `stdin`; returns (success, stdout + stderr).
pub fn promtool(args: &[&str], stdin: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(program("promtool"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ran");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub struct Prometheus {
    child: Child,
    port: u16,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Start scraping `targets` (host:port) every second as job `chanwatch`; returns once
    /// it answers /-/ready.
    pub async fn start(targets: &[String]) -> Prometheus {
        let dir = tempfile::tempdir().expect("temp dir");
        let list: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: chanwatch\n    static_configs:\n      \
             - targets: [{}]\n",
            list.join(", ")
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write the config");
        let port = super::sockudo::free_port();
        let child = Command::new(program("prometheus"))
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            child,
            port,
            http: reqwest::Client::new(),
            _dir: dir,
        };
        let url = format!("http://127.0.0.1:{port}/-/ready");
        let ready = tokio::time::timeout(WAIT, async {
            loop {
                if let Ok(r) = p.http.get(&url).send().await
                    && r.status().is_success()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        assert!(
            ready.is_ok(),
            "prometheus on port {port} never became ready"
        );
        p
    }

    /// The instant vector of `query`: each series' labels and value.
    pub async fn query(&self, query: &str) -> Vec<(Value, f64)> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
        let body = self
            .http
            .get(&url)
            .query(&[("query", query)])
            .send()
            .await
            .expect("query prometheus")
            .text()
            .await
            .expect("read the answer");
        let v: Value = serde_json::from_str(&body).expect("the query API answers JSON");
        assert_eq!(v["status"], "success", "{query}: {body}");
        v["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|s| {
                let value = s["value"][1]
                    .as_str()
                    .unwrap_or("NaN")
                    .parse()
                    .unwrap_or(f64::NAN);
                (s["metric"].clone(), value)
            })
            .collect()
    }

    /// Wait (bounded) until the first series of `query` has a value that `pred` accepts.
    pub async fn wait_value(&self, what: &str, query: &str, pred: impl Fn(f64) -> bool) -> f64 {
        let mut last = Vec::new();
        let found = tokio::time::timeout(WAIT, async {
            loop {
                last = self.query(query).await;
                if let Some((_, v)) = last.first()
                    && pred(*v)
                {
                    return *v;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("prometheus never showed {what} ({query}); last: {last:?}"))
    }
}
