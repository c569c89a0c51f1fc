#!/usr/bin/env python3
"""Benchmark driver: tcpecho --server against two peer echo servers.

Peers: epoll_echo (hand-written single-threaded epoll, the practical
single-core limit) and the Go tutorial's server done right (goroutine per
connection). Each server is started fresh for every measurement, pinned to
one CPU; the load generator is pinned to another. Rounds interleave the
servers in a rotating order; per scenario the table shows each server's
median and tcpecho's ratios to the peers as the median of per-round
ratios. Every echoed byte is verified by the load generator: a measurement
with any load-generator error is INVALID and is never averaged in.

Python 3 standard library only. Linux only. See README.md beside this file.
"""

import argparse
import json
import os
import platform
import queue
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

SERVERS = ("tcpecho", "epoll", "go")
# Besides these: "tcpecho-tN" (tcpecho --server --threads N), "previous"
# and "previous-tN" (the binary given with --previous, another build), and
# any of them with "-qq" (no log line per session: --quiet twice).
VARIANT_RE = re.compile(r"^(tcpecho|previous)(?:-t([1-9][0-9]*))?(-qq)?$")


def is_tcpecho(name):
    return VARIANT_RE.match(name) is not None

SCENARIOS = {
    "pp1": dict(mode="pingpong", connections=1, size=64, pipeline=1),
    "pp100": dict(mode="pingpong", connections=100, size=64, pipeline=1),
    "pp1000": dict(mode="pingpong", connections=1000, size=64, pipeline=1),
    "stream1": dict(mode="stream", connections=1, size=16384, pipeline=8),
    "stream100": dict(mode="stream", connections=100, size=4096, pipeline=4),
    "churn20": dict(mode="churn", connections=20, size=64, pipeline=1),
    "idle10k": dict(mode="idle", connections=10000, size=64, pipeline=1),
}

# (key, label, higher_is_better) per load mode
METRICS = {
    "pingpong": [
        ("msgs_per_s", "msgs/s", True),
        ("msgs_per_cpu_s", "msgs per server CPU-s", True),
        ("p50_us", "p50 latency us", False),
        ("p99_us", "p99 latency us", False),
    ],
    "stream": [
        ("mb_per_s", "MB/s", True),
        ("mb_per_cpu_s", "MB per server CPU-s", True),
        ("p99_us", "p99 latency us", False),
    ],
    "churn": [
        ("sessions_per_s", "sessions/s", True),
        ("sessions_per_cpu_s", "sessions per server CPU-s", True),
        ("p50_us", "p50 session us", False),
        ("p99_us", "p99 session us", False),
    ],
    "idle": [
        ("rss_bytes_per_conn", "server RSS bytes/conn", False),
    ],
}

# Other processes using more than this much of a core on the benchmark's
# CPUs in a measured window get a note under the table.
OTHER_NOTICE = 0.10

LISTEN_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loud(msg):
    log("\n" + "!" * 72 + "\n!! " + msg + "\n" + "!" * 72)


# ---------------------------------------------------------------- build

def build(args, servers):
    """Build the peers and the load generator into args.build."""
    os.makedirs(args.build, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    bins = {}
    for name in ("epoll_echo", "epoll_load"):
        out = os.path.join(args.build, name)
        cmd = [cc, "-O2", "-Wall", "-Wextra", "-o", out, os.path.join(HERE, name + ".c")]
        log("build: " + " ".join(cmd))
        subprocess.run(cmd, check=True)
        bins[name] = out
    if "go" in servers:
        if shutil.which("go") is None:
            loud("go is not installed (apt-get install golang-go): skipping the go server")
            servers.remove("go")
        else:
            out = os.path.join(args.build, "go_echo")
            env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off",
                       GOTOOLCHAIN="local", GO111MODULE="on")
            cmd = ["go", "build", "-trimpath", "-o", out, "."]
            log("build: (cd go && GOFLAGS=-mod=mod GOPROXY=off " + " ".join(cmd) + ")")
            r = subprocess.run(cmd, cwd=os.path.join(HERE, "go"), env=env)
            if r.returncode != 0:
                loud("go build failed: skipping the go server")
                servers.remove("go")
            else:
                bins["go_echo"] = out
    return bins


