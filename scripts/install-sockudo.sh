#!/usr/bin/env bash
# Install the sockudo server the integration tests run against, once.
#
# Idempotent: when $CHANWATCH_SOCKUDO_ROOT/bin/sockudo exists (default root
# $HOME/.cache/chanwatch-sockudo) and was built with the features below, nothing happens.
# Otherwise protoc is installed from apt if missing (sockudo's build needs it) and sockudo is
# built with cargo into that root, replacing a build without those features; the build takes
# 10-20 minutes on 2 cores.
#
# The `redis` feature lets the cluster tests join several nodes through Redis (adapter and
# cache); one build serves the single-node tests too.
set -euo pipefail

SOCKUDO_VERSION=5.2.0
root="${CHANWATCH_SOCKUDO_ROOT:-$HOME/.cache/chanwatch-sockudo}"
SOCKUDO_FEATURES=redis
bin="$root/bin/sockudo"
# Written after a successful build: which version and features the binary has.
stamp="$root/build-features"
want="$SOCKUDO_VERSION features=$SOCKUDO_FEATURES"

if [[ -x "$bin" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    echo "install-sockudo: $bin already installed ($want), nothing to do"
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

echo "install-sockudo: building sockudo $want into $root (takes 10-20 minutes)"
start=$(date +%s)
cargo install --force --root "$root" sockudo --version "$SOCKUDO_VERSION" --locked \
    --features "$SOCKUDO_FEATURES"
if [[ ! -x "$bin" ]]; then
    echo "install-sockudo: cargo install finished but $bin is not there" >&2
    exit 1
fi
echo "$want" >"$stamp"
echo "install-sockudo: installed $bin in $(( $(date +%s) - start ))s"
