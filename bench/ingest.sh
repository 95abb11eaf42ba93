#!/usr/bin/env bash
# Ingest benchmark: how fast does each client turn a stream of Pusher events into output?
#
#   floor      a bare tokio-tungstenite reader that only counts frames (examples/ingest_floor.rs)
#   relay      prints each frame's text as a line into the pipe and does nothing else
#              (examples/ingest_relay.rs): the ceiling for any client that prints lines
#   pusherjs   pusher-js 8.6.0 on Node printing one NDJSON line per event (bench/pusherjs/)
#   chanwatch  target/release/chanwatch --headless, stdout to a pipe
#
# For each (events, payload) pair a fresh examples/ingest_server.rs streams the events on
# 127.0.0.1; relay, pusherjs and chanwatch write into a pipe read by
# examples/ingest_count.rs, which stops at the `done` event. Time is wall clock from
# starting the client to `done`; memory is the client's peak RSS (VmHWM) read from /proc
# just before it is stopped.
#
# Usage: bench/ingest.sh            (the default matrix: about 3 minutes on 2 cores)
# Environment:
#   EVENTS="100000 1000000"   event counts
#   PAYLOADS="100 5000"       bytes of padding per event
#   CLIENTS="floor relay pusherjs chanwatch"
#   REPEAT=1                  runs per cell; the fastest is reported
#   RESULTS=bench/results.md  where the markdown table goes ("-" for stdout only)
#   LIMIT=300                 seconds before a single run is abandoned
#   NO_BUILD=1                skip cargo build and npm install
#   ALT_BIN=path ALT_LABEL=x  with "alt" in CLIENTS: another chanwatch build, same flags
#                             (to compare an experiment side by side)
set -euo pipefail

cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-"100000 1000000"}
PAYLOADS=${PAYLOADS:-"100 5000"}
CLIENTS=${CLIENTS:-"floor relay pusherjs chanwatch"}
REPEAT=${REPEAT:-1}
RESULTS=${RESULTS:-bench/results.md}
LIMIT=${LIMIT:-300}
BIN=target/release
EX=$BIN/examples
WORK=$(mktemp -d)
SERVER_PID=
CLIENT_PID=

cleanup() {
    [[ -n $CLIENT_PID ]] && kill "$CLIENT_PID" 2>/dev/null || true
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z ${NO_BUILD:-} ]]; then
    cargo build --release --bin chanwatch \
        --example ingest_server --example ingest_floor --example ingest_relay --example ingest_count
    if [[ $CLIENTS == *pusherjs* ]]; then
        (cd bench/pusherjs && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi

start_server() { # events payload
    "$EX/ingest_server" --port 0 --events "$1" --payload "$2" >"$WORK/server.out" 2>"$WORK/server.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        PORT=$(awk '/^listening/ {print $2}' "$WORK/server.out")
        [[ -n $PORT ]] && return 0
        sleep 0.05
    done
    echo "ingest_server did not start: $(cat "$WORK/server.err")" >&2
    exit 1
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

vmhwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
TICKS=$(getconf CLK_TCK)
# User + system CPU seconds of a running process (fields 14 and 15 of /proc/PID/stat,
# counted after the parenthesised command name).
cpu_seconds() {
    local stat rest
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    rest=${stat##*) }
    read -r -a f <<<"$rest"
    echo "(${f[11]} + ${f[12]}) / $TICKS" | bc -l
}

# Run a client whose stdout is NDJSON; print "seconds events rss_kb cpu_seconds".
run_piped() {
    local fifo=$WORK/pipe
    rm -f "$fifo"
    mkfifo "$fifo"
    local t0=$EPOCHREALTIME
    "$@" <"/dev/null" >"$fifo" 2>"$WORK/client.err" &
    CLIENT_PID=$!
    local counted rc=0
    counted=$(timeout "$LIMIT" "$EX/ingest_count" <"$fifo") || rc=$?
    if ((rc != 0)); then
        echo "client failed or timed out: $* ($(tail -c 300 "$WORK/client.err"))" >&2
        # The last thing the client said, kept out of the table's columns.
        local said
        said=$(tail -n 1 "$WORK/client.err" | cut -c1-60 | tr '|' '/')
        if grep -q "heap out of memory" "$WORK/client.err"; then
            echo "out of memory" >"$WORK/fail_reason"
        elif ((rc == 124)); then
            echo "timed out after $LIMIT s" >"$WORK/fail_reason"
        else
            # The counter saw the pipe end early: the client has gone (or is going), so
            # wait tells how. One that closed stdout and lives on is stopped and said so.
            local status=0
            for _ in $(seq 20); do
                kill -0 "$CLIENT_PID" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$CLIENT_PID" 2>/dev/null; then
                kill "$CLIENT_PID" 2>/dev/null || true
                status=-1
            fi
            local waited=0
            wait "$CLIENT_PID" 2>/dev/null || waited=$?
            ((status < 0)) || status=$waited
            if ((status < 0)); then
                echo "closed its output and kept running" >"$WORK/fail_reason"
            elif ((status > 128)); then
                # SIGKILL with nothing on stderr is usually the kernel's OOM killer.
                echo "killed by signal $((status - 128))${said:+: $said}" >"$WORK/fail_reason"
            else
                echo "exited with status $status${said:+: $said}" >"$WORK/fail_reason"
            fi
        fi
        kill "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
        CLIENT_PID=
        echo "- - - -"
        return
    fi
    local t1=$EPOCHREALTIME
    local rss cpu
    rss=$(vmhwm_kb "$CLIENT_PID")
    cpu=$(cpu_seconds "$CLIENT_PID")
    kill "$CLIENT_PID" 2>/dev/null || true
    wait "$CLIENT_PID" 2>/dev/null || true
    CLIENT_PID=
    local events=${counted#events=}
    events=${events%% *}
    echo "$(echo "$t1 - $t0" | bc -l) $events $rss $cpu"
}

run_floor() {
    local t0=$EPOCHREALTIME out
    if ! out=$(timeout "$LIMIT" "$EX/ingest_floor" --port "$PORT"); then
        echo "floor failed" >"$WORK/fail_reason"
        echo "- - - -"
        return
    fi
    local t1=$EPOCHREALTIME
    local frames=${out#frames=}
    frames=${frames%% *}
    local rss=${out##*vmhwm_kb=}
    local ticks=${out##*cpu_ticks=}
    ticks=${ticks%% *}
    echo "$(echo "$t1 - $t0" | bc -l) $frames $rss $(echo "$ticks / $TICKS" | bc -l)"
}

run_client() { # name
    case $1 in
    floor) run_floor ;;
    relay) run_piped "$EX/ingest_relay" --port "$PORT" ;;
    pusherjs) run_piped node bench/pusherjs/ingest.js "$PORT" ch ;;
    chanwatch) run_piped "$BIN/chanwatch" --headless --no-tls --host 127.0.0.1 \
        --ws-port "$PORT" --key k -s ch ;;
    alt) run_piped "$ALT_BIN" --headless --no-tls --host 127.0.0.1 \
        --ws-port "$PORT" --key k -s ch ;;
    *) echo "unknown client $1" >&2; exit 2 ;;
    esac
}

machine() {
    echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- CPU: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -r)"
    echo "- $(rustc --version); node $(node --version 2>/dev/null || echo absent); pusher-js $(node -p "require('./bench/pusherjs/node_modules/pusher-js/package.json').version" 2>/dev/null || echo absent)"
    echo "- chanwatch commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' (+ local changes)')"
}
MACHINE=$(machine)

