"""The Lambda worker alone (borescope_agent.lambda_worker as a subprocess on a Unix socket):
concurrency and environment isolation, hot reload, the context's countdown, the runtime's error
types for import and marshalling failures, the handler's errors with their stack, `bye`."""

import os
import time

import pytest

from lambda_support import WorkerProcess, invoke_message

CODE = '''
import os, time

def wait_for(path):
    for _ in range(6000):
        if os.path.exists(path):
            return
        time.sleep(0.01)
    raise RuntimeError("the other invocation never ran: " + path)

def together(event, context):
    """Sees its own environment while the other invocation runs at the same time."""
    mine = os.environ.get("FUNCTION_VAR")
    os.environ["WRITTEN_BY"] = event["me"]
    open(os.path.join(event["dir"], event["me"]), "w").close()
    wait_for(os.path.join(event["dir"], event["other"]))
    return {"me": event["me"], "var": mine, "getenv": os.getenv("FUNCTION_VAR"),
            "written": os.environ["WRITTEN_BY"], "own": os.environ.get("WORKER_OWN"),
            "trace": os.environ.get("_X_AMZN_TRACE_ID")}

def environment(event, context):
    return {"var": os.environ.get("FUNCTION_VAR"), "written": os.environ.get("WRITTEN_BY")}

def remaining(event, context):
    return {"remaining": context.get_remaining_time_in_millis(), "id": context.aws_request_id,
            "name": context.function_name, "arn": context.invoked_function_arn,
            "memory": context.memory_limit_in_mb, "group": context.log_group_name}

def fails(event, context):
    order = event["sku"]
    return order

def unserialisable(event, context):
    return {"when": object()}
'''


@pytest.fixture
def code(tmp_path):
    directory = tmp_path / "code"
    directory.mkdir()
    (directory / "app.py").write_text(CODE)
    return directory


@pytest.fixture
def worker(tmp_path, code):
    w = WorkerProcess(str(tmp_path), str(code))
    yield w
    w.stop()


def test_hello_names_the_process_and_python(worker):
    assert worker.hello["t"] == "hello"
    assert worker.hello["pid"] == worker.process.pid
    assert worker.hello["python"].count(".") == 2


def test_two_concurrent_invocations_each_see_their_own_environment(worker, tmp_path):
    marks = str(tmp_path)
    worker.send(invoke_message("req-a", "app.together", {"me": "a", "other": "b", "dir": marks}, env={"FUNCTION_VAR": "from-a"}, function_name="fa"))
    worker.send(invoke_message("req-b", "app.together", {"me": "b", "other": "a", "dir": marks}, env={"FUNCTION_VAR": "from-b"}, function_name="fb"))
    answers = {}
    for _ in range(2):
        answer = worker.receive()
        answers[answer["id"]] = answer
    assert answers["req-a"]["t"] == "result", answers
    import json

    a, b = json.loads(answers["req-a"]["body"]), json.loads(answers["req-b"]["body"])
    assert (a["var"], a["getenv"], a["written"]) == ("from-a", "from-a", "a")
    assert (b["var"], b["getenv"], b["written"]) == ("from-b", "from-b", "b")
    # The worker's own variables show through; the trace id comes from the invocation.
    assert a["own"] == "worker" and a["trace"] == "Root=1-test"
    # Nothing an invocation set outlives it.
    worker.send(invoke_message("req-c", "app.environment", {}))
    assert json.loads(worker.receive()["body"]) == {"var": None, "written": None}


def test_an_edited_module_is_reimported_for_the_next_invocation(worker, code):
    import json

    (code / "helper.py").write_text("VALUE = 'first'\n")
    (code / "hot.py").write_text("import helper\ndef handler(event, context):\n    return helper.VALUE\n")
    worker.send(invoke_message("r1", "hot.handler", {}))
    assert json.loads(worker.receive()["body"]) == "first"
    # Same size, same second: the change must still be seen (no stale bytecode).
    (code / "helper.py").write_text("VALUE = 'other'\n")
    worker.send(invoke_message("r2", "hot.handler", {}))
    assert json.loads(worker.receive()["body"]) == "other"
    worker.send(invoke_message("r3", "hot.handler", {}))
    assert json.loads(worker.receive()["body"]) == "other"
    assert not (code / "__pycache__").exists()


