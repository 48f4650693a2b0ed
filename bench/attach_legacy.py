#!/usr/bin/env python3
"""Attach to a ready session on Python 3.11 and 3.13 (no PEP 768): borescope vs debugpy `--pid`.

For each interpreter, each run starts a fresh target process (bench/attach_target.py: an idle
service, never debugged before, so every attach is a first attach that imports debugpy) and
times one tool from the moment its command starts until a debugger session is READY, defined
the same way for both:

    a DAP client is connected to debugpy running inside the target and has completed
    initialize -> attach -> (initialized) -> setExceptionBreakpoints -> configurationDone,
    with the answers to configurationDone and attach received, and the tool's command has
    exited (the target is no longer held by it).

  borescope   `borescope attach PID` (daemon already running, as after any earlier command):
              it exits only after its daemon completed exactly that handshake with the
              debugpy it started in the target (ptrace pending call on < 3.14).
  debugpy     `python -m debugpy --listen 127.0.0.1:PORT --pid PID` (debugpy 1.8.22, which on
              < 3.14 injects with gdb), then this script's own DAP client connects to PORT and
              runs the handshake above. The command and the client are timed together.

Targets (--python):
  3.11          the host's pyenv build (its real executable, not the shim), nothing installed:
                borescope ships its copy of debugpy in, with byte-code its daemon compiled
                for this interpreter after the first (warm-up) attach
  3.11+debugpy  the same interpreter in the test venv, which has debugpy 1.8.22 installed
  3.13          Debian sid's /usr/bin/python3.13 in the sid rootfs, chrooted by scripts/in-sid
                (the container stand-in), with the rootfs's own debugpy 1.8.20
  3.14          the rootfs's python3.14 likewise (PEP 768; to check the harness)
debugpy --pid always injects its own 1.8.22, copied under /tmp (which the chroot shares: gdb
makes the target dlopen debugpy's attach library and import debugpy by the injector's paths)
and byte-compiled by every interpreter measured, as an installed debugpy would be. Into the
chroot, gdb would read the HOST's libc for the target's and call `dlopen` at a wrong address
(it crashes the target), so debugpy's gdb gets `set sysroot /proc/PID/root` and the target's
executable through a `gdb` wrapper first on its PATH (see gdb_wrapper()). Targets run without
the caller's PYTHON* variables. Each tool attaches once per interpreter before the timed runs
(not counted): one-time costs such as borescope filling its cache of debugpy to ship, or an
installed debugpy's byte-code written on its first import, stay out of the medians.

While attaching, the target's threads each wake every millisecond and remember their longest
gap: the main thread (Python), another Python thread (needs the GIL), and a native thread that
never takes the GIL (stopped only by the operating system: gdb stops every thread, borescope's
ptrace stop only the main thread). The window runs from just before the tool starts until
--settle seconds after ready. An audit hook in the target also times how long the main thread
was held (its last wake-up until the tool's first Python code ran in it).

Goals: borescope <= 0.5 s to ready, and >= 3x faster than debugpy --pid.

Usage: bench/attach_legacy.py [--runs 5] [--python 3.11,3.11+debugpy,3.13] [--tool borescope,debugpy]
BORESCOPE: the binary (default $CARGO_TARGET_DIR/{release,debug}/borescope). Needs
scripts/test-setup.sh (pyenv 3.11, venv with debugpy 1.8.22, sid rootfs) and
scripts/bench-setup.sh (gdb); a C compiler for the native ticker thread. Runs as root (in-sid).
"""

import argparse
import datetime
import glob
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.environ.get("BORESCOPE_TEST_CACHE", os.path.expanduser("~/.cache/borescope"))
sys.path.insert(0, HERE)
from bench import binary  # noqa: E402

GOAL_SECONDS = 0.5
GOAL_RATIO = 3.0
READY_TIMEOUT = 60.0


def host_python311():
    """The pyenv build's real executable (a shim would add a bash process to every start)."""
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11.*/bin/python3.11")),
                   key=lambda p: [int(x) for x in p.split("/versions/")[1].split("/")[0].split(".")])
    if not found:
        sys.exit("no pyenv Python 3.11 under ~/.pyenv/versions (scripts/test-setup.sh)")
    return found[-1]


