#!/usr/bin/env bash
# Run the test app's sockudo server by hand, for trying chanwatch against a real server:
#
#   scripts/sockudo.sh start [PORT]   # default 6001; app app1, key testkey, secret testsecret
#   scripts/sockudo.sh stop [PORT]
#
# It listens on 127.0.0.1 only. The tests do not use this script: each starts its own server.
set -euo pipefail

root="${CHANWATCH_SOCKUDO_ROOT:-$HOME/.cache/chanwatch-sockudo}"
bin="${CHANWATCH_SOCKUDO:-$root/bin/sockudo}"
action="${1:-}"
port="${2:-6001}"
run_dir="$root/run"
pid_file="$run_dir/sockudo-$port.pid"
log_file="$run_dir/sockudo-$port.log"

if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    echo "sockudo.sh: port must be a number from 1 to 65535, got '$port'" >&2
    exit 2
fi

running_pid() {
    [[ -f "$pid_file" ]] || return 1
    local pid
    pid=$(cat "$pid_file")
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

case "$action" in
start)
    if [[ ! -x "$bin" ]]; then
        echo "sockudo.sh: no sockudo at $bin; run scripts/install-sockudo.sh" >&2
        exit 1
    fi
    if pid=$(running_pid); then
        echo "sockudo.sh: already running on 127.0.0.1:$port (pid $pid)"
        exit 0
    fi
    mkdir -p "$run_dir"
    # An empty working directory, so no config/config.toml lying around changes the setup.
    work="$run_dir/work-$port"
    rm -rf "$work" && mkdir -p "$work"
    (
        cd "$work"
        exec env HOST=127.0.0.1 PORT="$port" \
            SOCKUDO_DEFAULT_APP_ID=app1 SOCKUDO_DEFAULT_APP_KEY=testkey \
            SOCKUDO_DEFAULT_APP_SECRET=testsecret SOCKUDO_DEFAULT_APP_ENABLED=true \
            SOCKUDO_DEFAULT_APP_ENABLE_CLIENT_MESSAGES=true \
            SOCKUDO_DEFAULT_APP_ENABLE_USER_AUTHENTICATION=true \
            METRICS_ENABLED=false QUEUE_DRIVER=none RATE_LIMITER_ENABLED=false \
            LOG_COLORS_ENABLED=false "$bin"
    ) >"$log_file" 2>&1 </dev/null &
    echo $! >"$pid_file"
    for _ in $(seq 1 100); do
        if grep -q "http server listening" "$log_file" 2>/dev/null \
            && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "sockudo.sh: listening on 127.0.0.1:$port (pid $(cat "$pid_file"), log $log_file)"
            echo "  ws:   ws://127.0.0.1:$port/app/testkey   http api: http://127.0.0.1:$port/apps/app1"
            exit 0
        fi
        if ! running_pid >/dev/null; then
            echo "sockudo.sh: sockudo exited; last log lines:" >&2
            tail -20 "$log_file" >&2
            rm -f "$pid_file"
            exit 1
        fi
        sleep 0.1
    done
    echo "sockudo.sh: not listening after 10s; see $log_file" >&2
    exit 1
    ;;
stop)
    if ! pid=$(running_pid); then
        echo "sockudo.sh: not running on port $port"
        rm -f "$pid_file"
        exit 0
    fi
    kill "$pid"
    # sockudo waits out a 10 s shutdown grace period on SIGTERM.
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid"
    fi
    rm -f "$pid_file"
    echo "sockudo.sh: stopped (pid $pid)"
    ;;
*)
    echo "usage: scripts/sockudo.sh start|stop [PORT]" >&2
    exit 2
    ;;
esac