def test_the_context_counts_down_to_the_real_deadline(worker):
    import json

    deadline = int(time.time() * 1000) + 120000
    before = int(time.time() * 1000)
    worker.send(invoke_message("r-ctx", "app.remaining", {}, deadline_ms=deadline, function_name="orders"))
    answer = json.loads(worker.receive()["body"])
    after = int(time.time() * 1000)
    assert deadline - after <= answer["remaining"] <= deadline - before
    assert answer["id"] == "r-ctx" and answer["name"] == "orders" and answer["memory"] == "128"
    assert answer["arn"].endswith(":function:orders") and answer["group"] == "/aws/lambda/orders"
    worker.send(invoke_message("r-late", "app.remaining", {}, deadline_ms=int(time.time() * 1000) - 5000))
    assert json.loads(worker.receive()["body"])["remaining"] == 0


def test_a_module_that_does_not_import_is_an_import_module_error(worker):
    worker.send(invoke_message("r-imp", "missing_module.handler", {}))
    answer = worker.receive()
    assert answer["t"] == "error" and answer["type"] == "Runtime.ImportModuleError"
    assert answer["message"].startswith("Unable to import module 'missing_module': No module named 'missing_module'")
    worker.send(invoke_message("r-nf", "app.nope", {}))
    assert worker.receive()["type"] == "Runtime.HandlerNotFound"
    worker.send(invoke_message("r-bad", "nodot", {}))
    assert worker.receive()["type"] == "Runtime.MalformedHandlerName"


def test_a_result_that_is_not_json_is_a_marshal_error(worker):
    worker.send(invoke_message("r-m", "app.unserialisable", {}))
    answer = worker.receive()
    assert answer["t"] == "error" and answer["type"] == "Runtime.MarshalError"
    assert answer["message"].startswith("Unable to marshal response:")


def test_the_handlers_exception_arrives_with_its_stack(worker, code):
    worker.send(invoke_message("r-err", "app.fails", {"id": 1}))
    answer = worker.receive()
    assert (answer["t"], answer["type"], answer["message"]) == ("error", "KeyError", "'sku'")
    line = CODE.splitlines().index('    order = event["sku"]') + 1
    assert answer["stack"] == [[str(code / "app.py"), line, "fails", 'order = event["sku"]']]


def test_a_handler_module_under_a_slash_path_is_found(worker, code):
    import json

    (code / "pkg").mkdir()
    (code / "pkg" / "__init__.py").write_text("")
    (code / "pkg" / "mod.py").write_text("def handler(event, context):\n    return event['n'] + 1\n")
    worker.send(invoke_message("r-slash", "pkg/mod.handler", {"n": 41}))
    assert json.loads(worker.receive()["body"]) == 42


def test_bye_waits_for_running_invocations_then_exits_0(worker, tmp_path):
    marks = str(tmp_path)
    worker.send(invoke_message("r-long", "app.together", {"me": "x", "other": "go", "dir": marks}))
    worker.send({"t": "bye"})
    # The invocation is still waiting for its marker: the worker must not have exited.
    assert worker.process.poll() is None
    open(os.path.join(marks, "go"), "w").close()
    assert worker.receive()["t"] == "result"
    assert worker.process.wait(30) == 0


def test_without_its_variables_the_worker_says_what_is_missing(tmp_path):
    import subprocess
    import sys

    from lambda_support import agent_path

    env = dict(os.environ, PYTHONPATH=agent_path(str(tmp_path)))
    env.pop("BORESCOPE_LAMBDA_WORKER_SOCKET", None)
    done = subprocess.run([sys.executable, "-m", "borescope_agent.lambda_worker"], env=env, capture_output=True, timeout=30)
    assert done.returncode == 2
    assert b"BORESCOPE_LAMBDA_WORKER_SOCKET and BORESCOPE_LAMBDA_CODE must be set" in done.stderr
