"""The transport's server list: parsing, and moving to the next server with the unacknowledged
batch sent again unchanged (same batch id, same snapshots).

The servers here are small stdlib HTTP servers on loopback that speak the agent API's shapes
and record what they receive; the first one takes an upload and dies before answering it (it
closes the connection), as a killed replica would. The real server's side of the batch id is
tested in the server's API tests, and the whole path against real replicas in
crates/borescope/tests/snapshots/replicas.rs.
"""

import gzip
import json
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from borescope_agent import snapshot_servers, snapshots


def test_server_lists_are_a_url_a_comma_string_or_a_list():
    assert snapshot_servers.server_list("http://a:1") == ["http://a:1"]
    assert snapshot_servers.server_list(" http://a:1 , http://b:2/x ") == ["http://a:1", "http://b:2/x"]
    assert snapshot_servers.server_list(["http://a:1", "https://b"]) == ["http://a:1", "https://b"]
    for bad, says in [("", "several"), ("a:1", "'a:1'"), (["http://a:1", 3], "several"), ("http://a:1,ftp://b", "'ftp://b'"), (None, "several")]:
        with pytest.raises(ValueError) as raised:
            snapshot_servers.server_list(bad)
        assert says in str(raised.value)


class Replica(object):
    """A loopback HTTP server answering the agent API; records uploads. `die_on_upload`: take
    the first upload, then close the connection without an answer and refuse everything after."""

    def __init__(self, die_on_upload=False):
        self.uploads = []
        self.dead = False
        replica = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if replica.dead:
                    self.close_connection = True
                    return
                time.sleep(0.3)  # a short long poll
                self.answer(200, {"version": 1, "probes": [], "redact": [], "global_rate": 100.0})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if replica.dead:
                    self.close_connection = True
                    return
                if self.path.endswith("/snapshots"):
                    upload = json.loads(gzip.decompress(body))
                    replica.uploads.append(upload)
                    if die_on_upload:
                        replica.dead = True
                        self.close_connection = True
                        return
                    self.answer(200, {"accepted": len(upload["snapshots"]), "rejected": 0})
                elif self.path.endswith("/register"):
                    self.answer(200, {"instance_id": json.loads(body)["instance_id"], "version": 0})
                else:
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_batch_whose_answer_was_lost_goes_to_the_next_server_unchanged():
    a, b = Replica(die_on_upload=True), Replica()
    agent = snapshots.Agent([a.url, b.url], "bsk_x", "api", None, {"poll_wait": 1, "quiet": True})
    try:
        agent.transport.start()
        wait_for(lambda: agent.transport.registered)
        for n in range(3):
            agent.transport.enqueue(7, {"probe_id": 7, "time_ms": n, "marker": n}, 100)

        def markers():
            return sorted(s["marker"] for upload in b.uploads for s in upload["snapshots"])

        # (The transport may take the first snapshot alone before the others are queued.)
        wait_for(lambda: markers() == [0, 1, 2])
        assert len(a.uploads) == 1, "A took it once, then died"
        sent, resent = a.uploads[0], b.uploads[0]
        assert resent["batch"] == sent["batch"] and len(sent["batch"]) == 24
        assert resent["snapshots"] == sent["snapshots"]
        assert sent["snapshots"][0] == {"probe_id": 7, "time_ms": 0, "marker": 0}
        assert agent.transport.server == b.url
        # What comes next is a new batch, to B.
        before = len(b.uploads)
        agent.transport.enqueue(7, {"probe_id": 7, "time_ms": 9, "marker": 9}, 100)
        wait_for(lambda: len(b.uploads) == before + 1)
        assert b.uploads[-1]["batch"] != sent["batch"]
        assert [s["marker"] for s in b.uploads[-1]["snapshots"]] == [9]
        wait_for(lambda: agent.transport.pending is None)
        assert markers() == [0, 1, 2, 9], "each snapshot stored once"
    finally:
        agent.transport.stop(1.0)
        a.close()
        b.close()


def test_exception_counts_ride_in_the_pending_batch_and_go_out_again_with_it():
    a, b = Replica(die_on_upload=True), Replica()
    agent = snapshots.Agent([a.url, b.url], "bsk_x", "api", None, {"poll_wait": 1, "quiet": True})
    counts = [{"type": "KeyError", "file": "/srv/app/shop.py", "line": 31, "count": 49}]
    taken = []

    def take_counts():
        taken.append(1)
        return [dict(c) for c in counts]

    # The exception registry's side (tested in test_snapshot_exceptions): counts ready once.
    agent.exceptions.has_counts = lambda: not taken
    agent.exceptions.take_counts = take_counts
    try:
        agent.transport.start()
        wait_for(lambda: agent.transport.registered)
        # Counts are due at once: they go out on their own, to A, which dies without answering.
        wait_for(lambda: b.uploads)
        sent, resent = a.uploads[0], b.uploads[0]
        assert sent["occurrences"] == resent["occurrences"] == counts
        assert sent["snapshots"] == resent["snapshots"] == []
        assert resent["batch"] == sent["batch"], "the same batch, counts and all, not counted twice"
        wait_for(lambda: agent.transport.pending is None)
        assert len(taken) == 1 and len(b.uploads) == 1
    finally:
        agent.transport.stop(1.0)
        a.close()
        b.close()

