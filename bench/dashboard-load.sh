#!/usr/bin/env bash
# Dashboard under load: RATE events/s for DURATION seconds into the real TUI under tmux.
# Measures the chanwatch process's CPU (utime+stime from /proc/PID/stat over the run), RSS
# (sampled every second), frame draw times (CHANWATCH_FRAME_STATS) and key-press-to-screen
# latency (tmux send-keys, then capture-pane polled until the help overlay appears or goes).
# Targets: CPU < 1 core, p99 frame < 16 ms, key-to-screen < 50 ms, RSS bounded by the log ring.
#
#   bench/dashboard-load.sh                 # 20 000 events/s for 30 s, results in bench/results-dashboard.md
#   RATE=5000 DURATION=10 OUT=/tmp/r.md bench/dashboard-load.sh
#   MEASURES=off bench/dashboard-load.sh     # the same without the live measures model
#                                            # (CHANWATCH_NO_MEASURES), to see what it costs
#   NODES=3 bench/dashboard-load.sh          # a cluster: NODES feeders at RATE/NODES each,
#                                            # one dashboard with a --node per feeder
#                                            # (bench/cluster-load.sh compares it with one)
#
# Needs tmux and python3. Loopback only. Builds the release binary and the feeder example.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-20000}
DURATION=${DURATION:-30}
OUT=${OUT:-bench/results-dashboard.md}
LOG_RING=${LOG_RING:-10000}
MEASURES=${MEASURES:-on}
NODES=${NODES:-1}
[[ $NODES =~ ^[1-9]$ ]] || { echo "NODES is 1 to 9" >&2; exit 2; }
case "$MEASURES" in
  on) no_measures="" ;;
  off) no_measures="CHANWATCH_NO_MEASURES=1" ;;
  *) echo "MEASURES is on or off" >&2; exit 2 ;;
esac
command -v tmux >/dev/null || { echo "tmux is needed (apt-get install tmux)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 2; }

cargo build --release --quiet --bin chanwatch --example load_feeder

work=$(mktemp -d)
session="chanwatch-load-$$"
feeder_pids=()
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  for p in "${feeder_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# One feeder per node, each at RATE/NODES (the remainder to the first), so that the
# dashboard takes RATE events/s in all. With NODES=1 it is one connection (no --node).
where=""
names=(a b c d e f g h i)
for i in $(seq 0 $((NODES - 1))); do
  rate=$((RATE / NODES + (i == 0 ? RATE % NODES : 0)))
  target/release/examples/load_feeder --rate "$rate" --seconds "$DURATION" --idle-first 4 >"$work/feeder$i.out" &
  feeder_pids+=($!)
  for _ in $(seq 100); do grep -q '^port ' "$work/feeder$i.out" 2>/dev/null && break; sleep 0.1; done
  port=$(awk '/^port /{print $2}' "$work/feeder$i.out")
  [ -n "$port" ] || { echo "feeder $i did not start" >&2; exit 1; }
  if [ "$NODES" = 1 ]; then
    where="--no-tls --host 127.0.0.1 --ws-port $port"
  else
    where="$where --node ${names[i]}=ws://127.0.0.1:$port"
  fi
done

# exec: the pane's process is chanwatch itself, so its pid is the pane's pid.
tmux new-session -d -s "$session" -x 200 -y 50 -e TERM=xterm-256color \
  "exec env $no_measures CHANWATCH_FRAME_STATS=$work/frames.txt XDG_CONFIG_HOME=$work HOME=$work \
   $PWD/target/release/chanwatch $where --key demo-key \
   --log-ring $LOG_RING -s load"
tmux set-option -t "$session" remain-on-exit on >/dev/null
pid=$(tmux display-message -p -t "$session" '#{pane_pid}')

python3 - "$session" "$pid" "$work" "$RATE" "$DURATION" "$OUT" "$LOG_RING" "$MEASURES" "$NODES" <<'PY'
import os, random, subprocess, sys, time, datetime, platform

session, pid, work, rate, duration, out, log_ring, measures, nodes = sys.argv[1:]
pid, rate, duration, nodes = int(pid), int(rate), int(duration), int(nodes)
tck = os.sysconf("SC_CLK_TCK")
MARK = "words match anywhere"  # a line of the help overlay

def screen():
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                          capture_output=True, text=True).stdout

def cpu_ticks():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)

def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def feeder_line(prefix, i):
    try:
        with open(f"{work}/feeder{i}.out") as f:
            for line in f:
                if line.startswith(prefix):
                    return line.strip()
    except FileNotFoundError:
        pass
    return None

def all_feeders(prefix):
    """Every feeder's line that starts with prefix, or None while one has not printed it."""
    lines = [feeder_line(prefix, i) for i in range(nodes)]
    return None if None in lines else lines

def wait(pred, limit):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False

if not wait(lambda: "connected" in screen(), 20):
    sys.exit("the dashboard never showed 'connected':\n" + screen())

