"""What one live snapshot records (snapshot_capture): the SnapshotData shape, redaction, the
classified stack, source lines, and the byte and time budgets with their notices."""

import sys
import time

from borescope_agent import safe_expr, snapshot_capture

HERE = __file__


def _take(frame, **options):
    line = frame.f_lineno
    data, size, errors = snapshot_capture.snapshot(7, frame, HERE, line, 1234, frozenset(), **options)
    return data, size, errors


def test_a_snapshot_has_the_wire_shape_and_hides_secrets():
    def view(order_id):
        password = "hunter2"
        total = order_id * 2
        return _take(sys._getframe(0), expressions=[safe_expr.Expression("total + 1"), safe_expr.Expression("nope")])

    data, size, errors = view(21)
    assert set(data) == {"probe_id", "time_ms", "location", "function", "thread", "source", "stack", "locals", "evals", "capture_us"}
    assert data["probe_id"] == 7 and data["time_ms"] == 1234 and data["function"] == "view"
    assert data["location"]["file"] == HERE
    locals_ = {v["name"]: v for v in data["locals"]}
    assert locals_["password"] == {"name": "password", "type_name": "str", "value": "", "redacted": True}
    assert locals_["total"]["value"] == "42"
    assert data["evals"][0] == {"expression": "total + 1", "value": {"name": "total + 1", "type_name": "int", "value": "43"}}
    assert data["evals"][1] == {"expression": "nope", "error": "NameError: name 'nope' is not defined"}
    assert errors == ["nope: NameError: name 'nope' is not defined"]
    assert data["stack"][0]["index"] == 0 and data["stack"][0]["kind"] == "user"
    assert [f["index"] for f in data["stack"]] == list(range(len(data["stack"])))
    assert any(f["kind"] == "library" for f in data["stack"])  # pytest, from site-packages
    source = data["source"]
    assert source["current_line"] == data["location"]["line"]
    assert "_take(sys._getframe(0)" in source["lines"][source["current_line"] - source["first_line"]]
    assert size > 0


def test_more_frames_get_their_locals_when_asked():
    def inner():
        here = 1
        return _take(sys._getframe(0), frames_with_locals=3)

    def outer():
        there = 2
        return inner()

    data, _, _ = outer()
    assert [f["index"] for f in data["frame_locals"]] == [1, 2]
    assert {"name": "there", "type_name": "int", "value": "2"} in data["frame_locals"][0]["locals"]


def test_the_size_budget_stops_the_capture_and_says_so():
    def deep(level):
        blobs = ["x" * 600 for _ in range(16)]
        a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p = blobs
        if level:
            return deep(level - 1)
        return _take(sys._getframe(0), frames_with_locals=10)

    data, size, _ = deep(30)
    assert len(data["frame_locals"]) < 9
    assert data["notices"][-1]["message"] == "the snapshot reached its size budget (64 KB); later values were not captured"
    assert size <= snapshot_capture.MAX_BYTES + 4096


class Slow(object):
    def __repr__(self):
        time.sleep(snapshot_capture.MAX_SECONDS * 1.5)
        return "Slow()"


def test_the_time_budget_stops_the_capture_and_says_so():
    def view():
        first = Slow()
        second = 2
        third = 3
        return _take(sys._getframe(0))

    data, _, _ = view()
    assert [v["name"] for v in data["locals"]] == ["first"]
    assert data["locals_omitted"] == 2
    assert data["notices"][-1]["message"] == "capturing took longer than 100 ms; later values were not captured"


def test_a_logpoint_records_only_its_message():
    def view(order_id):
        api_key = "k"
        template = safe_expr.Template("order {order_id} key={api_key}")
        return snapshot_capture.logpoint(3, template, sys._getframe(0), HERE, 1, 99, frozenset())

    data, _, errors = view(5)
    assert data["message"] == "order 5 key=<redacted>"
    assert set(data) == {"probe_id", "time_ms", "location", "function", "thread", "message", "capture_us"}
    assert errors == []
