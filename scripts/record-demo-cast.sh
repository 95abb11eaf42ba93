#!/usr/bin/env bash
# Records the reconnection demo as an asciinema v2 cast: `chanwatch demo` runs in a detached
# tmux session, a cut is injected from the fault menu (`x` then `c`), the ping finds it and
# the client reconnects; then the fault is restored (`x` then `e`). The pane is captured with
# its colours (`tmux capture-pane -e -p`) every half second and each capture that differs
# from the last becomes one output event that redraws the whole screen.
#
#   scripts/record-demo-cast.sh [OUT]      (default assets/demo-reconnect.cast)
#
# Needs tmux and jq. CHANWATCH names the binary (default: a debug build, built first).
# Play it with `asciinema play assets/demo-reconnect.cast`.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-assets/demo-reconnect.cast}
cols=120
rows=36
for tool in tmux jq; do
    command -v "$tool" >/dev/null || { echo "record-demo-cast.sh: needs $tool" >&2; exit 1; }
done
if [[ -z "${CHANWATCH:-}" ]]; then
    cargo build -q --bin chanwatch
    CHANWATCH="${CARGO_TARGET_DIR:-target}/debug/chanwatch"
fi

session="chanwatch-cast-$$"
home=$(mktemp -d)
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$home"' EXIT

# Short timings, as in the end-to-end test, so the cut is found within seconds; no config
# file of the person recording (an empty home).
tmux new-session -d -s "$session" -x "$cols" -y "$rows" \
    -e TERM=xterm-256color -e HOME="$home" -e XDG_CONFIG_HOME="$home" -e NO_COLOR= \
    "$CHANWATCH --activity-timeout 2s --pong-timeout 1s --unavailable-timeout 3s --retry-cap 1s --handshake-timeout 2s demo"

mkdir -p "$(dirname "$out")"
jq -cn --argjson w "$cols" --argjson h "$rows" \
    '{version: 2, width: $w, height: $h, title: "chanwatch demo: a cut, found by the ping, and the reconnection", env: {TERM: "xterm-256color"}}' \
    >"$out"

start=$(date +%s%N)
last=""
# One capture: home, clear, then the pane's lines joined with CR LF.
capture() {
    local frame now
    frame=$(tmux capture-pane -e -p -t "$session" | sed 's/$/\r/')
    [[ "$frame" == "$last" ]] && return
    last=$frame
    now=$(date +%s%N)
    jq -cn --argjson t "$(awk -v n="$now" -v s="$start" 'BEGIN { printf "%.3f", (n - s) / 1e9 }')" \
        --arg d $'\e[0m\e[H\e[2J'"${frame%$'\r'}" '[$t, "o", $d]' >>"$out"
}
# Capture for `seconds`, every half second.
film() {
    local i
    for ((i = 0; i < $1 * 2; i++)); do
        capture
        sleep 0.5
    done
}
keys() {
    tmux send-keys -t "$session" "$@"
}

film 5            # connected, events flowing
keys x; film 1    # the fault menu
keys c; film 9    # fault: cut, ping sent, pong timeout, connecting, unavailable
keys x; film 1
keys e; film 5    # fault: restore, connected again
keys q; sleep 0.5
echo "$out: $(($(wc -l <"$out") - 1)) frames"
