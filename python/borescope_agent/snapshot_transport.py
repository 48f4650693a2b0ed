"""The one background thread between the live-snapshot agent and the borescope server.

It registers the instance (``POST /api/v1/agent/register``), long-polls the service's probes
(``GET /api/v1/agent/probes?instance=&since=&wait=``, which is also the heartbeat), uploads
captured snapshots in gzip batches (``POST /api/v1/agent/snapshots``, which also carry the
exception occurrences the agent counted instead of capturing), reports probe statuses
(``POST /api/v1/agent/status``) and says goodbye (``POST /api/v1/agent/bye``). The long poll and
the other requests use two connections; the thread waits in ``select`` on the long-poll socket
and a pipe the application's threads poke when they queued something, so a new probe set is
applied the moment it arrives and a snapshot leaves within a tenth of a second.

The application's threads never wait on the network: they append to a bounded queue (the
oldest snapshot goes when it is full, and is counted in ``dropped``) and write at most one byte
to the pipe. Failures back off exponentially (0.5 s doubling to 30 s, with jitter). After a
fork the child starts over: new instance id, empty queue, new pipe and thread. On stop or at
exit what is queued is flushed for a bounded time, then ``bye`` is sent.

Several servers (replicas on one database) may be given, as a list or a comma-separated
string. The transport talks to one at a time; when it cannot reach it or it answers 5xx, it
moves to the next (at once, until each was tried since the last success; then with backoff),
registering again if that server does not know the instance. Each upload batch carries a random
id and is sent again, exactly as it was, until a server acknowledges it: a server that stored it
but died before answering makes the next one answer from its record, so a retry is never stored
twice.
"""

import collections
import gzip
import http.client
import json
import os
import random
import select
import socket
import sys
import threading
import time

from urllib.parse import quote, urlsplit

from . import VERSION
from .snapshot_servers import server_list

THREAD_NAME = "borescope-snapshots"
API = "/api/v1/agent"
POLL_WAIT = 20
UPLOAD_EVERY = 0.1
STATUS_EVERY = 2.0
STATUS_SPACING = 0.2
MAX_QUEUE = 1000
MAX_QUEUE_BYTES = 8 << 20
MAX_BATCH = 200
MAX_BATCH_BYTES = 2 << 20
TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0
MAX_BACKOFF = 30.0


