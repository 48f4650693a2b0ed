"""The hit pipeline of a real agent (snapshots.Agent with its real hooks and capture) fed probe
sets directly: what gets captured, the counters and the statuses. The transport thread is not
started, so snapshots stay in its queue where the test reads them (the network side is tested
with the real server by the Rust integration tests). Runs with every engine this interpreter
has (the venv's 3.11: rewrite; 3.12+: both)."""

import importlib
import sys
import textwrap
import time
import uuid

import pytest

from borescope_agent import snapshots

TARGET = textwrap.dedent(
    """\
    def view(request_id, password="hunter2"):
        customer_ref = "C-%d" % request_id
        total = request_id * 2
        return total

    def never(x):
        if x < 0:
            return -x
        return x
    """
)


@pytest.fixture
def target(tmp_path):
    name = "pipeline_target_%s" % uuid.uuid4().hex[:8]
    (tmp_path / (name + ".py")).write_text(TARGET)
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module(name)
        yield module
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


ENGINES = ["rewrite"] + (["monitoring"] if hasattr(sys, "monitoring") else [])


@pytest.fixture(params=ENGINES)
def agent(request):
    agent = snapshots.Agent("http://127.0.0.1:9", "bsk_x", "api", None, {"engine": request.param})
    assert agent.hooks.engine == request.param
    agent.hooks.start()
    agent.active = True
    try:
        yield agent
    finally:
        agent.active = False
        assert agent.hooks.stop() == []
        agent.transport._close_pipe()


def probe(module, line, **fields):
    spec = {"id": fields.pop("id", line), "file": module.__name__ + ".py", "line": line, "rate": 1000.0}
    spec.update(frames_with_locals=1, expires_ms=int(time.time() * 1000) + 60000, captures=[])
    spec.update(fields)
    return spec


def statuses(agent):
    entries, _ = agent.statuses(time.monotonic(), True)
    return dict((e["probe_id"], e) for e in entries)


def queued(agent):
    return [item[1] for item in agent.transport.queue]


def test_a_condition_selects_and_the_counters_follow_it(agent, target):
    agent.apply({"version": 1, "probes": [probe(target, 4, condition="request_id == 7", rate=1.0)], "global_rate": 100.0})
    for i in range(20):
        target.view(i)
    assert [s["locals"][0]["value"] for s in queued(agent)] == ["7"]
    assert statuses(agent)[4] == {"probe_id": 4, "status": "emitting", "hits": 1, "rate_limited": 0}


def test_without_a_condition_the_rate_limit_counts_what_it_skipped(agent, target):
    agent.apply({"version": 1, "probes": [probe(target, 4, rate=1.0)], "global_rate": 100.0})
    for i in range(10):
        target.view(i)
    assert len(queued(agent)) == 1
    assert statuses(agent)[4] == {"probe_id": 4, "status": "rate_limited", "hits": 10, "rate_limited": 9}


def test_hits_left_ends_the_probe(agent, target):
    agent.apply({"version": 1, "probes": [probe(target, 4, hits_left=2)], "global_rate": 100.0})
    for i in range(5):
        target.view(i)
    assert len(queued(agent)) == 2
    entry = statuses(agent)[4]
    assert (entry["status"], entry["message"], entry["hits"]) == ("expired", "its hit limit was reached", 2)


def test_expired_probes_are_not_armed(agent, target):
    agent.apply({"version": 1, "probes": [probe(target, 4, expires_ms=1)], "global_rate": 100.0})
    target.view(1)
    assert queued(agent) == []
    assert statuses(agent)[4]["status"] == "expired"
    assert agent.index == {}


def test_errors_are_reported_and_never_reach_the_program(agent, target):
    agent.apply(
        {
            "version": 1,
            "probes": [
                probe(target, 4, id=1, condition="request_id.nope > 1"),
                probe(target, 4, id=2, condition="open('/etc/passwd')"),
                probe(target, 4, id=3, condition="password == 'x'"),
                probe(target, 5, id=4),
                probe(target, 3, id=5, file="no/such/module.py"),
            ],
            "global_rate": 100.0,
        }
    )
    assert target.view(3) == 6
    found = statuses(agent)
    assert (found[1]["status"], found[1]["message"]) == ("error", "the condition failed once; last: AttributeError: 'int' object has no attribute 'nope'")
    assert found[2]["status"] == "error" and found[2]["message"].startswith("condition refused: calls are not allowed")
    assert found[3]["message"] == "condition refused: it reads password, whose value is redacted; conditions cannot read redacted values"
    assert (found[4]["status"], found[4]["message"]) == ("error", "no code at line 5; nearest lines with code: 4, 6")
    assert (found[5]["status"], found[5]["message"]) == ("pending", "waiting for a module whose file is (or ends with) no/such/module.py to be imported")
    assert queued(agent) == []


def test_logpoints_and_server_redaction(agent, target):
    agent.apply(
        {
            "version": 1,
            "probes": [probe(target, 4, id=1, log="req {request_id} ref={customer_ref}"), probe(target, 4, id=2)],
            "redact": ["customer_ref"],
            "global_rate": 100.0,
        }
    )
    target.view(5)
    logged, snapshot = sorted(queued(agent), key=lambda s: s["probe_id"])
    assert logged["message"] == "req 5 ref=<redacted>" and "locals" not in logged
    hidden = [v["name"] for v in snapshot["locals"] if v.get("redacted")]
    assert hidden == ["password", "customer_ref"]


def test_a_removed_probe_is_disarmed(agent, target):
    agent.apply({"version": 1, "probes": [probe(target, 8, rate=1000.0)], "global_rate": 100.0})
    assert statuses(agent)[8]["status"] == "installed"
    target.never(-1)
    agent.apply({"version": 2, "probes": [], "global_rate": 100.0})
    target.never(-1)
    assert len(queued(agent)) == 1
    assert agent.index == {} and agent.hooks.armed_paths() == []
