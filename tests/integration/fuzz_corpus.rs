//! Every input in the fuzzers' corpora (their seeds and what they found and kept) replayed
//! through the same checks the fuzz targets run, so a fixed crash stays fixed without
//! cargo-fuzz, and the checks themselves keep compiling against the code.

#[path = "../../fuzz/checks/frame_decode.rs"]
mod frame_decode;
#[path = "../../fuzz/checks/machine_input.rs"]
mod machine_input;
#[path = "../../fuzz/checks/ws_codec.rs"]
mod ws_codec;

use std::path::Path;

/// The files of `fuzz/corpus/<target>` and, where crashes were kept, `fuzz/artifacts/<target>`.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("a corpus file reads");
                out.push((path.display().to_string(), bytes));
            }
        }
    }
    out.sort();
    out
}

fn replay(target: &str, check: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "fuzz/corpus/{target} has no inputs");
    for (name, bytes) in inputs {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{name} fails the {target} check");
    }
}

#[test]
fn frame_decode_corpus() {
    replay("frame_decode", frame_decode::check);
}

/// Beyond not failing the check, every ws_codec input must reach the decoder's paths: read
/// in more than one piece (its first byte is the read size) and decoding to a message.
#[test]
fn ws_codec_corpus() {
    replay("ws_codec", ws_codec::check);
    for (name, bytes) in inputs("ws_codec") {
        let (reads, messages) = ws_codec::coverage(&bytes);
        assert!(
            reads >= 2,
            "{name}: read in {reads} piece(s); its first byte is the read size"
        );
        assert!(messages >= 1, "{name}: decodes to no message");
    }
}

#[test]
fn machine_input_corpus() {
    replay("machine_input", machine_input::check);
}
