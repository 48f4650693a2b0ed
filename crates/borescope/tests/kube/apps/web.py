"""A small HTTP app for borescope's Kubernetes tests (stdlib only).

GET /        answers "hello N" (N counts the requests this process answered)
GET /health  answers "ok" (the readiness probe)

Listens on 0.0.0.0, port from argv[1], else $PORT, else 8080. Writes nothing to disk. Exits on
SIGTERM (as a container's PID 1 it would otherwise ignore it and wait for SIGKILL).
"""

import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_count = 0


def handle(path):
    global _count
    if path == "/health":
        return 200, "ok"
    with _lock:
        _count += 1
        number = _count
    greeting = "hello"
    reply = f"{greeting} {number}"  # borescope-test: handler line
    return 200, reply


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, text = handle(self.path)
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main():
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"web.py listening on 0.0.0.0:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
