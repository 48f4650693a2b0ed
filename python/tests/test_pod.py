"""pod.py driven exactly as borescope drives it through the Kubernetes exec API.

Each test starts ``PYTHON -I -S -c LOADER``, writes the program and the request as frames on
stdin, reads JSON lines, and keeps stdin open until the final line has arrived (the exec API
cannot half-close, so a program that read past a frame would hang the test). The container is
the sid rootfs entered by scripts/in-sid in its own PID namespace; pod.py runs in it the way
`kubectl exec` would put it there: nsenter into the target's mount and PID namespaces and root,
with ``/proc/1/exe`` (the target's own Python 3.14) as the interpreter.
"""

import ast
import base64
import io
import json
import os
import pwd
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid

import pytest

from conftest import PYTHON_DIR, REPO

POD = os.path.join(PYTHON_DIR, "borescope_agent", "pod.py")
IN_SID = os.path.join(REPO, "scripts", "in-sid")
LOADER = 'import sys;r=sys.stdin.buffer;exec(compile(r.read(int(r.readline())),"borescope-pod","exec"))'
DEBUGPY = os.path.expanduser("~/.cache/borescope/venv/lib/python3.11/site-packages/debugpy")
WAIT = 60

# crates/borescope-attach/src/job.rs's bootstrap as borescope sends it to pod.py: the nonce
# filled in, the directory left for pod.py to fill.
BOOTSTRAP = r'''# Written by borescope; runs once in this process (PEP 768) and removes itself.
def _borescope_run(directory):
    import os
    import sys

    try:
        os.unlink(os.path.join(directory, "run.py"))
    except OSError:
        pass
    if os.path.exists(os.path.join(directory, "cancelled")):
        return
    previous = sys.modules.get("borescope_agent.remote")
    state = dict(getattr(previous, "_state", None) or {})
    for name in [m for m in sys.modules if m == "borescope_agent" or m.startswith("borescope_agent.")]:
        del sys.modules[name]
    agent = os.path.join(directory, "agent")
    sys.path.insert(0, agent)
    try:
        from borescope_agent import remote
    finally:
        while agent in sys.path:
            sys.path.remove(agent)
    remote.run(directory, state)


try:
    _borescope_run(__BORESCOPE_DIR_JSON__)
except BaseException as _borescope_error:
    try:
        import json as _json
        import os as _os

        with open(_os.path.join(__BORESCOPE_DIR_JSON__, "status.json"), "w") as _f:
            _json.dump({"state": "failed", "error": repr(_borescope_error), "nonce": __NONCE_JSON__}, _f)
    except BaseException:
        pass
'''


# --- driving pod.py -----------------------------------------------------------------------


class Pod(object):
    """One run of pod.py: `argv` is the interpreter (and what enters the container)."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv + ["-I", "-S", "-c", LOADER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        with open(POD, "rb") as f:
            self.frame(f.read())

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def frame(self, data):
        self.proc.stdin.write(b"%d\n" % len(data) + data)
        self.proc.stdin.flush()

    def raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def line(self):
        try:
            line = self.lines.get(timeout=WAIT)
        except queue.Empty:
            self.proc.kill()
            pytest.fail("pod.py wrote nothing for %ds (did it read past a frame?)" % WAIT)
        assert line is not None, "pod.py ended without a final line: %s" % self.proc.stderr.read().decode()
        return json.loads(line.decode("utf-8"))

    def final(self):
        """The final line; only then is stdin closed. pod.py exits 0 and writes no stderr."""
        result = self.line()
        assert result.get("final") is True, result
        self.proc.stdin.close()
        assert self.proc.wait(timeout=WAIT) == 0
        assert self.proc.stderr.read() == b""
        assert self.lines.get(timeout=WAIT) is None, "pod.py wrote after its final line"
        return result


def request(argv, req, payload=b""):
    pod = Pod(argv)
    pod.frame(json.dumps(req).encode())
    pod.raw(payload)
    return pod


def tar_of(members):
    """An uncompressed tar of (name, bytes) pairs."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def agent_tar():
    package = os.path.join(PYTHON_DIR, "borescope_agent")
    names = sorted(n for n in os.listdir(package) if n.endswith(".py"))
    return tar_of(("agent/borescope_agent/" + n, open(os.path.join(package, n), "rb").read()) for n in names)


