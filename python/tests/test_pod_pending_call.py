"""pod.py on Python 3.9-3.13: the job scheduled as a pending call with ptrace (pod_ptrace.py).

Targets: this interpreter (the test venv's 3.11: a PIE executable with a shared libpython) and
the sid rootfs's 3.13 (a non-PIE executable holding the interpreter) as pid 1 of its own PID
namespace, reached the way the exec API would (nsenter, ``/proc/1/exe``). pod.py is driven
through its wire format as borescope drives it (test_pod.py's helpers); the injector is also
driven directly to look at the registers it must give back.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from borescope_agent import pod, pod_ptrace
from test_pod import BLOCKED, LOADER, LOOP, Pod, borescope_dirs, container, job_request, label, request, wait_until, wake  # noqa: F401 (fixture)

if sys.version_info >= (3, 14) or sys.version_info < (3, 9):
    pytest.skip("the host interpreter must be 3.9-3.13 (the test venv's)", allow_module_level=True)


def rust_literal(text):
    """borescope-pyagent's string_literal for ASCII text."""
    return json.dumps(text)


# borescope-pyagent's jobs::pending_call_source(pod.RUN_PY_MARKER), as borescope sends it.
_PATH = rust_literal(pod.RUN_PY_MARKER)
PENDING_CALL = "# borescope: one agent job (Python < 3.14)\ntry:\n    exec(%s, {})\nexcept BaseException:\n    pass\n" % rust_literal(
    "with open(%s, 'rb') as f:\n    code = compile(f.read(), %s, 'exec')\nexec(code, {'__name__': '__borescope_job__'})\n" % (_PATH, _PATH)
)

BUSY = "answer = 41\nprint('ready', flush=True)\nn = 0\nwhile True:\n    n += 1\n"


def ptrace_job(pid, job, name, **options):
    return job_request(pid, job, name, pending_call=PENDING_CALL, **options)


class Local(object):
    """A Python program run by this interpreter, its output kept."""

    def __init__(self, code):
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.proc.stdout.readline() == b"ready\n"
        self.pid = self.host_pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        return self.proc.stderr.read().decode()


@pytest.fixture
def local():
    started = []

    def start(code):
        started.append(Local(code))
        return started[-1]

    yield start
    for each in started:
        each.stop()


def plan_of(pid):
    plan, problem = pod.pending_call_plan(pid, os.readlink("/proc/%d/exe" % pid), {})
    assert problem is None, problem
    return plan


def mapped_bytes(pid):
    """The size of everything `pid` maps (a blocked process maps nothing meanwhile)."""
    total = 0
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            start, end = line.split()[0].split("-")
            total += int(end, 16) - int(start, 16)
    return total


def state_of(pid, plan):
    """The main thread's registers (general and floating point) as the injector saves them."""
    with pod_ptrace.Tracee(pid, plan) as tracee:
        return list(tracee.regs), tracee.fp


# --- through pod.py -----------------------------------------------------------------------


def test_exec_in_a_busy_3_11_process_runs_as_a_pending_call_and_leaves_nothing(local):
    target = local(BUSY)
    listing = request([sys.executable], {"op": "ps", "interval_ms": 0}).final()
    (listed,) = [p for p in listing["processes"] if p["pid"] == target.pid]
    assert (listed["method"], listed["method_problem"]) == ("ptrace", None)
    name = label()
    req, payload = ptrace_job(target.pid, {"kind": "exec", "code": "print(answer + 1)"}, name)
    result = request([sys.executable], req, payload).final()
    assert result["ok"] is True, result
    assert result["method"] == "ptrace" and "page_error" not in result
    assert result["status"]["state"] == "done" and result["status"]["stdout"] == "42\n", result["status"]
    assert result["status"]["thread"] == "MainThread"
    assert borescope_dirs(name) == []
    assert target.alive() and target.stop() == ""


def test_exec_in_a_3_13_container_through_its_own_interpreter(container):
    target = container(LOOP, python="python3.13")
    listing = request(target.argv, {"op": "ps", "interval_ms": 0}).final()
    (app,) = listing["processes"]
    assert (app["python"], app["method"]) == ("3.13", "ptrace"), app
    name = label()
    req, payload = ptrace_job(1, {"kind": "exec", "code": "import sys\nprint(answer + 1, sys.version_info[:2])"}, name)
    result = request(target.argv, req, payload).final()
    assert result["ok"] is True, result
    assert result["status"]["stdout"] == "42 (3, 13)\n" and result["status"]["pid"] == 1, result["status"]
    assert result["status"]["python"].startswith("3.13.") and result["method"] == "ptrace"
    assert borescope_dirs(name) == []
    assert target.stop() == ""


