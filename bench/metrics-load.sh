#!/usr/bin/env bash
# The metrics endpoint under load: headless chanwatch (stdout to /dev/null) takes RATE
# events/s for DURATION seconds from examples/load_feeder.rs, once without and once with
# --metrics-listen (scraped every second by curl, as Prometheus would), ROUNDS times in
# turn. Reports the chanwatch process's CPU (utime+stime from /proc/PID/stat) over the
# sending period, in cores.
#
#   bench/metrics-load.sh                          # 20 000 events/s, 20 s, 3 rounds
#   RATE=5000 DURATION=5 ROUNDS=1 bench/metrics-load.sh
#
# Needs curl. Loopback only. Builds the release binary and the feeder example.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-20000}
DURATION=${DURATION:-20}
ROUNDS=${ROUNDS:-3}
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 2; }
cargo build --release --quiet --bin chanwatch --example load_feeder

work=$(mktemp -d)
feeder_pid=""
client_pid=""
cleanup() {
    [[ -n $client_pid ]] && kill "$client_pid" 2>/dev/null || true
    [[ -n $feeder_pid ]] && kill "$feeder_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ticks_per_s=$(getconf CLK_TCK)

cpu_ticks() { # pid: utime + stime, fields 14 and 15 after the command name
    local rest
    rest=$(sed 's/^.*) //' "/proc/$1/stat")
    awk '{print $12 + $13}' <<<"$rest"
}

wait_line() { # file pattern
    for _ in $(seq 600); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1" >&2
    exit 1
}

run() { # off|on -> prints cores
    local mode=$1 extra=()
    : >"$work/feeder.out"
    target/release/examples/load_feeder --rate "$RATE" --seconds "$DURATION" --idle-first 2 \
        >"$work/feeder.out" 2>/dev/null &
    feeder_pid=$!
    wait_line "$work/feeder.out" '^port '
    local port
    port=$(awk '/^port /{print $2}' "$work/feeder.out")
    [[ $mode == on ]] && extra=(--metrics-listen 127.0.0.1:0)
    XDG_CONFIG_HOME=$work HOME=$work target/release/chanwatch --headless --no-tls \
        --host 127.0.0.1 --ws-port "$port" --key demo-key -s load "${extra[@]}" \
        >/dev/null 2>"$work/client.err" &
    client_pid=$!
    local scrape_pid=""
    if [[ $mode == on ]]; then
        wait_line "$work/client.err" 'metrics at'
        local url
        url=$(grep -o 'http://[^ ]*/metrics' "$work/client.err")
        (while kill -0 "$client_pid" 2>/dev/null; do curl -s -o /dev/null "$url"; sleep 1; done) &
        scrape_pid=$!
    fi
    wait_line "$work/feeder.out" '^sending'
    local t0 c0 t1 c1
    t0=$(date +%s.%N)
    c0=$(cpu_ticks "$client_pid")
    wait_line "$work/feeder.out" '^done'
    t1=$(date +%s.%N)
    c1=$(cpu_ticks "$client_pid")
    kill "$client_pid"; wait "$client_pid" 2>/dev/null || true; client_pid=""
    [[ -n $scrape_pid ]] && { kill "$scrape_pid" 2>/dev/null || true; wait "$scrape_pid" 2>/dev/null || true; }
    kill "$feeder_pid"; wait "$feeder_pid" 2>/dev/null || true; feeder_pid=""
    awk -v c="$((c1 - c0))" -v hz="$ticks_per_s" -v a="$t0" -v b="$t1" \
        'BEGIN {printf "%.3f", c / hz / (b - a)}'
}

echo "metrics endpoint under $RATE events/s for ${DURATION}s, $ROUNDS rounds (cores used by chanwatch)"
for round in $(seq "$ROUNDS"); do
    off=$(run off)
    on=$(run on)
    echo "round $round: off $off  on $on"
done
