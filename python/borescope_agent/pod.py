"""The in-pod program: what borescope runs inside a container through the Kubernetes exec API.

There borescope can start a program but cannot reach /proc from outside, so this module does the
in-container half of local attach (`borescope-attach`'s ps, files, job and blocked diagnosis):
it lists processes from /proc, writes the agent into the target's own /tmp, asks the target to
run it and waits for its status file. The target runs it through ``sys.remote_exec`` (PEP 768)
on Python 3.14+, and on 3.9-3.13 as a pending call that ``pod_ptrace.py`` schedules with ptrace
through ctypes (``Py_AddPendingCall`` and ``PyRun_SimpleString`` found in the .dynsym of the
interpreter or libpython the target maps). This file lists processes, finds those symbols and
removes directories; a job is carried out by ``pod_job.py``, loaded (like ``pod_ptrace.py``)
from the agent archive the job request brings. None of them is ever imported in a target. Standard library only, CPython 3.6+ (the listing interpreter
may be old).

Wire format (the contract; borescope's Rust side implements the other end). argv is
``[PYTHON, "-I", "-S", "-c", LOADER]``, LOADER being::

    import sys;r=sys.stdin.buffer;exec(compile(r.read(int(r.readline())),"borescope-pod","exec"))

stdin carries frames ``<decimal length>\\n<bytes>``: this program's text, then one JSON request.
stdin is never closed, so nothing here reads past a frame. stdout carries JSON objects, one a
line; the last has ``"final": true``. A failure is ``{"final": true, "ok": false, "kind": K,
"error": TEXT, ...}``, K being ``bad_request``, ``internal`` (with ``traceback``) or one named
below. The exit status is always 0.

``{"op": "ps", "interval_ms": 150}`` -> ``{"ok": true, "self": SELF, "processes": [P],
"truncated"}``: every process but this one and kernel threads (at most 500, Python ones kept
first). P = {pid, ppid, uid, user, command, exe, state, rss_bytes, cpu_percent, python ("3.14"
or null), python_source ("exe", "maps" or null), werkzeug_run_main, django_run_main,
remote_debug_disabled (why, or null), method ("pep768", "ptrace" or null: how a job would
reach it), method_problem (why none, or null), cwd, ports, threads}; unreadable facts are null
(ports []). SELF = {uid, euid, python, executable, cap_eff, cap_sys_ptrace, seccomp, no_new_privs,
yama_ptrace_scope}.

``{"op": "job", "pid", "job": {..., "nonce"}, "bootstrap", "pending_call", "payload_bytes": N,
"label", "pickup_timeout_ms", "run_timeout_ms", "withdraw", "keep_dir", "debugpy_on_request",
"sources"}``, then N raw bytes (always read first): a tar (gzip allowed) of
``agent/borescope_agent/*.py``. It goes into ``borescope-<label>`` under the first of /tmp,
/dev/shm, the target's $TMPDIR that works (mode 0700, owned by the target's user), with
``job.json`` and ``run.py`` (the bootstrap, ``__BORESCOPE_DIR_JSON__`` replaced by the
directory as a JSON string). Without sys.remote_exec (the target's own interpreter runs this),
``pending_call`` is the statement the pending call runs (borescope-pyagent's
``pending_call_source`` for the path ``__BORESCOPE_RUN_PY__``, which is replaced by run.py's
path quoted the same way). Failure kinds: ``gone``, ``version`` (older than 3.9; ``python``),
``wrong_container``, ``no_place`` (``tried``), ``permission`` (``facts`` = SELF +
``target_uid``; ``method``; with ptrace the failed ``step``), ``disabled`` (``why``),
``traced`` (``tracer_pid``, ``tracer_comm``), ``no_symbols`` (``binary``, ``missing``),
``unsupported_arch`` (``machine``), ``no_ctypes`` (``executable``), ``queue_full``,
``inject_failed`` (with ptrace its ``step``),
``still_running`` (``seconds``; ``abandoned`` marker, the job cleans up itself) and ``blocked``
(not picked up: ``waited_ms``, ``threads`` = [{tid, name, state, wchan, syscall}],
``withdrawn``, ``queued_cleanup``, ``method``; with ptrace ``page_left``). Python cannot take
a request back, so a withdrawn one leaves the directory emptied to a ``cancelled`` marker and a
``run.py`` stub that removes it when the thread gets there (``queued_cleanup``); without
withdraw it gets ``abandoned``. A pending call's page (4 KB holding its statement) is unmapped
once the job was picked up, and stays mapped when it was not (``page_left``). When
the status says ``no_debugpy`` and ``debugpy_on_request``, the line ``{"need": "debugpy"}`` asks
for one more frame: a tar (gzip allowed) of ``debugpy/...`` (empty: none; the status is
returned as is), unpacked in ``<dir>/lib`` for a second run with ``job["debugpy_path"]``.
Success (the job reported, whatever its state): ``{"ok": true, "dir", "status",
"shipped_debugpy", "method"}`` (and ``page_error`` if the page could not be unmapped); with ``sources`` (and a ``cwd`` in the status) also ``sources`` (base64 of
a gzip'd tar of the .py files under cwd and the main script's directory, at most 2000 files and
8 MiB; names are absolute paths without the leading /), ``sources_files`` and
``sources_truncated``, or ``sources_error``. The directory is removed unless ``keep_dir``.

``{"op": "remove", "paths": [...]}`` -> ``{"ok": true, "removed", "missing"}``; a path that is
not absolute, normalised and named ``borescope-*`` refuses the whole request.
"""

