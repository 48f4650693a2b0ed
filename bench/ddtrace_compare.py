#!/usr/bin/env python3
"""borescope's live snapshots side by side with Datadog Dynamic Instrumentation (ddtrace), one run.

What runs: the Flask app bench/dd_app.py (an order handler with a nested dict, a list of dicts and
a local named `password`) under gunicorn (1 worker, gthread, 4 threads, no access log), the same
command for every row; the app is pinned to CPU 1 and the load generator (wrk, 1 thread, 4
keep-alive connections), the local sink for ddtrace's uploads and `borescope server` to CPU 0, so
on this 2-core machine the client does not take the app's core (other jobs on the machine still
can: rows alternate within each round and the table shows the median and the spread).

Rows, for each agent: requests/s and its ratio to bare, and the app's CPU time per request (the
worker's and master's threads, from schedstat) and its ratio to bare, which other jobs on a busy
machine disturb much less than requests/s; each row is a fresh process, and the 3 s between its
start and the load give each agent's own CPU with no requests:
  bare          no agent (ddtrace installed in the same environment, not imported);
  idle          the agent loaded, no probes (ddtrace: DI on, an empty probe file; borescope:
                `borescope run`, no probe on the service);
  armed         a line probe with a snapshot on the `# BENCH: never` line (same handler, a branch
                no request takes), checked installed before measuring;
  hit           the same probe on the `# BENCH: hit` line, run by every request; each agent's
                default rate limit, 1 snapshot/s per probe for both (ddtrace
                DEFAULT_SNAPSHOT_PROBE_RATE, per process; borescope `--rate` 1, per instance),
                and the snapshots are checked to arrive and to hold the handler's locals.
Arming, median of the rounds, with light traffic (one client, ~200 requests/s) flowing:
  at run time   borescope: POST /api/v1/probes on the running app -> first snapshot stored
                (long-poll). ddtrace reads DD_DYNAMIC_INSTRUMENTATION_PROBE_FILE once, in
                Debugger.__init__ (`_load_local_config`), never again, so at run time its probes
                come only from Remote Configuration: the agent serves them at /v0.7/config, which
                the tracer polls every DD_REMOTE_CONFIG_POLL_INTERVAL_SECONDS (5 s, the default).
                The sink plays that agent: probe handed out -> first snapshot at the sink. A real
                agent adds its own poll of Datadog's backend, so this is ddtrace's best case.
  from start    process start with the probe already defined (ddtrace: the probe file;
                borescope: the probe on the server) -> first snapshot; and process start -> first
                answer (bare too), the start-up cost of each agent.

ddtrace settings (the agent is the sink, bench/dd_sink.py): DD_DYNAMIC_INSTRUMENTATION_ENABLED=true,
DD_DYNAMIC_INSTRUMENTATION_PROBE_FILE=<json list>, DD_TRACE_AGENT_URL=<sink>, DD_TRACE_ENABLED=false
(DI works without tracing, so no integration is patched and DI is measured alone),
DD_INSTRUMENTATION_TELEMETRY_ENABLED=false, DD_REMOTE_CONFIGURATION_ENABLED=false (DI turns remote
configuration back on by itself; the sink answers its polls, with no probes except in the run-time
arming rows), DD_SERVICE=ddcmp; loaded
the way `ddtrace-run` does it (its `bootstrap` directory first on PYTHONPATH), everything else
default. Snapshots go to /debugger/v2/input, probe statuses to /debugger/v1/diagnostics, batched
every second. borescope: `borescope run --server URL --key KEY --service ddcmp -- <same command>`
against a `borescope server` on a fresh SQLite database, probes with the API's defaults.

Versions: ddtrace 4.16.0, Flask 3.1.2, gunicorn 27.0.1 (pinned in scripts/bench-setup.sh, which
this bench runs first; idempotent), wrk (Debian). Interpreters: the host's Python 3.11 (its real
executable, through a venv under ~/.cache/borescope/bench/venv-ddtrace) and, with --python 3.14
or all, the sid rootfs's Python 3.14 (scripts/sid-python) with the same three packages as cp314
wheels on PYTHONPATH.

Usage: bench/ddtrace_compare.py [--python 3.11|3.14|all] [--rounds 5] [--seconds 5]
(run `cargo build --release` first, or set BORESCOPE; needs scripts/test-setup.sh's sid rootfs
for 3.14).
"""

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import CACHE, binary  # noqa: E402
from dd_sink import Sink  # noqa: E402
from dd_traffic import Traffic, cpu_seconds, free_port, get_json, wrk  # noqa: E402
from snapshots import Server, line_of, wait_installed  # noqa: E402

