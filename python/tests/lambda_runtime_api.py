"""A loopback Lambda Runtime API for tests and benchmarks (stdlib only).

It serves what a runtime interface client (AWS's `awslambdaric`) calls:
    GET  /2018-06-01/runtime/invocation/next          blocks until an invocation is queued
    POST /2018-06-01/runtime/invocation/{id}/response  the invocation's result (202)
    POST /2018-06-01/runtime/invocation/{id}/error     its error (202)
    POST /2018-06-01/runtime/init/error                the runtime could not start (202)
and, like AWS's Runtime Interface Emulator, a control endpoint driving invocations by HTTP:
    POST /2015-03-31/functions/function/invocations    body = event; blocks until answered
         request headers:  X-Borescope-Timeout-Ms (the function's timeout, default 300000),
                           X-Borescope-Client-Context, X-Borescope-Cognito-Identity (JSON)
         response: 200 and the result body; or 200, `X-Amz-Function-Error: Unhandled`,
                   `X-Borescope-Error-Type: TYPE` and the error JSON; a timed-out invocation
                   answers `Sandbox.Timedout` the same way. `X-Borescope-Request-Id` names it.
    GET  /test/init-errors                             the init errors received (JSON list)
Any number of invocations may be in flight: each goes to whichever runtime asks next.

As a program: `python lambda_runtime_api.py --port-file FILE [--function-name NAME]` binds
127.0.0.1:0, writes the port to FILE (atomically) and serves until SIGTERM/SIGINT.
"""

import argparse
import http.client
import http.server
import json
import os
import queue
import signal
import socketserver
import sys
import threading
import time
import uuid

NEXT = "/2018-06-01/runtime/invocation/next"
INVOCATION = "/2018-06-01/runtime/invocation/"
INIT_ERROR = "/2018-06-01/runtime/init/error"
INVOKE = "/2015-03-31/functions/function/invocations"


class Invocation(object):
    def __init__(self, body, timeout_ms, client_context=None, cognito_identity=None):
        self.id = str(uuid.uuid4())
        self.body = body
        self.deadline_ms = int(time.time() * 1000) + timeout_ms
        self.timeout_ms = timeout_ms
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.trace_id = "Root=1-%08x-%s;Parent=%s;Sampled=0" % (int(time.time()), uuid.uuid4().hex[:24], uuid.uuid4().hex[:16])
        self.done = threading.Event()
        self.error_type = None
        self.answer = b""


class RuntimeApi(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, function_name="test-function"):
        http.server.HTTPServer.__init__(self, ("127.0.0.1", 0), _Handler)
        self.function_name = function_name
        self.queue = queue.Queue()
        self.invocations = {}
        self.init_errors = []
        self.lock = threading.Lock()
        self._thread = None

    @property
    def port(self):
        return self.server_address[1]

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, name="runtime-api", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()

    def invoke(self, event, timeout_ms=300000, wait=None):
        """(ok, body bytes, error type or None) of one invocation through the control
        endpoint, as a test client would see it. `event` is bytes, str or a JSON value."""
        if not isinstance(event, (bytes, str)):
            event = json.dumps(event)
        if isinstance(event, str):
            event = event.encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=wait or timeout_ms / 1000.0 + 30)
        try:
            conn.request("POST", INVOKE, body=event, headers={"X-Borescope-Timeout-Ms": str(timeout_ms)})
            response = conn.getresponse()
            body = response.read()
            error = response.getheader("X-Borescope-Error-Type")
            return error is None, body, error
        finally:
            conn.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "borescope-runtime-api"
    # Headers and body go out in separate writes: without TCP_NODELAY each answer waits for
    # the client's delayed ACK (40 ms), which would swamp what the benchmark measures.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        server = self.server
        if self.path == NEXT:
            invocation = server.queue.get()
            headers = [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", invocation.id),
                ("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:%s" % server.function_name),
                ("Lambda-Runtime-Trace-Id", invocation.trace_id),
            ]
            if invocation.client_context:
                headers.append(("Lambda-Runtime-Client-Context", invocation.client_context))
            if invocation.cognito_identity:
                headers.append(("Lambda-Runtime-Cognito-Identity", invocation.cognito_identity))
            self._answer(200, invocation.body, headers)
        elif self.path == "/test/init-errors":
            with server.lock:
                body = json.dumps(server.init_errors).encode("utf-8")
            self._answer(200, body, [("Content-Type", "application/json")])
        else:
            self._answer(404, b"not found")

    def do_POST(self):
        server = self.server
        body = self._body()
        if self.path == INVOKE:
            self._invoke(body)
        elif self.path == INIT_ERROR:
            with server.lock:
                server.init_errors.append({"type": self.headers.get("Lambda-Runtime-Function-Error-Type"), "body": body.decode("utf-8", "replace")})
            self._answer(202, b'{"status":"OK"}')
        elif self.path.startswith(INVOCATION) and self.path.count("/") == 5:
            ident, kind = self.path[len(INVOCATION):].split("/", 1)
            with server.lock:
                invocation = server.invocations.get(ident)
            if invocation is None or kind not in ("response", "error"):
                self._answer(404, b'{"errorType":"InvalidRequestID"}')
                return
            if not invocation.done.is_set():
                invocation.answer = body
                if kind == "error":
                    invocation.error_type = self.headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled"
                    try:
                        invocation.error_type = json.loads(body.decode("utf-8")).get("errorType") or invocation.error_type
                    except (ValueError, AttributeError):
                        pass
                invocation.done.set()
            self._answer(202, b'{"status":"OK"}')
        else:
            self._answer(404, b"not found")

    def _invoke(self, body):
        server = self.server
        try:
            timeout_ms = int(self.headers.get("X-Borescope-Timeout-Ms") or 300000)
        except ValueError:
            self._answer(400, b"X-Borescope-Timeout-Ms must be an integer")
            return
        invocation = Invocation(body, timeout_ms, self.headers.get("X-Borescope-Client-Context"), self.headers.get("X-Borescope-Cognito-Identity"))
        with server.lock:
            server.invocations[invocation.id] = invocation
        server.queue.put(invocation)
        if not invocation.done.wait(timeout_ms / 1000.0 + 1.0):
            invocation.error_type = "Sandbox.Timedout"
            invocation.answer = json.dumps({"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after %.2f seconds" % (timeout_ms / 1000.0)}).encode("utf-8")
            invocation.done.set()
        headers = [("X-Borescope-Request-Id", invocation.id), ("Content-Type", "application/json")]
        if invocation.error_type is not None:
            headers += [("X-Amz-Function-Error", "Unhandled"), ("X-Borescope-Error-Type", invocation.error_type)]
        with server.lock:
            server.invocations.pop(invocation.id, None)
        self._answer(200, invocation.answer, headers)


def main(argv=None):
    parser = argparse.ArgumentParser(description="A loopback Lambda Runtime API (tests and benchmarks).")
    parser.add_argument("--port-file", required=True, help="where to write the port once listening")
    parser.add_argument("--function-name", default="test-function", help="the function name in invoked ARNs")
    args = parser.parse_args(argv)
    server = RuntimeApi(args.function_name)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.port)
    os.replace(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