def test_a_blocked_main_thread_leaves_the_pending_call_queued_and_it_only_cleans_up(local):
    target = local(BLOCKED)
    name = label()
    req, payload = ptrace_job(target.pid, {"kind": "exec", "code": "print('ran')"}, name, pickup_timeout_ms=300)
    result = request([sys.executable], req, payload).final()
    assert (result["ok"], result["kind"]) == (False, "blocked"), result
    assert result["method"] == "ptrace" and result["withdrawn"] is True and result["page_left"] is True
    (main,) = result["threads"]
    assert main["tid"] == target.pid and main["syscall"] == "0"  # read(2)
    directory = "/tmp/borescope-" + name
    assert sorted(os.listdir(directory)) == ["cancelled", "run.py"]
    wake(target)  # the read, interrupted by each stop and restarted, still waited for its byte
    wait_until(lambda: not os.path.exists(directory), "the queued call to remove borescope's directory")
    assert target.alive() and target.stop() == "", "the target saw borescope's withdrawn request"


def test_a_process_already_traced_is_refused_with_its_tracer_named(local):
    target = local(LOOP)
    tracer = subprocess.Popen(
        [sys.executable, "-c", "import ctypes, sys, time\nlibc = ctypes.CDLL(None)\nassert libc.ptrace(0x4206, int(sys.argv[1]), 0, 0) == 0\nprint('traced', flush=True)\ntime.sleep(60)\n", str(target.pid)],
        stdout=subprocess.PIPE,
    )
    try:
        assert tracer.stdout.readline() == b"traced\n"
        with open("/proc/%d/comm" % tracer.pid) as f:
            comm = f.read().strip()
        name = label()
        req, payload = ptrace_job(target.pid, {"kind": "exec", "code": "1"}, name)
        result = request([sys.executable], req, payload).final()
    finally:
        tracer.kill()
        tracer.wait()
    assert (result["ok"], result["kind"]) == (False, "traced"), result
    assert (result["tracer_pid"], result["tracer_comm"]) == (tracer.pid, comm)
    assert "already traced by pid %d" % tracer.pid in result["error"]
    assert borescope_dirs(name) == []


def test_an_interpreter_without_the_symbols_is_listed_without_a_method_and_refused(container):
    # A copy of sid's 3.13 whose .dynsym no longer names Py_AddPendingCall (as a build that does
    # not export it), run from the host's /tmp (bind-mounted in the container) with the sid stdlib.
    scratch = tempfile.mkdtemp(prefix="borescope-test-nosym-", dir="/tmp")
    try:
        sid = os.path.expanduser("~/.cache/borescope/sid-rootfs/usr/bin/python3.13")
        with open(sid, "rb") as f:
            binary = f.read()
        assert binary.count(b"\0Py_AddPendingCall\0") == 1
        copy = os.path.join(scratch, "python3.13")
        with open(copy, "wb") as f:
            f.write(binary.replace(b"\0Py_AddPendingCall\0", b"\0Py_AddPendingCalX\0"))
        os.chmod(copy, 0o755)
        os.environ["PYTHONHOME"] = "/usr"
        try:
            target = container(LOOP, python=copy)
        finally:
            del os.environ["PYTHONHOME"]
        listing = request(target.argv, {"op": "ps", "interval_ms": 0}).final()
        (app,) = listing["processes"]
        assert app["python"] == "3.13" and app["method"] is None, app
        assert "exports Py_AddPendingCall and PyRun_SimpleString" in app["method_problem"]
        assert "%s (no Py_AddPendingCall)" % copy in app["method_problem"]
        name = label()
        req, payload = ptrace_job(1, {"kind": "exec", "code": "1"}, name)
        result = request(target.argv, req, payload).final()
        assert (result["ok"], result["kind"]) == (False, "no_symbols"), result
        assert result["binary"] == copy and result["missing"] == ["Py_AddPendingCall", "PyRun_SimpleString"]
        assert borescope_dirs(name) == []
        assert target.stop() == ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_an_interpreter_without_ctypes_is_refused_with_the_fix(local):
    target = local(LOOP)
    name = label()
    req, payload = ptrace_job(target.pid, {"kind": "exec", "code": "1"}, name)
    # pod.py read and run by the loader in an interpreter whose ctypes cannot be imported (the
    # arguments Pod adds after this -c script are ignored).
    runner = Pod([sys.executable, "-I", "-S", "-c", "import sys; sys.modules['ctypes'] = None; exec(%r)" % LOADER])
    runner.frame(json.dumps(req).encode())
    runner.raw(payload)
    result = runner.final()
    assert (result["ok"], result["kind"]) == (False, "no_ctypes"), result
    assert "cannot import ctypes" in result["error"] and result["python"] == "%d.%d.%d" % sys.version_info[:3]
    assert borescope_dirs(name) == []
    assert target.alive()


