"""Exception snapshots in a real agent (snapshots.Agent, its real ExceptionWatch and capture),
fed the service's setting directly: the hooks (threads, sys.excepthook, logging), what a
snapshot records, deduplication and the rate limit, the counts sent later, and the hooks taken
out again (or left inert when someone wrapped them). The transport thread is not started, so
snapshots stay in its queue where the test reads them; the server side is tested by the Rust
integration tests (Flask and FastAPI under `borescope run`, Python 3.11 and 3.14)."""

import logging
import sys
import threading
import time

import pytest

from conftest import interpreters, run_script
from borescope_agent import snapshots

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")

ON = {"enabled": True, "every_secs": 60, "per_minute": 30, "max_frames": 30}


@pytest.fixture
def agent():
    before = (sys.excepthook, threading.excepthook, logging.getLogRecordFactory())
    agent = snapshots.Agent("http://127.0.0.1:9", "bsk_x", "api", None, {})
    agent.active = True
    try:
        yield agent
    finally:
        agent.exceptions.disable()
        agent.transport._close_pipe()
        assert (sys.excepthook, threading.excepthook, logging.getLogRecordFactory()) == before


def turn_on(agent, **limits):
    settings = dict(ON)
    settings.update(limits)
    agent.apply({"version": 1, "probes": [], "global_rate": 100.0, "exceptions": settings})


def queued(agent):
    return [item[1] for item in agent.transport.queue]


def ack_all(agent):
    with agent.transport.qlock:
        items = list(agent.transport.queue)
        agent.transport.queue.clear()
    agent.acked([item[0] for item in items])


class PriceError(Exception):
    pass


def lookup(prices, sku):
    token = "tok-secret-1"
    return prices[sku]  # RAISE: lookup


def checkout(sku):
    prices = {"a": 1}
    password = "hunter2"
    try:
        return lookup(prices, sku)
    except KeyError as exc:
        raise PriceError("no price for %s" % sku) from exc  # RAISE: checkout


def failing_thread(sku):
    def run():
        cart = [sku, sku]
        checkout(sku)

    thread = threading.Thread(target=run, name="worker-7")
    thread.start()
    thread.join()


def line_of(marker):
    with open(__file__) as f:
        for number, text in enumerate(f, 1):
            if marker in text and "line_of(" not in text:
                return number
    raise AssertionError(marker)


def test_an_exception_escaping_a_thread_records_every_frame_with_its_locals(agent):
    called = []
    previous = threading.excepthook
    threading.excepthook = lambda args: called.append(args.exc_type)
    try:
        turn_on(agent)
        failing_thread("zz")
        agent.exceptions.disable()
    finally:
        threading.excepthook = previous
    (shot,) = queued(agent)
    info = shot["exception"]
    assert shot["kind"] == "exception" and shot["probe_id"] is None
    assert info["type"] == "%s.PriceError" % __name__
    assert info["message"] == "no price for zz"
    assert info["origin"] == "thread" and info["occurrences"] == 1
    assert info["function"] == "checkout" and info["line"] == line_of("RAISE: checkout")
    assert info["chain"] == [
        {"relation": "cause", "type": "KeyError", "message": "'zz'", "file": agent.real_path(__file__), "line": line_of("RAISE: lookup")}
    ]
    assert shot["thread"]["name"] == "worker-7"
    functions = [f["function"] for f in shot["stack"]]
    assert functions[:2] == ["checkout", "run"], functions
    assert [f["index"] for f in shot["stack"]] == list(range(len(functions)))
    innermost = dict((v["name"], v) for v in shot["locals"])
    assert innermost["password"]["redacted"] is True and innermost["password"]["value"] == ""
    assert innermost["sku"]["value"] == "'zz'"
    outer = dict((v["name"], v) for v in shot["frame_locals"][0]["locals"])
    assert shot["frame_locals"][0]["index"] == 1 and outer["cart"]["value"] == "['zz', 'zz']"
    assert "RAISE: checkout" in shot["source"]["lines"][shot["source"]["current_line"] - shot["source"]["first_line"]]
    assert called == [PriceError], "the hook that was there before still ran"


