#!/usr/bin/env python3
"""Ingest benchmark for `borescope server` on SQLite.

N concurrent agents (threads, each with its own keep-alive connection and instance) upload
gzip-compressed batches of ~4 KB snapshots to one probe, as the agent's transport thread does,
in two phases:

  1. flat out (each agent sends its next batch as soon as the last is answered): the most
     snapshots per second the server stores;
  2. paced at --rate snapshots/s in all (each agent sends on a fixed schedule): the upload
     latency at that load, measured from when each upload was due (so a server that falls
     behind is charged for the wait).

Goals (issue 9, on this 2-core machine): >= 5,000 snapshots/s sustained, p99 upload latency
<= 50 ms at that rate.

Each agent's request body is built and compressed once before the clock starts, so the numbers
measure the server (HTTP, auth, JSON, the transaction), not this script's JSON encoding.

Usage: bench/snapshot_ingest.py [--agents 8] [--batch 20] [--seconds 10] [--size 4096] [--rate 5000]
(builds nothing: run `cargo build --release -p borescope` first, or set BORESCOPE to the binary)
"""

import argparse
import gzip
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
sys.path.insert(0, HERE)
from bench import binary  # noqa: E402  (the one way benchmarks find the borescope binary)

TOKEN = "bench-admin-token-0123456789"


def call(conn, method, path, bearer, body=None, gzipped=False):
    headers = {"Authorization": "Bearer " + bearer, "Content-Type": "application/json"}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if gzipped:
            headers["Content-Encoding"] = "gzip"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
    return json.loads(payload) if payload else None


def snapshot(probe_id, i, size):
    """A snapshot of about `size` bytes of JSON, shaped like the agent's."""
    snap = {
        "probe_id": probe_id,
        "time_ms": int(time.time() * 1000),
        "location": {"file": "/srv/app/orders/views.py", "line": 88},
        "function": "checkout",
        "thread": {"id": 140245, "name": "MainThread"},
        "source": {"first_line": 85, "current_line": 88, "lines": ["    total = 0", "    for item in order.items:", "        total += item.price", "    return total"]},
        "stack": [
            {"index": k, "function": f"frame_{k}", "file": f"/srv/app/orders/mod{k}.py", "line": 10 + k, "kind": "user"}
            for k in range(6)
        ],
        "locals": [],
        "capture_us": 180,
    }
    n = 0
    while len(json.dumps(snap)) < size:
        snap["locals"].append({"name": f"var_{n}", "type_name": "str", "value": repr(f"value {i} {n} " * 6)})
        n += 1
    return snap


def agent(addr, key, instance, probe_id, batch, size, clock, results, ready, go):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    snaps = [snapshot(probe_id, i, size) for i in range(batch)]
    body = gzip.compress(json.dumps({"instance_id": instance, "snapshots": snaps}).encode(), 6)
    latencies = []
    accepted = 0
    ready.wait()
    go.wait()
    deadline, interval, offset = clock["deadline"], clock["interval"], clock["offset"]
    due = clock["start"] + offset
    while True:
        if interval:
            if due >= deadline:
                break
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        elif time.perf_counter() >= deadline:
            break
        began = due if interval else time.perf_counter()
        answer = call(conn, "POST", "/api/v1/agent/snapshots", key, body, gzipped=True)
        latencies.append(time.perf_counter() - began)
        accepted += answer["accepted"]
        due += interval
    conn.close()
    results.append((accepted, latencies))


def phase(addr, key, probe_id, args, rate):
    """Runs the agents for args.seconds; returns (snapshots/s, p50 ms, p99 ms, uploads).
    `addr` may be a list of servers (replicas): agent n talks to addr[n % len(addr)]."""
    addrs = addr if isinstance(addr, list) else [addr]
    results = []
    ready = threading.Barrier(args.agents + 1)
    go = threading.Event()
    interval = args.agents * args.batch / rate if rate else 0.0
    threads = []
    clocks = []
    for n in range(args.agents):
        # Paced agents are spread evenly over one interval, as independent processes would be.
        clock = {"interval": interval, "offset": interval * n / args.agents}
        clocks.append(clock)
        threads.append(threading.Thread(target=agent, args=(
            addrs[n % len(addrs)], key, f"bench{n:02d}", probe_id, args.batch, args.size, clock, results, ready, go)))
    for thread in threads:
        thread.start()
    # Every agent builds its body first; then all start together.
    ready.wait()
    start = time.perf_counter()
    for clock in clocks:
        clock.update(start=start, deadline=start + args.seconds)
    go.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    accepted = sum(r[0] for r in results)
    latencies = sorted(l for r in results for l in r[1])
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return accepted / elapsed, p50, p99, len(latencies)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--batch", type=int, default=20, help="snapshots per upload")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=4096, help="bytes of JSON per snapshot")
    parser.add_argument("--rate", type=float, default=5000, help="snapshots/s in all for the paced phase")
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="borescope-ingest-")
    server = subprocess.Popen(
        [binary(), "server", "--listen", "127.0.0.1:0", "--data", data, "--token", TOKEN, "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = json.loads(server.stdout.readline())
        addr = line["listen"]
        host, port = addr.rsplit(":", 1)
        admin = http.client.HTTPConnection(host, int(port), timeout=30)
        key = call(admin, "POST", "/api/v1/keys", TOKEN, {"service": "bench"})["key"]
        probe = call(admin, "POST", "/api/v1/probes", TOKEN, {"service": "bench", "file": "orders/views.py", "line": 88, "ttl_secs": 86400})
        for n in range(args.agents):
            call(admin, "POST", "/api/v1/agent/register", key, {
                "instance_id": f"bench{n:02d}", "service": "bench", "host": "bench", "pid": 1000 + n,
                "python": "3.12.0", "agent_version": "bench", "engine": "monitoring"})
        size = len(json.dumps(snapshot(probe["id"], 0, args.size)))

        top, top_p50, top_p99, top_n = phase(addr, key, probe["id"], args, 0)
        paced, p50, p99, n = phase(addr, key, probe["id"], args, args.rate)
        stored = call(admin, "GET", f"/api/v1/probes/{probe['id']}", TOKEN)["hits"]
        print(f"borescope server ingest (SQLite, {os.cpu_count()} cores): {args.agents} agents, "
              f"batches of {args.batch} x {size}-byte snapshots (gzip), {args.seconds:.0f} s per phase")
        print(f"  flat out:     {top:,.0f} snapshots/s   (goal >= 5,000)   {'ok' if top >= 5000 else 'MISSED'}"
              f"   [{top_n} uploads, p50 {top_p50:.1f} ms, p99 {top_p99:.1f} ms]")
        print(f"  at {args.rate:,.0f}/s:   p50 {p50:.1f} ms, p99 {p99:.1f} ms   (goal p99 <= 50)   "
              f"{'ok' if p99 <= 50 else 'MISSED'}   [{paced:,.0f} snapshots/s stored, {n} uploads]")
        print(f"  stored:       {stored} snapshots counted on the probe")
        files = ", ".join(f"{f} {os.path.getsize(os.path.join(data, f)) / 1e6:.0f} MB"
                          for f in sorted(os.listdir(data)) if f.startswith("snapshots"))
        print(f"  on disk:      {files}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    main()