APP = os.path.join(HERE, "dd_app.py")
HIT = line_of("# BENCH: hit", APP)
NEVER = line_of("# BENCH: never", APP)
SERVICE = "ddcmp"
APP_CPU, LOAD_CPU = "1", "0"
BENCH_CACHE = os.path.join(CACHE, "bench")
MODES = ("idle", "armed", "hit")
QUIET = 3.0  # seconds without requests before each row, to measure each agent's background CPU


class Target(object):
    """One interpreter with Flask, gunicorn and ddtrace importable."""

    def __init__(self, label, python, pythonpath, ddtrace_dir):
        self.label = label
        self.python = python
        self.pythonpath = pythonpath
        self.bootstrap = os.path.join(ddtrace_dir, "bootstrap")


def targets(which):
    found = []
    if which in ("3.11", "all"):
        venv = os.path.join(BENCH_CACHE, "venv-ddtrace")
        ddtrace_dir = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages", "ddtrace"))[0]
        found.append(Target("host Python 3.11", [os.path.join(venv, "bin", "python")], [], ddtrace_dir))
    if which in ("3.14", "all"):
        site = os.path.join(BENCH_CACHE, "ddtrace-py314")
        if not os.path.isdir(os.path.join(site, "ddtrace")):
            raise SystemExit("no ddtrace for Python 3.14 at %s: run scripts/sid-rootfs.sh, then scripts/bench-setup.sh" % site)
        found.append(Target("sid Python 3.14", [os.path.join(ROOT, "scripts", "sid-python")], [site], os.path.join(site, "ddtrace")))
    return found


def ddtrace_probe(probe_id, line):
    """A line probe with a snapshot, as Datadog's UI makes one (capture limits left at their defaults)."""
    return {
        "id": probe_id,
        "version": 0,
        "type": "LOG_PROBE",
        "language": "python",
        "where": {"sourceFile": "dd_app.py", "lines": [str(line)]},
        "tags": [],
        "template": "order handled",
        "segments": [{"str": "order handled"}],
        "captureSnapshot": True,
    }


