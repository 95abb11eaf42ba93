#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 60) on the stable toolchain.
# cargo-fuzz needs nightly-only flags; RUSTC_BOOTSTRAP=1 lets stable accept them.
#   cargo install cargo-fuzz      (once)
#   fuzz/run.sh 120
# Seeds live in fuzz/corpus/<target>/seed-*; what the fuzzer finds goes to
# fuzz/corpus-work/<target>/ (not committed); crashes to fuzz/artifacts/<target>/.
# Exits non-zero if any target found a crash.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-60}
if ! [[ $SECONDS_EACH =~ ^[0-9]+$ ]] || ((SECONDS_EACH == 0)); then
    echo "usage: fuzz/run.sh SECONDS (a positive whole number)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
    exit 2
fi
export RUSTC_BOOTSTRAP=1
status=0
for target in $(cargo fuzz list); do
    mkdir -p "corpus-work/$target" "corpus/$target"
    echo "== $target for ${SECONDS_EACH}s"
    # New inputs go to the first directory; the seeds are only read.
    if ! cargo fuzz run "$target" "corpus-work/$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1; then
        echo "!! $target found a problem; see fuzz/artifacts/$target/" >&2
        status=1
    fi
done
exit $status
