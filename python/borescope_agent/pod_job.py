"""The ``job`` request of the in-pod program (pod.py): writes the agent into the target's /tmp,
has the target run it (``sys.remote_exec`` on 3.14+, a pending call through ``pod_ptrace.py``
on 3.9-3.13), waits for its status file, and says why when the target never picked it up.

pod.py loads this module from the agent archive that comes with the request and gives it
``pod``: pod.py's own names (framing, /proc readers, refusals, symbol lookup). It is never
imported in a target. The wire format is described in pod.py. Standard library only.
"""

import base64
import io
import json
import os
import re
import shutil
import sys
import tarfile
import time

try:
    pod  # pod.py's names, given by pod.py when it loads this module from the agent archive
except NameError:  # imported from the package (tests)
    from borescope_agent import pod

MAX_THREADS = 64
MAX_DIR_LEN = 500
SOURCE_FILES = 2000
SOURCE_BYTES = 8 << 20
SOURCE_DIRS = 20000
SKIP_SOURCE_DIRS = frozenset(["site-packages", "dist-packages", ".git", "__pycache__", "node_modules", ".venv", "venv"])
LABEL = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
STUB = """# Written by borescope: its request was withdrawn; this only removes borescope's directory.
import os
for path in (os.path.join(%(dir)s, "run.py"), os.path.join(%(dir)s, "cancelled"), %(dir)s):
    try:
        (os.rmdir if path == %(dir)s else os.unlink)(path)
    except OSError:
        pass
"""


def task_threads(pid):
    """What each thread of `pid` is doing in the kernel, for a request nobody picked up."""
    threads = []
    try:
        tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid) if t.isdigit())
    except OSError:
        return threads
    for tid in tids[:MAX_THREADS]:
        base = "/proc/%d/task/%d/" % (pid, tid)
        stat = pod.proc_stat(base + "stat")
        wchan = (pod.read_text(base + "wchan") or "").strip()
        syscall = (pod.read_text(base + "syscall") or "").split()
        threads.append({
            "tid": tid,
            "name": (pod.read_text(base + "comm") or "").strip() or None,
            "state": stat["state"] if stat else None,
            "wchan": wchan if wchan not in ("", "0") else None,
            "syscall": syscall[0] if syscall else None,
        })
    return threads


