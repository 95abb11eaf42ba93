//! Ingest benchmark consumer: reads a client's NDJSON on stdin and stops at the `done`
//! event. Counts `tick` event lines on the way. Only each line's head is looked at (the
//! event name comes before `data` in both chanwatch's and the pusher-js script's lines),
//! and lines are found in the read buffer itself; only a line split across two reads is
//! moved, once, to the buffer's start. On a 2-core machine every CPU second this consumer
//! spends is taken from the client it measures.
//!
//! Prints `events=<N> seconds=<since this process started>`; exits 1 if stdin ends first.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Instant;

/// How far into a line the event name is looked for.
const HEAD: usize = 256;
/// Bytes asked of the pipe per read (the pipe itself holds at most 1 MiB).
const READ: usize = 1 << 20;

fn main() -> ExitCode {
    let start = Instant::now();
    let mut input = std::io::stdin().lock();
    let mut buf = vec![0u8; 2 * READ];
    // buf[..have] is read and not yet looked at; it starts at a line's start.
    let mut have = 0;
    let mut events = 0u64;
    let mut ended = false;
    while !ended {
        if buf.len() - have < READ {
            // One line longer than what is left: room for it, and for a full read.
            buf.resize(have + READ, 0);
        }
        let n = match input.read(&mut buf[have..]) {
            Ok(0) => {
                // A last line without its newline still counts.
                // (There is room: the buffer always has READ bytes free here.)
                ended = true;
                buf[have] = b'\n';
                1
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("ingest_count: cannot read stdin: {e}");
                return ExitCode::FAILURE;
            }
        };
        // Only the new bytes can hold the end of the pending line.
        let mut search = have;
        have += n;
        let mut line_start = 0;
        while let Some(end) = memchr::memchr(b'\n', &buf[search..have]).map(|i| search + i) {
            let head = &buf[line_start..end.min(line_start + HEAD)];
            if contains(head, br#""event":"tick""#) {
                events += 1;
            } else if contains(head, br#""event":"done""#) {
                let seconds = start.elapsed().as_secs_f64();
                let _ = writeln!(std::io::stdout(), "events={events} seconds={seconds:.3}");
                return ExitCode::SUCCESS;
            }
            line_start = end + 1;
            search = line_start;
        }
        if line_start > 0 {
            buf.copy_within(line_start..have, 0);
            have -= line_start;
        }
    }
    eprintln!("ingest_count: stdin ended before the done event ({events} events seen)");
    ExitCode::FAILURE
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
