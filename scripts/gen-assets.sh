#!/usr/bin/env bash
# Regenerates everything under assets/: the dashboard screenshots (examples/screenshot.rs),
# the shell completions and the man page (from the flag definitions), and the recording of
# the reconnection demo (scripts/record-demo-cast.sh; skipped with --no-cast).
# tests/integration/assets.rs fails when a committed screenshot, completion script or man page differs
# from what this writes.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo run -q --example screenshot -- assets
cargo build -q --bin chanwatch
bin="${CARGO_TARGET_DIR:-target}/debug/chanwatch"
mkdir -p assets/completions assets/man
"$bin" completions bash >assets/completions/chanwatch.bash
"$bin" completions zsh >assets/completions/_chanwatch
"$bin" completions fish >assets/completions/chanwatch.fish
"$bin" completions powershell >assets/completions/_chanwatch.ps1
"$bin" man >assets/man/chanwatch.1
echo "assets/completions/ assets/man/chanwatch.1"
if [[ "${1:-}" != "--no-cast" ]]; then
    CHANWATCH="$bin" scripts/record-demo-cast.sh assets/demo-reconnect.cast
fi
