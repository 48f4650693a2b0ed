"""What the Lambda tests share: a real mosquitto broker on loopback (the relay's stand-in), the
developer's side played by a small relay peer plus `lambda_worker` as a subprocess, and the
Lambda side (the layer's wrapper and shim under AWS's awslambdaric on the sid rootfs's 3.13,
started the way a managed runtime's bootstrap starts an exec wrapper)."""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

from borescope_agent import lambda_relay

TESTS = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(TESTS)
REPO = os.path.dirname(PYTHON_DIR)
AGENT = os.path.join(PYTHON_DIR, "borescope_agent")
LAMBDA_PYTHON = os.path.join(REPO, "scripts", "lambda-python")
SID_ROOT = os.environ.get("BORESCOPE_SID_ROOT") or os.path.join(
    os.environ.get("BORESCOPE_TEST_CACHE") or os.path.expanduser("~/.cache/borescope"), "sid-rootfs")


def agent_path(directory):
    """A directory holding only the agent package (a link to this checkout's): what a
    subprocess gets on PYTHONPATH. python/ itself also holds borescope's sitecustomize.py,
    which takes its directory off sys.path when no job is set."""
    path = os.path.join(directory, "agent-path")
    if not os.path.exists(path):
        os.makedirs(path)
        os.symlink(AGENT, os.path.join(path, "borescope_agent"))
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port):
    """Every local address something listens on at TCP `port`, from /proc/net/tcp{,6}."""
    found = []
    for name, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            with open(name) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            address, hexport = fields[1].split(":")
            if fields[3] == "0A" and int(hexport, 16) == port:
                raw = bytes.fromhex(address)
                if width == 8:
                    found.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                    found.append(socket.inet_ntop(socket.AF_INET6, words))
    return found


