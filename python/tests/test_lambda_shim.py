"""The Lambda side for real: borescope's exec wrapper and shim under AWS's awslambdaric (the sid
rootfs's Python 3.13), started the way the managed runtime's bootstrap starts a wrapper, against
the loopback Runtime API; the relay is a real mosquitto, the developer's side a relay peer plus
`lambda_worker`. Invocations are driven by HTTP through the Runtime API's control endpoint."""

import json
import os
import subprocess
import threading

import pytest

from lambda_runtime_api import RuntimeApi
from lambda_support import Broker, RelayPeer, WorkerProcess, make_runtime, new_secret, start_runtime, stop_process

DEPLOYED = '''
def handler(event, context):
    return {"where": "lambda", "echo": event}
'''

LOCAL = '''
import hashlib, os, time

def handler(event, context):
    if event.get("fail"):
        return lookup(event)
    if event.get("together"):
        open(os.path.join(event["dir"], event["me"]), "w").close()
        other = os.path.join(event["dir"], event["other"])
        for _ in range(6000):
            if os.path.exists(other):
                break
            time.sleep(0.01)
        else:
            raise RuntimeError("the other invocation never ran")
    blob = event.get("blob", "")
    return {"where": "local", "table": os.environ.get("ORDERS_TABLE"), "request": context.aws_request_id,
            "fn": context.function_name, "remaining_positive": context.get_remaining_time_in_millis() > 0,
            "blob": blob, "digest": hashlib.sha256(blob.encode()).hexdigest(), "me": event.get("me")}

def lookup(event):
    return event["sku"]
'''


class Setup(object):
    def __init__(self, tmp_path, developer=True):
        directory = str(tmp_path)
        self.directory = directory
        self.broker = Broker(directory)
        self.api = RuntimeApi("orders-create").start()
        self.runtime, self.opt = make_runtime(directory)
        self.task = os.path.join(directory, "task")
        os.makedirs(self.task)
        with open(os.path.join(self.task, "app.py"), "w") as f:
            f.write(DEPLOYED)
        self.code = os.path.join(directory, "code")
        os.makedirs(self.code)
        with open(os.path.join(self.code, "app.py"), "w") as f:
            f.write(LOCAL)
        secret, secret_text = new_secret()
        self.prefix = os.urandom(16).hex()
        self.config = {"v": 1, "relay": self.broker.url, "region": "eu-west-1", "prefix": self.prefix,
                       "secret": secret_text, "holder": "test@host", "since": 1764460800,
                       "orig": {"timeout": 3, "wrapper": None, "layers": []}}
        self.worker = self.peer = None
        if developer:
            self.worker = WorkerProcess(directory, self.code)
            self.peer = RelayPeer(self.broker.url, self.prefix, secret, self.worker)
        self.runtimes = []
        self.outputs = []

    def start_runtime(self):
        path = os.path.join(self.directory, "runtime-%d.out" % len(self.runtimes))
        output = open(path, "wb")
        self.outputs.append(path)
        self.runtimes.append(start_runtime(self.runtime, self.opt, self.api, self.task, self.config, output))
        output.close()

    def output(self, i=0):
        with open(self.outputs[i], "rb") as f:
            return f.read().decode("utf-8", "replace")

    def invoke(self, event):
        ok, body, error = self.api.invoke(event, timeout_ms=60000)
        return ok, json.loads(body.decode("utf-8")), error

    def stop(self):
        for process in self.runtimes:
            stop_process(process)
        if self.peer:
            self.peer.stop()
        if self.worker:
            self.worker.stop()
        self.api.stop()
        self.broker.stop()


@pytest.fixture
def setup(tmp_path):
    s = Setup(tmp_path)
    yield s
    s.stop()


def test_a_relayed_invocation_returns_the_local_result(setup):
    setup.start_runtime()
    ok, body, error = setup.invoke({"order": 7})
    assert ok, (body, setup.output())
    assert body["where"] == "local"
    # The function's environment and context reached the local handler.
    assert body["table"] == "orders-prod" and body["fn"] == "orders-create" and body["remaining_positive"]
    invoke = setup.peer.invokes[0]
    assert invoke["id"] == body["request"] and invoke["handler"] == "app.handler" and invoke["fn"] == "orders-create"
    assert json.loads(invoke["event"]) == {"order": 7}
    assert invoke["env"]["AWS_SESSION_TOKEN"] == "test-token"
    left_out = {"AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT", "PATH", "PYTHONPATH", "AWS_LAMBDA_EXEC_WRAPPER",
                "BORESCOPE_LAMBDA", "BORESCOPE_LAMBDA_HANDLER", "_X_AMZN_TRACE_ID"}
    assert not left_out & set(invoke["env"])
    assert invoke["context"]["trace_id"].startswith("Root=1-")
    # The execution environment keeps its connection: a second invocation is relayed too.
    ok, body, error = setup.invoke({"order": 8})
    assert ok and body["where"] == "local"
    assert len({i["w"] for i in setup.peer.invokes}) == 1
    assert "[borescope]" not in setup.output()


