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
    echo "    total                    $(( $(date +%s) - suite_start ))s"
}

step install bash scripts/install-test-deps.sh
step fmt cargo fmt --all -- --check
step clippy cargo clippy --all-targets --locked -- -D warnings
# Every test bounds its own waits; the outer limit only stops a runaway suite.
step test timeout --kill-after=30s 40m cargo test --all-targets --locked
summary
