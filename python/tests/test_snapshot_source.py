"""The source report for the server's web page: a real agent (hooks, line checks) fed probe sets
asking for `want_source`, and snapshot_source's caps on real files (long lines, large files,
lines near the top, files that vanished)."""

import importlib
import sys
import time
import uuid

import pytest

from borescope_agent import snapshot_source, snapshots


@pytest.fixture
def target(tmp_path):
    name = "source_target_%s" % uuid.uuid4().hex[:8]
    body = ["# line %d" % n for n in range(1, 41)]
    body[18] = 'token = "tk-not-for-the-page"'
    body[19] = "def view(x):"
    body[20] = "    total = x * 2  # the probe line, 21"
    body[21] = "    return total"
    (tmp_path / (name + ".py")).write_text("\n".join(body) + "\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


@pytest.fixture
def agent():
    agent = snapshots.Agent("http://127.0.0.1:9", "bsk_x", "api", None, {})
    agent.hooks.start()
    agent.active = True
    try:
        yield agent
    finally:
        agent.active = False
        assert agent.hooks.stop() == []
        agent.transport._close_pipe()


def spec(module, line, **fields):
    out = {"id": 7, "file": module.__name__ + ".py", "line": line, "rate": 10.0, "frames_with_locals": 1}
    out.update(expires_ms=int(time.time() * 1000) + 60000, captures=[])
    out.update(fields)
    return out


def report(agent):
    entries, commit = agent.statuses(time.monotonic(), True)
    commit()
    return dict((e["probe_id"], e) for e in entries)


def test_the_source_goes_once_with_the_status_when_the_server_asks(agent, target):
    wanted = spec(target, 21, want_source=True)
    agent.apply({"version": 1, "probes": [wanted], "global_rate": 100.0})
    entry = report(agent)[7]
    assert entry["status"] == "installed"
    source = entry["source"]
    assert source["path"] == target.__file__
    assert source["first_line"] == 6
    assert len(source["lines"]) == 31
    assert source["lines"][21 - 6] == "    total = x * 2  # the probe line, 21"
    assert source["lines"][19 - 6] == 'token = "<redacted>"', "secrets in the source stay in the process"
    # Sent: the next reports carry statuses only, even if the set still says want_source.
    agent.apply({"version": 2, "probes": [dict(wanted, hits_left=5)], "global_rate": 100.0})
    target.view(1)
    assert "source" not in report(agent)[7]


def test_no_source_unless_asked_nor_for_an_unmatched_file(agent, target):
    agent.apply({"version": 1, "probes": [spec(target, 21)], "global_rate": 100.0})
    assert "source" not in report(agent)[7]
    agent.apply({"version": 2, "probes": [spec(target, 21, id=8, file="nowhere/else.py", want_source=True)], "global_rate": 100.0})
    entry = report(agent)[8]
    assert entry["status"] == "pending" and "source" not in entry


def test_a_bad_line_still_sends_the_source_with_its_error(agent, target):
    agent.apply({"version": 1, "probes": [spec(target, 3, want_source=True)], "global_rate": 100.0})
    entry = report(agent)[7]
    assert entry["status"] == "error"
    assert entry["message"].startswith("no code at line 3")
    assert entry["source"]["first_line"] == 1 and entry["source"]["lines"][2] == "# line 3"


def test_caps_long_lines_total_bytes_and_large_files(tmp_path):
    path = tmp_path / "wide.py"
    path.write_text("\n".join(("x%d = '" % n) + "é" * 1000 + "'" for n in range(1, 201)) + "\n")
    source = snapshot_source.read(str(path), 100)
    assert all(len(text) <= snapshot_source.MAX_LINE_CHARS for text in source["lines"])
    assert all(text.endswith("\u2026") for text in source["lines"])
    assert sum(len(text.encode("utf-8")) for text in source["lines"]) <= snapshot_source.MAX_BYTES
    # The probe line stays, with the lines nearest to it.
    first = source["first_line"]
    assert first <= 100 < first + len(source["lines"])
    assert source["lines"][100 - first].startswith("x100 = '")
    assert 100 - first in (len(source["lines"]) // 2, (len(source["lines"]) - 1) // 2)


def test_unreadable_or_short_files_give_nothing(tmp_path):
    assert snapshot_source.read(str(tmp_path / "gone.py"), 3) is None
    short = tmp_path / "short.py"
    short.write_text("a = 1\n")
    assert snapshot_source.read(str(short), 5) is None
    assert snapshot_source.read(str(short), 1) == {"path": str(short), "first_line": 1, "lines": ["a = 1"]}