def test_a_raised_error_arrives_with_its_type_and_the_local_frames(setup):
    setup.start_runtime()
    ok, body, error = setup.invoke({"fail": True})
    assert not ok and error == "KeyError"
    assert body["errorType"] == "KeyError" and body["errorMessage"] == "'sku'"
    local = os.path.join(setup.code, "app.py")
    lines = LOCAL.splitlines()
    call_line = lines.index("        return lookup(event)") + 1
    raise_line = lines.index('    return event["sku"]') + 1
    trace = "".join(body["stackTrace"])
    assert 'File "%s", line %d, in handler\n    return lookup(event)' % (local, call_line) in trace, trace
    assert 'File "%s", line %d, in lookup\n    return event["sku"]' % (local, raise_line) in trace, trace
    assert trace.index("in handler") < trace.index("in lookup")


def test_a_concurrent_pair_runs_at_once(setup):
    """Two execution environments, one invocation each; each local handler waits for the other's
    marker file, so both finish only if both ran at the same time."""
    setup.start_runtime()
    setup.start_runtime()
    results = {}

    def invoke(me, other):
        results[me] = setup.invoke({"together": True, "me": me, "other": other, "dir": setup.directory})

    threads = [threading.Thread(target=invoke, args=("a", "b")), threading.Thread(target=invoke, args=("b", "a"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert results["a"][0] and results["b"][0], results
    assert {results["a"][1]["me"], results["b"][1]["me"]} == {"a", "b"}
    assert len({i["w"] for i in setup.peer.invokes}) == 2


def test_a_1_mb_event_round_trip(setup):
    setup.start_runtime()
    blob = os.urandom(500000).hex()
    ok, body, error = setup.invoke({"blob": blob})
    assert ok, (body, setup.output())
    assert body["where"] == "local" and body["blob"] == blob
    import hashlib

    assert body["digest"] == hashlib.sha256(blob.encode()).hexdigest()


def test_nobody_on_the_developer_side_runs_the_original_handler(tmp_path):
    s = Setup(tmp_path, developer=False)
    try:
        s.start_runtime()
        ok, body, error = s.invoke({"order": 9})
        assert ok, (body, s.output())
        assert body == {"where": "lambda", "echo": {"order": 9}}
        assert "[borescope] no answer from the developer's machine within 5 s; running the function's own handler" in s.output()
    finally:
        s.stop()


def test_an_unreachable_relay_runs_the_original_handler_with_one_log_line(tmp_path):
    s = Setup(tmp_path, developer=False)
    try:
        s.broker.stop()
        s.start_runtime()
        ok, body, error = s.invoke({"order": 10})
        assert ok and body["where"] == "lambda", (body, s.output())
        lines = [l for l in s.output().splitlines() if "[borescope]" in l]
        assert len(lines) == 1 and "relay unavailable" in lines[0] and "running the function's own handler" in lines[0]
        assert "test-secret" not in s.output() and "test-token" not in s.output()
    finally:
        s.stop()


def test_the_wrapper_chains_the_functions_own_wrapper(tmp_path):
    """With BORESCOPE_LAMBDA_CHAIN the wrapper runs the original wrapper with the interpreter
    command line, after making the shim the handler."""
    chained = tmp_path / "their-wrapper"
    chained.write_text("#!/bin/sh\necho \"chained: $_HANDLER $BORESCOPE_LAMBDA_HANDLER $#\"\n")
    chained.chmod(0o755)
    wrapper = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "borescope_agent", "lambda_wrapper.sh")
    env = {"PATH": "/usr/bin:/bin", "_HANDLER": "app.handler", "BORESCOPE_LAMBDA": "{}", "BORESCOPE_LAMBDA_CHAIN": str(chained)}
    done = subprocess.run(["sh", wrapper, "/var/lang/bin/python3.13", "/var/runtime/bootstrap.py"], env=env, capture_output=True, timeout=30)
    assert done.stdout.decode() == "chained: borescope_agent.lambda_shim.handler app.handler 2\n"
    # Not attached: the handler is left alone and the command runs as is.
    env = {"PATH": "/usr/bin:/bin", "_HANDLER": "app.handler"}
    done = subprocess.run(["sh", wrapper, "sh", "-c", "echo \"$_HANDLER ${BORESCOPE_LAMBDA_HANDLER:-none}\""], env=env, capture_output=True, timeout=30)
    assert done.stdout.decode() == "app.handler none\n"


def test_the_local_error_is_raised_through_frames_lambda_does_not_have():
    """In Lambda the local files do not exist: the frames still carry their names, lines and
    source text, and the exception its class name and message."""
    import traceback

    from borescope_agent import lambda_shim

    stack = [["/home/me/orders/app.py", 12, "handler", "order = load(event)"],
             ["/home/me/orders/store.py", 40, "load", "return event['sku']"]]
    raiser = lambda_shim.local_raiser({"type": "KeyError", "message": "'sku'", "stack": stack})
    with pytest.raises(KeyError) as caught:
        raiser()
    assert type(caught.value).__name__ == "KeyError" and str(caught.value) == "'sku'"
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(caught.value.__traceback__)][-2:]
    assert frames == [tuple(f) for f in stack]
    custom = lambda_shim.local_raiser({"type": "OrderRejected", "message": "no stock", "stack": []})
    with pytest.raises(Exception) as caught:
        custom()
    assert type(caught.value).__name__ == "OrderRejected" and str(caught.value) == "no stock"
    fault = lambda_shim.local_raiser({"type": "Runtime.ImportModuleError", "message": "Unable to import module 'app'", "stack": []})
    with pytest.raises(Exception) as caught:
        fault()
    assert type(caught.value).__name__ == "Runtime.ImportModuleError"
