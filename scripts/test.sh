#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: install what the tests need (skipping what is
# there), then formatting, lints, and every test target. Prints how long each step took.
#
#   bash scripts/test.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

declare -a timings=()
suite_start=$(date +%s)

# step NAME COMMAND...: run one step, print its duration, stop the suite if it fails.
step() {
    local name=$1
    shift
    echo
    echo "==> $name: $*"
    local start
    start=$(date +%s)
    local status=0
    "$@" || status=$?
    local took=$(( $(date +%s) - start ))
    timings+=("$(printf '%-24s %5ss  %s' "$name" "$took" "$([[ $status -eq 0 ]] && echo ok || echo "FAILED ($status)")")")
    echo "<== $name: ${took}s"
    if [[ $status -ne 0 ]]; then
        summary
        exit "$status"
    fi
}

summary() {
    echo
    echo "==> timings"
    printf '    %s\n' "${timings[@]}"
    printf '    %-24s %5ss\n' total "$(( $(date +%s) - suite_start ))"
}

# The toolchain must be the one the workspace states (rust-version), so that the stated
# minimum is the one these steps check.
toolchain() {
    local want have
    want=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -1)
    have=$(rustc --version | awk '{print $2}')
    echo "rust-version $want, rustc $have"
    [[ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" == "$want" ]] || {
        echo "rustc $have is older than the rust-version $want stated in Cargo.toml" >&2
        return 1
    }
}

step toolchain toolchain
step install bash scripts/install-test-deps.sh
step fmt cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets --features real-servers --locked -- -D warnings
step doc env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# Every test bounds its own waits; the outer limit only stops a runaway suite.
# --no-fail-fast: run every test binary, so one red run shows every failure.
# real-servers: the tests against sockudo and under tmux, which the install step provided.
step test timeout --kill-after=30s 40m \
    cargo test --workspace --all-targets --features real-servers --locked --no-fail-fast
summary