class Broker(object):
    """mosquitto with a WebSocket listener on 127.0.0.1 only (plus the plain MQTT listener
    mosquitto 2.0 needs before it starts a WebSocket-only configuration)."""

    def __init__(self, directory):
        mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(mosquitto):
            pytest.fail("mosquitto is not installed: run scripts/test-setup.sh")
        self.ws_port, self.tcp_port = free_port(), free_port()
        self.config = os.path.join(directory, "mosquitto.conf")
        with open(self.config, "w") as f:
            f.write(
                "listener %d 127.0.0.1\n"
                "listener %d 127.0.0.1\nprotocol websockets\nsocket_domain ipv4\n"
                "allow_anonymous true\npersistence false\n" % (self.tcp_port, self.ws_port)
            )
        self.log = open(os.path.join(directory, "mosquitto.log"), "wb")
        self.process = subprocess.Popen([mosquitto, "-c", self.config], stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if self.process.poll() is not None:
                break
            if listening_addresses(self.ws_port):
                return
            time.sleep(0.05)
        self.stop()
        with open(self.log.name) as f:
            pytest.fail("mosquitto did not start: %s" % f.read())

    @property
    def url(self):
        return "ws://127.0.0.1:%d/mqtt" % self.ws_port

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()


def new_secret():
    raw = os.urandom(32)
    return raw, base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# ---------------------------------------------------------------------------------------------
# The developer's side


class WorkerProcess(object):
    """`python -m borescope_agent.lambda_worker` connected to a Unix socket this object serves."""

    def __init__(self, directory, code_dir, python=sys.executable):
        self.path = os.path.join(directory, "worker.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        env = dict(os.environ, BORESCOPE_LAMBDA_WORKER_SOCKET=self.path, BORESCOPE_LAMBDA_CODE=code_dir, PYTHONPATH=agent_path(directory))
        env["WORKER_OWN"] = "worker"
        self.output = open(os.path.join(directory, "worker.out"), "wb")
        self.process = subprocess.Popen([python, "-m", "borescope_agent.lambda_worker"], env=env, stdout=self.output, stderr=subprocess.STDOUT)
        self.server.settimeout(0.2)
        for _ in range(300):
            try:
                self.sock, _ = self.server.accept()
                break
            except socket.timeout:
                if self.process.poll() is not None:
                    break
        else:
            self.process.kill()
        if self.process.poll() is not None:
            self.output.close()
            with open(self.output.name) as f:
                pytest.fail("the worker did not connect: %s" % f.read())
        self.sock.settimeout(None)
        self._lock = threading.Lock()
        self.hello = self.receive()

    def send(self, message):
        data = json.dumps(message).encode("utf-8")
        with self._lock:
            self.sock.sendall(struct.pack(">I", len(data)) + data)

    def _exactly(self, n):
        data = b""
        while len(data) < n:
            more = self.sock.recv(n - len(data))
            if not more:
                return None
            data += more
        return data

    def receive(self):
        head = self._exactly(4)
        if head is None:
            return None
        return json.loads(self._exactly(struct.unpack(">I", head)[0]).decode("utf-8"))

    def bye(self):
        self.send({"t": "bye"})
        return self.process.wait(30)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.sock.close()
        self.server.close()
        self.output.close()


def invoke_message(ident, handler, event, env=None, deadline_ms=None, function_name="fn"):
    return {
        "t": "invoke", "id": ident, "ts": int(time.time() * 1000), "w": "0" * 16, "fn": function_name,
        "handler": handler, "event": json.dumps(event),
        "context": {
            "request_id": ident, "deadline_ms": deadline_ms or int(time.time() * 1000) + 300000,
            "function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:" + function_name,
            "trace_id": "Root=1-test", "client_context": None, "cognito_identity": None,
            "function_name": function_name, "function_version": "$LATEST", "memory_limit_mb": "128",
            "log_group_name": "/aws/lambda/" + function_name, "log_stream_name": "stream",
        },
        "env": env or {},
    }


class RelayPeer(object):
    """The relay client's part in tests: takes `invoke`s from the up topic, acks them, hands them
    to a worker and publishes its answers to the shim's down topic."""

    def __init__(self, url, prefix, secret, worker):
        self.prefix, self.worker = prefix, worker
        self.sealer = lambda_relay.Sealer(secret)
        self.reassembler = lambda_relay.Reassembler()
        self.mqtt = lambda_relay.MqttClient.connect(url, "borescope-%s-cli-%s" % (prefix, os.urandom(4).hex()))
        self.mqtt.subscribe("borescope/%s/up" % prefix)
        self.invokes = []
        self.workers = {}
        self._stop = False
        self._threads = [threading.Thread(target=self._from_broker, daemon=True), threading.Thread(target=self._from_worker, daemon=True)]
        for t in self._threads:
            t.start()

    def _publish(self, w, message):
        topic = "borescope/%s/down/%s" % (self.prefix, w)
        for part in lambda_relay.chunk(self.sealer.seal(topic, dict(message, ts=int(time.time() * 1000)))):
            self.mqtt.publish(topic, part)

    def _from_broker(self):
        up = "borescope/%s/up" % self.prefix
        while not self._stop:
            try:
                got = self.mqtt.receive(0.5)
            except lambda_relay.RelayError:
                return
            if got is None:
                continue
            topic, payload = got
            sealed = self.reassembler.add(payload)
            message = sealed and self.sealer.unseal(topic, sealed)
            if not message or topic != up or message.get("t") != "invoke":
                continue
            self.invokes.append(message)
            self.workers[message["id"]] = message["w"]
            self._publish(message["w"], {"t": "ack", "id": message["id"]})
            self.worker.send(message)

    def _from_worker(self):
        while True:
            try:
                answer = self.worker.receive()
            except OSError:
                return
            if answer is None:
                return
            w = self.workers.get(answer.get("id"))
            if w is not None:
                answer.pop("ts", None)
                self._publish(w, answer)

    def stop(self):
        self._stop = True
        self.mqtt.disconnect()


# ---------------------------------------------------------------------------------------------
# The Lambda side

# The managed Python runtime's /var/runtime/bootstrap (reduced to what matters here: it checks
# AWS_LAMBDA_EXEC_WRAPPER and execs it with the interpreter and bootstrap.py as arguments) and
# bootstrap.py (the task root and the layers' python/ directory on sys.path, then awslambdaric's
# main with the handler from _HANDLER): files in lambda_runtime/, shared with the Rust tests.
RUNTIME_FILES = os.path.join(TESTS, "lambda_runtime")



def make_runtime(directory):
    """A runtime directory (bootstrap + bootstrap.py) and a layer laid out like borescope's
    (`/opt/borescope/wrapper`, `/opt/python/borescope_agent`), under `directory`."""
    if not os.path.exists(LAMBDA_PYTHON) or subprocess.run([LAMBDA_PYTHON, "-c", "import awslambdaric"], capture_output=True).returncode != 0:
        pytest.fail("no Python 3.13 with awslambdaric: run scripts/test-setup.sh")
    runtime = os.path.join(directory, "var-runtime")
    opt = os.path.join(directory, "opt")
    os.makedirs(runtime)
    for name in ("bootstrap", "bootstrap.py"):
        shutil.copy(os.path.join(RUNTIME_FILES, name), os.path.join(runtime, name))
    os.chmod(os.path.join(runtime, "bootstrap"), 0o755)
    os.makedirs(os.path.join(opt, "borescope"))
    shutil.copy(os.path.join(AGENT, "lambda_wrapper.sh"), os.path.join(opt, "borescope", "wrapper"))
    os.chmod(os.path.join(opt, "borescope", "wrapper"), 0o755)
    shutil.copytree(AGENT, os.path.join(opt, "python", "borescope_agent"), ignore=shutil.ignore_patterns("__pycache__"))
    return runtime, opt


def start_runtime(runtime, opt, api, task_root, config, output, extra_env=None):
    """One execution environment: the bootstrap under a Lambda-like environment."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "_HANDLER": "app.handler",
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": runtime,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": "orders-create",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/orders-create",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/30/[$LATEST]test",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "ASIATESTKEY",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_SESSION_TOKEN": "test-token",
        "ORDERS_TABLE": "orders-prod",
        "AWS_LAMBDA_EXEC_WRAPPER": os.path.join(opt, "borescope", "wrapper"),
        "BORESCOPE_LAMBDA": json.dumps(config, separators=(",", ":")),
        "TEST_LAMBDA_PYTHON": LAMBDA_PYTHON,
        "TEST_RUNTIME_DIR": runtime,
        "TEST_OPT": opt,
        "BORESCOPE_SID_ROOT": SID_ROOT,
    }
    env.update(extra_env or {})
    return subprocess.Popen([os.path.join(runtime, "bootstrap")], env=env, cwd=task_root, stdout=output, stderr=subprocess.STDOUT)


def stop_process(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