def interpreters():
    """--python choices: (where, the command that runs a script with it)."""
    in_sid = os.path.join(ROOT, "scripts", "in-sid")
    return {
        "3.11": ("host pyenv, no debugpy", [host_python311()]),
        "3.11+debugpy": ("host venv with debugpy", [os.path.join(CACHE, "venv", "bin", "python")]),
        "3.13": ("sid chroot, its debugpy", [in_sid, "python3.13"]),
        "3.14": ("sid chroot, its debugpy", [in_sid, "python3.14"]),
    }


def target_env():
    """The caller's environment less its Python settings (PYTHONDONTWRITEBYTECODE, PYTHONPATH,
    ...): the target runs as a service would, whatever shell the bench is started from."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}


# ---------------------------------------------------------------------------------------------
# The target program


class Target:
    """One fresh bench/attach_target.py process; stopped with everything it started."""

    def __init__(self, argv, work, ticker):
        self.log = open(os.path.join(work, "target-%d.log" % time.monotonic_ns()), "w")
        script = os.path.join(work, "attach_target.py")
        self.process = subprocess.Popen(argv + [script] + ([ticker] if ticker else []), cwd=work, env=target_env(),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                        text=True, start_new_session=True)
        line = self.process.stdout.readline()
        if not line.startswith("ready pid="):
            self.stop()
            sys.exit("the attach target did not start: %r (log: %s)" % (line, self.log.name))
        self.pid = int(line.split("=", 1)[1])  # the host's pid: in-sid adds no PID namespace
        time.sleep(0.2)  # its tickers are running

    def ask(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def reset(self):
        if self.ask("reset") != "ok":
            sys.exit("the attach target did not reset its tickers (log: %s)" % self.log.name)

    def report(self):
        return json.loads(self.ask("report"))

    def stop(self):
        doomed = descendants(self.process.pid)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in doomed:  # e.g. debugpy's adapter, should it have left the session
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        self.log.close()


def descendants(pid):
    children = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = open(stat).read()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


# ---------------------------------------------------------------------------------------------
# debugpy --pid and its DAP client


class Dap:
    """A minimal DAP client: requests in order, events remembered."""

    def __init__(self, port, deadline):
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError("nothing listens on 127.0.0.1:%d" % port)
                time.sleep(0.005)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(max(0.1, deadline - time.monotonic()))
        self.buffer = b""
        self.seq = 0
        self.messages = []

    def send(self, command, arguments=None):
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command,
                           "arguments": arguments or {}}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        return self.seq

    def read(self):
        while b"\r\n\r\n" not in self.buffer:
            self.fill()
        header, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        length = int([h for h in header.split(b"\r\n") if h.lower().startswith(b"content-length:")][0].split(b":")[1])
        while len(self.buffer) < length:
            self.fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return json.loads(body)

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("debugpy closed the connection")
        self.buffer += chunk

    def wait(self, predicate):
        for message in self.messages:
            if predicate(message):
                self.messages.remove(message)
                return message
        while True:
            message = self.read()
            if predicate(message):
                return message
            self.messages.append(message)

    def response(self, seq):
        answer = self.wait(lambda m: m.get("type") == "response" and m.get("request_seq") == seq)
        if not answer.get("success"):
            raise RuntimeError("DAP %s failed: %s" % (answer.get("command"), answer.get("message")))
        return answer

    def handshake(self):
        """initialize, attach, initialized, exception filters, configurationDone: ready."""
        self.response(self.send("initialize", {"clientID": "bench", "adapterID": "debugpy", "pathFormat": "path",
                                               "linesStartAt1": True, "columnsStartAt1": True}))
        attach = self.send("attach", {"justMyCode": False, "redirectOutput": True})
        self.wait(lambda m: m.get("type") == "event" and m.get("event") == "initialized")
        self.response(self.send("setExceptionBreakpoints", {"filters": []}))
        self.response(self.send("configurationDone"))
        self.response(attach)

    def close(self):
        try:
            self.send("disconnect", {"terminateDebuggee": False})
        except OSError:
            pass
        self.sock.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gdb_wrapper(work):
    """A `gdb` for debugpy's injector that reads the target's own files.

    gdb resolves the shared libraries of a chrooted process as paths of ITS root (the host's):
    it would take the host's libc symbols for the target's libc and call `dlopen` at a wrong
    address. With the target's root as sysroot and its executable named explicitly, the
    libraries and symbols are the target's. For a process in our own root it changes nothing
    (and is not used: see DebugpyPid)."""
    directory = os.path.join(work, "gdb-sysroot")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "gdb")
    real = shutil.which("gdb")
    with open(path, "w") as out:
        out.write("""#!/bin/sh
# bench/attach_legacy.py: gdb reading a chrooted target's libraries from its own root.
pid=
prev=
for arg in "$@"; do
  [ "$prev" = --pid ] && pid=$arg
  prev=$arg
done
exec %s -iex "set sysroot /proc/$pid/root" -iex "file /proc/$pid/exe" "$@"
""" % real)
    os.chmod(path, 0o755)
    return directory


class DebugpyPid:
    """`python -m debugpy --listen 127.0.0.1:PORT --pid PID` with debugpy 1.8.22 (under /tmp).

    The copy is byte-compiled by every interpreter measured, as an installed debugpy would be
    for its own Python, so no run pays for compiling debugpy's sources."""

    def __init__(self, work, pythons):
        source = glob.glob(os.path.join(CACHE, "venv", "lib", "python3.*", "site-packages", "debugpy"))
        if not source:
            sys.exit("no debugpy in %s/venv (scripts/test-setup.sh)" % CACHE)
        self.site = os.path.join(work, "debugpy-site")
        shutil.copytree(source[0], os.path.join(self.site, "debugpy"), ignore=shutil.ignore_patterns("__pycache__"))
        for argv in pythons:
            subprocess.run(argv + ["-m", "compileall", "-q", os.path.join(self.site, "debugpy")], env=target_env(),
                           cwd=work, stdout=subprocess.DEVNULL, check=True)
        self.python = host_python311()
        self.version = subprocess.run([self.python, "-c", "import debugpy; print(debugpy.__version__)"],
                                      env=dict(os.environ, PYTHONPATH=self.site), capture_output=True,
                                      text=True).stdout.strip()
        self.wrapper = gdb_wrapper(work)
        if not shutil.which("gdb"):
            sys.exit("no gdb: run scripts/bench-setup.sh")
        self.work = work

    def attach(self, target):
        """(seconds to ready, seconds the injector command took)."""
        port = free_port()
        env = dict(os.environ, PYTHONPATH=self.site)
        own_root = os.stat("/")
        their_root = os.stat("/proc/%d/root" % target.pid)
        if (own_root.st_dev, own_root.st_ino) != (their_root.st_dev, their_root.st_ino):
            env["PATH"] = self.wrapper + os.pathsep + env.get("PATH", "")
        argv = [self.python, "-m", "debugpy", "--listen", "127.0.0.1:%d" % port, "--pid", str(target.pid)]
        start = time.perf_counter()
        injected = subprocess.run(argv, env=env, cwd=self.work, capture_output=True, text=True, timeout=READY_TIMEOUT)
        inject_seconds = time.perf_counter() - start
        if injected.returncode != 0:
            raise RuntimeError("debugpy --pid failed (%d): %s" % (injected.returncode, tail(injected.stderr or injected.stdout)))
        client = Dap(port, time.monotonic() + READY_TIMEOUT)
        try:
            client.handshake()
        except Exception:
            client.close()
            raise
        ready = time.perf_counter() - start
        self.client = client
        return ready, inject_seconds

    def detach(self, target):
        self.client.close()


def tail(text, lines=3):
    return " | ".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# borescope attach


class Borescope:
    """`borescope attach PID`, with a daemon of its own whose log has borescope-inject's debug
    lines: each ptrace stop of the main thread is logged when the thread is stopped and when it
    is released, which times the stop (a shade short: the wait for the stop comes before)."""

    def __init__(self, work):
        self.binary = binary()
        self.env = dict(os.environ)
        self.env["BORESCOPE_RUNTIME_DIR"] = os.path.join(work, "rt")
        self.env["BORESCOPE_CACHE_DIR"] = os.path.join(work, "cache")  # under /tmp: visible in the rootfs
        self.env["RUST_LOG"] = "warn,borescope_inject=debug"
        self.work = work
        subprocess.run([self.binary, "sessions"], env=self.env, cwd=work, stdout=subprocess.DEVNULL, check=True)
        self.log_offset = 0

    def daemon_log(self):
        found = glob.glob(os.path.join(self.work, "rt", "build-*", "daemon.log"))
        return found[0] if found else None

    def ptrace_stops(self):
        """The durations of the ptrace stops logged since the last attach started."""
        log = self.daemon_log()
        if log is None:
            return []
        with open(log, "rb") as lines:
            lines.seek(self.log_offset)
            text = re.sub(r"\x1b\[[0-9;]*m", "", lines.read().decode("utf-8", "replace"))
        stops, stopped_at = [], None
        for line in text.splitlines():
            stamp = line.split(" ", 1)[0]
            if "thread stopped" in line:
                stopped_at = stamp
            elif "thread restored and released" in line and stopped_at is not None:
                parse = lambda t: datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
                stops.append((parse(stamp) - parse(stopped_at)).total_seconds())
                stopped_at = None
        return stops

    def attach(self, target):
        log = self.daemon_log()
        self.log_offset = os.path.getsize(log) if log else 0
        start = time.perf_counter()
        result = subprocess.run([self.binary, "attach", str(target.pid)], env=self.env, cwd=self.work,
                                capture_output=True, text=True, timeout=READY_TIMEOUT)
        ready = time.perf_counter() - start
        if result.returncode != 0 or "attached to pid %d" % target.pid not in result.stdout:
            raise RuntimeError("borescope attach failed (%d): %s" % (result.returncode, tail(result.stderr or result.stdout)))
        return ready, None

    def detach(self, target):
        subprocess.run([self.binary, "stop"], env=self.env, cwd=self.work, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=READY_TIMEOUT)

    def close(self):
        subprocess.run([self.binary, "stop"], env=self.env, cwd=self.work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for pid_file in glob.glob(os.path.join(self.work, "rt", "build-*", "daemon.pid")):
            try:
                os.kill(int(open(pid_file).read()), signal.SIGTERM)
            except (OSError, ValueError):
                pass


# ---------------------------------------------------------------------------------------------
# Running and reporting


def build_ticker(work):
    """bench/attach_ticker.c as a shared library under /tmp (visible in the chroot), or None."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        print("(no C compiler: the native-thread column is left out)", file=sys.stderr)
        return None
    out = os.path.join(work, "attach_ticker.so")
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-pthread", "-o", out, os.path.join(HERE, "attach_ticker.c")], check=True)
    return out


def measure(tool, argv, work, ticker, settle):
    """One fresh target, one attach: {"ready", "inject", "gaps"} or {"error"}."""
    target = Target(argv, work, ticker)
    try:
        target.reset()
        try:
            ready, inject = tool.attach(target)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
            return {"error": str(error)}
        time.sleep(settle)
        gaps = target.report()
        stops = tool.ptrace_stops() if isinstance(tool, Borescope) else []
        gaps["ptrace"] = max(stops) if stops else None
        tool.detach(target)
        return {"ready": ready, "inject": inject, "gaps": gaps, "stops": len(stops)}
    finally:
        target.stop()


def shown(outcome):
    return "%.3f s" % outcome["ready"] if "ready" in outcome else "failed: " + outcome["error"]


def summarise(samples):
    return statistics.median(samples), min(samples), max(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default="3.11,3.11+debugpy,3.13",
                        help="comma-separated: 3.11 (nothing installed), 3.11+debugpy, 3.13, 3.14")
    parser.add_argument("--tool", default="borescope,debugpy", help="comma-separated: borescope, debugpy")
    parser.add_argument("--settle", type=float, default=0.5, help="seconds after ready still counted for the target's gaps")
    args = parser.parse_args()
    known = interpreters()
    versions = [v.strip() for v in args.python.split(",") if v.strip()]
    for version in versions:
        if version not in known:
            sys.exit("unknown --python %s (one of %s)" % (version, ", ".join(known)))
    names = [t.strip() for t in args.tool.split(",") if t.strip()]
    for name in names:
        if name not in ("borescope", "debugpy"):
            sys.exit("unknown --tool %s (borescope or debugpy)" % name)

    work = tempfile.mkdtemp(prefix="borescope-attach-bench-", dir="/tmp")  # /tmp: shared with the chroot
    os.chmod(work, 0o755)
    shutil.copy(os.path.join(HERE, "attach_target.py"), work)
    ticker = build_ticker(work)
    tools = {}
    results = {}
    try:
        if "borescope" in names:
            tools["borescope"] = Borescope(work)
        if "debugpy" in names:
            tools["debugpy"] = DebugpyPid(work, [known[v][1] for v in versions])
        for version in versions:
            _, argv = known[version]
            for name in names:  # not counted: one-time costs (borescope's cache of debugpy to ship)
                outcome = measure(tools[name], argv, work, ticker, 0)
                print("  [%s %s warm-up] %s" % (name, version, shown(outcome)), file=sys.stderr, flush=True)
            for run in range(args.runs):
                for name in names:  # interleaved, so load on the machine falls on both alike
                    outcome = measure(tools[name], argv, work, ticker, args.settle)
                    results.setdefault((version, name), []).append(outcome)
                    print("  [%s %s run %d] %s" % (name, version, run + 1, shown(outcome)), file=sys.stderr, flush=True)
    finally:
        if "borescope" in tools:
            tools["borescope"].close()
    report(results, versions, names, known, tools, args)
    shutil.rmtree(work, ignore_errors=True)


def report(results, versions, names, known, tools, args):
    labels = {v: "%s (%s)" % (v, known[v][0]) for v in versions}
    width = max(len(label) for label in labels.values())
    print()
    print("attach to a ready session (DAP handshake answered), a fresh process per run, median of %d" % args.runs)
    if "borescope" in tools:
        print("  borescope: %s" % tools["borescope"].binary)
    if "debugpy" in tools:
        print("  debugpy:   %s --pid (gdb), injector %s" % (tools["debugpy"].version, tools["debugpy"].python))
    print()
    print("  %-*s %-10s %9s %9s %9s   %s   %s" % (width, "python", "tool", "median", "min", "max", "debugpy/borescope", "goal"))
    medians = {}
    for version in versions:
        for name in names:
            outcomes = results.get((version, name), [])
            good = [o for o in outcomes if "ready" in o]
            label = "%-*s %-10s" % (width, labels[version], name)
            if len(good) < len(outcomes) or not good:
                errors = sorted({o["error"] for o in outcomes if "error" in o})
                print("  %s failed %d of %d: %s" % (label, len(outcomes) - len(good), len(outcomes), errors[0][:160]))
                continue
            median, low, high = summarise([o["ready"] for o in good])
            medians[(version, name)] = median
            verdict = ratio = ""
            if name == "borescope":
                verdict = "<= %.1f s %s" % (GOAL_SECONDS, "ok" if median <= GOAL_SECONDS else "MISSED")
            if name == "debugpy" and (version, "borescope") in medians:
                value = median / medians[(version, "borescope")]
                ratio = "%.1fx" % value
                verdict = ">= %.0fx %s" % (GOAL_RATIO, "ok" if value >= GOAL_RATIO else "MISSED")
            print("  %s %7.3f s %7.3f s %7.3f s   %17s   %s" % (label, median, low, high, ratio, verdict))
    for version in versions:
        values = [o["inject"] for o in results.get((version, "debugpy"), []) if o.get("inject") is not None]
        if values:
            print("  (debugpy on %s: its --pid command, gdb included, is %.3f s of that; the rest is the DAP handshake)"
                  % (version, statistics.median(values)))
    print()
    print("the target's threads, from the tool's start to %.1f s after ready (median over the runs)" % args.settle)
    print("  ptrace  borescope's longest ptrace stop of the main thread (its own debug log; no other thread stops)")
    print("  held    the main thread, from its last wake-up until the tool's first Python code ran in it")
    print("          (stopped under ptrace or gdb, or waiting for its next safe point)")
    print("  main    the longest gap between two wake-ups (every 1 ms; 1-2 ms is normal) of the main thread,")
    print("          which also runs the attach's own Python (importing and starting debugpy)")
    print("  python  the same for another Python thread (it waits while anything holds the GIL)")
    print("  native  the same for a C thread that never takes the GIL: only the operating system stops it")
    print("          (gdb stops every thread; borescope's ptrace only the main thread)")
    print()
    print("  %-*s %-10s %10s %10s %10s %10s %10s" % (width, "python", "tool", "ptrace", "held", "main", "python", "native"))
    for version in versions:
        for name in names:
            good = [o for o in results.get((version, name), []) if "gaps" in o]
            if not good:
                continue
            cells = []
            for key in ("ptrace", "held", "main", "python", "native"):
                values = [o["gaps"][key] for o in good if o["gaps"][key] is not None]
                cells.append("%7.1f ms" % (statistics.median(values) * 1000) if values else "%10s" % "-")
            counts = sorted({o["stops"] for o in good if o["stops"]})
            print("  %-*s %-10s %s%s" % (width, labels[version], name, " ".join(cells),
                                       "   (%s stops per attach)" % "/".join(map(str, counts)) if counts else ""))


if __name__ == "__main__":
    main()
