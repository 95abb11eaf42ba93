#!/usr/bin/env bash
# Install what the test suite needs and is missing: tmux (terminal end-to-end tests),
# protoc (to build sockudo), Prometheus with promtool (the metrics endpoint's tests),
# redis-server (the bus of the sockudo cluster tests) and the sockudo server itself. Whatever is present is skipped,
# so this is cheap to run every time.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    else
        sudo "$@"
    fi
}

missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
# Debian's prometheus package brings both prometheus and promtool.
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# The cluster tests join three sockudo nodes through one Redis.
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)

if ((${#missing[@]})); then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-test-deps: missing ${missing[*]} and there is no apt-get; install them by hand" >&2
        exit 1
    fi
    echo "install-test-deps: installing ${missing[*]} with apt-get"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
    echo "install-test-deps: tmux, protoc, prometheus and redis-server present"
fi

"$here/install-sockudo.sh"
