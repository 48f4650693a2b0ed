#!/usr/bin/env python3
"""borescope benchmarks, printed side by side in one run.

  (a) probe wall time vs the same script run bare with the same interpreter (goal <= 1.5x),
      on the host Python 3.11 (rewrite engine for a line in a function, settrace for a
      module-level line) and on Python 3.14 in the sid rootfs (sys.monitoring engine); and for
      Node vs bare `node` (goal <= 2x);
  (b) median latency of `vars`, `stack` and `eval` in a paused session (goal <= 10 ms),
      measured end to end as a user sees it: a fresh CLI process per call;
  (c) session start to ready: `borescope start --break ...` until the stop report is printed;
  (c') the first workflow people type: `start` (held before the first line), `break FILE:LINE`,
      `continue`, until the stop report is printed (three CLI calls);
  (d) attach to ready: `borescope attach PID` on a running, idle-looping Python 3.14 process
      until the report is printed (goal <= 0.5 s), and command latency in that session.

Usage: bench/bench.py [--runs N]   (builds nothing: run `cargo build --release` first, or set
BORESCOPE to the binary). Needs scripts/test-setup.sh to have run (venv with debugpy, sid rootfs).
"""

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.environ.get("BORESCOPE_TEST_CACHE", os.path.expanduser("~/.cache/borescope"))


def binary():
    explicit = os.environ.get("BORESCOPE")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    for profile in ("release", "debug"):
        path = os.path.join(target, profile, "borescope")
        if os.path.exists(path):
            return path
    sys.exit("no borescope binary: run `cargo build --release` first")


def timed(argv, env=None, cwd=None):
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    return elapsed, result


def median_of(runs, argv, env, cwd, expect=0):
    times = []
    for _ in range(runs):
        elapsed, result = timed(argv, env, cwd)
        if result.returncode != expect:
            sys.exit("command failed (%d): %s\n%s" % (result.returncode, " ".join(argv), result.stderr.decode()))
        times.append(elapsed)
    return statistics.median(times)


def probe_overhead(bs, runs, work, env):
    host = subprocess.run(["python3", "-c", "import sys; print(sys.executable)"], stdout=subprocess.PIPE, text=True).stdout.strip()
    in_sid = os.path.join(ROOT, "scripts", "in-sid")
    script = os.path.join(work, "workload.py")
    shutil.copy(os.path.join(HERE, "workload.py"), script)
    rows = []
    function_line, module_line = "workload.py:27", "workload.py:33"
    for label, prefix, line in (
        ("python 3.11, line in a function (rewrite)", [host], function_line),
        ("python 3.11, module-level line (settrace)", [host], module_line),
        ("python 3.14, line in a function (sys.monitoring)", [in_sid, "python3.14"], function_line),
        ("python 3.14, module-level line (sys.monitoring)", [in_sid, "python3.14"], module_line),
    ):
        bare = median_of(runs, prefix + [script], env, work)
        probed = median_of(runs, [bs, "probe", line, "--"] + prefix + [script], env, work)
        rows.append((label, bare, probed, 1.5))
    js = os.path.join(work, "workload.js")
    shutil.copy(os.path.join(HERE, "workload.js"), js)
    bare = median_of(runs, ["node", js], env, work)
    probed = median_of(runs, [bs, "probe", "workload.js:23", "--", "node", js], env, work)
    rows.append(("node (cdp)", bare, probed, 2.0))
    return rows


