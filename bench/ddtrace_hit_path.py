#!/usr/bin/env python3
"""The per-request cost of each agent without a server or a network: a closer look at the rows of
bench/ddtrace_compare.py, whose requests/s move with the rest of the machine.

bench/dd_wsgi_loop.py calls bench/dd_app.py's WSGI entry point N times in one process pinned to
CPU 1, bare, under ddtrace and under `borescope run`, idle / armed on the never-run line / hit
on every call (1 snapshot/s), with the same settings, probes, sink and server as
bench/ddtrace_compare.py; rows alternate, the median of the rounds is printed as CPU microseconds
per call and what each agent adds to bare. `--profile ddtrace|borescope` instead prints the agent's
functions on the hit path under cProfile.

Usage: bench/ddtrace_hit_path.py [--python 3.11|3.14] [--calls 4000] [--rounds 3] [--profile AGENT]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench import binary  # noqa: E402
from ddtrace_compare import APP_CPU, HIT, LOAD_CPU, NEVER, SERVICE, ROOT, Bench, ddtrace_probe, targets  # noqa: E402
from snapshots import wait_installed  # noqa: E402

LOOP = os.path.join(HERE, "dd_wsgi_loop.py")
ROWS = [("bare", "")] + [(agent, mode) for mode in ("idle", "armed", "hit") for agent in ("ddtrace", "borescope")]


def one(bench, target, agent, mode, calls, profile=False):
    """(wall, CPU) seconds per call of one fresh process."""
    line = {"armed": NEVER, "hit": HIT}.get(mode)
    probes = [ddtrace_probe("loop-" + mode, line)] if agent == "ddtrace" and line else []
    probe_file = os.path.join(bench.work, "loop-probes.json")
    with open(probe_file, "w") as f:
        json.dump(probes, f)
    argv = target.python + [LOOP]
    if agent == "borescope":
        argv = [bench.bin, "run", "--server", bench.server.url, "--key", bench.key, "--service", SERVICE, "--"] + argv
    env = bench.env(target, agent, probe_file)
    if profile:
        env["PROFILE"] = "1"
    bench.sink.reset()
    proc = subprocess.Popen(["taskset", "-c", APP_CPU] + argv, env=env, cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    probe = None
    try:
        ready = proc.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise SystemExit("%s: the loop did not start" % agent)
        if agent == "borescope" and line:
            probe = bench.server.call("POST", "/api/v1/probes", {"service": SERVICE, "file": "dd_app.py", "line": line})
            wait_installed(bench.server, probe["id"], int(ready[1]))
        if agent == "ddtrace" and line and not bench.sink.wait_status(probes[0]["id"], ("INSTALLED", "EMITTING"), 20):
            raise SystemExit("ddtrace did not report the probe installed")
        time.sleep(0.3)
        proc.stdin.write("%d\n" % calls)
        proc.stdin.flush()
        out = proc.stdout.readline().split()
        if not out or out[0] != "elapsed":
            raise SystemExit("%s: the loop failed" % agent)
        return float(out[1]) / calls, float(out[2]) / calls
    finally:
        proc.kill()
        proc.wait()
        if probe is not None:
            bench.server.call("DELETE", "/api/v1/probes/%d" % probe["id"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", choices=("3.11", "3.14"), default="3.11")
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=("ddtrace", "borescope"))
    args = parser.parse_args()
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "bench-setup.sh")], check=True)
    os.sched_setaffinity(0, {int(LOAD_CPU)})
    work = tempfile.mkdtemp(prefix="bs-ddloop-")
    bench = Bench(binary(), work)
    target = targets(args.python)[0]
    try:
        if args.profile:
            one(bench, target, args.profile, "hit", args.calls, profile=True)
            return
        found = dict(("%s %s" % row, []) for row in ROWS)
        for round_number in range(args.rounds):
            for agent, mode in ROWS if round_number % 2 == 0 else ROWS[::-1]:
                found["%s %s" % (agent, mode)].append(one(bench, target, agent, mode, args.calls))
        bare = statistics.median(cpu for _, cpu in found["bare "])
        print("%s, %d calls of GET /order/7 in one process on CPU %s, median of %d rounds" % (target.label, args.calls, APP_CPU, args.rounds))
        for key, runs in found.items():
            cpu = statistics.median(c for _, c in runs)
            wall = statistics.median(w for w, _ in runs)
            print("  %-16s CPU %6.1f us/call  (%+5.1f us, x%.3f)   wall %6.1f us/call" % (key, 1e6 * cpu, 1e6 * (cpu - bare), cpu / bare, 1e6 * wall))
    finally:
        bench.close()


if __name__ == "__main__":
    main()
