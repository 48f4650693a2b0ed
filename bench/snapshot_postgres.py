#!/usr/bin/env python3
"""`borescope server` on Postgres: ingest with 1 and 2 replicas, idle long polls, and wakeups
across replicas, printed as one table.

It starts its own PostgreSQL with `scripts/postgres-private up --durable` (Debian's package,
initdb in a temporary directory as an unprivileged user, a private loopback port, Postgres's
durable defaults: fsync on, synchronous_commit on), and its own servers
(`borescope server --database postgres://...`), and removes everything at the end.

  1. Ingest: for 1 and 2 replicas on one database, 8, 16 and 32 concurrent agents (the
     uploader of bench/snapshot_ingest.py: threads with keep-alive connections sending gzip
     batches of ~4 KB snapshots; with 2 replicas the agents are split between them), flat out
     (snapshots/s, p50/p99 upload latency), then paced at half that rate (p99 at a load the
     servers sustain).
  2. Idle: 100 instances long-polling one server (as agents do, 20 s polls) for 30 s; the
     server's CPU from /proc/PID/stat (goal <= 2 % of one core).
  3. Across replicas: an agent long-polls replica B, a probe is created through replica A;
     the time from the create request to B's answer (median and p99 of --probes runs).

Usage: bench/snapshot_postgres.py [--seconds 8] [--batch 20] [--size 4096] [--probes 50]
(builds nothing: run `cargo build --release -p borescope` first, or set BORESCOPE to the binary)
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import binary  # noqa: E402
from snapshot_ingest import call, phase, snapshot  # noqa: E402  (the one uploader)

TOKEN = "bench-admin-token-0123456789"
POSTGRES = os.path.join(ROOT, "scripts", "postgres-private")


class Postgres(object):
    """A private PostgreSQL (scripts/postgres-private), reaped when this process ends."""

    def __init__(self):
        self.state = tempfile.mkdtemp(prefix="bspg-bench-")
        os.rmdir(self.state)  # `up` wants a new or empty directory, and makes it owned by the server's user
        out = subprocess.run([POSTGRES, "up", self.state, "--durable", "--watch-pid", str(os.getpid())],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("cannot start PostgreSQL (run scripts/test-setup.sh): " + out.stderr.strip())
        self.n = 0

    def database(self):
        self.n += 1
        out = subprocess.run([POSTGRES, "createdb", self.state, f"bench{self.n}"], capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def version(self):
        with open(os.path.join(self.state, "data", "PG_VERSION")) as f:
            return f.read().strip()

    def down(self):
        subprocess.run([POSTGRES, "down", self.state], capture_output=True)


class Replica(object):
    """One `borescope server` on the database."""

    def __init__(self, url):
        self.process = subprocess.Popen(
            [binary(), "server", "--listen", "127.0.0.1:0", "--database", url, "--token", TOKEN, "--json"],
            stdout=subprocess.PIPE, text=True)
        self.addr = json.loads(self.process.stdout.readline())["listen"]

    def conn(self, timeout=30):
        host, port = self.addr.rsplit(":", 1)
        return http.client.HTTPConnection(host, int(port), timeout=timeout)

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def register(conn, key, instance, service):
    call(conn, "POST", "/api/v1/agent/register", key, {
        "instance_id": instance, "service": service, "host": "bench", "pid": 1000,
        "python": "3.12.0", "agent_version": "bench", "engine": "monitoring"})


def ingest(pg, replicas_count, agents, args):
    """(flat snapshots/s, flat p50, flat p99, paced rate, paced p99) on a fresh database."""
    url = pg.database()
    replicas = [Replica(url) for _ in range(replicas_count)]
    try:
        admin = replicas[0].conn()
        key = call(admin, "POST", "/api/v1/keys", TOKEN, {"service": "bench"})["key"]
        probe = call(admin, "POST", "/api/v1/probes", TOKEN,
                     {"service": "bench", "file": "orders/views.py", "line": 88, "ttl_secs": 86400})
        for n in range(agents):
            register(admin, key, f"bench{n:02d}", "bench")
        options = argparse.Namespace(agents=agents, batch=args.batch, seconds=args.seconds, size=args.size)
        addrs = [r.addr for r in replicas]
        top, p50, p99, _ = phase(addrs, key, probe["id"], options, 0)
        paced_rate = top / 2
        _, _, paced_p99, _ = phase(addrs, key, probe["id"], options, paced_rate)
        return top, p50, p99, paced_rate, paced_p99
    finally:
        for replica in replicas:
            replica.stop()


def idle_cpu(pg, instances, seconds):
    """Server CPU (% of one core) while `instances` agents long-poll it."""
    replica = Replica(pg.database())
    stop = threading.Event()
    try:
        admin = replica.conn()
        key = call(admin, "POST", "/api/v1/keys", TOKEN, {"service": "idle"})["key"]
        for n in range(instances):
            register(admin, key, f"idle{n:03d}", "idle")

        def poll(instance):
            conn = replica.conn(timeout=40)
            since = 0
            while not stop.is_set():
                try:
                    since = call(conn, "GET", f"/api/v1/agent/probes?instance={instance}&since={since}&wait=20", key)["version"]
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = replica.conn(timeout=40)
            conn.close()

        threads = [threading.Thread(target=poll, args=(f"idle{n:03d}",), daemon=True) for n in range(instances)]
        for thread in threads:
            thread.start()
        time.sleep(3)  # every poll is waiting
        before, started = replica.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        used, elapsed = replica.cpu_seconds() - before, time.monotonic() - started
        return 100.0 * used / elapsed
    finally:
        stop.set()
        replica.stop()


def across(pg, runs):
    """Milliseconds from creating a probe through replica A to the answer of B's long poll."""
    url = pg.database()
    a, b = Replica(url), Replica(url)
    try:
        admin = a.conn()
        key = call(admin, "POST", "/api/v1/keys", TOKEN, {"service": "wake"})["key"]
        register(b.conn(), key, "waker", "wake")
        poller = b.conn(timeout=40)
        since = call(poller, "GET", "/api/v1/agent/probes?instance=waker", key)["version"]
        times = []
        for n in range(runs):
            answer = {}

            def poll():
                answer["set"] = call(poller, "GET", f"/api/v1/agent/probes?instance=waker&since={since}&wait=20", key)
                answer["at"] = time.perf_counter()

            thread = threading.Thread(target=poll)
            thread.start()
            time.sleep(0.2)  # the poll is waiting on B
            began = time.perf_counter()
            call(admin, "POST", "/api/v1/probes", TOKEN, {"service": "wake", "file": "app.py", "line": 10 + n})
            thread.join()
            times.append((answer["at"] - began) * 1000)
            since = answer["set"]["version"]
        times.sort()
        return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]
    finally:
        a.stop()
        b.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per ingest phase")
    parser.add_argument("--batch", type=int, default=20, help="snapshots per upload")
    parser.add_argument("--size", type=int, default=4096, help="bytes of JSON per snapshot")
    parser.add_argument("--probes", type=int, default=50, help="probes created across replicas")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    args = parser.parse_args()

    pg = Postgres()
    try:
        rows = []
        for replicas in (1, 2):
            for agents in (8, 16, 32):
                rows.append((replicas, agents) + ingest(pg, replicas, agents, args))
        cpu = idle_cpu(pg, 100, args.idle_seconds)
        median, p99 = across(pg, args.probes)
        size = len(json.dumps(snapshot(1, 0, args.size)))
        print(f"borescope server on PostgreSQL {pg.version()} (durable: fsync and synchronous_commit on), "
              f"{os.cpu_count()} cores shared by servers, Postgres and this client")
        print(f"ingest: batches of {args.batch} x {size}-byte snapshots (gzip), {args.seconds:.0f} s per phase")
        print(f"  {'replicas':>8} {'agents':>6} | {'flat out':>13} {'p50 ms':>7} {'p99 ms':>7} | {'paced at':>10} {'p99 ms':>7}")
        for replicas, agents, top, p50, p99_, paced, paced_p99 in rows:
            print(f"  {replicas:>8} {agents:>6} | {top:>9,.0f} /s  {p50:>7.1f} {p99_:>7.1f} | {paced:>7,.0f} /s {paced_p99:>7.1f}")
        print(f"idle: 100 instances long-polling one server for {args.idle_seconds:.0f} s: server CPU {cpu:.2f} % "
              f"of one core (goal <= 2 %)   {'ok' if cpu <= 2 else 'MISSED'}")
        print(f"across replicas: probe created on A -> agent long-polling B answered: median {median:.1f} ms, "
              f"p99 {p99:.1f} ms ({args.probes} probes; goal <= 1000 ms)   {'ok' if p99 <= 1000 else 'MISSED'}")
    finally:
        pg.down()


if __name__ == "__main__":
    main()