def debugpy_tar():
    """The test venv's debugpy without what an in-process listener never loads (native
    helpers and speed-ups built for another Python), as borescope ships it."""
    members = []
    for directory, subdirs, names in os.walk(DEBUGPY):
        subdirs[:] = sorted(d for d in subdirs if d not in ("__pycache__", "pydevd_attach_to_process"))
        for name in sorted(names):
            if not name.endswith((".so", ".dll", ".dylib", ".exe", ".pdb", ".pyd")):
                path = os.path.join(directory, name)
                members.append(("debugpy/" + os.path.relpath(path, DEBUGPY), open(path, "rb").read()))
    return tar_of(members)


def job_request(pid, job, label, **options):
    nonce = uuid.uuid4().hex
    req = {
        "op": "job",
        "pid": pid,
        "job": dict(job, nonce=nonce),
        "bootstrap": BOOTSTRAP.replace("__NONCE_JSON__", json.dumps(nonce)),
        "label": label,
        "pickup_timeout_ms": 10000,
        "run_timeout_ms": 30000,
        "withdraw": True,
        "keep_dir": False,
        "debugpy_on_request": False,
        "sources": False,
    }
    req.update(options)
    payload = agent_tar()
    req["payload_bytes"] = len(payload)
    return req, payload


def label():
    return "test-%s" % uuid.uuid4().hex[:12]


def wait_until(check, what):
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("gave up waiting for " + what)
        time.sleep(0.02)


# --- the container stand-in ---------------------------------------------------------------


class Container(object):
    """A Python program (the sid rootfs's 3.14 unless `python` says otherwise) as pid 1 of its
    own PID namespace in the sid rootfs (the host's /tmp bind-mounted at /tmp), and the argv
    that runs a program next to it."""

    def __init__(self, code, args=(), cwd="/", python="python3.14"):
        command = [IN_SID, "--pid", python] + list(args) + (["-c", code] if code else [])
        self.proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        if self.proc.stdout.readline().strip() != b"ready":
            self.proc.kill()
            code = self.proc.wait()
            if code == 125:
                pytest.fail("no sid rootfs: run scripts/test-setup.sh")
            pytest.fail("the container did not start: %s" % self.proc.stderr.read().decode())
        # unshare forks the namespace's pid 1, which execs into python3.14.
        children = [p for p in os.listdir("/proc") if p.isdigit() and ppid(int(p)) == self.proc.pid]
        assert len(children) == 1, children
        self.host_pid = int(children[0])
        self.argv = ["nsenter", "--target", str(self.host_pid), "--mount", "--pid", "--root", "--wd", "--", "/proc/1/exe"]

    def stop(self):
        try:
            os.kill(self.host_pid, signal.SIGKILL)  # pid 1 of a namespace ignores SIGTERM
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=WAIT)
        # What the program wrote (unshare reports its child's death by SIGKILL on the same pipe).
        lines = self.proc.stderr.read().decode().splitlines(True)
        return "".join(line for line in lines if not line.startswith("unshare: "))


def ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture
def container():
    started = []

    def start(code, args=(), cwd="/", python="python3.14"):
        started.append(Container(code, args, cwd, python))
        return started[-1]

    yield start
    for each in started:
        each.stop()


LOOP = "import time\nanswer = 41\nprint('ready', flush=True)\nwhile True:\n    time.sleep(0.01)\n"
# The main thread blocks in read(2) until woken; then it runs Python again (calls and loops, where
# a pending PEP 768 request is taken) before it says so.
BLOCKED = (
    "import os, time\n"
    "r, w = os.pipe()\n"
    "print('ready', flush=True)\n"
    "os.read(r, 1)\n"
    "for _ in range(3):\n"
    "    time.sleep(0.01)\n"
    "print('woke', flush=True)\n"
    "while True:\n"
    "    time.sleep(0.01)\n"
)