class Bench(object):
    """The sink, the borescope server and a scratch directory, shared by every row."""

    def __init__(self, bin_path, work):
        self.bin = bin_path
        self.work = work
        self.sink = Sink().start()
        self.server = Server(bin_path, os.path.join(work, "server"))
        self.key = self.server.call("POST", "/api/v1/keys", {"service": SERVICE})["key"]
        self.logs = []

    def close(self):
        """Stops the server and the sink, closes the apps' logs, removes the scratch directory."""
        self.server.stop()
        self.sink.stop()
        for log in self.logs:
            log.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def env(self, target, agent, probe_file):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("DD_", "BORESCOPE_AGENT")))
        env.pop("PYTHONPATH", None)
        env["PYTHONHASHSEED"] = "0"  # one string-hash layout for every row
        path = list(target.pythonpath)
        if agent == "ddtrace":
            path.insert(0, target.bootstrap)  # what `ddtrace-run` does
            env.update(
                DD_DYNAMIC_INSTRUMENTATION_ENABLED="true",
                DD_DYNAMIC_INSTRUMENTATION_PROBE_FILE=probe_file,
                DD_TRACE_AGENT_URL=self.sink.url,
                DD_TRACE_ENABLED="false",
                DD_INSTRUMENTATION_TELEMETRY_ENABLED="false",
                DD_REMOTE_CONFIGURATION_ENABLED="false",
                DD_SERVICE=SERVICE,
            )
        if path:
            env["PYTHONPATH"] = os.pathsep.join(path)
        return env

    def start(self, target, agent, port, probes=()):
        """The app under `agent` ("bare", "ddtrace", "borescope"); ddtrace gets `probes` in its file."""
        probe_file = os.path.join(self.work, "probes-%d.json" % port)
        with open(probe_file, "w") as f:
            json.dump(list(probes), f)
        argv = target.python + ["-m", "gunicorn", "--no-control-socket", "-w", "1", "-k", "gthread", "--threads", "4"]
        argv += ["-b", "127.0.0.1:%d" % port, "dd_app:app"]
        if agent == "borescope":
            argv = [self.bin, "run", "--server", self.server.url, "--key", self.key, "--service", SERVICE, "--"] + argv
        log = open(os.path.join(self.work, "app-%s-%d.log" % (agent, port)), "w+")
        self.logs.append(log)
        return subprocess.Popen(["taskset", "-c", APP_CPU] + argv, cwd=HERE, env=self.env(target, agent, probe_file), stdout=log, stderr=log)

    def fail(self, proc, what):
        proc.kill()
        proc.wait()
        log = self.logs[-1]
        log.seek(0)
        raise SystemExit("%s\n--- app output ---\n%s" % (what, log.read()[-4000:]))

    def wait_up(self, proc, port, timeout=60):
        """The worker's pid, once the app answers."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                self.fail(proc, "the app exited (%d) before answering" % proc.returncode)
            try:
                return get_json(port, "/pid")["pid"]
            except OSError:
                time.sleep(0.05)
        self.fail(proc, "the app did not answer within %d s" % timeout)

    def stop(self, proc):
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def row(self, target, agent, mode, seconds):
        """Requests/s of one row, measured on a fresh process; checks the probe did its job."""
        port = free_port()
        line = {"armed": NEVER, "hit": HIT}.get(mode)
        probes = [ddtrace_probe("bench-%s" % mode, line)] if agent == "ddtrace" and line else []
        self.sink.reset()
        proc = self.start(target, agent, port, probes)
        probe = None
        try:
            worker = self.wait_up(proc, port)
            if agent == "ddtrace" and probes and not self.sink.wait_status(probes[0]["id"], ("INSTALLED", "EMITTING"), 20):
                self.fail(proc, "ddtrace did not report probe %s installed: %r" % (probes[0]["id"], self.sink.statuses))
            if agent == "borescope" and line:
                probe = self.server.call("POST", "/api/v1/probes", {"service": SERVICE, "file": "dd_app.py", "line": line})
                wait_installed(self.server, probe["id"], worker)
            quiet = cpu_seconds([proc.pid, worker])
            time.sleep(QUIET)  # no requests: what the agent's own threads cost
            quiet = (cpu_seconds([proc.pid, worker]) - quiet) / QUIET
            url = "http://127.0.0.1:%d/order/7" % port
            wrk(url, 1, LOAD_CPU)  # warm-up
            before = self.snapshots(agent, probe)
            cpu = cpu_seconds([proc.pid, worker])
            rate, served = wrk(url, seconds, LOAD_CPU)
            cpu = (cpu_seconds([proc.pid, worker]) - cpu) / served
            time.sleep(1.2 if mode == "hit" else 0)  # ddtrace uploads once a second
            taken = self.snapshots(agent, probe) - before
            if mode == "hit" and taken < 1:
                self.fail(proc, "%s took no snapshot on a line every request runs" % agent)
            if mode == "armed" and taken:
                self.fail(proc, "%s took %d snapshots on a line no request runs" % (agent, taken))
            if mode == "hit":
                self.last_check = self.check_content(agent, probe)
            return rate, cpu, quiet, taken
        finally:
            self.stop(proc)
            if probe is not None:
                self.server.call("DELETE", "/api/v1/probes/%d" % probe["id"])

    def snapshots(self, agent, probe):
        if agent == "ddtrace":
            return self.sink.snapshots
        if probe is not None:
            return self.server.call("GET", "/api/v1/probes/%d" % probe["id"])["hits"]
        return 0

    def check_content(self, agent, probe):
        """What one hit snapshot holds, or exit: the handler's locals, the nested dict, `password` redacted."""
        if agent == "ddtrace":
            snapshot = self.sink.first_snapshot or {}
            frame = snapshot.get("captures", {}).get("lines", {}).get(str(HIT), {})
            found = frame.get("locals", {})
            address = dict((k["value"], v) for k, v in found.get("customer", {}).get("entries", [])).get("'ship_to'", {})
            nested = "customer['ship_to'] is a %s of %d entries" % (address.get("type"), len(address.get("entries", [])))
            nested_ok = address.get("type") == "dict" and len(address.get("entries", [])) == 2
            secret = found.get("password", {}).get("notCapturedReason") == "redactedIdent"
        else:
            page = self.server.call("GET", "/api/v1/snapshots?probe=%d&limit=1" % probe["id"])
            found = dict((v["name"], v) for v in (page["snapshots"][0]["locals"] if page["snapshots"] else []))
            text = found.get("customer", {}).get("value", "")
            nested_ok = "'ship_to': {'city': 'London', 'zip': 'W1'}" in text
            nested = "customer = %s" % text
            secret = bool(found.get("password", {}).get("redacted"))
        wanted = {"customer", "items", "password", "total", "status"}
        if not wanted <= set(found) or not nested_ok or not secret:
            raise SystemExit("%s's snapshot lacks the handler's locals (%s), customer's ship_to (%s) or the redaction" % (agent, sorted(found), nested))
        return "%s's snapshot: locals %s; %s; password redacted" % (agent, ", ".join(sorted(found)), nested)


