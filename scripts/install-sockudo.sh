#!/usr/bin/env bash
# Install the sockudo server the integration tests run against, once.
#
# Idempotent: when $CHANWATCH_SOCKUDO_ROOT/bin/sockudo exists (default root
# $HOME/.cache/chanwatch-sockudo) nothing happens. Otherwise protoc is installed from apt if
# missing (sockudo's build needs it) and sockudo is built with cargo into that root; the build
# takes 10-20 minutes on 2 cores.
set -euo pipefail

SOCKUDO_VERSION=5.2.0
root="${CHANWATCH_SOCKUDO_ROOT:-$HOME/.cache/chanwatch-sockudo}"
bin="$root/bin/sockudo"

if [[ -x "$bin" ]]; then
    echo "install-sockudo: $bin already installed ($("$bin" --version 2>/dev/null || echo 'version unknown')), nothing to do"
    exit 0
fi

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    else
        sudo "$@"
    fi
}

if command -v protoc >/dev/null 2>&1; then
    echo "install-sockudo: protoc present ($(protoc --version))"
else
    echo "install-sockudo: protoc missing, installing protobuf-compiler with apt-get"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y protobuf-compiler
fi

echo "install-sockudo: building sockudo $SOCKUDO_VERSION into $root (takes 10-20 minutes)"
start=$(date +%s)
cargo install --root "$root" sockudo --version "$SOCKUDO_VERSION" --locked
if [[ ! -x "$bin" ]]; then
    echo "install-sockudo: cargo install finished but $bin is not there" >&2
    exit 1
fi
echo "install-sockudo: installed $bin in $(( $(date +%s) - start ))s"