class Transport(object):
    def __init__(self, agent, server, key, options):
        self.agent = agent
        self.servers = server_list(server)
        self._use(0)
        self.headers = {"Authorization": "Bearer " + key.strip(), "User-Agent": "borescope-agent/" + VERSION}
        self.poll_wait = int(options.get("poll_wait", POLL_WAIT))
        self.max_items = int(options.get("max_queue", MAX_QUEUE))
        self.max_bytes = int(options.get("max_queue_bytes", MAX_QUEUE_BYTES))
        self.quiet = bool(options.get("quiet", False))
        self.said = set()
        self._fresh()

    def _use(self, index):
        """Talks to server `index` of the list from now on."""
        url = urlsplit(self.servers[index])
        self.index = index
        self.server = self.servers[index]
        self.https = url.scheme == "https"
        self.host = url.hostname
        self.port = url.port
        self.base = url.path.rstrip("/")

    def _fail_over(self, index, now, why):
        """Server `index` failed (unreachable, or 5xx): move to the next one, if it is still the
        current one (a poll and an upload may both report the same failure). Returns True when
        the next one should be tried at once (not every server failed since the last success)."""
        if len(self.servers) < 2 or index != self.index:
            return False
        self._drop_poll()
        _abort(self.send)
        self.send = None
        self._use((index + 1) % len(self.servers))
        self._say("moving to the next server, %s, after %s failed (%s)" % (self.server, self.servers[index], why))
        return self.failures < len(self.servers)

    def _fresh(self):
        self.pending = None  # (batch id, items): the upload sent until a server acknowledges it
        self.queue = collections.deque()
        self.qlock = threading.Lock()
        self.qbytes = 0
        self.dropped = 0
        self.poked = False
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.stopping = False
        self.deadline = None
        self.thread = None
        self.poll = None
        self.poll_reused = False
        self.send = None
        self.polling = False
        self.poll_server = 0
        self.poll_started = 0.0
        self.registered = False
        self.version = 0
        self.failures = 0
        self.next_try = 0.0
        self.last_upload = 0.0
        self.last_occurrences = 0.0
        self.last_counts = 0.0
        self.last_status = 0.0

    # -- the application's side ---------------------------------------------------------------

    def enqueue(self, probe_id, data, size):
        """Queues a snapshot (application thread); drops the oldest when full. Never blocks on
        anything but a short lock."""
        gone = []
        with self.qlock:
            self.queue.append((probe_id, data, size))
            self.qbytes += size
            while len(self.queue) > self.max_items or (self.qbytes > self.max_bytes and len(self.queue) > 1):
                pid, _, old = self.queue.popleft()
                self.qbytes -= old
                self.dropped += 1
                gone.append(pid)
        if gone:
            self.agent.acked(gone)
        self.poke()

    def poke(self):
        """Wakes the thread (one byte on the pipe, written only if none is pending)."""
        if self.poked:
            return
        self.poked = True
        try:
            os.write(self.wake_w, b"x")
        except OSError:
            pass

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self):
        thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        # debugpy/pydevd never trace their own helper threads; this is one of ours.
        thread.is_pydev_daemon_thread = True
        thread.pydev_do_not_trace = True
        self.thread = thread
        thread.start()

    def stop(self, timeout):
        """Flushes for at most `timeout` seconds, says bye, and ends the thread. Returns notes."""
        thread = self.thread
        if thread is None or not thread.is_alive():
            self._close_pipe()
            return []
        self.deadline = time.monotonic() + max(timeout, 0.0)
        self.stopping = True
        self.poked = False
        self.poke()
        if not self.registered:
            # Never registered (server unreachable or key refused): nothing can be delivered,
            # so do not wait for a request that may hang.
            for conn in (self.send, self.poll):
                _abort(conn)
            timeout = 0.0
        thread.join(max(timeout, 0.0) + 0.5)
        if thread.is_alive():
            # Blocked in a request: cut the connections so the thread gives up now.
            for conn in (self.send, self.poll):
                _abort(conn)
            thread.join(1.0)
        if thread.is_alive():
            return ["the snapshot transport thread did not end in time"]
        self._close_pipe()
        return []

    def _close_pipe(self):
        for fd in (self.wake_r, self.wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.wake_r = self.wake_w = -1

    def after_fork(self):
        """In a forked child: the parent's connections, pipe and queue are not ours."""
        for conn in (self.send, self.poll):
            if conn is not None and conn.sock is not None:
                try:
                    conn.sock.close()  # closes our copy only; the parent's connection lives on
                except OSError:
                    pass
        self._close_pipe()
        self._fresh()
        self.start()

    # -- the thread ---------------------------------------------------------------------------------

    def _run(self):
        try:
            while not self.stopping:
                try:
                    self._step()
                except Exception as exc:  # a bug of ours: say so once, back off, carry on
                    self._failed(time.monotonic(), "the snapshot agent", None, "%s: %s" % (type(exc).__name__, exc))
                    try:
                        self._wait(min(max(self.next_try - time.monotonic(), 0.1), 5.0))
                    except Exception:
                        time.sleep(0.1)
        except BaseException:
            pass  # never let the thread's failure reach the program (interpreter shutdown, ...)
        try:
            self._finish()
        except BaseException:
            pass

    def _step(self):
        now = time.monotonic()
        waits = []
        if not self.registered:
            if now >= self.next_try:
                self._register(now)
                now = time.monotonic()
        if self.registered and not self.polling and now >= self.next_try:
            self._start_poll(now)
        next_tick = self.agent.tick(now)
        if next_tick is not None:
            waits.append(next_tick)
        if self.registered and now >= self.next_try:
            if self._send_statuses(now, False):
                waits.append(self.last_status + STATUS_SPACING)
            self._upload(now, False)
            if self.agent.probes:
                waits.append(self.last_counts + STATUS_EVERY)
            if self.queue or self.pending is not None:
                waits.append(self.last_upload + UPLOAD_EVERY)
            if self.agent.exceptions.has_counts():
                waits.append(self.last_occurrences + STATUS_EVERY)
        else:
            waits.append(self.next_try)
        if self.polling:
            waits.append(self.poll_started + self.poll_wait + 15.0)
        timeout = max(min(waits) - time.monotonic(), 0.0) if waits else 1.0
        self._wait(min(timeout, 5.0))

    def _wait(self, timeout):
        watched = [self.wake_r]
        sock = self.poll.sock if self.polling and self.poll is not None else None
        if sock is not None:
            watched.append(sock)
        try:
            ready, _, _ = select.select(watched, [], [], timeout)
        except (OSError, ValueError):
            ready = []
            self._drop_poll()
        if self.wake_r in ready:
            try:
                while os.read(self.wake_r, 4096):
                    pass
            except OSError:
                pass
            self.poked = False  # after draining: a poke from now on writes a new byte
        if sock is not None and sock in ready:
            self._finish_poll()
        elif self.polling and time.monotonic() > self.poll_started + self.poll_wait + 15.0:
            self._drop_poll()  # the server never answered: start over on a new connection

    # -- requests ---------------------------------------------------------------------------------------

    def _connection(self, read_timeout):
        """A connected connection: connecting waits at most CONNECT_TIMEOUT, reads
        `read_timeout` (both cut to what is left before the stop deadline)."""
        connect, read = CONNECT_TIMEOUT, read_timeout
        if self.deadline is not None:
            left = max(self.deadline - time.monotonic(), 0.05)
            connect, read = min(connect, left), min(read, left)
        if self.https:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=connect)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=connect)
        try:
            conn.connect()
        except BaseException:
            conn.close()
            raise
        _set_timeout(conn, read)
        return conn

    def _request(self, method, path, body=None, compress=False):
        """(status, payload bytes) or (None, error text). Retries once on a fresh connection
        when a kept-alive one turns out closed."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            # Captured text may hold lone surrogates (undecodable file names, str values of a
            # logpoint); the server's JSON parser refuses them, so they become "?" here.
            raw = json.dumps(body, separators=(",", ":"), default=str, ensure_ascii=False).encode("utf-8", "replace")
            if compress:
                data = gzip.compress(raw, 5)
                headers["Content-Encoding"] = "gzip"
            else:
                data = raw
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            reused = self.send is not None
            try:
                if self.send is None:
                    self.send = self._connection(TIMEOUT)
                elif self.deadline is not None:
                    _set_timeout(self.send, max(self.deadline - time.monotonic(), 0.05))
                self.send.request(method, self.base + path, body=data, headers=headers)
                response = self.send.getresponse()
                payload = response.read()
                if response.will_close:
                    self.send.close()
                    self.send = None
                return response.status, payload
            except (OSError, http.client.HTTPException) as exc:
                _abort(self.send)
                self.send = None
                if not reused or attempt:
                    return None, _describe(exc)
        return None, "no answer"

    def _register(self, now):
        server = self.index
        status, payload = self._request("POST", API + "/register", self.agent.register_body())
        if status in (200, 201):
            self.registered = True
            self.version = 0
            self.failures = 0
            self.next_try = 0.0
            self.agent_registered()
            return
        self._failed(now, "registering with %s" % self.server, status, payload, server)

    def agent_registered(self):
        with self.agent.lock:
            for probe in self.agent.probes.values():
                probe.sent = None
                probe.sent_counts = None

    def _start_poll(self, now):
        self.poll_server = self.index
        path = "%s/probes?instance=%s&since=%d&wait=%d" % (API, quote(self.agent.instance_id), self.version, self.poll_wait)
        for attempt in (0, 1):
            self.poll_reused = self.poll is not None
            try:
                if self.poll is None:
                    self.poll = self._connection(TIMEOUT)  # select() waits for the answer
                self.poll.request("GET", self.base + path, headers=self.headers)
                break
            except (OSError, http.client.HTTPException) as exc:
                reused = self.poll_reused
                self._drop_poll()
                if not reused or attempt:
                    self._failed(now, "polling %s for probes" % self.server, None, _describe(exc), self.poll_server)
                    return
        self.polling = True
        self.poll_started = now

    def _finish_poll(self):
        now = time.monotonic()
        self.polling = False
        try:
            response = self.poll.getresponse()
            payload = response.read()
            if response.will_close:
                self._drop_poll()
        except (OSError, http.client.HTTPException) as exc:
            reused = self.poll_reused
            self._drop_poll()
            if reused and isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
                return  # the server closed an idle kept-alive connection: poll again at once
            self._failed(now, "polling %s for probes" % self.server, None, _describe(exc), self.poll_server)
            return
        if response.status == 200:
            try:
                probe_set = json.loads(payload.decode("utf-8"))
                self.version = int(probe_set.get("version", self.version))
            except (ValueError, AttributeError, TypeError) as exc:
                self._failed(now, "reading the probe set", None, "not JSON: %s" % exc)
                return
            self.failures = 0
            self.agent.apply(probe_set)
        elif response.status in (404, 410):
            self.registered = False  # the server forgot this instance (restarted afresh): register again
        else:
            self._failed(now, "polling %s for probes" % self.server, response.status, payload, self.poll_server)

    def _drop_poll(self):
        _abort(self.poll)
        self.poll = None
        self.polling = False

    def _send_statuses(self, now, final):
        """Reports changed statuses (and moved counters every STATUS_EVERY). Returns True when
        a change waits because the last report was too recent."""
        counts_due = final or now >= self.last_counts + STATUS_EVERY
        entries, commit = self.agent.statuses(now, counts_due)
        if not entries:
            if counts_due:
                self.last_counts = now
            return False
        if not final and now < self.last_status + STATUS_SPACING:
            return True
        if counts_due:
            self.last_counts = now
        self.last_status = now
        server = self.index
        status, payload = self._request("POST", API + "/status", {"instance_id": self.agent.instance_id, "statuses": entries})
        if status is not None and 200 <= status < 300:
            commit()
        elif not final:
            self._failed(now, "reporting probe statuses", status, payload, server)

    def _pending_batch(self, now, final):
        """The batch to send: the unacknowledged one again (same id, same snapshots, same
        exception counts), else a new one from the queue and the exception counts that are due,
        with a new random id. None when there is nothing to send."""
        if self.pending is None:
            batch = []
            size = 0
            with self.qlock:
                while self.queue and len(batch) < MAX_BATCH and (not batch or size + self.queue[0][2] <= MAX_BATCH_BYTES):
                    item = self.queue.popleft()
                    self.qbytes -= item[2]
                    size += item[2]
                    batch.append(item)
            counts = self._occurrences() if self._occurrences_due(now, final) else []
            if counts:
                self.last_occurrences = now
            if batch or counts:
                self.pending = (os.urandom(12).hex(), batch, counts)
        return self.pending

    def _upload(self, now, final):
        while (self.queue or self.pending is not None or self._occurrences_due(now, final)) and (final or now >= self.last_upload + UPLOAD_EVERY):
            pending = self._pending_batch(now, final)
            if pending is None:
                return
            batch_id, batch, counts = pending
            body = {"instance_id": self.agent.instance_id, "batch": batch_id, "snapshots": [item[1] for item in batch], "dropped": self.dropped}
            if counts:
                body["occurrences"] = counts
            server = self.index
            status, payload = self._request("POST", API + "/snapshots", body, compress=True)
            self.last_upload = now
            if status is not None and 200 <= status < 300:
                self.failures = 0
                self.pending = None
                self.agent.acked([item[0] for item in batch])
                continue
            if status in (400, 413, 422):
                # The server will never take this batch: drop it rather than retry forever.
                self._say("the server refused %d snapshots: %s" % (len(batch), _error_text(status, payload)))
                self.pending = None
                with self.qlock:
                    self.dropped += len(batch)
                self.agent.acked([item[0] for item in batch])
                continue
            if not final:
                # The batch stays pending and goes out again, the same, with the same id. (An
                # instance the server forgot is noticed by the long poll, which registers again;
                # the batch goes out after that.)
                self._failed(now, "uploading snapshots", status, payload, server)
            return

    def _occurrences_due(self, now, final):
        """Counted exception occurrences wait for an upload at most STATUS_EVERY (a hot failing
        path costs one small request every few seconds, not one per failure)."""
        return (final or now >= self.last_occurrences + STATUS_EVERY) and self.agent.exceptions.has_counts()

    def _occurrences(self):
        """The exception occurrence counts to send with the next batch (they stay in it, like
        its snapshots, until the server acknowledges it)."""
        try:
            return self.agent.exceptions.take_counts()
        except Exception:
            return []

    def _finish(self):
        """Stop or exit: upload what is queued and the last statuses, say bye, close."""
        try:
            if self.deadline is not None and self.registered:
                now = time.monotonic()
                if now < self.deadline:
                    self._upload(now, True)
                if time.monotonic() < self.deadline:
                    self._send_statuses(time.monotonic(), True)
                if time.monotonic() < self.deadline:
                    self._request("POST", API + "/bye", {"instance_id": self.agent.instance_id})
        finally:
            _abort(self.poll)
            self.poll = None
            if self.send is not None:
                self.send.close()
            self.send = None

    def _failed(self, now, what, status, payload, server=None):
        self.failures += 1
        delay = min(MAX_BACKOFF, 0.5 * (2 ** min(self.failures - 1, 10)))
        if status in (401, 403):
            delay = MAX_BACKOFF
        self.next_try = now + delay * random.uniform(0.5, 1.0)
        if server is not None and (status is None or status >= 500):
            if self._fail_over(server, now, _error_text(status, payload)):
                self.next_try = now
        if status in (401, 403):
            self._say("%s: the server refused the agent key (%s); check the key and the service name" % (what, _error_text(status, payload)))
        elif self.failures == 3 or what == "the snapshot agent":
            self._say("%s failed: %s; retrying with backoff" % (what, _error_text(status, payload)))

    def _say(self, message):
        """One line on stderr, once per kind of problem: the program is never flooded."""
        key = message.split(":")[0]
        if self.quiet or key in self.said or len(self.said) > 20:
            return
        self.said.add(key)
        try:
            sys.stderr.write("borescope agent: %s\n" % message)
            sys.stderr.flush()
        except Exception:
            pass


def _abort(conn):
    """Closes a connection from any thread, waking a request blocked on it."""
    if conn is None:
        return
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    try:
        conn.close()
    except Exception:
        pass


def _set_timeout(conn, seconds):
    conn.timeout = seconds
    if conn.sock is not None:
        try:
            conn.sock.settimeout(seconds)
        except OSError:
            pass


def _describe(exc):
    text = str(exc) or type(exc).__name__
    return "%s (%s)" % (type(exc).__name__, text) if text != type(exc).__name__ else text


def _error_text(status, payload):
    if status is None:
        return str(payload)
    message = ""
    try:
        message = json.loads(payload.decode("utf-8")).get("message", "")
    except Exception:
        try:
            message = payload.decode("utf-8", "replace")[:200]
        except Exception:
            message = ""
    return "HTTP %d%s" % (status, ": " + message if message else "")