def arm_at_run_time(bench, target, agent):
    """Probe created on a running app with traffic -> first snapshot received, in s. borescope: POST
    /api/v1/probes, then the server's long-poll; ddtrace: the probe appears in the sink's remote
    configuration (what the agent serves once the probe is made in Datadog's UI), then the sink."""
    port = free_port()
    bench.sink.serve_probes([])
    proc = bench.start(target, agent, port)
    traffic = None
    try:
        bench.wait_up(proc, port)
        traffic = Traffic(port)
        time.sleep(0.5)  # the agent is up and polling
        bench.sink.reset()
        started = time.perf_counter()
        if agent == "ddtrace":
            bench.sink.serve_probes([ddtrace_probe("bench-rc", HIT)])
            got = bench.sink.wait_snapshot(30)
            bench.sink.serve_probes([])
            elapsed = got - started if got else None
        else:
            probe = bench.server.call("POST", "/api/v1/probes", {"service": SERVICE, "file": "dd_app.py", "line": HIT})
            page = bench.server.call("GET", "/api/v1/snapshots?probe=%d&wait=30" % probe["id"], timeout=40)
            elapsed = time.perf_counter() - started if page["snapshots"] else None
            bench.server.call("DELETE", "/api/v1/probes/%d" % probe["id"])
        if elapsed is None:
            bench.fail(proc, "%s: no snapshot within 30 s of creating the probe" % agent)
        return elapsed
    finally:
        if traffic is not None:
            traffic.stop()
        bench.stop(proc)