def test_another_user_without_access_gets_the_permission_facts(container):
    target = container(LOOP, python="python3.13")
    name = label()
    req, payload = ptrace_job(1, {"kind": "exec", "code": "1"}, name)
    argv = target.argv[:-2] + ["--setuid", "65534", "--setgid", "65534", "--", "/usr/bin/python3.13"]
    result = request(argv, req, payload).final()
    assert (result["ok"], result["kind"]) == (False, "permission"), result
    assert result["method"] == "ptrace" and "/proc/1/maps" in result["error"]
    facts = result["facts"]
    assert (facts["uid"], facts["target_uid"], facts["cap_sys_ptrace"]) == (65534, 0, False), facts
    assert borescope_dirs(name) == []
    assert target.stop() == ""


# --- the injector itself ------------------------------------------------------------------


def test_every_register_comes_back_even_after_code_that_clobbers_vector_registers(local):
    # Blocked in read(2): between two stops its registers do not change, so any difference is
    # borescope's. strtod returns a double in xmm0 (and uses more vector registers inside).
    target = local(BLOCKED)
    plan = plan_of(target.pid)
    # "ready" is printed just before the read: wait until the thread is in it.
    wait_until(lambda: "pipe" in open("/proc/%d/wchan" % target.pid).read(), "the target to block in read(2)")
    libc = [p for p in pod.mapped_files(target.pid) if os.path.basename(p).startswith("libc.so")][0]
    _, found, lowest = pod.elf_symbols(libc, ["strtod"])
    strtod = pod.mapped_files(target.pid)[libc] + found["strtod"] - lowest
    before = state_of(target.pid, plan)
    with pod_ptrace.Tracee(target.pid, plan) as tracee:
        page = tracee.syscall("mmap", 0, 4096, 3, 0x22, -1, 0)
        tracee.write(page, b"12345.678\0")
        tracee.call(strtod, page, 0)
        tracee.syscall("munmap", page, 4096)
    assert state_of(target.pid, plan) == before
    page = pod_ptrace.schedule(target.pid, plan, b"import sys; sys.stdout.write('pending call ran\\n'); sys.stdout.flush()")
    assert state_of(target.pid, plan) == before
    # The restarted read returns the byte; the main thread runs the call at its next bytecode.
    with open("/proc/%d/fd/4" % target.pid, "wb") as pipe:
        pipe.write(b"x")
    assert target.proc.stdout.readline() == b"pending call ran\n"
    assert target.proc.stdout.readline() == b"woke\n"
    pod_ptrace.release(target.pid, plan, page)
    with open("/proc/%d/maps" % target.pid) as f:
        assert not any(line.startswith("%x-" % page) for line in f), "the page was not unmapped"
    assert target.alive() and target.stop() == ""