def test_logged_exceptions_are_recorded_at_error_with_a_traceback_only(agent):
    turn_on(agent)
    quiet = logging.getLogger("borescope-test-quiet")
    quiet.propagate = False  # no handler anywhere: the record is still made, and seen
    quiet.setLevel(logging.DEBUG)
    for call in (
        lambda: quiet.warning("not an error", exc_info=True),
        lambda: quiet.error("no traceback"),
        lambda: quiet.exception("failed"),
    ):
        try:
            checkout("q")
        except PriceError:
            call()
    (shot,) = queued(agent)
    assert shot["exception"]["origin"] == "logging"
    assert shot["exception"]["type"].endswith("PriceError")
    # The traceback starts where it was caught: this test function, then checkout.
    assert [f["function"] for f in shot["stack"]] == ["checkout", "test_logged_exceptions_are_recorded_at_error_with_a_traceback_only"]
    quiet.exception("outside an except: nothing to record")
    assert len(queued(agent)) == 1


def test_sys_excepthook_records_and_chains_the_previous_hook(agent):
    called = []
    previous = sys.excepthook
    sys.excepthook = lambda *info: called.append(info[0])
    try:
        turn_on(agent)
        try:
            checkout("m")
        except PriceError:
            sys.excepthook(*sys.exc_info())
        assert called == [PriceError]
        (shot,) = queued(agent)
        assert shot["exception"]["origin"] == "excepthook"
        agent.exceptions.disable()
    finally:
        sys.excepthook = previous


def test_a_hot_failure_is_captured_once_and_its_other_occurrences_counted(agent):
    turn_on(agent)
    for _ in range(50):
        try:
            lookup({}, "hot")
        except KeyError:
            logging.getLogger("borescope-test").exception("lookup failed")
    assert len(queued(agent)) == 1
    assert queued(agent)[0]["exception"]["occurrences"] == 1
    assert agent.exceptions.take_counts() == [], "nothing is counted against a snapshot still queued"
    ack_all(agent)
    counts = agent.exceptions.take_counts()
    assert counts == [{"type": "KeyError", "file": agent.real_path(__file__), "line": line_of("RAISE: lookup"), "count": 49}]
    assert agent.exceptions.take_counts() == [], "taken once (the transport's pending batch resends them)"
    # Another location is another failure.
    try:
        checkout("other")
    except PriceError:
        logging.getLogger("borescope-test").exception("checkout failed")
    assert len(queued(agent)) == 1


def test_the_process_wide_cap_counts_what_it_stops_and_the_next_snapshot_carries_it(agent):
    turn_on(agent, per_minute=1)
    for sku in ("x", "y", "y", "y"):
        try:
            lookup({}, sku) if sku == "x" else checkout(sku)
        except Exception:
            logging.getLogger("borescope-test").exception("failed")
    (first,) = queued(agent)
    assert first["exception"]["type"] == "KeyError"
    assert agent.exceptions.suppressed == 3
    agent.exceptions.window_start -= 61  # the next minute
    try:
        checkout("y")
    except PriceError:
        logging.getLogger("borescope-test").exception("failed")
    second = queued(agent)[1]
    assert second["exception"]["type"].endswith("PriceError")
    assert second["exception"]["occurrences"] == 4, "three stopped by the cap, and this one"


def test_turning_off_removes_the_hooks_and_records_nothing_more(agent):
    original = (sys.excepthook, threading.excepthook, logging.getLogRecordFactory())
    turn_on(agent)
    assert sys.excepthook is agent.exceptions.hooks.sys_hook
    agent.apply({"version": 2, "probes": [], "global_rate": 100.0, "exceptions": {"enabled": False}})
    assert (sys.excepthook, threading.excepthook, logging.getLogRecordFactory()) == original
    failing_thread("off")
    try:
        checkout("off")
    except PriceError:
        logging.getLogger("borescope-test").exception("failed")
    assert queued(agent) == []
    # A probe set without the field (an older server) means off too.
    turn_on(agent)
    agent.apply({"version": 3, "probes": [], "global_rate": 100.0})
    assert sys.excepthook is original[0]