def arm_from_start(bench, target, agent):
    """(process start -> first snapshot, process start -> first response), in s, probe defined first."""
    port = free_port()
    probes, probe = [], None
    bench.sink.reset()
    if agent == "ddtrace":
        probes = [ddtrace_probe("bench-start", HIT)]
    elif agent == "borescope":
        probe = bench.server.call("POST", "/api/v1/probes", {"service": SERVICE, "file": "dd_app.py", "line": HIT})
    traffic = Traffic(port)
    started = time.perf_counter()
    proc = bench.start(target, agent, port, probes)
    try:
        snapshot = None
        if agent == "ddtrace":
            snapshot = bench.sink.wait_snapshot(30)
        elif agent == "borescope":
            page = bench.server.call("GET", "/api/v1/snapshots?probe=%d&wait=30" % probe["id"], timeout=40)
            snapshot = time.perf_counter() if page["snapshots"] else None
        deadline = time.time() + 30
        while traffic.first_ok is None and time.time() < deadline and proc.poll() is None:
            time.sleep(0.005)
        if traffic.first_ok is None or (agent != "bare" and snapshot is None):
            bench.fail(proc, "%s: no %s within 30 s of starting" % (agent, "answer" if traffic.first_ok is None else "snapshot"))
        return (snapshot - started if snapshot else None), traffic.first_ok - started
    finally:
        traffic.stop()
        bench.stop(proc)
        if probe is not None:
            bench.server.call("DELETE", "/api/v1/probes/%d" % probe["id"])


def spread(values):
    return (max(values) - min(values)) / statistics.median(values) if len(values) > 1 else 0.0


def report(target, versions, rates, cpus, quiets, taken, arming, checks, rounds, seconds):
    bare, bare_cpu = statistics.median(rates["bare"]), statistics.median(cpus["bare"])
    print("\n%s: gunicorn 1 worker x 4 threads on CPU %s; wrk 4 connections, %d s a row, on CPU %s; median of %d rounds"
          % (versions["python"], APP_CPU, seconds, LOAD_CPU, rounds))
    print("req/s and its ratio to bare (spread: (max - min) / median over the rounds); app CPU per request (worker's and")
    print("master's threads, schedstat) and its ratio to bare, which other jobs on the machine disturb less")
    print("%-42s | %-39s | %-39s" % ("", "ddtrace %s (DI, tracing off)" % versions["ddtrace"], "borescope %s" % versions["borescope"]))
    head = "%7s %6s %6s %9s %6s" % ("req/s", "x bare", "spread", "CPU us/r", "x bare")
    print("%-42s | %s | %s" % ("row", head, head))

    def cells(key):
        rate, cpu = statistics.median(rates[key]), statistics.median(cpus[key])
        return "%7.0f %6.3f %5.0f%% %9.0f %6.3f" % (rate, rate / bare, 100 * spread(rates[key]), 1e6 * cpu, cpu / bare_cpu)

    print("%-42s | %s | (the same bare row)" % ("bare (no agent)", cells("bare")))
    labels = {"idle": "agent idle (loaded, no probes)", "armed": "probe armed on a line never run", "hit": "probe hit every request (1 snapshot/s)"}
    for mode in MODES:
        print("%-42s | %s | %s" % (labels[mode], cells("ddtrace-" + mode), cells("borescope-" + mode)))

    def ms(values):
        values = [v for v in values if v is not None]
        return "%6.0f ms (max %.0f)" % (1000 * statistics.median(values), 1000 * max(values)) if values else "n/a"

    print("%-42s | %-39s | %s" % ("arming: probe made at run time -> 1st snap", ms(arming["ddtrace-runtime"]) + " (RC)", ms(arming["borescope-runtime"])))
    print("%-42s | %-39s | %s" % ("arming: process start -> 1st snapshot", ms(arming["ddtrace-start"]), ms(arming["borescope-start"])))
    print("%-42s | %-39s | %s" % ("start -> 1st answer (bare %s)" % ms(arming["bare-response"]).split(" (")[0].strip(),
                                   ms(arming["ddtrace-response"]), ms(arming["borescope-response"])))
    print("app CPU with no requests, ms per s (the %.0f s after start, before each row): bare %.1f; ddtrace idle/armed/hit %s; borescope %s" % (
        QUIET, 1000 * statistics.median(quiets["bare"]),
        "/".join("%.1f" % (1000 * statistics.median(quiets["ddtrace-" + m])) for m in MODES),
        "/".join("%.1f" % (1000 * statistics.median(quiets["borescope-" + m])) for m in MODES)))
    print("snapshots counted while each hit row ran (%d s, about 1/s): ddtrace %s, borescope %s" % (seconds, taken["ddtrace"], taken["borescope"]))
    for line in checks:
        print("checked " + line)