def test_signals_that_arrive_while_stopped_are_delivered_again(local):
    # Each real-time signal is queued and, through set_wakeup_fd, leaves one byte in a pipe
    # when its handler runs: every signal sent must be handled once, stops or not.
    code = (
        "import os, signal, time\n"
        "r, w = os.pipe()\n"
        "os.set_blocking(w, False)\n"
        "signal.signal(signal.SIGRTMIN, lambda *a: None)\n"
        "signal.set_wakeup_fd(w)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    time.sleep(0.0005)\n"
    )
    target = local(code)
    plan = plan_of(target.pid)
    sent, redelivered, done = [0], [0], threading.Event()

    def send():
        while not done.is_set() and sent[0] < 3000:
            os.kill(target.pid, signal.SIGRTMIN)
            sent[0] += 1
            time.sleep(0.00005)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        for _ in range(200):
            with pod_ptrace.Tracee(target.pid, plan) as tracee:
                page = tracee.syscall("mmap", 0, 4096, 3, 0x22, -1, 0)
                tracee.syscall("munmap", page, 4096)
            redelivered[0] += len(tracee.signals)
    finally:
        done.set()
        sender.join()
    assert redelivered[0] > 0, "no signal arrived during a stop: the test proved nothing"
    received = 0
    with open("/proc/%d/fd/3" % target.pid, "rb") as pipe:
        os.set_blocking(pipe.fileno(), False)
        deadline = time.monotonic() + 10
        while received < sent[0] and time.monotonic() < deadline:
            try:
                received += len(pipe.read(65536) or b"")
            except BlockingIOError:
                time.sleep(0.01)
    assert received == sent[0], "%d signals sent, %d handled (%d seen during stops)" % (sent[0], received, redelivered[0])
    assert target.alive() and target.stop() == ""


def test_signals_that_would_end_the_injector_wait_until_the_target_is_let_go(local):
    # Were this program to die while the thread runs borescope's code, the kernel would let the
    # thread go on from there: SIGTERM and the like are held until it is restored.
    target = local(LOOP)
    plan = plan_of(target.pid)
    got = []
    previous = signal.signal(signal.SIGUSR1, lambda *args: got.append("handled"))
    try:
        with pod_ptrace.Tracee(target.pid, plan):
            # To this thread (the one holding the signals): a process-directed signal may go to
            # any other thread pytest has running.
            signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
            time.sleep(0.01)
            assert got == [], "a signal reached this program while the target was stopped"
        for _ in range(100):
            if got:
                break
            time.sleep(0.001)
        assert got == ["handled"]
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert target.alive() and target.stop() == ""


def test_a_full_pending_call_queue_is_refused_and_its_page_unmapped(local):
    target = local(BLOCKED)
    plan = plan_of(target.pid)
    marker = tempfile.mktemp(prefix="borescope-test-queue-", dir="/tmp")
    code = ("open(%r, 'a').write('x')" % marker).encode()
    pages = []
    mapped = mapped_bytes(target.pid)
    try:
        with pytest.raises(pod_ptrace.PtraceError) as refused:
            for _ in range(400):
                pages.append(pod_ptrace.schedule(target.pid, plan, code))
        assert refused.value.kind == "queue_full" and "queue is full" in str(refused.value)
        assert mapped_bytes(target.pid) == mapped + 4096 * len(pages), "the refused call's page stayed"
        wake(target)
        wait_until(lambda: os.path.exists(marker) and os.path.getsize(marker) == len(pages), "every queued call to run")
        for page in pages:
            pod_ptrace.release(target.pid, plan, page)
        assert target.alive() and target.stop() == ""
    finally:
        if os.path.exists(marker):
            os.unlink(marker)


def test_an_unsupported_architecture_is_refused_before_anything_is_touched():
    with pytest.raises(pod_ptrace.PtraceError) as refused:
        pod_ptrace.Tracee(os.getpid(), {"arch": "riscv64", "entry": 0})
    assert refused.value.kind == "unsupported_arch" and "riscv64" in str(refused.value)


# --- pieces -------------------------------------------------------------------------------


def test_the_pending_call_statement_runs_the_bootstrap_at_an_awkward_path(tmp_path):
    directory = tmp_path / 'q"uo\\te d\u00e9j\u00e0'
    directory.mkdir()
    run_py = directory / "run.py"
    run_py.write_text("import sys\nsys.stdout.write(__name__ + ' ran\\n')\n")
    code = pod.pending_call_code(PENDING_CALL, str(run_py))
    assert pod.RUN_PY_MARKER not in code
    done = subprocess.run([sys.executable, "-c", "import sys\nexec(compile(sys.argv[1], 'pending', 'exec'), {})", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"__borescope_job__ ran\n", b"")


def test_versions_outside_3_9_and_newer_have_no_method():
    assert pod.attach_method(1, "3.8", None, None, {}) == (None, "Python 3.8: borescope attaches to 3.9 and newer")
    assert pod.attach_method(1, "3.14", None, None, {}) == ("pep768", None)
    assert pod.attach_method(1, "3.14", None, "started with -X disable-remote-debug", {}) == (None, None)
    assert pod.attach_method(1, "?", None, None, {}) == (None, "unknown Python version")
