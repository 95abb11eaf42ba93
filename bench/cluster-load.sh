#!/usr/bin/env bash
# What one more node costs: chanwatch watching NODES nodes at once (one --node per
# examples/load_feeder.rs, each at RATE/NODES events/s, RATE in all) against one connection
# to one feeder at RATE/NODES, in the dashboard (under tmux, 200x50) and headless (stdout
# into `wc -l`). Runs are interleaved (one, cluster, cluster, one, ...) REPS times per mode.
#
# Per run: the chanwatch process's CPU (utime+stime from /proc/PID/stat) from the moment
# every feeder is sending until every feeder is done, divided by the events sent; its RSS
# sampled twice a second (steady: the median of the second half of the load) and its peak
# (VmHWM). Per rep, the ratios: CPU per event cluster / one, memory per node
# (cluster RSS / NODES) / one, and the marginal cost of a node
# ((cluster RSS - one RSS) / (NODES - 1)) / one. Target: at most 1.2 for each.
#
#   bench/cluster-load.sh                              # results in bench/results-cluster.md
#   REPS=1 DURATION=5 OUT=- bench/cluster-load.sh      # a quick look, table on stdout only
#   MODES=headless VARIANTS="one node1 cluster full" bench/cluster-load.sh
#
# Environment: RATE (20000, in all), NODES (3), DURATION (20 s of load a run), REPS (3),
# MODES ("dashboard headless"), VARIANTS ("one cluster"; also "node1": one --node, i.e. a
# cluster of one, and "full": one connection at the whole RATE), LOG_RING (10000),
# OUT (bench/results-cluster.md, "-" for stdout only), NO_BUILD=1.
# Needs tmux and python3. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-20000}
NODES=${NODES:-3}
DURATION=${DURATION:-20}
REPS=${REPS:-3}
MODES=${MODES:-"dashboard headless"}
VARIANTS=${VARIANTS:-"one cluster"}
LOG_RING=${LOG_RING:-10000}
OUT=${OUT:-bench/results-cluster.md}
[[ $NODES =~ ^[2-9]$ ]] || { echo "NODES is 2 to 9" >&2; exit 2; }
command -v tmux >/dev/null || { echo "tmux is needed (apt-get install tmux)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 2; }

if [[ -z ${NO_BUILD:-} ]]; then
  cargo build --release --quiet --bin chanwatch --example load_feeder
fi

commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src crates || echo ' (+ local changes)')"
exec python3 - "$RATE" "$NODES" "$DURATION" "$REPS" "$MODES" "$VARIANTS" "$LOG_RING" "$OUT" \
  "$commit" "$(rustc --version)" <<'PY'
import datetime, os, shutil, signal, statistics, subprocess, sys, tempfile, time

rate, nodes, duration, reps = (int(x) for x in sys.argv[1:5])
modes, variants = sys.argv[5].split(), sys.argv[6].split()
log_ring, out, commit, rustc = sys.argv[7:11]
for m in modes:
    if m not in ("dashboard", "headless"):
        sys.exit(f"unknown mode {m}")
for v in variants:
    if v not in ("one", "node1", "cluster", "full"):
        sys.exit(f"unknown variant {v}")
if "one" not in variants or "cluster" not in variants:
    sys.exit("VARIANTS needs at least one and cluster")