def test_a_hook_someone_wrapped_is_left_inert_in_their_chain(agent):
    previous = threading.excepthook
    turn_on(agent)
    ours = threading.excepthook
    seen = []

    def theirs(args):
        seen.append(args.exc_type)
        ours(args)

    threading.excepthook = theirs
    try:
        agent.exceptions.disable()
        assert threading.excepthook is theirs, "their hook stays; ours cannot be cut out of it"
        failing_thread("inert")
        assert seen == [PriceError]
        assert queued(agent) == []
        # On again: new hooks on top of theirs; the inert one in their chain does not loop
        # back into the new ones, and each exception is recorded once.
        turn_on(agent)
        failing_thread("again")
        assert seen == [PriceError, PriceError]
        assert len(queued(agent)) == 1
        try:
            checkout("logged")
        except PriceError:
            logging.getLogger("borescope-test").exception("failed")
        assert agent.exceptions.suppressed == 1, "the same failure, counted once"
        agent.exceptions.disable()
        assert threading.excepthook is theirs
    finally:
        threading.excepthook = previous


def test_stopping_the_agent_takes_the_hooks_out():
    before = (sys.excepthook, threading.excepthook, logging.getLogRecordFactory())
    agent = snapshots.Agent("http://127.0.0.1:9", "bsk_x", "api", None, {"quiet": True})
    agent.active = True
    turn_on(agent)
    assert logging.getLogRecordFactory() is agent.exceptions.hooks.factory
    agent.stop(0)
    assert (sys.excepthook, threading.excepthook, logging.getLogRecordFactory()) == before


SCRIPT = """
import json, logging, sys, threading
from borescope_agent import snapshots

agent = snapshots.Agent("http://127.0.0.1:9", "bsk_x", "api", None, {})
agent.active = True
agent.apply({"version": 1, "probes": [], "global_rate": 100.0, "exceptions": {"enabled": True}})

def handler(order_id):
    api_key = "ak-1"
    basket = {"id": order_id}
    return basket["missing"]

def run():
    handler(3)

thread = threading.Thread(target=run)
thread.start(); thread.join()
try:
    handler(4)
except KeyError:
    logging.getLogger("app").exception("failed")
for _ in range(20):
    try:
        handler(5)
    except KeyError:
        logging.getLogger("app").error("again", exc_info=True)
shots = [item[1] for item in agent.transport.queue]
agent.exceptions.disable()
restored = sys.excepthook is sys.__excepthook__ and logging.getLogRecordFactory() is logging.LogRecord
print(json.dumps({"shots": shots, "suppressed": agent.exceptions.suppressed, "restored": restored}))
"""


@pytest.mark.parametrize("label,argv", interpreters())
def test_hooks_on_each_interpreter(label, argv, tmp_path):
    out = run_script(argv, SCRIPT, str(tmp_path))
    shots = out["shots"]
    assert [s["exception"]["origin"] for s in shots] == ["thread"], label
    assert out["suppressed"] == 21, "the logged ones are the same failure as the thread's"
    assert shots[0]["exception"]["type"] == "KeyError" and shots[0]["exception"]["function"] == "handler"
    names = dict((v["name"], v) for v in shots[0]["locals"])
    assert names["api_key"]["redacted"] is True
    assert names["basket"]["value"] == "{'id': 3}"
    assert out["restored"] is True


DYING = """
import atexit, json, sys
from borescope_agent import snapshots

agent = snapshots.Agent("http://127.0.0.1:9", "bsk_x", "api", None, {})
agent.active = True

def report():
    shots = [item[1] for item in agent.transport.queue]
    sys.stdout.write(json.dumps([s["exception"] for s in shots]) + "\\n")

atexit.register(report)  # runs after sys.excepthook, like the transport's exit flush
agent.apply({"version": 1, "probes": [], "global_rate": 100.0, "exceptions": {"enabled": True}})

def main(argv):
    config = {"retries": 3}
    return config["timeout"]

main(sys.argv)
"""


@pytest.mark.parametrize("label,argv", interpreters())
def test_an_exception_ending_the_program_is_recorded_before_it_exits(label, argv, tmp_path):
    import json
    import os
    import subprocess

    from conftest import PYTHON_DIR

    path = tmp_path / "dying.py"
    path.write_text("import sys\nsys.path.insert(0, %r)\n" % PYTHON_DIR + DYING)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    done = subprocess.run(argv + [str(path)], cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert done.returncode == 1, label
    assert "KeyError: 'timeout'" in done.stderr.decode(), "Python's own hook still printed it"
    (info,) = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert info["origin"] == "excepthook" and info["type"] == "KeyError" and info["function"] == "main"