def check_tcpecho(path):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        log("bench: no tcpecho binary at %s; build it first:\n"
            "  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build\n"
            "or pass --tcpecho PATH, or leave tcpecho out with --servers epoll,go" % path)
        sys.exit(2)
    cache = os.path.join(os.path.dirname(os.path.abspath(path)), "CMakeCache.txt")
    if os.path.isfile(cache):
        with open(cache) as f:
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
        kind = m.group(1).strip() if m else ""
        if kind not in ("Release", "RelWithDebInfo"):
            loud("tcpecho was built with CMAKE_BUILD_TYPE=%r, not Release or "
                 "RelWithDebInfo: its numbers are not comparable" % kind)


# ---------------------------------------------------------------- /proc

def proc_cpu_seconds(pid):
    """utime+stime of the whole process (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_set(spec):
    """The CPUs of a taskset -c list ("0", "0-3", "0,2-3")."""
    cpus = set()
    for part in str(spec).split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def cpus_busy_seconds(cpus):
    """Time the given CPUs spent running anything at all (user, nice,
    system, irq, softirq), in seconds, from /proc/stat."""
    names = {"cpu%d" % c for c in cpus}
    busy = 0
    with open("/proc/stat") as f:
        for line in f:
            fields = line.split()
            if fields and fields[0] in names:
                user, nice, system, _idle, _iowait, irq, softirq = (
                    int(x) for x in fields[1:8])
                busy += user + nice + system + irq + softirq
    return busy / CLK_TCK


def proc_rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS for pid %d" % pid)


# ---------------------------------------------------------------- servers

class Server:
    def __init__(self, name, args, bins):
        self.name = name
        variant = VARIANT_RE.match(name)
        if variant:
            binary = args.previous if variant.group(1) == "previous" else args.tcpecho
            cmd = [binary, "--server", "--host", "127.0.0.1", "--port", "0", "--quiet"]
            if variant.group(2):
                cmd += ["--threads", variant.group(2)]
            if variant.group(3):
                cmd += ["--quiet"]
        elif name == "epoll":
            cmd = [bins["epoll_echo"], "0"]
        elif name == "go":
            cmd = [bins["go_echo"], "-addr", "127.0.0.1:0"]
        else:
            raise ValueError(name)
        self.cmd = ["taskset", "-c", str(args.server_cpu)] + cmd
        # stdout and stderr go to a file, never a pipe: a server that logs
        # every connection must not block on a pipe nobody reads.
        self.log_path = os.path.join(args.build, "server-%s.log" % name)
        self.logf = open(self.log_path, "w+")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid  # taskset execs the server: same pid
        self.port = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(self.log_path) as f:
                m = LISTEN_RE.search(f.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("%s did not report its port; log:\n%s" % (name, self.log_tail()))

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, n=10):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        """SIGINT, then SIGKILL after 5 s; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode


# ---------------------------------------------------------------- load

def epoll_load_cmd(bins, sc, port, duration, warmup):
    return [bins["epoll_load"], "--host", "127.0.0.1", "--port", str(port),
            "--mode", sc["mode"], "--connections", str(sc["connections"]),
            "--size", str(sc["size"]), "--pipeline", str(sc["pipeline"]),
            "--duration", str(duration), "--warmup", str(warmup)]


# ======================================================================
# TCPECHO LOAD GENERATOR COMMAND LINE (`--load tcpecho`).
# Wired but NOT TESTED: `tcpecho --bench` does not exist yet. It is
# expected to print one JSON object on stdout with the same keys as
# epoll_load (messages, msgs_per_s, mb_per_s, sessions_per_s, p50_us,
# p99_us, errors, seconds, ...) and, ideally, "# phase measure" and
# "# phase end" lines on stderr around the measured window (without them
# the server's CPU is sampled from warmup end to exit, less precisely).
# It has no --mode flag yet, so churn and idle scenarios are skipped.
# ======================================================================
def tcpecho_load_cmd(tcpecho, sc, port, duration, warmup, threads=1):
    if sc["mode"] not in ("pingpong", "stream"):
        return None  # churn and idle: tcpecho --bench has no such modes
    return [tcpecho, "--bench", "--host", "127.0.0.1", "--port", str(port),
            "--connections", str(sc["connections"]), "--size", str(sc["size"]),
            "--pipeline", str(sc["pipeline"]), "--duration", str(duration),
            "--warmup", str(warmup), "--threads", str(threads), "--json"]


