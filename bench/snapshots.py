#!/usr/bin/env python3
"""Live-snapshot benchmarks, printed side by side in one run.

  (a) cost in the app: N calls of a request handler (bench/snap_workload.py) with no agent,
      with the agent loaded and no probes, with a probe armed on a line that never runs, and
      with a probe hit on every call (rate-limited to the default 1 snapshot/s); on Python
      3.14 (sid rootfs, sys.monitoring) and the host's 3.11 (rewrite engine).
      Goals: idle and armed-not-hit <= 1.02x bare on 3.12+, <= 1.05x on 3.11.
  (b) arming latency: from the probe's creation (POST /api/v1/probes) to the first snapshot
      stored from a hot loop. Goal <= 1 s (PostHog's agent polls every 30 s).
Server ingest (8 agents, 4 KB snapshots) is bench/snapshot_ingest.py.

Usage: bench/snapshots.py [--runs N] [--calls N]  (run `cargo build --release` first, or set
BORESCOPE). Needs scripts/test-setup.sh to have run (sid rootfs).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import binary  # noqa: E402

WORKLOAD = os.path.join(HERE, "snap_workload.py")


def line_of(marker, path=WORKLOAD):
    with open(path) as f:
        for number, text in enumerate(f, 1):
            if marker in text:
                return number
    raise SystemExit("no %r in %s" % (marker, path))


class Server(object):
    """`borescope server` on a free loopback port with a fresh SQLite database."""

    def __init__(self, bin_path, data):
        self.token = "bench-token-0123456789abcdef"
        self.proc = subprocess.Popen(
            [bin_path, "server", "--listen", "127.0.0.1:0", "--data", data, "--token", self.token, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        line = self.proc.stdout.readline().decode()
        if not line:
            raise SystemExit("borescope server did not start: %s" % self.proc.stderr.read().decode())
        self.url = json.loads(line)["url"].rstrip("/")

    def call(self, method, path, body=None, token=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + (token or self.token))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def interpreters():
    found = [("3.14 (sid, sys.monitoring)", [os.path.join(ROOT, "scripts", "sid-python")])]
    host = subprocess.run(["python3", "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
    found.append(("3.11 (host, rewrite)", [host.stdout.strip()]))
    return found


def wait_installed(server, probe_id, instance_pid, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        view = server.call("GET", "/api/v1/probes/%d" % probe_id)
        for status in view.get("statuses", []):
            if status["pid"] == instance_pid and status["status"] in ("installed", "emitting", "rate_limited"):
                return
            if status["pid"] == instance_pid and status["status"] == "error":
                raise SystemExit("probe %d failed: %s" % (probe_id, status.get("message")))
        time.sleep(0.02)
    raise SystemExit("probe %d was never installed in pid %d" % (probe_id, instance_pid))


def one_run(bin_path, server, key, python, mode, calls):
    argv = list(python) + [WORKLOAD, str(calls)]
    if mode != "bare":
        argv = [bin_path, "run", "--server", server.url, "--key", key, "--service", "bench", "--"] + argv
    env = dict(os.environ, PYTHONHASHSEED="0")  # one string-hash layout for every mode
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=HERE, env=env)
    try:
        if proc.stdout.readline().strip() != b"ready":
            raise SystemExit("workload did not start: %s" % proc.stderr.read().decode())
        probe = None
        if mode in ("armed", "hit"):
            line = line_of("BENCH: never" if mode == "armed" else "BENCH: hit")
            probe = server.call("POST", "/api/v1/probes", {"service": "bench", "file": "snap_workload.py", "line": line})
            wait_installed(server, probe["id"], proc.pid)
        elif mode == "idle":
            time.sleep(0.3)  # let the agent register and finish its first poll
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        out = proc.stdout.readline().decode()
        if not out.startswith("elapsed "):
            raise SystemExit("workload failed: %s %s" % (out, proc.stderr.read().decode()))
        if probe is not None:
            server.call("DELETE", "/api/v1/probes/%d" % probe["id"])
        return float(out.split()[1])
    finally:
        proc.kill()
        proc.wait()


def bench_overhead(bin_path, server, key, runs, calls):
    print("(a) cost in the app: %d handler calls, median of %d runs" % (calls, runs))
    print("    %-28s %10s %10s %10s %10s" % ("interpreter", "bare", "idle", "armed", "hit/call"))
    for label, python in interpreters():
        modes = ("bare", "idle", "armed", "hit")
        times = dict((mode, []) for mode in modes)
        for _ in range(runs):  # interleaved, so a change in machine load hits every mode alike
            for mode in modes:
                times[mode].append(one_run(bin_path, server, key, python, mode, calls))
        medians = dict((mode, statistics.median(found)) for mode, found in times.items())
        bare = medians["bare"]
        print(
            "    %-28s %9.3fs %9.3fx %9.3fx %9.3fx"
            % (label, bare, medians["idle"] / bare, medians["armed"] / bare, medians["hit"] / bare)
        )


def bench_arming(bin_path, server, key, runs):
    print("(b) arming latency: probe created -> first snapshot stored, hot loop, median of %d" % runs)
    line = line_of("BENCH: hit")
    for label, python in interpreters():
        argv = [bin_path, "run", "--server", server.url, "--key", key, "--service", "bench", "--"]
        proc = subprocess.Popen(argv + list(python) + [WORKLOAD, "forever"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=HERE)
        try:
            proc.stdout.readline()
            time.sleep(0.5)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                probe = server.call("POST", "/api/v1/probes", {"service": "bench", "file": "snap_workload.py", "line": line})
                page = server.call("GET", "/api/v1/snapshots?probe=%d&wait=10" % probe["id"], timeout=15)
                if not page["snapshots"]:
                    raise SystemExit("no snapshot within 10 s")
                times.append(time.perf_counter() - started)
                server.call("DELETE", "/api/v1/probes/%d" % probe["id"])
                time.sleep(0.2)
            print("    %-28s median %6.0f ms   max %6.0f ms" % (label, statistics.median(times) * 1000, max(times) * 1000))
        finally:
            proc.kill()
            proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000000)
    args = parser.parse_args()
    bin_path = binary()
    data = tempfile.mkdtemp(prefix="bs-snapbench-")
    server = Server(bin_path, data)
    try:
        key = server.call("POST", "/api/v1/keys", {"service": "bench"})["key"]
        print("borescope %s, server %s\n" % (bin_path, server.url))
        bench_overhead(bin_path, server, key, args.runs, args.calls)
        bench_arming(bin_path, server, key, args.runs)
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
