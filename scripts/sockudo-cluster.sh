#!/usr/bin/env bash
# Run a local sockudo cluster by hand, for trying `chanwatch --node ...`: one Redis
# (Debian's redis-server, no persistence) and N sockudo nodes joined through it (adapter
# and cache on Redis), app app1 / testkey / testsecret, all on 127.0.0.1:
#
#   scripts/sockudo-cluster.sh start [N] [FIRST_PORT]   # default 3 nodes on 6001, 6002, 6003
#   scripts/sockudo-cluster.sh kill NODE_PORT           # kill -9 one node
#   scripts/sockudo-cluster.sh stop
#
# Redis listens on FIRST_PORT + 1000 (7001 by default). sockudo must be built with its
# `redis` feature (scripts/install-sockudo.sh does). The tests do not use this script: each
# starts its own cluster (tests/integration/support/cluster.rs).
set -euo pipefail

root="${CHANWATCH_SOCKUDO_ROOT:-$HOME/.cache/chanwatch-sockudo}"
bin="${CHANWATCH_SOCKUDO:-$root/bin/sockudo}"
run_dir="$root/cluster"
action="${1:-}"

number() {
    [[ "$1" =~ ^[0-9]+$ ]] || { echo "sockudo-cluster.sh: $2 must be a number, got '$1'" >&2; exit 2; }
}

stop_all() {
    for pid_file in "$run_dir"/*.pid; do
        [[ -f "$pid_file" ]] || continue
        kill -9 "$(cat "$pid_file")" 2>/dev/null || true
        rm -f "$pid_file"
    done
}

wait_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "sockudo-cluster.sh: nothing listens on 127.0.0.1:$1 after 10 s; see $run_dir" >&2
    return 1
}

case "$action" in
start)
    nodes="${2:-3}"
    first="${3:-6001}"
    number "$nodes" N
    number "$first" FIRST_PORT
    [[ -x "$bin" ]] || { echo "sockudo-cluster.sh: no sockudo at $bin; run scripts/install-sockudo.sh" >&2; exit 1; }
    command -v redis-server >/dev/null || { echo "sockudo-cluster.sh: no redis-server; run scripts/install-test-deps.sh" >&2; exit 1; }
    stop_all
    mkdir -p "$run_dir"
    redis_port=$((first + 1000))
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        >"$run_dir/redis.log" 2>&1 </dev/null &
    echo $! >"$run_dir/redis.pid"
    wait_port "$redis_port"
    flags=()
    names=(a b c d e f g h i)
    for ((i = 0; i < nodes; i++)); do
        port=$((first + i))
        work="$run_dir/work-$port"
        rm -rf "$work" && mkdir -p "$work"
        (
            cd "$work"
            exec env HOST=127.0.0.1 PORT="$port" \
                SOCKUDO_DEFAULT_APP_ID=app1 SOCKUDO_DEFAULT_APP_KEY=testkey \
                SOCKUDO_DEFAULT_APP_SECRET=testsecret SOCKUDO_DEFAULT_APP_ENABLED=true \
                SOCKUDO_DEFAULT_APP_ENABLE_CLIENT_MESSAGES=true \
                ADAPTER_DRIVER=redis CACHE_DRIVER=redis \
                REDIS_URL="redis://127.0.0.1:$redis_port/0" \
                METRICS_ENABLED=false QUEUE_DRIVER=none RATE_LIMITER_ENABLED=false \
                LOG_COLORS_ENABLED=false "$bin"
        ) >"$run_dir/node-$port.log" 2>&1 </dev/null &
        echo $! >"$run_dir/node-$port.pid"
        flags+=("--node ${names[$i]}=ws://127.0.0.1:$port")
    done
    for ((i = 0; i < nodes; i++)); do wait_port $((first + i)); done
    echo "sockudo-cluster.sh: $nodes nodes on 127.0.0.1:$first.. joined by Redis on :$redis_port (logs in $run_dir)"
    echo "  PUSHER_APP_SECRET=testsecret chanwatch --key testkey --app-id app1 --no-tls --user-id watcher ${flags[*]} -s presence-room"
    ;;
kill)
    port="${2:-}"
    number "$port" NODE_PORT
    pid_file="$run_dir/node-$port.pid"
    [[ -f "$pid_file" ]] || { echo "sockudo-cluster.sh: no node on port $port" >&2; exit 1; }
    kill -9 "$(cat "$pid_file")" 2>/dev/null || true
    rm -f "$pid_file"
    echo "sockudo-cluster.sh: killed the node on port $port (kill -9)"
    ;;
stop)
    stop_all
    echo "sockudo-cluster.sh: stopped"
    ;;
*)
    echo "usage: scripts/sockudo-cluster.sh start [N] [FIRST_PORT] | kill NODE_PORT | stop" >&2
    exit 2
    ;;
esac
