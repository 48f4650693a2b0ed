"""HTTP load for bench/ddtrace_compare.py: wrk for throughput rows, a light client for arming.

`wrk(url, seconds, cpu)` runs wrk (1 thread, 4 keep-alive connections) pinned to `cpu` and returns
(requests/s, requests), refusing a run with socket errors or non-2xx answers. `cpu_seconds(pids)`
is the CPU time the processes' live threads have used so far (schedstat, nanoseconds). `Traffic(port)` is a background
client sending one request about every 5 ms, from before the app is up (refused connections are
retried), recording when the first answer came.
"""
import http.client
import json
import os
import re
import socket
import subprocess
import threading
import time

CONNECTIONS = 4


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(port, path, timeout=5):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise OSError("GET %s answered %d" % (path, response.status))
        return json.loads(body)
    finally:
        connection.close()


def wrk(url, seconds, cpu):
    argv = ["taskset", "-c", cpu, "wrk", "-t1", "-c%d" % CONNECTIONS, "-d%ds" % seconds, url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    if "Socket errors" in out or "Non-2xx" in out:
        raise SystemExit("wrk saw errors:\n" + out)
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    total = re.search(r"([0-9]+) requests in", out)
    if not rate or not total:
        raise SystemExit("no Requests/sec in wrk's output:\n" + out)
    return float(rate.group(1)), int(total.group(1))


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        for task in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
                    total += int(f.read().split()[0])  # nanoseconds on a CPU, this thread
            except OSError:  # the thread ended meanwhile
                pass
    return total / 1e9


class Traffic(object):
    """Requests flowing to the app on `port` while something is armed; `first_ok` is a perf_counter."""

    def __init__(self, port, path="/order/3"):
        self.port = port
        self.path = path
        self.first_ok = None
        self.answers = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        connection = None
        while not self.done.is_set():
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", self.path)
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    if self.first_ok is None:
                        self.first_ok = time.perf_counter()
                    self.answers += 1
            except (OSError, http.client.HTTPException):
                if connection is not None:
                    connection.close()
                connection = None
            time.sleep(0.005)
        if connection is not None:
            connection.close()

    def stop(self):
        self.done.set()
        self.thread.join(10)
