//! Ingest benchmark consumer: reads a client's NDJSON on stdin and stops at the `done`
//! event. Counts `tick` event lines on the way. Only each line's head is looked at (the
//! event name comes before `data` in both chanwatch's and the pusher-js script's lines), so
//! a pipe of 5 KB lines is read at memory speed and the consumer is never the bottleneck.
//!
//! Prints `events=<N> seconds=<since this process started>`; exits 1 if stdin ends first.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Instant;

/// How far into a line the event name is looked for.
const HEAD: usize = 256;

fn main() -> ExitCode {
    let start = Instant::now();
    let stdin = std::io::stdin();
    let mut input = std::io::BufReader::with_capacity(1 << 20, stdin.lock());
    let mut line = Vec::with_capacity(8 << 10);
    let mut events = 0u64;
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("ingest_count: cannot read stdin: {e}");
                return ExitCode::FAILURE;
            }
        }
        let head = &line[..line.len().min(HEAD)];
        if contains(head, br#""event":"tick""#) {
            events += 1;
        } else if contains(head, br#""event":"done""#) {
            let seconds = start.elapsed().as_secs_f64();
            let mut out = std::io::stdout();
            let _ = writeln!(out, "events={events} seconds={seconds:.3}");
            return ExitCode::SUCCESS;
        }
    }
    eprintln!("ingest_count: stdin ended before the done event ({events} events seen)");
    ExitCode::FAILURE
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