def wake(target):
    """Ends the blocked target's os.read (its pipe's write end is fd 4) and waits until it has
    run Python code past it."""
    with open("/proc/%d/fd/4" % target.host_pid, "wb") as pipe:
        pipe.write(b"x")
    assert target.proc.stdout.readline() == b"woke\n"


# --- the program itself -------------------------------------------------------------------


def test_the_program_parses_as_python_3_6():
    with open(POD) as f:
        ast.parse(f.read(), feature_version=(3, 6))


def test_an_unknown_op_or_a_bad_request_fails_cleanly():
    result = request([sys.executable], {"op": "frobnicate"}).final()
    assert (result["ok"], result["kind"]) == (False, "bad_request")
    assert "frobnicate" in result["error"]
    pod = Pod([sys.executable])
    pod.frame(b"{not json")
    assert pod.final()["kind"] == "bad_request"
    result = request([sys.executable], {"op": "job", "pid": 1, "payload_bytes": 0}).final()
    assert (result["ok"], result["kind"]) == (False, "bad_request")


# --- ps -----------------------------------------------------------------------------------


def test_ps_on_an_old_interpreter_lists_python_and_other_processes_with_their_facts(tmp_path):
    server = (
        "import socket, sys\n"
        "s = socket.socket()\n"
        "s.bind(('127.0.0.1', 0))\n"
        "s.listen()\n"
        "print(s.getsockname()[1], flush=True)\n"
        "while True:\n"
        "    pass\n"
    )
    idle = "import sys\nprint(0, flush=True)\nsys.stdin.read()\n"
    env = dict(os.environ, WERKZEUG_RUN_MAIN="true")
    env.pop("PYTHON_DISABLE_REMOTE_DEBUG", None)
    spawn = lambda argv, environment: subprocess.Popen(argv, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    worker = spawn([sys.executable, "-c", server], env)
    flagged = spawn([sys.executable, "-X", "disable-remote-debug", "-c", idle], os.environ)
    by_env = spawn([sys.executable, "-c", idle], dict(os.environ, PYTHON_DISABLE_REMOTE_DEBUG="1"))
    ignored = spawn([sys.executable, "-E", "-c", idle], dict(os.environ, PYTHON_DISABLE_REMOTE_DEBUG="1"))
    sleeper = subprocess.Popen(["sleep", "300"])
    children = [worker, flagged, by_env, ignored]
    try:
        port = int(worker.stdout.readline())
        for child in children[1:]:
            child.stdout.readline()
        pod = request([sys.executable], {"op": "ps", "interval_ms": 1000})
        result = pod.final()
    finally:
        for child in children + [sleeper]:
            child.kill()
            child.wait()
    assert result["ok"] is True
    me = result["self"]
    assert me["uid"] == os.getuid() and me["python"] == "%d.%d.%d" % sys.version_info[:3]
    int(me["cap_eff"], 16)
    procs = dict((p["pid"], p) for p in result["processes"])
    assert pod.proc.pid not in procs, "pod.py lists itself"
    version = "%d.%d" % sys.version_info[:2]
    listed = procs[worker.pid]
    assert listed["python"] == version and listed["ppid"] == os.getpid()
    assert listed["ports"] == [port]
    assert listed["werkzeug_run_main"] == "true" and listed["django_run_main"] is None
    assert listed["remote_debug_disabled"] is None
    assert (listed["method"], listed["method_problem"]) == ("ptrace" if sys.version_info < (3, 14) else "pep768", None)
    assert listed["command"] == [sys.executable, "-c", server]
    assert listed["uid"] == os.getuid() and listed["user"] == pwd.getpwuid(os.getuid()).pw_name and listed["threads"] == 1
    assert listed["cpu_percent"] > 0 and listed["rss_bytes"] > 0 and listed["state"] in "RS"
    assert listed["cwd"] == os.getcwd() and os.path.basename(listed["exe"]).startswith("python" + version)
    assert procs[flagged.pid]["remote_debug_disabled"] == "started with -X disable-remote-debug"
    assert procs[sleeper.pid]["method"] is None and procs[sleeper.pid]["method_problem"] is None
    # Disabled remote debugging is respected on every version: no way in.
    assert (procs[flagged.pid]["method"], procs[by_env.pid]["method"], procs[ignored.pid]["method"]) == (None, None, listed["method"])
    assert procs[flagged.pid]["cpu_percent"] == 0.0 and procs[flagged.pid]["ports"] == []
    assert procs[by_env.pid]["remote_debug_disabled"] == "PYTHON_DISABLE_REMOTE_DEBUG is set in its environment"
    assert procs[ignored.pid]["remote_debug_disabled"] is None  # -E ignores PYTHON* variables
    assert procs[sleeper.pid]["python"] is None and procs[sleeper.pid]["command"] == ["sleep", "300"]


def test_ps_in_a_container_sees_its_own_pid_namespace(container):
    target = container(LOOP)
    result = request(target.argv, {"op": "ps", "interval_ms": 50}).final()
    assert result["ok"] is True
    assert [p["pid"] for p in result["processes"]] == [1], result["processes"]
    (app,) = result["processes"]
    assert (app["python"], app["python_source"], app["exe"]) == ("3.14", "exe", "/usr/bin/python3.14")
    assert (app["method"], app["method_problem"]) == ("pep768", None)
    assert result["self"]["python"].startswith("3.14.") and result["self"]["executable"] == "/proc/1/exe"


# --- jobs ---------------------------------------------------------------------------------


def borescope_dirs(name):
    return [d for d in os.listdir("/tmp") if d.startswith("borescope-" + name)]


def test_exec_runs_code_in_the_target_and_leaves_nothing(container):
    target = container(LOOP)
    name = label()
    req, payload = job_request(1, {"kind": "exec", "code": "print(answer + 1)"}, name)
    result = request(target.argv, req, payload).final()
    assert result["ok"] is True, result
    assert result["status"]["state"] == "done" and result["status"]["stdout"] == "42\n", result["status"]
    assert result["status"]["pid"] == 1 and result["shipped_debugpy"] is False
    assert result["dir"] == "/tmp/borescope-" + name
    assert borescope_dirs(name) == []


def test_listen_ships_debugpy_on_request_then_detach_leaves_the_pod_as_it_was(container):
    app = tempfile.mkdtemp(prefix="pod-app-", dir="/tmp")
    try:
        os.makedirs(os.path.join(app, "pkg"))
        os.makedirs(os.path.join(app, ".venv", "lib"))
        with open(os.path.join(app, "main.py"), "w") as f:
            f.write(LOOP)
        with open(os.path.join(app, "pkg", "views.py"), "w") as f:
            f.write("VIEWS = 1\n")
        with open(os.path.join(app, ".venv", "lib", "ignored.py"), "w") as f:
            f.write("IGNORED = 1\n")
        # -S: no site, so the sid rootfs's own debugpy is out of reach and borescope's is needed.
        target = container(None, args=["-S", os.path.join(app, "main.py")], cwd=app)
        name = label()
        req, payload = job_request(1, {"kind": "listen", "token": "s3cret"}, name, debugpy_on_request=True, keep_dir=True, sources=True)
        pod = request(target.argv, req, payload)
        assert pod.line() == {"need": "debugpy"}
        pod.frame(debugpy_tar())
        result = pod.final()
        assert result["ok"] is True, result
        status = result["status"]
        assert status["state"] == "listening" and status["host"] == "127.0.0.1", status
        assert result["shipped_debugpy"] is True and status["cwd"] == app
        session_dir = result["dir"]
        assert os.path.isdir(os.path.join(session_dir, "lib", "debugpy")) and os.stat(session_dir).st_mode & 0o777 == 0o700
        with tarfile.open(fileobj=io.BytesIO(base64.b64decode(result["sources"])), mode="r:gz") as archive:
            names = sorted(archive.getnames())
        assert names == [os.path.join(app, n).lstrip("/") for n in ("main.py", "pkg/views.py")], names
        assert result["sources_truncated"] is False and result["sources_files"] == 2

        listing = request(target.argv, {"op": "ps", "interval_ms": 0}).final()
        assert listing["processes"][0]["ports"] == [status["port"]]
        with socket.create_connection(("127.0.0.1", status["port"]), timeout=WAIT):
            pass

        detach_name = label()
        req, payload = job_request(1, {"kind": "detach", "remove": [session_dir]}, detach_name, withdraw=False)
        result = request(target.argv, req, payload).final()
        assert result["ok"] is True and result["status"]["state"] == "detached", result
        assert borescope_dirs(name) == [] and borescope_dirs(detach_name) == []
        listing = request(target.argv, {"op": "ps", "interval_ms": 0}).final()
        assert listing["processes"][0]["ports"] == []
    finally:
        shutil.rmtree(app, ignore_errors=True)


def test_listen_without_a_debugpy_to_ship_returns_the_no_debugpy_status(container):
    target = container(LOOP, args=["-S"])
    name = label()
    req, payload = job_request(1, {"kind": "listen", "token": "t"}, name, debugpy_on_request=True)
    pod = request(target.argv, req, payload)
    assert pod.line() == {"need": "debugpy"}
    pod.frame(b"")
    result = pod.final()
    assert result["ok"] is True and result["status"]["state"] == "no_debugpy" and result["shipped_debugpy"] is False
    assert borescope_dirs(name) == []


def test_a_blocked_main_thread_is_diagnosed_and_the_withdrawn_request_cleans_up_when_it_runs(container):
    target = container(BLOCKED)
    name = label()
    req, payload = job_request(1, {"kind": "exec", "code": "print(1)"}, name, pickup_timeout_ms=300)
    result = request(target.argv, req, payload).final()
    assert (result["ok"], result["kind"]) == (False, "blocked"), result
    assert result["withdrawn"] is True and result["queued_cleanup"] is True and result["waited_ms"] >= 300
    (main,) = result["threads"]
    assert main["tid"] == 1 and main["name"] == "python3.14" and main["state"] == "S"
    assert main["syscall"] == "0"  # read(2)
    directory = "/tmp/borescope-" + name
    # The token and the agent are gone; only the stub the thread still has to run is left.
    assert sorted(os.listdir(directory)) == ["cancelled", "run.py"]
    wake(target)
    wait_until(lambda: not os.path.exists(directory), "the stub to remove borescope's directory")
    assert target.stop() == "", "the target saw borescope's withdrawn request"


def test_a_blocked_detach_stays_queued_and_cleans_up_after_itself(container):
    target = container(BLOCKED)
    name = label()
    marker = "/tmp/borescope-%s-ran" % name
    code = "open(%r, 'w').close()" % marker
    req, payload = job_request(1, {"kind": "exec", "code": code}, name, pickup_timeout_ms=300, withdraw=False)
    result = request(target.argv, req, payload).final()
    assert (result["ok"], result["kind"]) == (False, "blocked") and result["queued_cleanup"] is False, result
    directory = "/tmp/borescope-" + name
    assert os.path.exists(os.path.join(directory, "abandoned")) and os.path.exists(os.path.join(directory, "run.py"))
    wake(target)
    wait_until(lambda: os.path.exists(marker) and not os.path.exists(directory), "the queued job to run and clean up")
    os.unlink(marker)
    assert target.stop() == ""


def test_a_job_that_runs_too_long_is_left_to_clean_up_after_itself(container):
    target = container(LOOP)
    name = label()
    marker = "/tmp/borescope-%s-ran" % name
    code = "import time\ntime.sleep(1)\nopen(%r, 'w').close()" % marker
    req, payload = job_request(1, {"kind": "exec", "code": code}, name, run_timeout_ms=100)
    result = request(target.argv, req, payload).final()
    assert (result["ok"], result["kind"]) == (False, "still_running") and result["seconds"] >= 0.1, result
    directory = "/tmp/borescope-" + name
    assert os.path.exists(os.path.join(directory, "abandoned"))
    wait_until(lambda: os.path.exists(marker) and not os.path.exists(directory), "the job to end and clean up")
    os.unlink(marker)


def test_a_user_without_access_to_the_target_gets_the_permission_facts(container):
    target = container(LOOP)
    name = label()
    req, payload = job_request(1, {"kind": "exec", "code": "1"}, name)
    # Another user in the same container (nobody cannot follow /proc/1/exe, root's).
    argv = target.argv[:-2] + ["--setuid", "65534", "--setgid", "65534", "--", "/usr/bin/python3.14"]
    result = request(argv, req, payload).final()
    assert (result["ok"], result["kind"]) == (False, "permission"), result
    facts = result["facts"]
    assert (facts["uid"], facts["target_uid"], facts["cap_sys_ptrace"]) == (65534, 0, False), facts
    assert facts["cap_eff"] == "0000000000000000" and facts["yama_ptrace_scope"] in (None, 0, 1, 2, 3)
    assert borescope_dirs(name) == []


def test_a_missing_process_is_gone():
    with open("/proc/sys/kernel/pid_max") as f:
        missing = int(f.read()) + 1
    req, payload = job_request(missing, {"kind": "exec", "code": "1"}, label())
    result = request([sys.executable], req, payload).final()
    assert (result["ok"], result["kind"]) == (False, "gone"), result


def test_remote_debugging_disabled_in_the_target_is_named(container):
    target = container(LOOP, args=["-X", "disable-remote-debug"])
    name = label()
    req, payload = job_request(1, {"kind": "exec", "code": "1"}, name)
    result = request(target.argv, req, payload).final()
    assert (result["ok"], result["kind"]) == (False, "disabled"), result
    assert result["why"] == "started with -X disable-remote-debug"
    assert borescope_dirs(name) == []


def test_unsafe_tar_members_are_refused_and_nothing_is_left(container):
    target = container(LOOP)
    for member in ("agent/../../etc/evil.py", "/tmp/evil.py", "elsewhere/x.py"):
        name = label()
        req, _ = job_request(1, {"kind": "exec", "code": "1"}, name)
        payload = tar_of([(member, b"x = 1\n")])
        req["payload_bytes"] = len(payload)
        result = request(target.argv, req, payload).final()
        assert (result["ok"], result["kind"]) == (False, "bad_request"), result
        assert borescope_dirs(name) == []


def test_sources_are_bounded_and_skip_environments(tmp_path):
    from borescope_agent import pod_job

    app = tmp_path / "app"
    (app / "venv" / "lib").mkdir(parents=True)
    (app / "venv" / "lib" / "skipped.py").write_text("x = 1\n")
    for index in range(pod_job.SOURCE_FILES + 1):
        (app / ("m%04d.py" % index)).write_text("x = %d\n" % index)
    result = pod_job.collect_sources({"cwd": str(app), "main": str(app / "m0000.py")}, "/nowhere")
    assert result["sources_files"] == pod_job.SOURCE_FILES and result["sources_truncated"] is True
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(result["sources"])), mode="r:gz") as archive:
        names = archive.getnames()
    assert len(names) == pod_job.SOURCE_FILES and names[0] == str(app / "m0000.py").lstrip("/")
    assert not any("venv" in name for name in names)


# --- remove -------------------------------------------------------------------------------


def test_remove_takes_only_borescope_directories():
    directory = tempfile.mkdtemp(prefix="borescope-test-remove-", dir="/tmp")
    open(os.path.join(directory, "job.json"), "w").close()
    missing = "/tmp/borescope-test-never-there-%s" % uuid.uuid4().hex
    try:
        result = request([sys.executable], {"op": "remove", "paths": [directory, "/etc"]}).final()
        assert (result["ok"], result["kind"]) == (False, "bad_request") and result["refused"] == ["/etc"]
        assert os.path.isdir(directory)
        for sneaky in ("/tmp/borescope-x/../../etc", "tmp/borescope-x", "/tmp/borescope-"):
            assert request([sys.executable], {"op": "remove", "paths": [sneaky]}).final()["kind"] == "bad_request"
        result = request([sys.executable], {"op": "remove", "paths": [directory, missing]}).final()
        assert result["ok"] is True and result["removed"] == [directory] and result["missing"] == [missing]
        assert not os.path.exists(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
