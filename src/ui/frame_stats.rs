//! Opt-in frame timing for benchmarks: with `CHANWATCH_FRAME_STATS=PATH` set, the dashboard
//! keeps how long each frame took to draw (render, diff and write to the terminal) and writes
//! them to PATH on exit, one number of microseconds per line. Unset, it costs nothing.

use std::path::PathBuf;
use std::time::Duration;

pub const ENV: &str = "CHANWATCH_FRAME_STATS";
/// A bound on what is kept: about 9 hours of frames at 30 a second.
const MAX_FRAMES: usize = 1_000_000;

#[derive(Debug, Default)]
pub struct FrameStats {
    path: Option<PathBuf>,
    micros: Vec<u32>,
}

impl FrameStats {
    pub fn from_env() -> FrameStats {
        FrameStats {
            path: std::env::var_os(ENV)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            micros: Vec::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.path.is_some()
    }

    pub fn push(&mut self, took: Duration) {
        if self.enabled() && self.micros.len() < MAX_FRAMES {
            self.micros
                .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        }
    }

    /// Write the frame times, if asked for. Called once the terminal is restored, so a
    /// failure can be reported on stderr like any other.
    pub fn write(&self) -> anyhow::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut text = String::with_capacity(self.micros.len() * 6);
        for m in &self.micros {
            text.push_str(&m.to_string());
            text.push('\n');
        }
        std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("cannot write {ENV} file {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_one_line_per_frame_in_microseconds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frames.txt");
        let mut stats = FrameStats {
            path: Some(path.clone()),
            micros: Vec::new(),
        };
        stats.push(Duration::from_micros(1500));
        stats.push(Duration::from_millis(20));
        stats.write().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "1500\n20000\n");
    }

    #[test]
    fn disabled_keeps_and_writes_nothing() {
        let mut stats = FrameStats::default();
        stats.push(Duration::from_millis(1));
        assert!(stats.micros.is_empty());
        stats.write().unwrap();
    }

    #[test]
    fn an_unwritable_path_is_a_clear_error() {
        let stats = FrameStats {
            path: Some(PathBuf::from("/nonexistent-dir/frames.txt")),
            micros: vec![1],
        };
        let e = stats.write().unwrap_err().to_string();
        assert!(e.contains(ENV) && e.contains("/nonexistent-dir"), "{e}");
    }
}
