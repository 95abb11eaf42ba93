//! A real sockudo server on a free loopback port, owned by one test and killed when dropped.
//!
//! The binary comes from `$CHANWATCH_SOCKUDO` (a path to the executable), else
//! `$CHANWATCH_SOCKUDO_ROOT/bin/sockudo`, else `$HOME/.cache/chanwatch-sockudo/bin/sockudo`,
//! where `scripts/install-sockudo.sh` puts it. The whole configuration is passed in the
//! environment, and the server runs in an empty temporary directory so that no
//! `config/config.toml` lying around can change it. [`Sockudo::start_with_config`] passes a
//! config file as well (`--config`), for what has no variable: per-app webhooks.

#![allow(dead_code)] // a kit for every area's tests: not every part is in use at once

use chanwatch_core::http_api::HttpApi;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const APP_ID: &str = "app1";
pub const KEY: &str = "testkey";
pub const SECRET: &str = "testsecret";

/// The log line sockudo prints once its HTTP/WebSocket listener is configured.
const READY_LINE: &str = "http server listening";
/// Generous: sockudo is ready in milliseconds, but CI machines can be slow and loaded.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How many log lines to keep for failure messages.
const LOG_KEEP: usize = 200;
/// Free-port picking can race with another process; try a few ports before giving up.
const START_ATTEMPTS: usize = 3;

pub struct Sockudo {
    child: Child,
    port: u16,
    /// What it was started with, for [`Sockudo::restart`].
    extra_env: Vec<(String, String)>,
    config: Option<String>,
    log: Arc<Mutex<VecDeque<String>>>,
    _dir: tempfile::TempDir,
}

impl Sockudo {
    /// Start with the tests' app (app1 / testkey / testsecret, client events and user
    /// authentication on).
    pub fn start() -> Sockudo {
        Sockudo::start_with(&[])
    }

    /// Start with extra environment settings, e.g. `[("ACTIVITY_TIMEOUT", "2")]`.
    pub fn start_with(extra_env: &[(&str, &str)]) -> Sockudo {
        Sockudo::start_full(extra_env, None)
    }

    /// Start with a TOML config file holding the tests' app (its `[[app_manager.array.apps]]`
    /// entry and anything else in `toml`, which must define the app as app1 / testkey /
    /// testsecret). The app is then not also defined by variables; host, port and the other
    /// variables stay as for [`Sockudo::start`] (sockudo's variables win over its file), so
    /// set `QUEUE_DRIVER` in `extra_env` when the file's queue is wanted.
    pub fn start_with_config(toml: &str, extra_env: &[(&str, &str)]) -> Sockudo {
        Sockudo::start_full(extra_env, Some(toml))
    }

    fn start_full(extra_env: &[(&str, &str)], config: Option<&str>) -> Sockudo {
        let binary = binary();
        let mut last_failure = String::new();
        for _ in 0..START_ATTEMPTS {
            match try_start(&binary, free_port(), extra_env, config) {
                Ok(server) => return server,
                Err(failure) => last_failure = failure,
            }
        }
        panic!("sockudo did not start after {START_ATTEMPTS} attempts: {last_failure}");
    }