import io
import json
import os
import re
import shutil
import struct
import sys
import tarfile
import time
import traceback

MAX_PROCESSES = 500
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MAX_FRAME = 256 << 20
PYTHON_NAME = re.compile(r"^(?:lib)?python(\d+\.\d+)[a-z]*(?:\.so(?:\.[0-9.]+)?)?$")
# What a Python without sys.remote_exec needs exported to take a pending call (pod_ptrace.py).
PENDING_CALL_SYMBOLS = ("Py_AddPendingCall", "PyRun_SimpleString")
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}
AT_ENTRY = 9
# Stands for run.py's path in the pending-call statement borescope sends (`pending_call`).
RUN_PY_MARKER = "__BORESCOPE_RUN_PY__"


class Refusal(Exception):
    """Ends the request with a failure of `kind` (plus `extra` fields)."""

    def __init__(self, kind, error, **extra):
        Exception.__init__(self, error)
        self.result = failure(kind, error, **extra)


def failure(kind, error, **extra):
    result = {"final": True, "ok": False, "kind": kind, "error": error}
    result.update(extra)
    return result


# --- framing ------------------------------------------------------------------------------


def read_exactly(stream, size):
    parts = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            raise Refusal("bad_request", "stdin ended %d bytes before the end of a frame" % size)
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def read_frame(stream):
    header = stream.readline(32)
    try:
        size = int(header.decode("ascii"))
    except ValueError:
        size = -1
    if not header.endswith(b"\n") or not 0 <= size <= MAX_FRAME:
        raise Refusal("bad_request", "expected a frame header `<length>\\n`, got %r" % header[:32])
    return read_exactly(stream, size)