def key_latency(key, want_visible):
    """Send a key, poll the screen until the help overlay is (in)visible; seconds or None.
    A random pause first, so the key does not always land right after a frame (the dashboard
    draws at most every 33 ms) and the probes sample every phase of the frame pacing."""
    time.sleep(random.uniform(0.05, 0.15))
    t0 = time.monotonic()
    subprocess.run(["tmux", "send-keys", "-t", session, key])
    while time.monotonic() - t0 < 2.0:
        if (MARK in screen()) == want_visible:
            return time.monotonic() - t0
    return None

# The feeder idles a few seconds after the subscription: key latency without load first.
idle = []
while all_feeders("sending") is None:
    for want in (True, False):
        d = key_latency("?", want)
        if d is not None:
            idle.append(d * 1000)
    time.sleep(0.2)
if MARK in screen():
    key_latency("?", False)
# Then the load: measure from its start until the feeder is done.
t_start, c_start, rss_start = time.monotonic(), cpu_ticks(), rss_kib()
rss = [rss_start]
latencies, missed = [], 0
next_probe = time.monotonic() + 0.5
while all_feeders("done") is None and time.monotonic() - t_start < duration + 30:
    now = time.monotonic()
    if now >= next_probe:
        for want in (True, False):
            d = key_latency("?", want)
            if d is None:
                missed += 1
            else:
                latencies.append(d)
        rss.append(rss_kib())
        next_probe = now + 0.5
    time.sleep(0.02)
t_end, c_end = time.monotonic(), cpu_ticks()
rss.append(rss_kib())
done = "; ".join(all_feeders("done") or ["the feeders did not finish"])
screen_at_end = screen()

subprocess.run(["tmux", "send-keys", "-t", session, "q"])
wait(lambda: os.path.exists(f"{work}/frames.txt"), 10)
frames = []
if os.path.exists(f"{work}/frames.txt"):
    frames = [int(x) / 1000.0 for x in open(f"{work}/frames.txt").read().split()]

def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))]

wall = t_end - t_start
cpu = (c_end - c_start) / tck / wall
lat_ms = [l * 1000 for l in latencies]
# Frames during the load only would need timestamps; all frames of the run are reported,
# and the run is dominated by the load phase.
rows = [
    ("CPU (utime+stime / wall)", f"{cpu:.3f} cores", "< 1 core", cpu < 1.0),
    ("frame draw p50 / p99 / max", f"{pct(frames,50):.2f} / {pct(frames,99):.2f} / {max(frames or [0]):.2f} ms ({len(frames)} frames)", "p99 < 16 ms", pct(frames, 99) < 16),
    ("key-to-screen p50 / p90 / p99 / max", f"{pct(lat_ms,50):.1f} / {pct(lat_ms,90):.1f} / {pct(lat_ms,99):.1f} / {max(lat_ms or [0]):.1f} ms ({len(lat_ms)} probes, {missed} missed)", "< 50 ms", bool(lat_ms) and pct(lat_ms, 99) < 50 and missed == 0),
    ("key-to-screen without load p50 / max", f"{pct(idle,50):.1f} / {max(idle or [0]):.1f} ms ({len(idle)} probes)", "(baseline: tmux round trips)", True),
    ("RSS start / max / end", f"{rss_start/1024:.1f} / {max(rss)/1024:.1f} / {rss[-1]/1024:.1f} MiB", f"bounded (log ring {log_ring})", max(rss) < rss_start + 200 * 1024),
]
cpu_model = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip(); break
except OSError:
    pass
md = [
    "# Dashboard under load",
    "",
    f"`bench/dashboard-load.sh` run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on "
    f"{os.cpu_count()} cores ({cpu_model or platform.machine()}), release build, tmux 200x50, "
    f"live measures {measures}" + (f", {nodes} nodes (a feeder each at {rate // nodes}/s)." if nodes > 1 else "."),
    f"Feeder: {done} (target {rate}/s for {duration} s, one public channel, ~120-byte events); "
    f"measured over {wall:.1f} s.",
    "",
    "| measure | result | target | met |",
    "|---|---|---|---|",
]
for name, value, target, ok in rows:
    md.append(f"| {name} | {value} | {target} | {'yes' if ok else 'NO'} |")
md += [
    "",
    "How: CPU from /proc/PID/stat of the chanwatch process; RSS sampled every probe; frame",
    "times are `terminal.draw` durations (render + diff + write) written by the dashboard when",
    "`CHANWATCH_FRAME_STATS` is set; key-to-screen is `tmux send-keys ?` until `capture-pane`",
    "shows the help overlay (and again until it is gone),",
    "after a random 50-150 ms pause, so it includes tmux's own round trips.",
    "",
    "Screen at the end of the load:",
    "",
    "```",
    *[l.rstrip() for l in screen_at_end.splitlines()[:12]],
    "```",
    "",
]
open(out, "w").write("\n".join(md))
print("\n".join(md))
PY
