//! A real sockudo cluster on loopback: one Redis (Debian's `redis-server`, no persistence)
//! and several sockudo nodes joined through it (adapter and cache on Redis), each on a free
//! port of its own with its own HTTP API. Every process is killed when the value is
//! dropped, and each test can kill and restart a node or Redis on the way.
//!
//! sockudo must be built with its `redis` feature (`scripts/install-sockudo.sh` does).

#![allow(dead_code)] // a kit: not every test uses every part

use super::sockudo::{Sockudo, free_port};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Redis may take to accept connections after it starts.
const REDIS_START: Duration = Duration::from_secs(20);

/// A Redis server on a loopback port, without persistence.
pub struct Redis {
    child: Option<Child>,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        let dir = tempfile::tempdir().expect("a temp dir for redis");
        let mut redis = Redis {
            child: None,
            port: free_port(),
            _dir: dir,
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kill it (`kill -9`): the nodes lose their bus.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start it again on the same port (empty: nothing was persisted).
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(binary())
            .current_dir(self._dir.path())
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}); run scripts/install-test-deps.sh")
            });
        self.child = Some(child);
        let deadline = Instant::now() + REDIS_START;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on port {} within {REDIS_START:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `$CHANWATCH_REDIS`, else `redis-server` on the PATH.
fn binary() -> PathBuf {
    std::env::var_os("CHANWATCH_REDIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

/// Redis and sockudo nodes `a`, `b`, `c`, ... joined through it.
pub struct SockudoCluster {
    pub redis: Redis,
    pub nodes: Vec<Sockudo>,
}

/// The node names, in order.
pub const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];

impl SockudoCluster {
    pub fn start(n: usize) -> SockudoCluster {
        assert!(n <= NAMES.len());
        let redis = Redis::start();
        let url = redis.url();
        let env = [
            ("ADAPTER_DRIVER", "redis"),
            ("CACHE_DRIVER", "redis"),
            ("REDIS_URL", url.as_str()),
        ];
        let nodes = (0..n).map(|_| Sockudo::start_with(&env)).collect();
        SockudoCluster { redis, nodes }
    }

    /// `--node a=ws://127.0.0.1:PORT` for every node, with the app's key, secret and id.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "--key",
            super::sockudo::KEY,
            "--app-id",
            super::sockudo::APP_ID,
            "--no-tls",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--secret={}", super::sockudo::SECRET));
        for (name, node) in NAMES.iter().zip(&self.nodes) {
            args.push("--node".into());
            args.push(format!("{name}=ws://127.0.0.1:{}", node.port()));
        }
        args
    }

    /// Every node's log tail, for failure messages.
    pub fn logs(&self) -> String {
        NAMES
            .iter()
            .zip(&self.nodes)
            .map(|(name, node)| format!("--- node {name}:\n{}", node.log_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