def versions_of(bench, target):
    python = subprocess.run(target.python + ["-c", "import platform; print(platform.python_version())"], capture_output=True, text=True)
    ddtrace = glob.glob(os.path.join(os.path.dirname(os.path.dirname(target.bootstrap)), "ddtrace-*.dist-info"))
    borescope = subprocess.run([bench.bin, "--version"], capture_output=True, text=True).stdout.split()
    return {
        "python": "%s Python %s" % (target.label.split()[0], python.stdout.strip()),
        "ddtrace": os.path.basename(ddtrace[0])[len("ddtrace-"):-len(".dist-info")] if ddtrace else "?",
        "borescope": borescope[-1] if borescope else "?",
    }


def run_target(bench, target, rounds, seconds):
    order = [("bare", "")] + [(agent, mode) for mode in MODES for agent in ("ddtrace", "borescope")]
    rates = dict(("bare" if agent == "bare" else agent + "-" + mode, []) for agent, mode in order)
    cpus = dict((key, []) for key in rates)
    quiets = dict((key, []) for key in rates)
    taken = {"ddtrace": [], "borescope": []}
    checks = []
    for round_number in range(rounds):
        # Odd rounds run the rows backwards, so neither agent always follows the other.
        for agent, mode in (order if round_number % 2 == 0 else order[::-1]):
            key = "bare" if agent == "bare" else agent + "-" + mode
            print("  %s round %d: %s" % (target.label, round_number + 1, key), file=sys.stderr, flush=True)
            rate, cpu, quiet, count = bench.row(target, agent, mode, seconds)
            rates[key].append(rate)
            cpus[key].append(cpu)
            quiets[key].append(quiet)
            if mode == "hit":
                taken[agent].append(count)
                if round_number == 0:
                    checks.append(bench.last_check)
    arming = dict((key, []) for key in ("ddtrace-runtime", "borescope-runtime", "ddtrace-start", "borescope-start", "bare-response", "ddtrace-response", "borescope-response"))
    for round_number in range(rounds):
        print("  %s arming round %d" % (target.label, round_number + 1), file=sys.stderr, flush=True)
        turn = 1 if round_number % 2 == 0 else -1
        for agent in ("ddtrace", "borescope")[::turn]:
            arming[agent + "-runtime"].append(arm_at_run_time(bench, target, agent))
        for agent in ("bare", "ddtrace", "borescope")[::turn]:
            snapshot, response = arm_from_start(bench, target, agent)
            arming[agent + "-response"].append(response)
            if agent != "bare":
                arming[agent + "-start"].append(snapshot)
    report(target, versions_of(bench, target), rates, cpus, quiets, taken, arming, checks, rounds, seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", choices=("3.11", "3.14", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "bench-setup.sh")], check=True)
    if not shutil.which("wrk"):
        raise SystemExit("no wrk: run scripts/bench-setup.sh")
    bin_path = binary()
    os.sched_setaffinity(0, {int(LOAD_CPU)})  # the sink, the server (a child) and wrk share CPU 0
    work = tempfile.mkdtemp(prefix="bs-ddcmp-")
    bench = Bench(bin_path, work)
    try:
        print("borescope %s; ddtrace's sink %s; borescope server %s" % (bin_path, bench.sink.url, bench.server.url))
        for target in targets(args.python):
            run_target(bench, target, args.rounds, args.seconds)
    finally:
        bench.close()


if __name__ == "__main__":
    main()