def extract_tar(data, into, prefix, owner):
    """Unpacks a tar (plain or gzip) whose members all live under `prefix`/; refuses absolute
    names, `..`, links and devices."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive:
            parts = [p for p in member.name.split("/") if p not in ("", ".")]
            if member.name.startswith("/") or ".." in parts or not parts or parts[0] != prefix:
                raise pod.Refusal("bad_request", "refusing the tar member %r (only relative names under %s/)" % (member.name, prefix))
            path = os.path.join(into, *parts)
            if member.isdir():
                make_dirs(into, parts, owner)
            elif member.isfile():
                make_dirs(into, parts[:-1], owner)
                write_file(path, archive.extractfile(member).read(), owner)
            else:
                raise pod.Refusal("bad_request", "refusing the tar member %r (not a file or directory)" % member.name)


def make_dirs(base, parts, owner):
    path = base
    for part in parts:
        path = os.path.join(path, part)
        if not os.path.isdir(path):
            os.mkdir(path, 0o755)
            give_away(path, owner)


def write_file(path, data, owner):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    give_away(path, owner)


def give_away(path, owner):
    if owner is not None:
        os.chown(path, owner[0], owner[1])


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)

class Job(object):
    """One job run in the target: its directory, the injection, the wait for its status."""

    def __init__(self, request, stdin, payload):
        self.request, self.stdin, self.dir, self.owner, self.status = request, stdin, None, None, None
        self.kept = False  # the directory was handed over to the target, which removes it itself
        self.pending = False  # a request is queued in the target and has not reported
        self.picked_up = False  # the target started the last request (its run.py is gone)
        self.method = self.plan = self.injector = self.page = None
        self.page_error = None  # why a pending call's page could not be unmapped
        self.payload = payload  # the agent archive (this module came from it)
        self.pid, self.job, self.label = request.get("pid"), request.get("job"), request.get("label")
        self.bootstrap = request.get("bootstrap")
        if not isinstance(self.pid, int) or isinstance(self.pid, bool) or self.pid <= 0:
            raise pod.Refusal("bad_request", "pid must be a positive integer")
        if not isinstance(self.job, dict) or not isinstance(self.job.get("nonce"), str) or not isinstance(self.bootstrap, str):
            raise pod.Refusal("bad_request", "job must be an object with a nonce, bootstrap a text")
        if not isinstance(self.label, str) or not LABEL.match(self.label):
            raise pod.Refusal("bad_request", "label must be 1-100 letters, digits, `.`, `_` or `-`")
        self.pickup_timeout, self.run_timeout = self.seconds("pickup_timeout_ms", 5000), self.seconds("run_timeout_ms", 30000)

    def seconds(self, key, default):
        value = self.request.get(key, default)
        if not isinstance(value, (int, float)) or value < 0:
            raise pod.Refusal("bad_request", "%s must be a number of milliseconds" % key)
        return min(value, 3600000) / 1000.0

    def path(self, name):
        return os.path.join(self.dir, name)

    def run(self):
        self.start = pod.start_time(self.pid)
        if self.start is None:
            raise pod.Refusal("gone", "no process %d in this container" % self.pid)
        try:
            theirs, mine = os.stat("/proc/%d/root/" % self.pid), os.stat("/")
        except OSError:
            theirs = mine = None  # unreadable: the injection says what is missing
        if theirs and (theirs.st_dev, theirs.st_ino) != (mine.st_dev, mine.st_ino):
            raise pod.Refusal("wrong_container", "pid %d sees another filesystem (another container of the pod): run in its container" % self.pid)
        self.method = "pep768" if hasattr(sys, "remote_exec") else self.prepare_pending_call()
        status = pod.proc_status(self.pid)
        uid, gid = [(pod.status_ids(status, key) or (0, 0))[1] for key in ("Uid", "Gid")]
        self.owner = (uid, gid) if os.geteuid() == 0 and uid != 0 else None
        self.dir = self.make_dir()
        try:
            return self.run_in_dir()
        except BaseException:
            if self.pending:  # the thread may still open run.py: keep it, but make it do nothing
                self.hand_over("cancelled")
                self.hand_over("abandoned")
            elif not self.kept:
                remove_tree(self.dir)
            raise

    def run_in_dir(self):
        extract_tar(self.payload, self.dir, "agent", self.owner)
        shipped = False
        wants_debugpy = self.job.get("kind") == "listen" and self.request.get("debugpy_on_request")
        if wants_debugpy and not debugpy_visible(self.pid):
            # Ship it with the first job: a second one would wait for the thread again.
            shipped = self.receive_debugpy()
        failed = self.write_and_inject()
        if failed:
            return failed
        if self.status.get("state") == "no_debugpy" and wants_debugpy and not shipped:
            if self.receive_debugpy():
                os.unlink(self.path("status.json"))
                failed = self.write_and_inject()
                if failed:
                    return failed
                shipped = True
        result = {"final": True, "ok": True, "dir": self.dir, "status": self.status, "shipped_debugpy": shipped, "method": self.method}
        if self.page_error:
            result["page_error"] = self.page_error
        if self.request.get("sources") and isinstance(self.status.get("cwd"), str):
            result.update(collect_sources(self.status, self.dir))
        if not self.request.get("keep_dir"):
            remove_tree(self.dir)
        return result

    def receive_debugpy(self):
        """Asks borescope for its copy of debugpy and unpacks it for the job; False if none."""
        pod.emit({"need": "debugpy"})
        archive = pod.read_frame(self.stdin)
        if not archive:
            return False
        make_dirs(self.dir, ["lib"], self.owner)
        extract_tar(archive, self.path("lib"), "debugpy", self.owner)
        self.job["debugpy_path"] = self.path("lib")
        return True

    def make_dir(self):
        bases = ["/tmp", "/dev/shm"]
        tmpdir = (pod.environ(self.pid) or {}).get("TMPDIR", "")
        bases.extend([tmpdir] if tmpdir.startswith("/") else [])
        why = "no candidate"
        for base in bases:
            path = os.path.join(os.path.realpath(base), "borescope-" + self.label)
            if len(path) > MAX_DIR_LEN:
                why = "%s is too long for CPython's script path" % path
                continue
            try:
                os.mkdir(path, 0o700)
            except OSError as exc:
                why = "%s: %s" % (path, exc)
                continue
            try:
                os.chmod(path, 0o700)
                give_away(path, self.owner)
                return path
            except OSError as exc:
                why = "%s: %s" % (path, exc)
                os.rmdir(path)
        raise pod.Refusal("no_place", "no directory for borescope's files: %s" % why, tried=bases)

    def write_and_inject(self):
        """Writes the job, runs run.py in the target and waits: None (self.status set) or a failure."""
        write_file(self.path("job.json"), json.dumps(self.job).encode("utf-8"), self.owner)
        script = self.bootstrap.replace("__BORESCOPE_DIR_JSON__", json.dumps(self.dir))
        write_file(self.path("run.py"), script.encode("utf-8"), self.owner)
        if self.method == "ptrace":
            failed = self.schedule_pending_call()
            if failed:
                return failed
        else:
            try:
                sys.remote_exec(self.pid, self.path("run.py"))
            except Exception as exc:
                remove_tree(self.dir)
                return self.injection_failure(exc)
        self.pending, self.picked_up = True, False
        failed = self.wait()
        self.pending = False
        if self.page is not None and self.picked_up and not (failed and failed["kind"] == "gone"):
            self.release_page()
        return failed

    def permission_facts(self):
        facts = pod.self_facts()
        facts["target_uid"] = (pod.status_ids(pod.proc_status(self.pid), "Uid") or (None, None))[1]
        return facts

    def injection_failure(self, exc):
        text = "%s: %s" % (type(exc).__name__, exc)
        if not self.alive() or isinstance(exc, ProcessLookupError):
            return pod.failure("gone", "pid %d ended" % self.pid)
        if isinstance(exc, PermissionError) or getattr(exc, "errno", None) in (1, 13):
            return pod.failure("permission", "not allowed to inject into pid %d: %s" % (self.pid, text), facts=self.permission_facts(), method="pep768")
        if "remote debug" in text.lower() and ("not enabled" in text.lower() or "disabled" in text.lower()):
            command = (pod.read_text("/proc/%d/cmdline" % self.pid) or "").rstrip("\0").split("\0")
            why = pod.remote_debug_disabled(command, pod.environ(self.pid)) or "Python was built or configured without remote debugging"
            return pod.failure("disabled", "remote debugging is disabled in pid %d: %s" % (self.pid, why), why=why)
        return pod.failure("inject_failed", "sys.remote_exec(%d) failed: %s" % (self.pid, text))

    # -- Python 3.9-3.13: a pending call scheduled with ptrace (pod_ptrace.py) ------------------

    def prepare_pending_call(self):
        """Checks, before anything is written, that this Python (the target's own, without
        sys.remote_exec) can be given a pending call; loads the injector. Returns "ptrace"."""
        version = "%d.%d.%d" % sys.version_info[:3]
        if sys.version_info < (3, 9):
            raise pod.Refusal("version", "Python %s is too old: borescope attaches to Python 3.9 and newer" % version, python=version)
        template = self.request.get("pending_call")
        if not isinstance(template, str) or pod.RUN_PY_MARKER not in template:
            raise pod.Refusal("bad_request", "pending_call must be the pending-call statement with %s for run.py's path" % pod.RUN_PY_MARKER)
        command = (pod.read_text("/proc/%d/cmdline" % self.pid) or "").rstrip("\0").split("\0")
        why = pod.remote_debug_disabled(command, pod.environ(self.pid))
        if why:  # the owner's wish, though this Python has no PEP 768 to turn off
            raise pod.Refusal("disabled", "remote debugging is disabled in pid %d: %s" % (self.pid, why), why=why)
        tracer = pod.int_or_none(pod.proc_status(self.pid).get("TracerPid")) or 0
        if tracer:
            comm = (pod.read_text("/proc/%d/comm" % tracer) or "").strip() or None
            raise pod.Refusal("traced", "pid %d is already traced by pid %d (%s), and a process has only one tracer" % (self.pid, tracer, comm or "name unknown"), tracer_pid=tracer, tracer_comm=comm, python=version)
        plan, problem = pod.pending_call_plan(self.pid, pod.read_link("/proc/%d/exe" % self.pid), {})
        if plan is None:
            kind, why, extra = problem
            if kind == "permission":
                raise pod.Refusal("permission", "not allowed to read pid %d's memory map: %s" % (self.pid, why), facts=self.permission_facts(), method="ptrace", python=version)
            raise pod.Refusal(kind, why, python=version, **extra)
        injector = pod.load_module(self.payload, "pod_ptrace")
        if injector.CTYPES_ERROR:
            raise pod.Refusal("no_ctypes", "Python %s in this container cannot import ctypes (%s), which borescope needs to schedule its code in a Python older than 3.14" % (version, injector.CTYPES_ERROR), python=version, executable=sys.executable)
        self.plan, self.injector = plan, injector
        return "ptrace"

    def schedule_pending_call(self):
        """Queues run.py in the target as a pending call: None, or a failure (nothing left)."""
        code = pod.pending_call_code(self.request["pending_call"], self.path("run.py"))
        try:
            self.page = self.injector.schedule(self.pid, self.plan, code.encode("utf-8"))
        except self.injector.PtraceError as error:
            remove_tree(self.dir)
            extra = dict(error.extra, method="ptrace")
            if error.kind == "gone" or not self.alive():
                return pod.failure("gone", "pid %d ended" % self.pid)
            if error.kind == "permission":
                return pod.failure("permission", str(error), facts=self.permission_facts(), **extra)
            return pod.failure(error.kind, str(error), **extra)
        return None

    def release_page(self):
        """Unmaps the page of a pending call that ran; on failure says why (4 KB stay)."""
        page, self.page = self.page, None
        try:
            self.injector.release(self.pid, self.plan, page)
        except self.injector.PtraceError as error:
            self.page_error = "page 0x%x stays mapped: %s" % (page, error)

    def alive(self):
        return pod.start_time(self.pid) == self.start

    def read_status(self):
        try:
            with open(self.path("status.json")) as f:
                status = json.load(f)
        except (OSError, ValueError):
            return None
        return status if isinstance(status, dict) and status.get("nonce") == self.job["nonce"] else None

    def wait(self):
        started, picked_up = time.monotonic(), None
        while True:
            self.status = self.read_status()
            if self.status is not None:
                return None
            if not self.alive():
                remove_tree(self.dir)
                return pod.failure("gone", "pid %d ended before its job reported" % self.pid)
            now = time.monotonic()
            if picked_up is None and not os.path.exists(self.path("run.py")):
                picked_up, self.picked_up = now, True
            if picked_up is None and now - started >= self.pickup_timeout:
                blocked = self.not_picked_up(now - started)
                if blocked:
                    return blocked
                picked_up, self.picked_up = now, True  # it was picked up just now
            if picked_up is not None and now - picked_up >= self.run_timeout:
                self.hand_over("abandoned")
                return pod.failure("still_running", "pid %d's job still runs after %.1fs" % (self.pid, now - started), seconds=round(now - started, 3), method=self.method)
            time.sleep(0.001 if now - started < 0.2 else 0.005)

    def not_picked_up(self, waited):
        error = "pid %d's main thread did not run Python code for %.1fs, so it never picked up borescope's request" % (self.pid, waited)
        withdraw = bool(self.request.get("withdraw"))
        extra = {"waited_ms": int(waited * 1000), "threads": task_threads(self.pid), "withdrawn": withdraw, "queued_cleanup": withdraw, "method": self.method}
        if self.method == "ptrace":
            extra["page_left"] = True  # the queued call still reads its code from there
        if not withdraw:
            self.hand_over("abandoned")
            return pod.failure("blocked", error, **extra)
        write_file(self.path("cancelled"), b"", self.owner)
        if not os.path.exists(self.path("run.py")):
            return None  # the bootstrap started before the marker: wait for its status
        # The request stays queued in the target: a bootstrap starting now sees `cancelled` and
        # returns; everything else goes, and run.py becomes a stub that removes the rest.
        for name in os.listdir(self.dir):
            path = self.path(name)
            if name in ("run.py", "cancelled"):
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                remove_tree(path)
            else:
                os.unlink(path)
        write_file(self.path("run.py.new"), (STUB % {"dir": json.dumps(self.dir)}).encode("utf-8"), self.owner)
        os.replace(self.path("run.py.new"), self.path("run.py"))
        self.kept = True
        return pod.failure("blocked", error, **extra)

    def hand_over(self, marker):
        """Leaves the directory to the job, which removes it when it ends."""
        self.kept = True
        try:
            write_file(self.path(marker), b"", self.owner)
        except OSError:
            pass


def debugpy_visible(pid):
    """Whether the target can likely import debugpy: a `debugpy` package in its script's or
    working directory, its PYTHONPATH, its virtualenv, or this interpreter's (its own binary's)
    site directories. A wrong guess costs only time: the job then reports `no_debugpy`."""
    env = pod.environ(pid) or {}
    command = (pod.read_text("/proc/%d/cmdline" % pid) or "").rstrip("\0").split("\0")
    places = [pod.read_link("/proc/%d/cwd" % pid)]
    places.extend(os.path.dirname(arg) for arg in command[1:] if arg.endswith(".py"))
    places.extend(env.get("PYTHONPATH", "").split(":"))
    version = "python%d.%d" % sys.version_info[:2]
    venvs = [env.get("VIRTUAL_ENV")]
    if command and command[0].startswith("/"):
        venvs.append(os.path.dirname(os.path.dirname(command[0])))
    for venv in venvs:
        if venv and os.path.exists(os.path.join(venv, "pyvenv.cfg")):
            places.append(os.path.join(venv, "lib", version, "site-packages"))
    if env.get("HOME"):
        places.append(os.path.join(env["HOME"], ".local", "lib", version, "site-packages"))
    try:
        import site

        places.extend(site.getsitepackages())
    except Exception:
        pass
    return any(p and os.path.isfile(os.path.join(p, "debugpy", "__init__.py")) for p in places)


def collect_sources(status, own_dir):
    """The program's .py files (under its working directory and its main script's), bounded."""
    main = status.get("main")
    roots = [status.get("cwd"), os.path.dirname(main) if isinstance(main, str) else None]
    buffer, counts = io.BytesIO(), {"files": 0, "bytes": 0, "truncated": False}
    try:
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path, info in source_files(roots, own_dir, counts):
                try:
                    with open(path, "rb") as f:
                        data = f.read(info.st_size)
                except OSError:
                    continue
                member = tarfile.TarInfo(path.lstrip("/"))
                member.size, member.mtime, member.mode = len(data), int(info.st_mtime), 0o644
                archive.addfile(member, io.BytesIO(data))
                counts["files"] += 1
                counts["bytes"] += len(data)
    except Exception as exc:  # the job succeeded: a missing copy of the sources must not undo it
        return {"sources_error": "%s: %s" % (type(exc).__name__, exc)}
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"sources": encoded, "sources_files": counts["files"], "sources_truncated": counts["truncated"]}


def source_files(roots, own_dir, counts):
    """(path, stat) of each .py file, skipping environments, caches, VCS and borescope's
    directories; stops (setting `truncated`) at the file, byte or directory limit."""
    seen, dirs = set(), 0
    for root in sorted(set(os.path.normpath(r) for r in roots if isinstance(r, str) and r.startswith("/"))):
        for directory, subdirs, names in os.walk(root):
            dirs += 1
            if dirs > SOURCE_DIRS:
                counts["truncated"] = True
                return
            subdirs[:] = sorted(d for d in subdirs if keep_source_dir(directory, d, own_dir))
            for name in sorted(n for n in names if n.endswith(".py")):
                path = os.path.join(directory, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                if path in seen or not os.path.isfile(path):
                    continue
                seen.add(path)
                if counts["files"] >= SOURCE_FILES or counts["bytes"] + info.st_size > SOURCE_BYTES:
                    counts["truncated"] = True
                    return
                yield path, info


def keep_source_dir(parent, name, own_dir):
    path = os.path.join(parent, name)
    if name in SKIP_SOURCE_DIRS or name.startswith("borescope-") or path == own_dir:
        return False
    return path not in ("/proc", "/sys", "/dev") and not os.path.islink(path)