def emit(obj):
    try:
        sys.stdout.write(json.dumps(obj, default=repr) + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # borescope went away: nobody to tell


# --- /proc --------------------------------------------------------------------------------


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None


def read_link(path):
    try:
        link = os.readlink(path)
    except OSError:
        return None
    return link[: -len(" (deleted)")] if link.endswith(" (deleted)") else link


def proc_stat(path):
    """state, ppid, ticks (utime+stime), start and rss pages from a stat file, or None."""
    text = read_text(path)
    if not text or ")" not in text:
        return None
    rest = text[text.rindex(")") + 2 :].split()
    try:
        return {"state": rest[0], "ppid": int(rest[1]), "ticks": int(rest[11]) + int(rest[12]), "start": int(rest[19]), "rss": int(rest[21])}
    except (IndexError, ValueError):
        return None


def proc_status(pid):
    fields = {}
    for line in (read_text("/proc/%s/status" % pid) or "").splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def status_ids(fields, key):
    """The (real, effective) ids of a status line such as `Uid:`, or None."""
    try:
        ids = [int(part) for part in fields[key].split()]
        return ids[0], ids[1]
    except (KeyError, IndexError, ValueError):
        return None


def int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def environ(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    env = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return env


def start_time(pid):
    stat = proc_stat("/proc/%d/stat" % pid)
    return None if stat is None or stat["state"] == "Z" else stat["start"]


def pids():
    return sorted(int(name) for name in os.listdir("/proc") if name.isdigit())


# --- ps -----------------------------------------------------------------------------------


def self_facts():
    status = proc_status("self")
    cap_eff = status.get("CapEff")
    try:
        ptrace = bool(int(cap_eff, 16) & (1 << 19))  # CAP_SYS_PTRACE
    except (TypeError, ValueError):
        ptrace = None
    yama = read_text("/proc/sys/kernel/yama/ptrace_scope")
    return {
        "uid": os.getuid(),
        "euid": os.geteuid(),
        "python": "%d.%d.%d" % sys.version_info[:3],
        "executable": sys.executable,
        "cap_eff": cap_eff,
        "cap_sys_ptrace": ptrace,
        "seccomp": int_or_none(status.get("Seccomp")),
        "no_new_privs": int_or_none(status.get("NoNewPrivs")),
        "yama_ptrace_scope": int_or_none(yama.strip()) if yama else None,
    }


def users():
    names = {}
    for line in (read_text("/etc/passwd") or "").splitlines():
        parts = line.split(":")
        if len(parts) > 2 and parts[2].isdigit():
            names.setdefault(int(parts[2]), parts[0])
    return names


def python_version(pid, exe):
    """("3.14", source) from the executable's name or a mapped interpreter or libpython."""
    match = PYTHON_NAME.match(os.path.basename(exe or ""))
    if match:
        return match.group(1), "exe"
    for line in (read_text("/proc/%d/maps" % pid) or "").splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6:
            match = PYTHON_NAME.match(os.path.basename(parts[5].strip().replace(" (deleted)", "")))
            if match:
                return match.group(1), "maps"
    return None, None


def interpreter_options(command):
    """The -X options of a python command line, and whether it ignores PYTHON* variables."""
    xoptions, ignores_env, args = [], False, list(command[1:])
    while args and args[0].startswith("-") and args[0] not in ("-", "--"):
        arg = args.pop(0)
        if arg == "--check-hash-based-pycs" and args:
            args.pop(0)
        for position in range(1, len(arg) if not arg.startswith("--") else 0):
            flag = arg[position]
            if flag in "cm":
                return xoptions, ignores_env
            ignores_env = ignores_env or flag in "EI"
            if flag in "XW":
                value = arg[position + 1 :] or (args.pop(0) if args else "")
                xoptions.extend([value] if flag == "X" else [])
                break
    return xoptions, ignores_env


def remote_debug_disabled(command, env):
    xoptions, ignores_env = interpreter_options(command)
    if any(x == "disable-remote-debug" or x.startswith("disable-remote-debug=") for x in xoptions):
        return "started with -X disable-remote-debug"
    if env and env.get("PYTHON_DISABLE_REMOTE_DEBUG") and not ignores_env:
        return "PYTHON_DISABLE_REMOTE_DEBUG is set in its environment"
    return None


def listening_ports(pid, tables):
    """TCP ports `pid` listens on: LISTEN rows of its network namespace whose socket it holds."""
    inodes = set()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return []
    for fd in fds:
        link = read_link("/proc/%d/fd/%s" % (pid, fd)) or ""
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    if not inodes:
        return []
    key = read_link("/proc/%d/ns/net" % pid) or pid
    if key not in tables:
        rows = []
        for name in ("tcp", "tcp6"):
            for line in (read_text("/proc/%d/net/%s" % (pid, name)) or "").splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[3] == "0A":
                    rows.append((fields[9], int(fields[1].rsplit(":", 1)[1], 16)))
        tables[key] = rows
    return sorted(set(port for inode, port in tables[key] if inode in inodes))


# --- symbols (Python 3.9-3.13: the pending-call trigger) -----------------------------------


def elf_symbols(path, names):
    """(machine, {name: st_value} of the functions among `names` defined in .dynsym, the lowest
    PT_LOAD address rounded down to its alignment) of a 64-bit little-endian ELF file.
    Raises ValueError (why not) or OSError."""
    with open(path, "rb") as f:
        header = f.read(64)
        if len(header) < 64 or header[:4] != b"\x7fELF":
            raise ValueError("not an ELF file")
        if header[4:6] != b"\x02\x01":
            raise ValueError("not a 64-bit little-endian ELF file")
        machine = struct.unpack_from("<H", header, 18)[0]
        phoff, shoff = struct.unpack_from("<QQ", header, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", header, 54)
        f.seek(phoff)
        phdrs = f.read(phentsize * phnum)
        loads = []
        for index in range(phnum):
            kind, _, _, vaddr, _, _, _, align = struct.unpack_from("<IIQQQQQQ", phdrs, index * phentsize)
            if kind == 1:  # PT_LOAD
                loads.append(vaddr & ~(align - 1) if align > 1 else vaddr)
        f.seek(shoff)
        shdrs = f.read(shentsize * shnum)
        sections = [struct.unpack_from("<IIQQQQIIQQ", shdrs, i * shentsize) for i in range(shnum if shoff else 0)]
        found = {}
        for _, kind, _, _, offset, size, link, _, _, entsize in sections:
            if kind != 11 or link >= len(sections):  # SHT_DYNSYM and its string table
                continue
            f.seek(sections[link][4])
            strings = f.read(sections[link][5])
            wanted = {}
            for name in names:
                at = strings.find(b"\0" + name.encode("ascii") + b"\0")
                if at >= 0:
                    wanted[at + 1] = name
            if not wanted:
                continue
            f.seek(offset)
            table = f.read(size)
            entsize = entsize or 24
            for at in range(0, len(table) - entsize + 1, entsize):
                name, info, _, shndx, value, _ = struct.unpack_from("<IBBHQQ", table, at)
                if name in wanted and shndx != 0 and value and info & 0xF == 2:  # defined STT_FUNC
                    found[wanted[name]] = value
    return ELF_MACHINES.get(machine), found, min(loads) if loads else 0


def mapped_files(pid):
    """{path: load bias} of the files `pid` maps (the start of each file's lowest mapping less
    its file offset), or None when its maps cannot be read."""
    text = read_text("/proc/%d/maps" % pid)
    if text is None:
        return None
    lowest = {}
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[5].startswith("/"):
            continue
        try:
            start, offset = int(parts[0].split("-")[0], 16), int(parts[2], 16)
        except ValueError:
            continue
        path = parts[5].strip()
        if path not in lowest or start < lowest[path][0]:
            lowest[path] = (start, start - offset)
    return dict((path, bias) for path, (_, bias) in lowest.items())


def entry_point(pid):
    """The process's entry point (AT_ENTRY in /proc/PID/auxv), or None."""
    try:
        with open("/proc/%d/auxv" % pid, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    for at in range(0, len(raw) - 15, 16):
        key, value = struct.unpack_from("<QQ", raw, at)
        if key == AT_ENTRY:
            return value
    return None


def pending_call_plan(pid, exe, cache):
    """Where `pid`'s Py_AddPendingCall and PyRun_SimpleString run and its entry point, from the
    .dynsym of the interpreter or libpython it maps: (plan, None) or (None, (kind, why,
    extra)). `cache` keeps what was read of each file for one request."""
    files = mapped_files(pid)
    entry = entry_point(pid)
    if files is None or entry is None:
        what = "/proc/%d/maps" % pid if files is None else "/proc/%d/auxv" % pid
        return None, ("permission", "cannot read %s" % what, {})
    candidates = sorted((p for p in files if p == exe or PYTHON_NAME.match(os.path.basename(p))), key=lambda p: not os.path.basename(p).startswith("lib"))
    if not candidates:
        return None, ("no_symbols", "pid %d maps no Python interpreter or libpython file" % pid, {"binary": exe, "missing": list(PENDING_CALL_SYMBOLS)})
    tried = []
    for path in candidates:
        if path not in cache:
            try:
                cache[path] = elf_symbols(read_path(pid, path), PENDING_CALL_SYMBOLS)
            except (OSError, ValueError, struct.error) as exc:
                cache[path] = exc
        read = cache[path]
        if isinstance(read, Exception):
            tried.append("%s (%s)" % (path, read))
            continue
        machine, found, lowest = read
        if machine not in ("x86_64", "aarch64"):
            return None, ("unsupported_arch", "%s is built for %s; borescope schedules code on x86-64 and aarch64" % (path, machine or "another machine"), {"machine": machine})
        missing = [name for name in PENDING_CALL_SYMBOLS if name not in found]
        if not missing:
            plan = dict((name, files[path] + value - lowest) for name, value in found.items())
            plan.update(arch=machine, entry=entry, binary=path)
            return plan, None
        tried.append("%s (no %s)" % (path, " or ".join(missing)))
    why = "no file pid %d maps exports Py_AddPendingCall and PyRun_SimpleString in its dynamic symbols (stripped, or linked statically without exported symbols): %s" % (pid, "; ".join(tried))
    return None, ("no_symbols", why, {"binary": candidates[0], "missing": list(PENDING_CALL_SYMBOLS)})


def read_path(pid, path):
    """`path` as `pid` sees it: through its root when this program may follow that link."""
    mine = "/proc/%d/root%s" % (pid, path)
    return mine if os.access(mine, os.R_OK) else path


def attach_method(pid, python, exe, disabled, cache):
    """("pep768" | "ptrace" | None, why none) for a Python process of version `python`. Remote
    debugging disabled (`disabled` says why) is respected on every version: no method."""
    try:
        version = tuple(int(part) for part in python.split(".")[:2])
    except (AttributeError, ValueError):
        return None, "unknown Python version"
    if version < (3, 9):
        return None, "Python %s: borescope attaches to 3.9 and newer" % python
    if disabled:
        return None, None
    if version >= (3, 14):
        return "pep768", None
    plan, problem = pending_call_plan(pid, exe, cache)
    return ("ptrace", None) if plan else (None, problem[1])


def describe_process(pid, names, tables, elf_cache):
    """One process's facts, or None for a kernel thread, a zombie or a process gone meanwhile."""
    stat = proc_stat("/proc/%d/stat" % pid)
    if stat is None or stat["state"] == "Z":
        return None
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    if not raw:
        return None
    command = [arg.decode("utf-8", "replace") for arg in raw.rstrip(b"\0").split(b"\0")]
    status = proc_status(pid)
    ids = status_ids(status, "Uid")
    exe = read_link("/proc/%d/exe" % pid)
    python, source = python_version(pid, exe)
    env = environ(pid)
    disabled = remote_debug_disabled(command, env)
    method, method_problem = attach_method(pid, python, exe, disabled, elf_cache) if python else (None, None)
    return {
        "pid": pid,
        "ppid": stat["ppid"],
        "uid": ids[0] if ids else None,
        "user": names.get(ids[0]) if ids else None,
        "command": command,
        "exe": exe,
        "state": stat["state"],
        "rss_bytes": stat["rss"] * PAGE_SIZE,
        "cpu_percent": None,
        "python": python,
        "python_source": source,
        "werkzeug_run_main": env.get("WERKZEUG_RUN_MAIN") if env is not None else None,
        "django_run_main": env.get("RUN_MAIN") if env is not None else None,
        "remote_debug_disabled": disabled,
        "method": method,
        "method_problem": method_problem,
        "cwd": read_link("/proc/%d/cwd" % pid),
        "ports": listening_ports(pid, tables),
        "threads": int_or_none(status.get("Threads")),
        "_ticks": stat["ticks"],
        "_start": stat["start"],
    }


def op_ps(request):
    interval = request.get("interval_ms", 150)
    if not isinstance(interval, (int, float)) or interval < 0:
        raise Refusal("bad_request", "interval_ms must be a number of milliseconds")
    interval = min(interval, 5000) / 1000.0
    me, names, tables, elf_cache = os.getpid(), users(), {}, {}
    processes = [p for p in (describe_process(pid, names, tables, elf_cache) for pid in pids() if pid != me) if p]
    truncated = len(processes) > MAX_PROCESSES
    if truncated:
        processes.sort(key=lambda p: (p["python"] is None, p["pid"]))
        processes = sorted(processes[:MAX_PROCESSES], key=lambda p: p["pid"])
    if interval > 0:
        began = time.monotonic()
        time.sleep(interval)
        elapsed = time.monotonic() - began
        ticks_per_second = float(os.sysconf("SC_CLK_TCK"))
        for process in processes:
            after = proc_stat("/proc/%d/stat" % process["pid"])
            if after is not None and after["start"] == process["_start"]:
                busy = max(after["ticks"] - process["_ticks"], 0) / ticks_per_second
                process["cpu_percent"] = round(busy / elapsed * 100.0, 1)
    for process in processes:
        del process["_ticks"], process["_start"]
    return {"final": True, "ok": True, "self": self_facts(), "processes": processes, "truncated": truncated}


# --- job: the module that runs it comes with its agent archive -----------------------------


def load_module(payload, name, **given):
    """borescope_agent/`name`.py from the agent archive borescope sent, as a module (nothing
    imported from the target's files), with the names in `given` defined before it runs."""
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:*") as archive:
            source = archive.extractfile("agent/borescope_agent/%s.py" % name).read()
    except (KeyError, AttributeError, tarfile.TarError):
        raise Refusal("bad_request", "the agent archive lacks borescope_agent/%s.py" % name)
    module = type(sys)("borescope_" + name)
    module.__dict__.update(given)
    exec(compile(source, "borescope_agent/%s.py" % name, "exec"), module.__dict__)
    return module


def this_program():
    """pod.py's own names as a module: what the modules it loads from the archive call."""
    module = type(sys)("borescope_pod")
    module.__dict__.update(globals())
    return module


def pending_call_code(template, run_py):
    """The pending-call statement for `run_py`: borescope's template with the marker replaced
    by the path quoted as borescope quotes it there (a string literal inside a string literal)."""
    once = json.dumps(run_py, ensure_ascii=False)[1:-1]
    return template.replace(RUN_PY_MARKER, json.dumps(once, ensure_ascii=False)[1:-1])


def op_job(request, stdin):
    """Reads the agent archive that follows the request, then runs the job with the archive's
    pod_job.py."""
    size = request.get("payload_bytes")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_FRAME:
        raise Refusal("bad_request", "payload_bytes must be a byte count")
    payload = read_exactly(stdin, size)  # read first: borescope sends it unasked
    jobs = load_module(payload, "pod_job", pod=this_program())
    return jobs.Job(request, stdin, payload).run()


# --- remove -------------------------------------------------------------------------------


def removable(path):
    ok = isinstance(path, str) and path.startswith("/") and os.path.normpath(path) == path
    name = os.path.basename(path) if ok else ""
    return name.startswith("borescope-") and len(name) > len("borescope-") and not os.path.islink(path)


def op_remove(request):
    paths = request.get("paths")
    if not isinstance(paths, list):
        raise Refusal("bad_request", "paths must be a list")
    refused = [p for p in paths if not removable(p)]
    if refused:
        raise Refusal("bad_request", "only borescope's own directories (absolute paths named borescope-*) can be removed", refused=refused)
    removed, missing = [], []
    for path in paths:
        if not os.path.lexists(path):
            missing.append(path)
            continue
        shutil.rmtree(path)
        removed.append(path)
    return {"final": True, "ok": True, "removed": removed, "missing": missing}


# --- entry --------------------------------------------------------------------------------


def handle(stdin):
    # Requests without a payload come in the program's own text (BORESCOPE_REQUEST, set
    # before it), with no stdin at all: an exec whose interpreter is missing then fails at
    # once instead of waiting for stdin to close.
    given = globals().get("BORESCOPE_REQUEST")
    try:
        request = json.loads(given if given is not None else read_frame(stdin).decode("utf-8"))
    except ValueError as exc:
        raise Refusal("bad_request", "the request is not JSON: %s" % exc)
    op = request.get("op") if isinstance(request, dict) else None
    if op == "ps":
        return op_ps(request)
    if op == "job":
        return op_job(request, stdin)
    if op == "remove":
        return op_remove(request)
    raise Refusal("bad_request", "unknown op %r (expected ps, job or remove)" % (op,))


def main():
    # Never outlive borescope: a request ends long before this (its own timeouts are shorter),
    # and if the exec stream is lost without closing stdin, this ends the program.
    try:
        import signal

        signal.alarm(900)
    except Exception:
        pass
    try:
        result = handle(sys.stdin.buffer)
    except Refusal as refusal:
        result = refusal.result
    except BaseException as exc:  # never raise out: borescope reads one final line
        result = failure("internal", "%s: %s" % (type(exc).__name__, exc), traceback=traceback.format_exc())
    emit(result)


if __name__ == "__main__":
    main()
    os._exit(0)
