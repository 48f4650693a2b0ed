"""A local stand-in for the Datadog agent, for bench/ddtrace_compare.py: it takes ddtrace's uploads.

HTTP on a free loopback port. `GET /info` answers the endpoint list an agent 7.49+ advertises (so
ddtrace's uploader goes online and sends snapshots to `/debugger/v2/input`); every other request
(snapshots and logs, diagnostics, traces, telemetry) is read in full, recorded with its arrival
time and answered 200 `{}`. Snapshot entries are parsed and counted, and the first one is kept so
the bench can check what it holds; probe statuses are kept per probe.

Remote configuration, the way a Datadog agent hands Dynamic Instrumentation probes created in the
UI to the tracer at run time: the tracer polls `POST /v0.7/config` (every 5 s by default) and the
sink answers with the probes given to `serve_probes` (product LIVE_DEBUGGING), in the agent's
answer shape: a targets document (base64 JSON, unsigned: the tracer trusts its local agent and
checks each file's length and SHA-256) and the files themselves.
"""
import base64
import gzip
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# What a current agent lists at /info (the parts ddtrace reads: the debugger intake, its
# diagnostics fallback, remote configuration, traces, the telemetry proxy).
ENDPOINTS = [
    "/v0.4/traces",
    "/v0.5/traces",
    "/v0.7/traces",
    "/v0.6/stats",
    "/debugger/v1/input",
    "/debugger/v2/input",
    "/debugger/v1/diagnostics",
    "/v0.7/config",
    "/telemetry/proxy/",
]


def _entries(body, content_type):
    """The JSON objects of one upload: a JSON list, one object, or the parts of a multipart form."""
    if content_type.startswith("multipart/"):
        boundary = content_type.split("boundary=", 1)[-1].strip('"').encode()
        found = []
        for part in body.split(b"--" + boundary):
            _, _, payload = part.partition(b"\r\n\r\n")
            found.extend(_entries(payload.strip(), "application/json"))
        return found
    try:
        value = json.loads(body)
    except ValueError:
        return []
    return value if isinstance(value, list) else [value]


def snapshot_of(entry):
    """The `debugger.snapshot` object of an uploaded log entry, or None (diagnostics, plain logs)."""
    if not isinstance(entry, dict):
        return None
    debugger = entry.get("debugger") or {}
    snapshot = debugger.get("snapshot") if isinstance(debugger, dict) else None
    if snapshot is None and isinstance(entry.get("debugger.snapshot"), dict):
        snapshot = entry["debugger.snapshot"]
    return snapshot if isinstance(snapshot, dict) and "captures" in snapshot else None


def status_of(entry):
    """(probe id, status) of an uploaded probe-status diagnostic, or None."""
    debugger = entry.get("debugger") if isinstance(entry, dict) else None
    diagnostics = debugger.get("diagnostics") if isinstance(debugger, dict) else None
    if isinstance(diagnostics, dict) and "probeId" in diagnostics:
        return diagnostics["probeId"], diagnostics.get("status")
    return None


class Sink(object):
    """The agent stand-in; `start()` it, read `url`, `stop()` it."""

    def __init__(self):
        self.lock = threading.Condition()
        self.requests = []  # (arrival time.perf_counter(), method, path, bytes)
        self.snapshots = 0
        self.snapshot_times = []
        self.first_snapshot = None
        self.statuses = {}  # probe id -> the last status ddtrace reported (RECEIVED, INSTALLED, ...)
        self.remote_config = {}
        self.targets_version = 1
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, body):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                if "chunked" in self.headers.get("Transfer-Encoding", ""):
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()  # the CRLF after the chunk (or the empty trailer)
                        if size == 0:
                            return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _record(self, method):
                body = self._body()
                if self.headers.get("Content-Encoding", "") == "gzip" and body:
                    body = gzip.decompress(body)
                sink.record(method, self.path, self.headers.get("Content-Type", ""), body)

            def do_GET(self):
                if self.path.rstrip("/") == "/info":
                    self._answer({"version": "7.60.0", "endpoints": ENDPOINTS, "client_drop_p0s": True})
                    return
                self._record("GET")
                self._answer({})

            def do_POST(self):
                if self.path.startswith("/v0.7/config"):
                    self._body()
                    self._answer(sink.remote_config)
                    return
                self._record("POST")
                self._answer({})

            do_PUT = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def serve_probes(self, probes):
        """From the next remote-configuration poll on, hand these LIVE_DEBUGGING probes out."""
        if not probes:
            self.remote_config = {}
            return
        files, targets = [], {}
        for probe in probes:
            raw = json.dumps(probe).encode()
            path = "datadog/2/LIVE_DEBUGGING/logProbe_%s/config" % probe["id"]
            targets[path] = {"custom": {"v": 1}, "hashes": {"sha256": hashlib.sha256(raw).hexdigest()}, "length": len(raw)}
            files.append({"path": path, "raw": base64.b64encode(raw).decode()})
        self.targets_version += 1
        signed = {
            "_type": "targets",
            "spec_version": "1.0.0",
            "version": self.targets_version,
            "expires": "2100-01-01T00:00:00Z",
            "custom": {"opaque_backend_state": base64.b64encode(b"{}").decode()},
            "targets": targets,
        }
        document = json.dumps({"signed": signed, "signatures": []}).encode()
        self.remote_config = {
            "roots": [],
            "targets": base64.b64encode(document).decode(),
            "target_files": files,
            "client_configs": sorted(targets),
        }

    def record(self, method, path, content_type, body):
        now = time.perf_counter()
        found, statuses = [], []
        if path.startswith("/debugger/"):
            entries = _entries(body, content_type)
            found = [s for s in map(snapshot_of, entries) if s is not None]
            statuses = [s for s in map(status_of, entries) if s is not None]
        with self.lock:
            self.statuses.update(statuses)
            if statuses:
                self.lock.notify_all()
            self.requests.append((now, method, path.split("?")[0], len(body)))
            if found:
                self.snapshots += len(found)
                self.snapshot_times.extend([now] * len(found))
                if self.first_snapshot is None:
                    self.first_snapshot = found[0]
                self.lock.notify_all()

    def reset(self):
        with self.lock:
            self.requests = []
            self.snapshots = 0
            self.snapshot_times = []
            self.first_snapshot = None

    def wait_status(self, probe_id, wanted, timeout):
        """True once ddtrace reported `probe_id` with a status in `wanted`, False after `timeout` s."""
        deadline = time.perf_counter() + timeout
        with self.lock:
            while self.statuses.get(probe_id) not in wanted:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return False
                self.lock.wait(left)
            return True

    def wait_snapshot(self, timeout):
        """The arrival time of the first snapshot since the last reset, or None after `timeout` s."""
        deadline = time.perf_counter() + timeout
        with self.lock:
            while not self.snapshot_times:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.lock.wait(left)
            return self.snapshot_times[0]

    def summary(self):
        """Requests per path since the last reset: {path: (count, bytes)}."""
        with self.lock:
            paths = {}
            for _, _, path, size in self.requests:
                count, total = paths.get(path, (0, 0))
                paths[path] = (count + 1, total + size)
            return paths
