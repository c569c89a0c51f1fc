#!/usr/bin/env python3
"""UDP benchmark: tcpecho --server --udp against udp_echo.c, driven by
tcpecho --bench --udp (every datagram verified).

Each measurement starts its server fresh pinned to --server-cpu, and runs
the load generator pinned to --load-cpu; rounds alternate the servers'
order (tcpecho, udp_echo, then udp_echo, tcpecho, ...). Two figures per
server and round:

  max rate   the highest open-loop rate (datagrams/s) with less than
             --max-loss % lost, found by bisection between --low and
             --high, each probe a fresh server and a full run;
  latency    p50 and p99 (from each datagram's due time) at --rate.

A run during which other processes took more than --max-other cores of
the two CPUs is measured again (up to 3 times in all). The table adds
datagrams per server CPU-second at --rate (the datagrams the server says
it echoed, warmup's included, over its CPU time during the run).
A run whose generator reports any error (a corrupted echo, a socket that
could not be opened) is invalid and stops the script: a number from
unverified datagrams means nothing. Prints a Markdown table of medians and
of the medians of per-round ratios; --json FILE keeps every measurement.
Linux, Python 3 standard library only; build udp_echo first:
  cc -O2 -o build-bench/udp_echo test/bench/udp_echo.c
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Server:
    """A server pinned to cpu, its UDP port read from its first lines."""

    def __init__(self, name, args):
        if name == "tcpecho":
            cmd = [args.tcpecho, "--server", "--udp", "--udp-rate", "0",
                   "-qq", "--host", "127.0.0.1", "--port", "0"]
            pattern, stream = r"serving UDP on 127\.0\.0\.1:(\d+)", "stderr"
        else:
            cmd = [args.udp_echo, "0", "127.0.0.1"]
            pattern, stream = r"listening on 127\.0\.0\.1:(\d+)", "stdout"
        self.proc = subprocess.Popen(
            ["taskset", "-c", args.server_cpu] + cmd,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pipe = getattr(self.proc, stream)
        self.port = None
        deadline = time.time() + 5
        while self.port is None and time.time() < deadline:
            line = pipe.readline()
            if not line:
                break
            m = re.search(pattern, line)
            if m:
                self.port = int(m.group(1))
        if self.port is None:
            self.stop()
            raise RuntimeError(f"{name} did not start: {cmd}")

    def stop(self):
        """Stops it; its own count of datagrams in and echoed (or None)."""
        self.proc.send_signal(2)
        try:
            out, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        m = re.search(r"(\d+) datagrams in[^,]*, (\d+) echoed", err)
        return (int(m.group(1)), int(m.group(2))) if m else None


def run_load(args, port, rate):
    """One run of the generator at rate; its --json report."""
    cmd = ["taskset", "-c", args.load_cpu, args.tcpecho, "--bench", "--udp",
           "--host", "127.0.0.1", "--port", str(port), "--rate", str(rate),
           "--connections", str(args.connections), "--size", str(args.size),
           "--duration", str(args.duration), "--warmup", str(args.warmup),
           "--max-loss", "100", "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
        raise SystemExit(f"INVALID: {' '.join(cmd)} exited {p.returncode}:"
                         f"\n{p.stdout}{p.stderr}")
    res = json.loads(lines[-1])
    if res["errors"]["total"] != 0:
        raise SystemExit(f"INVALID: errors in {lines[-1]}")
    return res


def start_server(name, args):
    """tcpecho serves UDP on the port the system chose for TCP, which a
    UDP socket (one of the generator's last run) may hold: tried again."""
    for attempt in range(5):
        try:
            return Server(name, args)
        except RuntimeError as e:
            log(f"{e}; trying again")
            time.sleep(0.2)
    raise SystemExit(f"{name} did not start 5 times")


def proc_cpu_s(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpus_busy_s(cpus):
    """Busy time (all but idle and iowait) of these CPUs, in seconds."""
    busy = 0
    with open("/proc/stat") as f:
        for line in f:
            name, *vals = line.split()
            if name[3:].isdigit() and int(name[3:]) in cpus:
                v = [int(x) for x in vals]
                busy += sum(v[:8]) - v[3] - v[4]
    return busy / os.sysconf("SC_CLK_TCK")


def cpu_list(spec):
    out = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def measure_once(args, name, rate):
    """A run against a fresh server; the report, with the server's own
    count (datagrams in, echoed: warmup's too) as "server", its CPU time
    during the run as "server_cpu_s", and what other processes took of
    the two CPUs meanwhile as "others_cores" (in cores)."""
    server = start_server(name, args)
    cpus = cpu_list(args.server_cpu) | cpu_list(args.load_cpu)
    try:
        t0, s0, b0 = time.time(), proc_cpu_s(server.proc.pid), cpus_busy_s(cpus)
        g0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        res = run_load(args, server.port, rate)
        g1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t1, s1, b1 = time.time(), proc_cpu_s(server.proc.pid), cpus_busy_s(cpus)
    finally:
        counts = server.stop()
    load = (g1.ru_utime + g1.ru_stime) - (g0.ru_utime + g0.ru_stime)
    res["server"] = counts
    res["server_cpu_s"] = s1 - s0
    res["wall_s"] = t1 - t0
    res["others_cores"] = max(0.0, (b1 - b0) - (s1 - s0) - load) / (t1 - t0)
    return res


def measure(args, name, rate):
    """measure_once, again (up to 3 times in all) while other processes
    took more than --max-other cores of the two CPUs during the run."""
    for attempt in range(3):
        res = measure_once(args, name, rate)
        if res["others_cores"] <= args.max_other:
            break
        log(f"  {name} {rate}/s: others took {res['others_cores']:.2f} "
            f"cores: measuring again")
        wait_quiet(limit_s=120)
    return res


def max_rate(args, name, records):
    """Bisection for the highest rate losing under --max-loss %."""
    lo, hi = args.low, args.high
    while hi - lo > args.step:
        mid = (lo + hi) // 2
        res = measure(args, name, mid)
        loss = res["udp"]["loss_pct"]
        records.append({"server": name, "probe": mid, "loss_pct": loss,
                        "received_per_s": res["msgs_per_s"], "report": res})
        log(f"  {name} {mid}/s: {loss:.3f}% lost; server in, echoed: "
            f"{res['server']}; others {res['others_cores']:.2f} cores")
        if loss < args.max_loss:
            lo = mid
        else:
            hi = mid
    return lo


def wait_quiet(limit_s=1200):
    """Until the 1-minute load average is below 0.6 (every 30 s)."""
    start = time.time()
    while True:
        load = os.getloadavg()[0]
        if load < 0.6:
            return load, True
        if time.time() - start >= limit_s:
            return load, False
        log(f"load average {load:.2f}: waiting")
        time.sleep(30)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tcpecho", default="build-rel/tcpecho")
    p.add_argument("--udp-echo", default="build-bench/udp_echo")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=float, default=2.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--rate", type=int, default=50000,
                   help="the fixed rate of the latency figures")
    p.add_argument("--low", type=int, default=10000)
    p.add_argument("--high", type=int, default=400000)
    p.add_argument("--step", type=int, default=5000,
                   help="the bisection's resolution, datagrams/s")
    p.add_argument("--max-loss", type=float, default=0.1, help="percent")
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--load-cpu", default="1")
    p.add_argument("--max-other", type=float, default=0.1, metavar="CORES",
                   help="measure again when other processes took more of "
                   "the two CPUs during a run")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args()

    load, quiet = wait_quiet()
    log(f"load average {load:.2f}{'' if quiet else ' (never below 0.6)'}")
    servers = ["tcpecho", "udp_echo"]
    per = {s: {"max": [], "p50": [], "p99": [], "per_cpu": []}
           for s in servers}
    records = []
    for rnd in range(args.rounds):
        order = servers if rnd % 2 == 0 else servers[::-1]
        for name in order:
            top = max_rate(args, name, records)
            res = measure(args, name, args.rate)
            lat = res["latency_us"]
            records.append({"server": name, "round": rnd, "max_rate": top,
                            "fixed": res})
            per[name]["max"].append(top)
            per[name]["p50"].append(lat["p50"])
            per[name]["p99"].append(lat["p99"])
            per[name]["per_cpu"].append(
                res["server"][1] / max(res["server_cpu_s"], 1e-3))
            log(f"round {rnd + 1} {name}: max {top}/s, at {args.rate}/s "
                f"p50 {lat['p50']:.1f} us p99 {lat['p99']:.1f} us, "
                f"{res['udp']['loss_pct']:.3f}% lost, server CPU "
                f"{res['server_cpu_s'] / res['wall_s']:.0%}")

    def ratio(key):
        return statistics.median(a / b for a, b in
                                 zip(per["tcpecho"][key], per["udp_echo"][key]))

    print(f"load average before: {load:.2f}; rounds: {args.rounds}")
    print("| metric | tcpecho | udp_echo | tcpecho/udp_echo |")
    print("|---|---:|---:|---:|")
    rows = [("max", f"datagrams/s with < {args.max_loss}% lost (higher is better)"),
            ("p50", f"p50 latency us at {args.rate}/s (lower is better)"),
            ("p99", f"p99 latency us at {args.rate}/s (lower is better)"),
            ("per_cpu", f"datagrams per server CPU-s at {args.rate}/s "
             "(higher is better)")]
    for key, label in rows:
        print(f"| {label} | {statistics.median(per['tcpecho'][key]):,.1f} | "
              f"{statistics.median(per['udp_echo'][key]):,.1f} | "
              f"{ratio(key):.2f}x |")
    print("per round:", json.dumps(per))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "load_before": load,
                       "per_round": per, "records": records}, f)


if __name__ == "__main__":
    main()