def session_latency(bs, runs, work, env, command, location, expression):
    """(median start-to-first-stop, {command: median latency}) for one language."""
    starts = []
    for _ in range(max(3, runs // 2)):
        elapsed, result = timed([bs, "start", "--break", location, "--"] + command, env, work)
        if result.returncode != 0 or b"Stopped at breakpoint" not in result.stdout:
            sys.exit("start failed:\n%s%s" % (result.stdout.decode(), result.stderr.decode()))
        starts.append(elapsed)
        subprocess.run([bs, "stop"], env=env, cwd=work, stdout=subprocess.DEVNULL)
    held = []
    for _ in range(max(3, runs // 2)):
        begin = time.perf_counter()
        for argv in (["start", "--"] + command, ["break", location], ["continue"]):
            result = subprocess.run([bs] + argv, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if result.returncode != 0:
                sys.exit("%s failed:\n%s%s" % (argv[0], result.stdout.decode(), result.stderr.decode()))
        if b"Stopped at breakpoint" not in result.stdout:
            sys.exit("continue did not stop at %s:\n%s" % (location, result.stdout.decode()))
        held.append(time.perf_counter() - begin)
        subprocess.run([bs, "stop"], env=env, cwd=work, stdout=subprocess.DEVNULL)
    subprocess.run([bs, "start", "--break", location, "--"] + command, env=env, cwd=work, stdout=subprocess.DEVNULL, check=True)
    latencies = {}
    for name, argv in (("vars", ["vars"]), ("stack", ["stack"]), ("eval", ["eval", expression])):
        latencies[name] = median_of(runs * 2, [bs] + argv, env, work)
    subprocess.run([bs, "stop"], env=env, cwd=work, stdout=subprocess.DEVNULL)
    return statistics.median(starts), statistics.median(held), latencies


def attach_latency(bs, runs, work, env):
    """(median attach-to-ready, {command: median latency}) on a running Python 3.14 process."""
    app = os.path.join(work, "service.py")
    shutil.copy(os.path.join(ROOT, "crates", "borescope", "tests", "fixtures", "attach", "service.py"), app)
    target = subprocess.Popen([os.path.join(ROOT, "scripts", "sid-python"), app], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        if "ready" not in target.stdout.readline():
            sys.exit("the attach target did not start")
        pid = str(target.pid)
        subprocess.run([bs, "sessions"], env=env, cwd=work, stdout=subprocess.DEVNULL, check=True)  # daemon up
        times = []
        for _ in range(runs):
            elapsed, result = timed([bs, "attach", pid], env, work)
            if result.returncode != 0:
                sys.exit("attach failed:\n%s%s" % (result.stdout.decode(), result.stderr.decode()))
            times.append(elapsed)
            subprocess.run([bs, "stop"], env=env, cwd=work, stdout=subprocess.DEVNULL, check=True)
        subprocess.run([bs, "attach", pid, "--break", "service.py:9"], env=env, cwd=work, stdout=subprocess.DEVNULL, check=True)
        subprocess.run([bs, "continue"], env=env, cwd=work, stdout=subprocess.DEVNULL, check=True)
        latencies = {}
        for name, argv in (("vars", ["vars"]), ("stack", ["stack"]), ("eval", ["eval", "total * 2"])):
            latencies[name] = median_of(runs * 2, [bs] + argv, env, work)
        subprocess.run([bs, "stop"], env=env, cwd=work, stdout=subprocess.DEVNULL)
        return statistics.median(times), latencies
    finally:
        target.kill()
        target.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    bs = binary()
    work = tempfile.mkdtemp(prefix="borescope-bench-", dir="/tmp")
    env = dict(os.environ)
    env["BORESCOPE_RUNTIME_DIR"] = os.path.join(work, "rt")
    env["BORESCOPE_CACHE_DIR"] = os.path.join(work, "cache")  # under /tmp: visible in the rootfs
    try:
        rows = probe_overhead(bs, args.runs, work, env)
        app = os.path.join(work, "app.py")
        shutil.copy(os.path.join(ROOT, "examples", "orders.py"), app)
        python = os.path.join(CACHE, "venv", "bin", "python")
        sessions = [("python", session_latency(bs, args.runs, work, env, [python, app], "app.py:16", "order.price * order.quantity"))]
        js = os.path.join(work, "orders.js")
        shutil.copy(os.path.join(ROOT, "crates", "borescope", "tests", "fixtures", "node", "orders.js"), js)
        os.makedirs(os.path.join(work, "lib"), exist_ok=True)
        shutil.copy(os.path.join(ROOT, "crates", "borescope", "tests", "fixtures", "node", "lib", "helper.js"), os.path.join(work, "lib", "helper.js"))
        sessions.append(("node", session_latency(bs, args.runs, work, env, ["node", js], "orders.js:20", "subtotal * 2")))
        attach = attach_latency(bs, args.runs, work, env)
    finally:
        subprocess.run([bs, "stop"], env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for pid_file in glob.glob(os.path.join(work, "rt", "build-*", "daemon.pid")):
            try:
                os.kill(int(open(pid_file).read()), 15)
            except (OSError, ValueError):
                pass
    print("borescope benchmarks (%s, median of %d runs)" % (bs, args.runs))
    print()
    print("(a) probe wall time vs bare run                                 bare      probe     ratio   goal")
    for label, bare, probed, goal in rows:
        ratio = probed / bare
        print("    %-55s %7.0f ms %7.0f ms %7.2fx   <= %.1fx %s" % (label, bare * 1000, probed * 1000, ratio, goal, "ok" if ratio <= goal else "MISSED"))
    print()
    print("(b) paused-session command latency (fresh CLI process per call), goal <= 10 ms")
    for language, (_, _, latencies) in sessions:
        cells = "   ".join("%s %5.1f ms" % (name, value * 1000) for name, value in latencies.items())
        verdict = "ok" if all(v <= 0.010 for v in latencies.values()) else "MISSED"
        print("    %-8s %s   %s" % (language, cells, verdict))
    print()
    print("(c) session start to ready (start --break ... until the stop report is printed)")
    for language, (start, _, _) in sessions:
        print("    %-8s %5.0f ms" % (language, start * 1000))
    print()
    print("(c') start (held), break FILE:LINE, continue -- three CLI calls, until the stop report is printed")
    for language, (_, held, _) in sessions:
        print("    %-8s %5.0f ms" % (language, held * 1000))
    print()
    ready, latencies = attach
    print("(d) attach to a running Python 3.14 process, until the session is ready (goal <= 500 ms)")
    print("    attach   %5.0f ms   %s" % (ready * 1000, "ok" if ready <= 0.5 else "MISSED"))
    cells = "   ".join("%s %5.1f ms" % (name, value * 1000) for name, value in latencies.items())
    print("    paused attached session: %s   %s" % (cells, "ok" if all(v <= 0.010 for v in latencies.values()) else "MISSED"))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
