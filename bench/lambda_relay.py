#!/usr/bin/env python3
"""Lambda relay benchmark: what `borescope lambda attach` adds to an invocation, on loopback.

Each invocation is the same path Lambda takes: an event queued at a Runtime API, AWS's
runtime interface client (awslambdaric, Python 3.13) fetching it, the handler, the answer
posted back; timed from the request to the answer.

  direct     the function's own handler in the execution environment (no borescope)
  borescope  the layer's shim → MQTT over WebSocket (mosquitto) → `borescope lambda attach`
             → the local worker (a borescope session, the example's real handler) → back
  plldb      PLLDB 0.1.3's own code for the same hop: its layer's `create_debugger_request`
             (a DynamoDB item) and `poll_for_response` (DynamoDB read every 1 s), against
             moto's DynamoDB, with PLLDB's own `Debugger`/`Executor` answering the request the
             instant it is written (its WebSocket push is taken as free) and the answer written
             as its CLI does. Only its relay hop is timed, so its numbers are a floor.

Prints median and p99 per path and the latency each relay adds over `direct`, with the
ratio side by side. The goal for borescope is <= 50 ms p99 added.

Usage: bench/lambda_relay.py [--invocations 200] [--plldb-invocations 20]
(BORESCOPE: the binary, default $CARGO_TARGET_DIR/{release,debug}/borescope). Run it with the
test virtualenv's Python (~/.cache/borescope/venv/bin/python); scripts/test-setup.sh installs
mosquitto, moto and awslambdaric; PLLDB is fetched once into ~/.cache/borescope/bench/.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[0:0] = [HERE, os.path.join(ROOT, "python"), os.path.join(ROOT, "python", "tests")]
from bench import binary  # noqa: E402
import lambda_support  # noqa: E402
from lambda_runtime_api import RuntimeApi  # noqa: E402

CACHE = os.environ.get("BORESCOPE_TEST_CACHE") or os.path.expanduser("~/.cache/borescope")
MOTO_VENV = os.path.join(CACHE, "venv-moto")
MOTO_STACK = os.path.join(ROOT, "crates", "borescope", "tests", "lambda", "moto_stack.py")
EXAMPLE = os.path.join(ROOT, "examples", "lambda")
EVENT = json.load(open(os.path.join(EXAMPLE, "events", "create.json")))
DEPLOYED = 'def create_order(event, context):\n    return {"where": "lambda"}\n'


def stats(samples):
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p99 * 1000


def timed(api, count):
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        ok, body, error = api.invoke(EVENT, timeout_ms=60000)
        samples.append(time.perf_counter() - start)
        if not ok:
            sys.exit("invocation failed: %s %s" % (error, body))
    return samples


class Moto(object):
    def __init__(self):
        self.port = lambda_support.free_port()
        self.env = dict(os.environ, AWS_ENDPOINT_URL="http://127.0.0.1:%d" % self.port, AWS_ACCESS_KEY_ID="testing",
                        AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
                        AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        self.process = subprocess.Popen([os.path.join(MOTO_VENV, "bin", "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            if lambda_support.listening_addresses(self.port):
                return
            time.sleep(0.1)
        sys.exit("moto_server did not start (run scripts/test-setup.sh)")

    def stack(self, *args):
        out = subprocess.run([os.path.join(MOTO_VENV, "bin", "python"), MOTO_STACK] + list(args), env=self.env, capture_output=True, text=True)
        if out.returncode:
            sys.exit(out.stderr)
        return json.loads(out.stdout)

    def stop(self):
        lambda_support.stop_process(self.process)


def environment(work, runtime, opt, api, function_env, name):
    task = os.path.join(work, "task")
    os.makedirs(os.path.join(task, "orders"), exist_ok=True)
    open(os.path.join(task, "orders", "__init__.py"), "w").close()
    with open(os.path.join(task, "orders", "app.py"), "w") as f:
        f.write(DEPLOYED)
    config = json.loads(function_env.get("BORESCOPE_LAMBDA") or "{}")
    extra = dict(function_env, _HANDLER="orders.app.create_order", AWS_LAMBDA_FUNCTION_NAME=name,
                 AWS_LAMBDA_EXEC_WRAPPER=os.path.join(opt, "borescope", "wrapper"))
    return lambda_support.start_runtime(runtime, opt, api, task, config, open(os.path.join(work, name + ".log"), "wb"), extra)


def run_direct_and_borescope(work, count):
    moto = Moto()
    broker = lambda_support.Broker(work)
    attach = None
    try:
        names = moto.stack("create", "bench")
        runtime, opt = lambda_support.make_runtime(work)
        # direct: the same execution environment without the attach's variables.
        api = RuntimeApi("bench-create").start()
        direct_env = environment(work, runtime, opt, api, {"BORESCOPE_LAMBDA": "", "STAGE": "dev", "TAX_RATE": "0.2"}, "direct")
        timed(api, 5)
        direct = timed(api, count)
        lambda_support.stop_process(direct_env)
        api.stop()

        state = os.path.join(work, "state")
        attach = subprocess.Popen(
            [binary(), "lambda", "attach", "--stack", "bench", "--relay", broker.url, "--code", "src", "--session", "bench-lambda",
             "--python", os.environ.get("BENCH_LAMBDA_PYTHON", sys.executable), "--heartbeat", "3600"] + (["--json"] if os.environ.get("BENCH_LAMBDA_EVENTS") else []),
            cwd=EXAMPLE, env=dict(moto.env, XDG_STATE_HOME=state), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in attach.stdout:
            if "Ctrl-C restores" in line or '"event":"attached"' in line.replace(" ", ""):
                break
        else:
            sys.exit("lambda attach did not attach")
        events = open(os.environ["BENCH_LAMBDA_EVENTS"], "w") if os.environ.get("BENCH_LAMBDA_EVENTS") else None
        threading.Thread(target=lambda: [events and events.write(line) and events.flush() for line in attach.stdout], daemon=True).start()
        function_env = moto.stack("config", names["python"])["Environment"]["Variables"]
        api = RuntimeApi("bench-create").start()
        relayed_env = environment(work, runtime, opt, api, function_env, "relayed")
        timed(api, 5)
        relayed = timed(api, count)
        lambda_support.stop_process(relayed_env)
        api.stop()
        return direct, relayed
    finally:
        if attach is not None and attach.poll() is None:
            attach.send_signal(signal.SIGINT)
            attach.wait(60)
        broker.stop()
        moto.stop()


def plldb_package():
    target = os.path.join(CACHE, "bench", "plldb-0.1.3")
    if not os.path.isdir(os.path.join(target, "plldb")):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--ignore-requires-python", "--target", target, "plldb==0.1.3"], check=True)
    return target


PLLDB_DRIVER = r'''
import json, os, sys, threading, time, uuid, statistics
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.join(sys.argv[1], "plldb", "cloudformation", "layer"))
import boto3
import lambda_runtime                      # PLLDB's layer runtime (its request/poll functions)
from plldb.debugger import Debugger        # PLLDB's CLI side (Executor on the local template)
count, example = int(sys.argv[2]), sys.argv[3]
event = json.load(open(os.path.join(example, "events", "create.json")))
session = boto3.Session()
ddb = session.client("dynamodb")
ddb.create_table(TableName="PLLDBDebugger", BillingMode="PAY_PER_REQUEST",
                 AttributeDefinitions=[{"AttributeName": "RequestId", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "RequestId", "KeyType": "HASH"}])
os.chdir(example)
debugger = Debugger(session, "bench")
table = session.resource("dynamodb").Table("PLLDBDebugger")
name = sys.argv[4]
os.environ.update({"STAGE": "dev", "TAX_RATE": "0.2"})

def developer(request_id):
    # PLLDB's CLI gets the request pushed over its WebSocket; here at once, for free.
    answer = debugger.handle_message({"requestId": request_id, "sessionId": "s", "connectionId": "c",
        "lambdaFunctionName": name, "lambdaFunctionVersion": "$LATEST", "event": json.dumps(event),
        "environmentVariables": {"STAGE": "dev", "TAX_RATE": "0.2"}})
    table.update_item(Key={"RequestId": request_id}, UpdateExpression="SET StatusCode = :s, #r = :r",
                      ExpressionAttributeNames={"#r": "Response"},
                      ExpressionAttributeValues={":s": answer.statusCode, ":r": answer.response})

samples = []
for i in range(count):
    request_id = str(uuid.uuid4())
    start = time.perf_counter()
    lambda_runtime.create_debugger_request(session, request_id, "s", "c", event, {})
    threading.Thread(target=developer, args=(request_id,)).start()
    response, error = lambda_runtime.poll_for_response(session, request_id)
    samples.append(time.perf_counter() - start)
    assert error is None and "14.4" in json.dumps(response), (response, error)
print(json.dumps(samples))
'''


def run_plldb(count):
    moto = Moto()
    try:
        names = moto.stack("create", "bench")
        out = subprocess.run([os.path.join(MOTO_VENV, "bin", "python"), "-c", PLLDB_DRIVER, plldb_package(), str(count), EXAMPLE_SAM,
                              names["python"]], env=moto.env, capture_output=True, text=True)
        if out.returncode:
            sys.exit("plldb leg failed: " + out.stderr[-2000:])
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        moto.stop()


EXAMPLE_SAM = None


def main():
    global EXAMPLE_SAM
    parser = argparse.ArgumentParser()
    parser.add_argument("--invocations", type=int, default=200)
    parser.add_argument("--plldb-invocations", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as work:
        # PLLDB's Executor takes the logical id from the stack (CreateOrder) and reads the same
        # SAM template; the stack's function is named after the bench stack.
        EXAMPLE_SAM = os.path.join(work, "sam")
        subprocess.run(["cp", "-r", EXAMPLE, EXAMPLE_SAM], check=True)
        direct, relayed = run_direct_and_borescope(work, args.invocations)
        plldb = run_plldb(args.plldb_invocations)
    d_med, d_p99 = stats(direct)
    b_med, b_p99 = stats(relayed)
    p_med, p_p99 = stats(plldb)
    print("Lambda invocation round trip on loopback (ms); %d invocations (plldb: %d)" % (args.invocations, args.plldb_invocations))
    print("%-34s %10s %10s" % ("path", "median", "p99"))
    print("%-34s %10.1f %10.1f" % ("direct (no debugger)", d_med, d_p99))
    print("%-34s %10.1f %10.1f" % ("borescope (relay + local session)", b_med, b_p99))
    print("%-34s %10.1f %10.1f" % ("plldb 0.1.3 relay hop only", p_med, p_p99))
    b_add_med, b_add_p99 = b_med - d_med, b_p99 - d_p99
    print("borescope adds %.1f ms median, %.1f ms p99 (goal <= 50 ms p99): %s" % (b_add_med, b_add_p99, "met" if b_add_p99 <= 50 else "MISSED"))
    print("plldb's hop alone takes %.1f ms median, %.1f ms p99: %.0fx borescope's added median, %.0fx its p99"
          % (p_med, p_p99, p_med / max(b_add_med, 0.1), p_p99 / max(b_add_p99, 0.1)))


if __name__ == "__main__":
    main()
