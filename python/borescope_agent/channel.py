"""The line protocol between the agent and borescope: one JSON object per line over a Unix
socket. This module is transport only; it knows nothing about probes or frames."""

import json
import socket
import threading


class Channel(object):
    def __init__(self, sock):
        self._sock = sock
        self._lock = threading.Lock()
        self._buffer = b""
        self._closed = threading.Event()
        self._serving = False

    @classmethod
    def connect(cls, path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        return cls(sock)

    def send(self, message):
        data = (json.dumps(message, default=repr) + "\n").encode("utf-8", "replace")
        with self._lock:
            self._sock.sendall(data)

    def receive(self):
        """Blocks for the next message from borescope; None when the socket closed."""
        while b"\n" not in self._buffer:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                return None
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line.decode("utf-8"))
        except ValueError:
            return {}

    def serve(self, handlers, name="borescope-agent"):
        """Answers borescope's requests on a daemon thread (blocked in recv, so it costs nothing
        while idle). `handlers` maps a request type to a function returning the reply."""

        def loop():
            while True:
                request = self.receive()
                if request is None:
                    self._closed.set()
                    return
                handler = handlers.get(request.get("type"))
                if handler is None:
                    continue
                try:
                    reply = handler(request)
                except Exception as exc:
                    reply = {"type": "agent_error", "message": repr(exc)}
                try:
                    self.send(reply)
                except OSError:
                    return

        thread = threading.Thread(target=loop, name=name, daemon=True)
        self._serving = True
        thread.start()
        return thread

    def wait_closed(self):
        """Blocks until borescope closes the channel (or ends this process)."""
        if self._serving:
            self._closed.wait()
            return
        while self.receive() is not None:
            pass
