//! The WebSocket frame decoder over arbitrary server bytes: it must never panic, and the
//! messages (and the error, if any) must not depend on how the bytes were split into reads.

use bytes::BytesMut;
use chanwatch_core::client::ws::codec::{Decoder, Message, ReadError};

/// Small, so that the size limit is reached too.
const MAX: usize = 64 * 1024;

fn decode(bytes: &[u8], chunk: usize) -> (Vec<Message>, Option<ReadError>) {
    let mut decoder = Decoder::new(MAX);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.next(&mut buf) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

/// The fuzzer's bytes as the target takes them: a chunk size, then the server's bytes.
fn split_input(data: &[u8]) -> Option<(usize, &[u8])> {
    use arbitrary::Arbitrary;
    let (chunk, bytes) =
        <(u8, &[u8])>::arbitrary_take_rest(arbitrary::Unstructured::new(data)).ok()?;
    Some((usize::from(chunk), bytes))
}

pub fn check(data: &[u8]) {
    let Some((chunk, bytes)) = split_input(data) else {
        return;
    };
    let whole = decode(bytes, bytes.len());
    let split = decode(bytes, chunk);
    assert_eq!(whole, split);
}

/// What an input exercises: how many reads its bytes arrive in and how many messages they
/// decode to. A seed read in one piece, or decoding to nothing, tests little.
#[allow(dead_code)] // the corpus replay asks; the fuzz target does not
pub fn coverage(data: &[u8]) -> (usize, usize) {
    let Some((chunk, bytes)) = split_input(data) else {
        return (0, 0);
    };
    let reads = bytes.len().div_ceil(chunk.max(1));
    (reads, decode(bytes, chunk).0.len())
}