table=$WORK/table.md
{
    echo "| events | payload B | client | seconds | events/s | CPU s | peak RSS MiB | events seen |"
    echo "|---:|---:|---|---:|---:|---:|---:|---:|"
} >"$table"

for payload in $PAYLOADS; do
    for events in $EVENTS; do
        start_server "$events" "$payload"
        for client in $CLIENTS; do
            best=
            rm -f "$WORK/fail_reason"
            for _ in $(seq "$REPEAT"); do
                read -r secs seen rss cpu < <(run_client "$client")
                if [[ $secs != - ]] && { [[ -z $best ]] || (($(echo "$secs < ${best%% *}" | bc -l))); }; then
                    best="$secs $seen $rss $cpu"
                fi
            done
            if [[ -z $best ]]; then
                row="| $events | $payload | $client | failed: $(cat "$WORK/fail_reason" 2>/dev/null || echo see log) | | | | |"
            else
                read -r secs seen rss cpu <<<"$best"
                rate=$(echo "$events / $secs" | bc -l)
                row=$(printf '| %d | %d | %s | %.3f | %.0f | %.2f | %.1f | %s |' \
                    "$events" "$payload" "$client" "$secs" "$rate" "$cpu" "$(echo "$rss / 1024" | bc -l)" "$seen")
            fi
            [[ $client == alt ]] && row=${row/| alt |/| ${ALT_LABEL:-alt} |}
            echo "$row" | tee -a "$table"
        done
        stop_server
    done
done

if [[ $RESULTS != - ]]; then
    # Hand-written notes below this marker survive a new run.
    marker='<!-- notes below are kept by ingest.sh -->'
    notes=
    [[ -f $RESULTS ]] && notes=$(sed -n "/^$marker\$/,\$p" "$RESULTS")
    {
        echo "# Ingest benchmark results"
        echo
        echo "Produced by \`bench/ingest.sh\` (EVENTS=\"$EVENTS\" PAYLOADS=\"$PAYLOADS\" REPEAT=$REPEAT)."
        echo
        echo "$MACHINE"
        echo
        cat "$table"
        if [[ -n $notes ]]; then
            echo
            echo "$notes"
        fi
    } >"$RESULTS"
    echo "written to $RESULTS"
fi