BIN = os.path.abspath("target/release/chanwatch")
FEEDER = os.path.abspath("target/release/examples/load_feeder")
TCK = os.sysconf("SC_CLK_TCK")
NAMES = "abcdefghi"
IDLE_FIRST = 3


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def switches(pid):
    """Context switches (voluntary and not) of every thread of the process: how often it
    went to sleep and was woken, or was put off the CPU."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def thread_ticks(pid):
    """CPU ticks per thread name (summed over threads of one name)."""
    by = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        by[name] = by.get(name, 0) + int(fields[11]) + int(fields[12])
    return by


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def wait(pred, limit, step=0.02):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


class Feeders:
    def __init__(self, work, count, each_rate):
        self.files = [f"{work}/feeder{i}.out" for i in range(count)]
        self.procs = []
        for path in self.files:
            self.procs.append(subprocess.Popen(
                [FEEDER, "--rate", str(each_rate), "--seconds", str(duration),
                 "--idle-first", str(IDLE_FIRST)],
                stdout=open(path, "w"), stderr=subprocess.DEVNULL))
        self.ports = []
        for path in self.files:
            if not wait(lambda: self.line(path, "port ") is not None, 10):
                raise RuntimeError("a feeder did not start")
            self.ports.append(int(self.line(path, "port ").split()[1]))

    @staticmethod
    def line(path, prefix):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(prefix):
                        return line.strip()
        except FileNotFoundError:
            pass
        return None

    def all(self, prefix):
        lines = [self.line(p, prefix) for p in self.files]
        return None if None in lines else lines

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()


def run(mode, variant):
    """One run; a dict of what was measured."""
    count = nodes if variant == "cluster" else 1
    each = rate if variant == "full" else rate // nodes
    work = tempfile.mkdtemp(prefix="chanwatch-cluster-")
    feeders = Feeders(work, count, each)
    if variant in ("one", "full"):
        where = ["--no-tls", "--host", "127.0.0.1", "--ws-port", str(feeders.ports[0])]
    else:
        where = [a for i, port in enumerate(feeders.ports)
                 for a in ("--node", f"{NAMES[i]}=ws://127.0.0.1:{port}")]
    argv = [BIN, *where, "--key", "demo-key", "-s", "load", "--log-ring", log_ring]
    env = dict(os.environ, HOME=work, XDG_CONFIG_HOME=work,
               CHANWATCH_FRAME_STATS=f"{work}/frames.txt")
    session = f"chanwatch-cluster-{os.getpid()}"
    proc = counter = None
    load = loadavg()
    try:
        if mode == "dashboard":
            # exec: the pane's process is chanwatch itself, so its pid is the pane's pid.
            envs = " ".join(f"{k}={v}" for k, v in
                            (("HOME", work), ("XDG_CONFIG_HOME", work),
                             ("CHANWATCH_FRAME_STATS", f"{work}/frames.txt")))
            subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50",
                            "-e", "TERM=xterm-256color",
                            f"exec env {envs} " + " ".join(argv)], check=True)
            pid = int(subprocess.run(["tmux", "display-message", "-p", "-t", session,
                                      "#{pane_pid}"], capture_output=True, text=True,
                                     check=True).stdout)
        else:
            r, w = os.pipe()
            counter = subprocess.Popen(["wc", "-l"], stdin=r, stdout=open(f"{work}/lines", "w"))
            proc = subprocess.Popen([*argv, "--headless"], stdin=subprocess.DEVNULL, stdout=w,
                                    stderr=open(f"{work}/client.err", "w"), env=env)
            os.close(r)
            os.close(w)
            pid = proc.pid
        if not wait(lambda: feeders.all("sending") is not None, IDLE_FIRST + 30):
            raise RuntimeError(f"{mode} {variant}: the feeders never started sending")
        t0, c0, th0, s0 = time.monotonic(), cpu_ticks(pid), thread_ticks(pid), switches(pid)
        samples = []
        next_sample = t0
        while feeders.all("done") is None and time.monotonic() - t0 < duration + 30:
            if time.monotonic() >= next_sample:
                samples.append((time.monotonic() - t0, status_kib(pid, "VmRSS")))
                next_sample += 0.5
            time.sleep(0.02)
        t1, c1, th1, s1 = time.monotonic(), cpu_ticks(pid), thread_ticks(pid), switches(pid)
        samples.append((t1 - t0, status_kib(pid, "VmRSS")))
        peak = status_kib(pid, "VmHWM")
        done = feeders.all("done")
        if done is None:
            raise RuntimeError(f"{mode} {variant}: the feeders did not finish")
        events = sum(int(d.split()[1]) for d in done)
        wall = t1 - t0
        steady = statistics.median(k for t, k in samples if t >= wall / 2)
        threads = {k: th1.get(k, 0) - th0.get(k, 0) for k in th1}
        frames = lines = None
        if mode == "dashboard":
            subprocess.run(["tmux", "send-keys", "-t", session, "q"])
            if wait(lambda: os.path.exists(f"{work}/frames.txt"), 10):
                time.sleep(0.2)
                frames = len(open(f"{work}/frames.txt").read().split())
        else:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
            counter.wait(10)
            lines = int(open(f"{work}/lines").read().split()[0])
        cpu_s = (c1 - c0) / TCK
        return dict(mode=mode, variant=variant, load=load, wall=wall, events=events,
                    cores=cpu_s / wall, us_per_event=cpu_s / events * 1e6,
                    switches_per_s=(s1 - s0) / wall,
                    steady_mib=steady / 1024, peak_mib=peak / 1024, frames=frames,
                    lines=lines, threads=threads)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if counter is not None and counter.poll() is None:
            counter.kill()
            counter.wait()
        feeders.stop()
        shutil.rmtree(work, ignore_errors=True)


def label(variant):
    return {"one": "one connection",
            "node1": "one --node",
            "cluster": f"{nodes} nodes",
            "full": f"one connection at {rate}/s"}[variant]


def fmt_threads(threads):
    top = sorted(threads.items(), key=lambda kv: -kv[1])[:4]
    return ", ".join(f"{name} {t / TCK:.2f}" for name, t in top if t > 0)


start_load = loadavg()
started = datetime.datetime.now(datetime.timezone.utc)
results = []
for rep in range(reps):
    for mode in modes:
        # A/B, then B/A: drift in the machine's load falls on both sides.
        order = variants if rep % 2 == 0 else list(reversed(variants))
        for variant in order:
            r = run(mode, variant)
            r["rep"] = rep + 1
            results.append(r)
            print(f"rep {rep + 1} {mode:9} {label(variant):28} load {r['load']:15} "
                  f"{r['cores']:.3f} cores  {r['us_per_event']:.2f} us/event  "
                  f"{r['switches_per_s']:.0f} switches/s  "
                  f"RSS steady {r['steady_mib']:.1f} peak {r['peak_mib']:.1f} MiB  "
                  f"events {r['events']}" +
                  (f"  frames {r['frames']}" if r['frames'] is not None else "") +
                  (f"  lines {r['lines']}" if r['lines'] is not None else "") +
                  f"  [{fmt_threads(r['threads'])}]", flush=True)
            time.sleep(1)
end_load = loadavg()


def med_range(values, f="{:.2f}"):
    values = list(values)
    return (f"{f.format(statistics.median(values))} ({f.format(min(values))}–"
            f"{f.format(max(values))})")


def pick(mode, variant, rep):
    return next(r for r in results if r["mode"] == mode and r["variant"] == variant
                and r["rep"] == rep)


cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), "?")
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
md = [
    "# One more node: what it costs",
    "",
    f"Produced by `bench/cluster-load.sh` (RATE={rate} NODES={nodes} DURATION={duration} "
    f"REPS={reps} MODES=\"{' '.join(modes)}\" VARIANTS=\"{' '.join(variants)}\" "
    f"LOG_RING={log_ring}).",
    "",
    f"- date: {started:%Y-%m-%dT%H:%MZ}, {len(results)} runs",
    f"- CPU: {cpu_model}, {os.cpu_count()} cores (shared with other builds); load average "
    f"at start {start_load}, at end {end_load}",
    f"- memory: {mem / 1048576:.1f} GiB; kernel {os.uname().release}; {rustc}",
    f"- chanwatch commit {commit}, release build",
    f"- {nodes} nodes: {nodes} feeders at {rate // nodes}/s each ({rate // nodes * nodes}/s "
    f"in all), one chanwatch with {nodes} `--node`; one connection: one feeder at "
    f"{rate // nodes}/s, chanwatch without `--node`",
    "",
    "## Per run",
    "",
    "| rep | mode | watching | load avg | cores | µs CPU / event | switches/s | "
    "RSS steady MiB | peak MiB | events | frames / lines | CPU s by thread |",
    "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
]
for r in results:
    extra = r["frames"] if r["frames"] is not None else r["lines"]
    md.append(f"| {r['rep']} | {r['mode']} | {label(r['variant'])} | {r['load']} | "
              f"{r['cores']:.3f} | {r['us_per_event']:.2f} | {r['switches_per_s']:.0f} | "
              f"{r['steady_mib']:.1f} | "
              f"{r['peak_mib']:.1f} | {r['events']} | {extra} | {fmt_threads(r['threads'])} |")
md += [
    "",
    "## Medians (min–max) over the reps",
    "",
    "| mode | watching | cores | µs CPU / event | switches/s | RSS steady MiB | peak MiB |",
    "|---|---|---:|---:|---:|---:|---:|",
]
for mode in modes:
    for variant in variants:
        rs = [r for r in results if r["mode"] == mode and r["variant"] == variant]
        md.append(f"| {mode} | {label(variant)} | {med_range((r['cores'] for r in rs), '{:.3f}')} | "
                  f"{med_range(r['us_per_event'] for r in rs)} | "
                  f"{med_range((r['switches_per_s'] for r in rs), '{:.0f}')} | "
                  f"{med_range((r['steady_mib'] for r in rs), '{:.1f}')} | "
                  f"{med_range((r['peak_mib'] for r in rs), '{:.1f}')} |")
md += [
    "",
    f"## Against the target: {nodes} nodes / one connection, per rep (median, min–max)",
    "",
    "| mode | CPU per event | RSS per node (steady) | RSS per node (peak) | "
    "marginal RSS of a node (steady) | marginal RSS of a node (peak) | ≤ 1.2 |",
    "|---|---:|---:|---:|---:|---:|---|",
]
verdicts = {}
for mode in modes:
    ratios = {k: [] for k in ("cpu", "node_s", "node_p", "marg_s", "marg_p")}
    for rep in range(1, reps + 1):
        one, cl = pick(mode, "one", rep), pick(mode, "cluster", rep)
        ratios["cpu"].append(cl["us_per_event"] / one["us_per_event"])
        ratios["node_s"].append(cl["steady_mib"] / nodes / one["steady_mib"])
        ratios["node_p"].append(cl["peak_mib"] / nodes / one["peak_mib"])
        ratios["marg_s"].append((cl["steady_mib"] - one["steady_mib"]) / (nodes - 1)
                                / one["steady_mib"])
        ratios["marg_p"].append((cl["peak_mib"] - one["peak_mib"]) / (nodes - 1)
                                / one["peak_mib"])
    met = all(statistics.median(v) <= 1.2 for v in ratios.values())
    verdicts[mode] = met
    md.append(f"| {mode} | " + " | ".join(med_range(ratios[k]) for k in
                                          ("cpu", "node_s", "node_p", "marg_s", "marg_p"))
              + f" | {'yes' if met else 'NO'} |")
md += [
    "",
    "CPU is utime+stime of the chanwatch process (all its threads) from the moment every",
    "feeder is sending to the moment every feeder is done, divided by the events sent in all.",
    "Switches/s are the context switches of all its threads (/proc/PID/task/*/status), i.e.",
    "how often a thread slept and was woken (or was preempted), over the same window.",
    "RSS steady is the median of samples taken twice a second over the second half of the",
    "load; peak is VmHWM. Memory per node is the cluster's RSS / nodes against one",
    "connection's; the marginal RSS of a node is (cluster − one) / (nodes − 1) against one",
    "connection's whole RSS.",
    "",
]
text = "\n".join(md)
print(text)
if out != "-":
    # Hand-written notes below this marker survive a new run.
    marker = "<!-- notes below are kept by cluster-load.sh -->"
    notes = ""
    if os.path.exists(out):
        old = open(out).read()
        if marker in old:
            notes = old[old.index(marker):]
    open(out, "w").write(text + ("\n" + notes if notes else ""))
    print(f"written to {out}")
PY