    /// Kill the server (abruptly, like a crash), then start a fresh one on the same port
    /// with the same settings. Its state (connections, channels) is gone.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let extra: Vec<(&str, &str)> = self
            .extra_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // The port was ours a moment ago; retry briefly in case the kernel is slow to free it.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match try_start(&binary(), self.port, &extra, self.config.clone().as_deref()) {
                Ok(fresh) => {
                    // Dropping the old value kills nothing: its child has been reaped.
                    *self = fresh;
                    return;
                }
                Err(failure) if Instant::now() > deadline => {
                    panic!("sockudo did not restart on port {}: {failure}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `kill -9`: the process dies at once, saying goodbye to nobody. [`Sockudo::restart`]
    /// brings it back on the same port.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn http_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An HTTP API client for the tests' app.
    pub fn api(&self) -> HttpApi {
        HttpApi::new(self.http_base(), APP_ID, KEY, SECRET)
    }

    /// The last log lines, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        log.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Sockudo {
    fn drop(&mut self) {
        // SIGKILL: a graceful stop waits out sockudo's 10 s shutdown grace period, and the
        // tests own no state in it worth a clean shutdown.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the sockudo binary is; panics with the fix when it is not there.
pub fn binary() -> PathBuf {
    let path = if let Some(path) = std::env::var_os("CHANWATCH_SOCKUDO") {
        PathBuf::from(path)
    } else {
        let root = std::env::var_os("CHANWATCH_SOCKUDO_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
                PathBuf::from(home).join(".cache/chanwatch-sockudo")
            });
        root.join("bin/sockudo")
    };
    if !path.is_file() {
        panic!(
            "sockudo not found at {}: run scripts/install-sockudo.sh (or set CHANWATCH_SOCKUDO \
             to the binary)",
            path.display()
        );
    }
    path
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a loopback port")
}

fn try_start(
    binary: &Path,
    port: u16,
    extra_env: &[(&str, &str)],
    config: Option<&str>,
) -> Result<Sockudo, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let mut command = Command::new(binary);
    command
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string());
    match config {
        Some(toml) => {
            let path = dir.path().join("sockudo-test.toml");
            std::fs::write(&path, toml).map_err(|e| format!("write the config file: {e}"))?;
            command.arg("--config").arg(&path);
        }
        None => {
            command
                .env("SOCKUDO_DEFAULT_APP_ID", APP_ID)
                .env("SOCKUDO_DEFAULT_APP_KEY", KEY)
                .env("SOCKUDO_DEFAULT_APP_SECRET", SECRET)
                .env("SOCKUDO_DEFAULT_APP_ENABLED", "true")
                .env("SOCKUDO_DEFAULT_APP_ENABLE_CLIENT_MESSAGES", "true")
                .env("SOCKUDO_DEFAULT_APP_ENABLE_USER_AUTHENTICATION", "true");
        }
    }
    command
        // Nothing but the one loopback port: no metrics listener on 0.0.0.0:9601, no Redis
        // queue (the default driver), no per-IP limits that many test clients would trip.
        .env("METRICS_ENABLED", "false")
        .env("QUEUE_DRIVER", "none")
        .env("ADAPTER_DRIVER", "local")
        .env("CACHE_DRIVER", "memory")
        .env("APP_MANAGER_DRIVER", "memory")
        .env("RATE_LIMITER_ENABLED", "false")
        .env("LOG_COLORS_ENABLED", "false")
        .env_remove("RUST_LOG");
    for (k, v) in extra_env {
        command.env(k, v);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", binary.display()))?;

    let log = Arc::new(Mutex::new(VecDeque::with_capacity(LOG_KEEP)));
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    collect_lines(stdout, log.clone(), ready_tx.clone());
    collect_lines(stderr, log.clone(), ready_tx);

    let mut server = Sockudo {
        child,
        port,
        extra_env: extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        config: config.map(str::to_string),
        log,
        _dir: dir,
    };
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match ready_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(()) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Both pipes closed: the process is gone; try_wait below says so.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_millis(100))
            }
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!(
                "sockudo exited with {status} before listening on port {port}; log:\n{}",
                server.log_tail()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "sockudo did not log {READY_LINE:?} within {START_TIMEOUT:?}; log:\n{}",
                server.log_tail()
            ));
        }
    }
    // The ready line is printed just before the listener binds, so also wait for a connect.
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!(
                "sockudo exited with {status} (port {port} taken?); log:\n{}",
                server.log_tail()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "sockudo logged {READY_LINE:?} but port {port} accepts no connection; log:\n{}",
                server.log_tail()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(server)
}

/// Read lines from one of sockudo's pipes into the shared log on a thread, signalling
/// `ready` when the ready line shows up. The thread ends when the pipe closes.
fn collect_lines(
    pipe: impl Read + Send + 'static,
    log: Arc<Mutex<VecDeque<String>>>,
    ready: mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if line.contains(READY_LINE) {
                let _ = ready.send(());
            }
            let mut log = log.lock().unwrap();
            if log.len() == LOG_KEEP {
                log.pop_front();
            }
            log.push_back(line);
        }
    });
}