class Load:
    """A running load generator; stdout and stderr read by threads."""

    def __init__(self, cmd, args, server_pid):
        self.cmd = ["taskset", "-c", str(args.load_cpu)] + cmd
        self.server_pid = server_pid
        self.cpus = cpu_set(args.server_cpu) | cpu_set(args.load_cpu)
        self.t_start = time.monotonic()
        self.cpu_start = proc_cpu_seconds(server_pid)
        self.t_exit = self.cpu_exit = None
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines = queue.Queue()
        self.stderr_lines = []
        # "measure"/"end" -> (monotonic time, server CPU s, busy s of both CPUs)
        self.marks = {}
        self._t_out = threading.Thread(target=self._read_stdout, daemon=True)
        self._t_err = threading.Thread(target=self._read_stderr, daemon=True)
        self._t_out.start()
        self._t_err.start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self):
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            if line.startswith("# phase "):
                what = line[len("# phase "):].strip()
                try:
                    self.marks[what] = (time.monotonic(), proc_cpu_seconds(self.server_pid),
                                        cpus_busy_seconds(self.cpus))
                except OSError:
                    pass  # the server is gone; caught as invalid later
            else:
                self.stderr_lines.append(line)

    def next_line(self, timeout):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def finish(self, timeout):
        """Wait for exit; returns (exit status or None on timeout, lines)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._t_out.join(2)
            self._t_err.join(2)
            return None, self.drain()
        self.t_exit = time.monotonic()
        try:
            self.cpu_exit = proc_cpu_seconds(self.server_pid)
        except OSError:
            pass
        self._t_out.join(5)
        self._t_err.join(5)
        return self.proc.returncode, self.drain()

    def drain(self):
        out = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                out.append(line)
        return out


def last_json(lines):
    for line in reversed(lines):
        line = line.strip()
        if line.startswith("{"):
            try:
                return normalize(json.loads(line))
            except ValueError:
                pass
    return None


def normalize(res):
    """tcpecho --bench nests latency and errors: flatten them to the keys
    epoll_load prints, so both generators feed the same tables."""
    lat = res.get("latency_us")
    if isinstance(lat, dict):
        res.setdefault("p50_us", lat.get("p50"))
        res.setdefault("p99_us", lat.get("p99"))
    if isinstance(res.get("errors"), dict):
        res["error_kinds"] = res["errors"]
        res["errors"] = res["errors"].get("total", 1)
    res.setdefault("sessions_per_s", 0)
    return res


def setup_allowance(sc):
    # epoll_load allows 10 s + 2 ms per connection to connect, and 3 s to drain
    return 10 + 0.002 * sc["connections"] + 3 + 10


# ---------------------------------------------------------------- measuring

def measure(args, bins, server_name, scen_name, rnd):
    sc = SCENARIOS[scen_name]
    rec = {"round": rnd, "scenario": scen_name, "server": server_name,
           "load": args.load, "valid": False, "reason": None}
    if args.load == "tcpecho":
        cmd_of = lambda port, d, w: tcpecho_load_cmd(args.tcpecho, sc, port, d, w,
                                                     args.load_threads)
    else:
        cmd_of = lambda port, d, w: epoll_load_cmd(bins, sc, port, d, w)
    if cmd_of(1, 1, 0) is None:
        rec["reason"] = "skipped: the %s load generator cannot run %s" % (args.load, sc["mode"])
        return rec
    try:
        server = Server(server_name, args, bins)
    except Exception as e:  # noqa: BLE001 - report and go on
        rec["reason"] = "server did not start: %s" % e
        return rec
    try:
        if sc["mode"] == "idle":
            measure_idle(args, sc, server, cmd_of, rec)
        else:
            measure_throughput(args, sc, server, cmd_of, rec)
    finally:
        alive = server.alive()
        rec["server_exit"] = server.stop()
        if not alive and rec["valid"]:
            rec["valid"] = False
            rec["reason"] = "server exited during the measurement"
        if not rec["valid"]:
            rec["server_log_tail"] = server.log_tail()
    return rec


def check_load_result(rec, status, res, stderr_lines):
    rec["load_result"] = res
    rec["load_exit"] = status
    if stderr_lines:
        rec["load_stderr"] = stderr_lines[-10:]
    if status is None:
        rec["reason"] = "load generator timed out"
    elif res is None:
        rec["reason"] = "load generator printed no JSON (exit %s)" % status
    elif res.get("errors", 1) != 0:
        rec["reason"] = "load generator reported %s errors (unverified bytes: the numbers mean nothing)" % res.get("errors")
    elif status != 0:
        rec["reason"] = "load generator exited %s" % status
    else:
        return True
    return False


def measure_throughput(args, sc, server, cmd_of, rec):
    load = Load(cmd_of(server.port, args.duration, args.warmup), args, server.pid)
    status, lines = load.finish(args.warmup + args.duration + setup_allowance(sc))
    res = last_json(lines)
    if not check_load_result(rec, status, res, load.stderr_lines):
        return
    secs = res["seconds"]
    m0, m1 = load.marks.get("measure"), load.marks.get("end")
    cpu = window = None
    if m0 and m1:
        cpu, window = m1[1] - m0[1], m1[0] - m0[0]
        rec["cpu_window"] = "markers"
    elif load.cpu_exit is not None and load.t_exit > load.t_start:
        # No markers: the server's mean CPU rate over the load generator's
        # whole run (setup, warmup and drain included), scaled to the
        # measured seconds. Rougher; flagged as such.
        rate = (load.cpu_exit - load.cpu_start) / (load.t_exit - load.t_start)
        cpu, window = rate * secs, secs
        rec["cpu_window"] = "approx"
    rec.update({
        "seconds": secs,
        "msgs_per_s": res["msgs_per_s"],
        "mb_per_s": res["mb_per_s"],
        "sessions_per_s": res["sessions_per_s"],
        "p50_us": res["p50_us"],
        "p99_us": res["p99_us"],
        "load_cpu_util": (res.get("load_cpu_s", 0) / secs) if secs else None,
    })
    if m0 and m1 and "load_cpu_s" in res:
        # What else ran on the benchmark's CPUs meanwhile (other processes,
        # a build): it slows one server's window and not the next one's, so
        # a per-round ratio taken across it means little.
        other = (m1[2] - m0[2]) - cpu - res["load_cpu_s"]
        rec["other_cpu_util"] = max(0.0, other) / window if window > 0 else None
    if cpu is not None:
        rec["server_cpu_s"] = cpu
        rec["server_cpu_util"] = cpu / window if window > 0 else None
        if cpu > 0:
            rec["msgs_per_cpu_s"] = res["messages"] / cpu
            rec["mb_per_cpu_s"] = res["bytes"] / 1e6 / cpu
            rec["sessions_per_cpu_s"] = res["sessions_per_s"] * secs / cpu
    rec["valid"] = True


def measure_idle(args, sc, server, cmd_of, rec):
    time.sleep(0.2)
    rss0 = proc_rss_bytes(server.pid)
    hold = 60  # upper bound; the connections are released as soon as RSS is read
    load = Load(cmd_of(server.port, hold, 0), args, server.pid)
    ready = None
    deadline = time.monotonic() + setup_allowance(sc)
    while time.monotonic() < deadline:
        line = load.next_line(timeout=min(0.5, max(0.05, deadline - time.monotonic())))
        if line is None and load.proc.poll() is not None:
            break
        if line and line.startswith("{"):
            try:
                ready = json.loads(line).get("ready")
            except ValueError:
                pass
            break
    rss1 = None
    if ready is not None and server.alive():
        time.sleep(0.5)  # let the server settle after the last echo
        rss1 = proc_rss_bytes(server.pid)
    if load.proc.poll() is None:
        load.proc.send_signal(signal.SIGINT)
    status, lines = load.finish(15)
    res = last_json(lines)
    if not check_load_result(rec, status, res, load.stderr_lines):
        return
    n = sc["connections"]
    if ready != n or rss1 is None:
        rec["reason"] = "only %s of %d connections became ready" % (ready, n)
        return
    rec.update({"rss_before": rss0, "rss_after": rss1,
                "rss_bytes_per_conn": (rss1 - rss0) / n, "valid": True})


# ---------------------------------------------------------------- report

def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    if abs(v) >= 10:
        return "{:.1f}".format(v)
    return "{:.2f}".format(v)


def summarize(records, scenarios, servers):
    summary = {}
    by = {}
    for r in records:
        by.setdefault((r["scenario"], r["server"]), []).append(r)
    for scen in scenarios:
        mode = SCENARIOS[scen]["mode"]
        for key, label, higher in METRICS[mode]:
            row = {"label": label, "higher_is_better": higher, "median": {},
                   "invalid": {}, "ratio": {}}
            for srv in servers:
                recs = by.get((scen, srv), [])
                vals = [r[key] for r in recs if r["valid"] and r.get(key) is not None]
                row["median"][srv] = statistics.median(vals) if vals else None
                row["invalid"][srv] = sum(1 for r in recs if not r["valid"])
            if "tcpecho" in servers:
                for peer in servers:
                    if peer == "tcpecho":
                        continue
                    ratios = []
                    rounds = {r["round"] for r in by.get((scen, "tcpecho"), [])}
                    for rnd in sorted(rounds):
                        a = [r for r in by.get((scen, "tcpecho"), []) if r["round"] == rnd]
                        b = [r for r in by.get((scen, peer), []) if r["round"] == rnd]
                        if (a and b and a[0]["valid"] and b[0]["valid"]
                                and a[0].get(key) is not None and b[0].get(key)):
                            ratios.append(a[0][key] / b[0][key])
                    row["ratio"][peer] = statistics.median(ratios) if ratios else None
                    row["ratio_n_" + peer] = len(ratios)
            summary.setdefault(scen, []).append((key, row))
    return summary


def print_table(summary, scenarios, servers, rounds):
    shown = list(SERVERS) + [s for s in servers if s not in SERVERS]
    peers = [s for s in shown if s != "tcpecho"]
    print()
    print("| scenario | metric | %s | %s |" % (
        " | ".join(shown), " | ".join("tcpecho/" + p for p in peers)))
    print("|---|---|%s" % ("---:|" * (len(shown) + len(peers))))
    for scen in scenarios:
        for key, row in summary.get(scen, []):
            cells = []
            for srv in shown:
                if srv not in servers:
                    cells.append("n/a")
                    continue
                c = fmt(row["median"][srv])
                if row["invalid"][srv]:
                    c += " (%d INVALID)" % row["invalid"][srv]
                cells.append(c)
            ratios = []
            for peer in peers:
                v = row["ratio"].get(peer)
                ratios.append("-" if v is None else "%.2fx" % v)
            arrow = "higher is better" if row["higher_is_better"] else "lower is better"
            print("| %s | %s (%s) | %s | %s |" % (scen, row["label"], arrow,
                                                   " | ".join(cells), " | ".join(ratios)))
    print()
    print("Medians over %d round(s); ratios are medians of per-round ratios "
          "(tcpecho / peer)." % rounds)


def print_notes(records, scenarios, servers):
    notes = []
    for scen in scenarios:
        if SCENARIOS[scen]["mode"] == "idle":
            continue
        for srv in servers:
            recs = [r for r in records if r["scenario"] == scen and r["server"] == srv and r["valid"]]
            su = [r["server_cpu_util"] for r in recs if r.get("server_cpu_util") is not None]
            lu = [r["load_cpu_util"] for r in recs if r.get("load_cpu_util") is not None]
            ou = [r["other_cpu_util"] for r in recs if r.get("other_cpu_util") is not None]
            if su and lu:
                s, l = statistics.median(su), statistics.median(lu)
                flag = ""
                if l > 0.9 and s < 0.9:
                    flag = "  <- load generator saturated, server not: a floor, not the server's limit"
                if ou and max(ou) > OTHER_NOTICE:
                    flag += "  <- other processes ran in some windows (see --max-other)"
                others = ("  others %3.0f%% (max %3.0f%%)" % (100 * statistics.median(ou), 100 * max(ou))
                          if ou else "")
                notes.append("  %-10s %-8s server CPU %3.0f%%  load generator CPU %3.0f%%%s%s"
                             % (scen, srv, 100 * s, 100 * l, others, flag))
    if notes:
        print()
        print("CPU utilisation in the measured window (median; 100% = one core;")
        print("others: anything else on the benchmark's CPUs meanwhile):")
        print("\n".join(notes))


# ---------------------------------------------------------------- main

def wait_quiet(args, limit=120):
    """Waits until the server's and the load generator's CPUs have run
    less than args.max_other of a core for a second (nothing of ours runs
    now), at most limit seconds."""
    cpus = cpu_set(args.server_cpu) | cpu_set(args.load_cpu)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        b0 = cpus_busy_seconds(cpus)
        time.sleep(1)
        if cpus_busy_seconds(cpus) - b0 < args.max_other:
            return
    log("    the CPUs did not get quiet within %d s: measuring anyway" % limit)


def measure_quiet(args, bins, srv, scen, rnd, discarded):
    """measure(), again (up to 3 times in all) while other processes used
    more than --max-other in the measured window."""
    for attempt in range(3):
        if args.max_other is not None:
            wait_quiet(args)
        rec = measure(args, bins, srv, scen, rnd)
        other = rec.get("other_cpu_util")
        if args.max_other is None or other is None or other <= args.max_other:
            return rec
        if attempt < 2:
            log("    others used %.0f%% of a core meanwhile: measuring again" % (100 * other))
            discarded.append(rec)
    return rec


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tcpecho", default="build/tcpecho",
                   help="tcpecho binary, built Release or RelWithDebInfo (default: build/tcpecho)")
    p.add_argument("--build", default="build-bench",
                   help="work directory for the peers and logs (default: build-bench)")
    p.add_argument("--load", choices=("epoll", "tcpecho"), default="epoll",
                   help="load generator (default: epoll; tcpecho is not implemented yet)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help="comma-separated, from: " + ",".join(SCENARIOS))
    p.add_argument("--servers", default=",".join(SERVERS),
                   help="comma-separated, from: " + ",".join(SERVERS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test preset: 1 round, 2 s, warmup 0.5 s")
    p.add_argument("--server-cpu", default="0",
                   help="CPU(s) for the server, as taskset -c takes them "
                        "(default 0; e.g. 0-3 for --threads 4)")
    p.add_argument("--load-threads", type=int, default=1,
                   help="with --load tcpecho: its --threads, to load a server "
                        "on several cores (default 1)")
    p.add_argument("--previous", metavar="PATH",
                   help="another tcpecho build, measured as server 'previous' "
                        "(e.g. the previous release)")
    p.add_argument("--load-cpu", default="1",
                   help="CPU for the load generator (default 1)")
    p.add_argument("--json", metavar="FILE", help="write every raw measurement here")
    p.add_argument("--max-other", type=float, metavar="CORES",
                   help="on a shared machine: before each measurement wait (up to 2 min) "
                        "until other processes use less than CORES of the benchmark's CPUs "
                        "(0.1 = 10%% of one core), and measure again, up to 3 times, "
                        "when they used more in the measured window")
    a = p.parse_args()
    if a.quick:
        a.rounds, a.duration, a.warmup = 1, 2.0, 0.5
    a.scenarios = [s for s in a.scenarios.split(",") if s]
    a.servers = [s for s in a.servers.split(",") if s]
    for s in a.scenarios:
        if s not in SCENARIOS:
            p.error("unknown scenario %r" % s)
    for s in a.servers:
        if s not in SERVERS and not is_tcpecho(s):
            p.error("unknown server %r" % s)
        if s.startswith("previous") and not a.previous:
            p.error("%s needs --previous PATH" % s)
    if a.max_other is not None and a.max_other <= 0:
        p.error("need --max-other > 0")
    if a.rounds < 1 or a.duration <= 0 or a.warmup < 0:
        p.error("need --rounds >= 1, --duration > 0, --warmup >= 0")
    a.build = os.path.abspath(a.build)
    return a


def main():
    args = parse_args()
    if not sys.platform.startswith("linux"):
        log("bench: Linux only (epoll, /proc, taskset)")
        return 2
    if shutil.which("taskset") is None:
        log("bench: taskset not found (apt-get install util-linux)")
        return 2
    ncpu = len(os.sched_getaffinity(0))
    if ncpu < 2 or args.server_cpu == args.load_cpu:
        loud("server and load generator share a CPU (%d usable): numbers are "
             "not comparable with a two-CPU run" % ncpu)
    if any(s.startswith("tcpecho") for s in args.servers) or args.load == "tcpecho":
        check_tcpecho(args.tcpecho)
        args.tcpecho = os.path.abspath(args.tcpecho)
    if args.previous:
        check_tcpecho(args.previous)
        args.previous = os.path.abspath(args.previous)

    # Children inherit the raised descriptor limit (idle10k needs ~10k each).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    need = max(SCENARIOS[s]["connections"] for s in args.scenarios) + 64
    if hard != resource.RLIM_INFINITY and hard < need:
        loud("descriptor hard limit %d < %d needed: scenarios with that many "
             "connections will fail (raise it with ulimit -Hn as root)" % (hard, need))

    servers = list(args.servers)
    bins = build(args, servers)
    if not servers:
        log("bench: no server left to measure")
        return 2

    records = []
    discarded = []  # measurements taken again under --max-other
    t0 = time.time()
    for rnd in range(args.rounds):
        k = rnd % len(servers)
        order = servers[k:] + servers[:k]
        for scen in args.scenarios:
            for srv in order:
                log("round %d/%d  %-10s %-8s ..." % (rnd + 1, args.rounds, scen, srv))
                rec = measure_quiet(args, bins, srv, scen, rnd, discarded)
                records.append(rec)
                if rec["valid"]:
                    key = METRICS[SCENARIOS[scen]["mode"]][0][0]
                    log("    %s = %s" % (key, fmt(rec.get(key))))
                elif rec["reason"] and rec["reason"].startswith("skipped"):
                    log("    " + rec["reason"])
                else:
                    loud("INVALID measurement: round %d, %s, %s: %s\n%s" % (
                        rnd + 1, scen, srv, rec["reason"],
                        "\n".join(rec.get("load_stderr", []) + [rec.get("server_log_tail", "")])))

    summary = summarize(records, args.scenarios, servers)
    print_table(summary, args.scenarios, servers, args.rounds)
    print_notes(records, args.scenarios, servers)
    invalid = [r for r in records if not r["valid"] and not (r["reason"] or "").startswith("skipped")]

    if invalid:
        print()
        print("**%d INVALID measurement(s) (load generator errors, crashes or timeouts) "
              "are left out of the table; see stderr or --json.**" % len(invalid))

    if args.json:
        meta = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t0)),
            "kernel": platform.release(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "rounds": args.rounds, "duration": args.duration, "warmup": args.warmup,
            "load": args.load, "servers": servers, "scenarios": args.scenarios,
            "server_cpu": args.server_cpu, "load_cpu": args.load_cpu,
            "max_other": args.max_other,
            "scenario_defs": {s: SCENARIOS[s] for s in args.scenarios},
        }
        out = {"meta": meta, "measurements": records, "discarded": discarded,
               "summary": {s: {k: row for k, row in rows} for s, rows in summary.items()}}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
            f.write("\n")
        log("bench: raw measurements in %s" % args.json)

    if invalid:
        loud("%d INVALID measurement(s): see above; they are left out of the table" % len(invalid))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
