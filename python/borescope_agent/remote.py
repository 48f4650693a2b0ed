"""Jobs borescope runs inside a process that is already running, delivered through PEP 768.

borescope writes a directory into the process's own filesystem view holding this package,
``job.json`` and a tiny ``run.py``, then asks the interpreter (sys.remote_exec's protocol) to run
``run.py`` at its next safe point. ``run.py`` imports this module and calls :func:`run`, which
does one job and writes ``status.json`` (atomically) for borescope to read:

    listen  -- start debugpy on 127.0.0.1 (random port, access token) without waiting for a
               client, so a session can attach; a copy of debugpy shipped in by borescope is
               used when the program has none
    exec    -- run code, capturing only this thread's stdout/stderr, and report its output and
               any traceback; names read through to ``__main__``'s globals, assignments stay
               in the snippet's own namespace
    detach  -- stop debugpy, undo what listen did, and remove borescope's files
    snapshots_start -- start live snapshots (snapshots.py) for a borescope server; the agent
               is kept in ``_state`` so a later job can stop it
    snapshots_stop  -- stop them and leave the process as it was: sys.monitoring tool id
               freed, thread joined, import finder removed, code swapped back, modules
               forgotten

Nothing here may harm the program: every failure is reported in the status file, never raised;
captured output is bounded; module state survives only while attached.
"""

import json
import os
import sys
import threading
import traceback

# Survives re-imports (run.py hands it over): what `listen` set up, for `detach`.
_state = {}

# Output captured by `exec` is cut here.
MAX_CAPTURE = 1 << 20


def run(directory, previous_state=None):
    """Runs the job in `directory` and writes its status file. Never raises."""
    if previous_state:
        _state.update(previous_state)
    status = {"state": "failed", "error": "the job did not run"}
    job = {}
    try:
        with open(os.path.join(directory, "job.json")) as f:
            job = json.load(f)
        kind = job.get("kind")
        if kind == "listen":
            status = _listen(job, directory)
        elif kind == "exec":
            status = _exec(job)
        elif kind == "detach":
            status = _detach(job)
        elif kind == "snapshots_start":
            status = _snapshots_start(job)
        elif kind == "snapshots_stop":
            status = _snapshots_stop(job)
        else:
            status = {"state": "failed", "error": "unknown job %r" % (kind,)}
    except BaseException as exc:  # the program must never see our failure
        status = {
            "state": "failed",
            "error": "%s: %s" % (type(exc).__name__, exc),
            "traceback": traceback.format_exc(limit=8),
        }
    status.update(
        nonce=job.get("nonce"),
        pid=os.getpid(),
        thread=threading.current_thread().name,
        python="%d.%d.%d" % sys.version_info[:3],
        executable=sys.executable,
    )
    _forget_importers(directory)
    _write_status(directory, status)
    if os.path.exists(os.path.join(directory, "abandoned")):
        # borescope stopped waiting (the job ran too long): nobody will clean up but us.
        _remove_tree(directory)
    if not _state:
        # Not attached (an exec, or a detach just finished): leave no module of ours behind.
        _forget_agent_modules()
    elif _state.get("directory"):
        try:
            _serve_from(_state["directory"])
        except Exception:
            pass  # sessions then fall back to debugpy's own variables


def _serve_from(directory):
    """While a session is attached, borescope calls session_view in paused frames. Every job
    re-imports this package from its own directory, which borescope removes afterwards; point
    the package back at the session's directory (kept until detach) and load session_view now,
    so a paused thread never has to import."""
    package = sys.modules.get("borescope_agent")
    if package is not None:
        package.__path__ = [os.path.join(directory, "agent", "borescope_agent")]
    from . import listen

    listen.preload_session_view()


def _forget_importers(directory):
    """Drops the import system's cached finders for a job directory (it is deleted after the
    job; a later import makes a new finder if one is needed)."""
    for key in [k for k in sys.path_importer_cache if isinstance(k, str) and k.startswith(directory)]:
        sys.path_importer_cache.pop(key, None)


def _forget_agent_modules():
    for name in [m for m in sys.modules if m == "borescope_agent" or m.startswith("borescope_agent.")]:
        del sys.modules[name]


def _write_status(directory, status):
    path = os.path.join(directory, "status.json")
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump(status, f, default=repr)
    os.replace(temporary, path)


def _remove_tree(directory):
    import shutil

    shutil.rmtree(directory, ignore_errors=True)


# --- listen -------------------------------------------------------------------------------


def _listen(job, directory):
    if _state.get("listening"):
        # A previous borescope attach (whose session daemon went away) left debugpy running:
        # stop it first, so this attach gets a fresh listener with a fresh token.
        _stop_debugpy()
    from . import listen

    if _state.pop("collect_before_listen", False):
        import gc

        gc.collect()
    _state["before_listen"] = _process_hooks()
    shipped = job.get("debugpy_path")
    try:
        with listen.quiet_pydevd():
            import debugpy
    except ImportError as exc:
        if not shipped:
            return {"state": "no_debugpy", "error": str(exc), "sys_path": sys.path[:12]}
        sys.path.append(shipped)
        _state["shipped"] = shipped
        with listen.quiet_pydevd():
            import debugpy

    try:
        # borescope's directory (this package, a shipped debugpy) is hidden from the debugger.
        host, port = listen.listen(debugpy, job.get("token"), directory)
    except RuntimeError as exc:
        if "already been called" in str(exc):
            return {
                "state": "failed",
                "error": "debugpy is already listening in this process (started by the program itself or another tool); connect to it directly, or restart the program",
            }
        raise
    _state.update(listening=True, directory=directory, port=port)
    _tune_when_connected()
    from . import boot

    return {
        "state": "listening",
        "host": host,
        "port": port,
        "debugpy": getattr(debugpy, "__version__", "?"),
        "cwd": os.getcwd(),
        "runtime_dirs": boot._runtime_dirs(),
        "main": getattr(sys.modules.get("__main__"), "__file__", None),
    }


def _tune_when_connected():
    """Sets TCP_NODELAY on debugpy's connection once the client is there (pydevd writes header
    and body separately, so without it every reply waits for a delayed ACK). Gives up after 60 s."""

    def wait():
        import socket
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                import pydevd

                writer = getattr(pydevd.get_global_debugger(), "writer", None)
                sock = getattr(writer, "sock", None)
                # Before the client connects pydevd's writer is a null object that accepts
                # any call; only a real, connected socket counts.
                if isinstance(sock, socket.socket):
                    sock.getpeername()  # raises until the client has connected
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    return
            except OSError:
                pass
            except Exception:
                return
            time.sleep(0.002)

    thread = threading.Thread(target=wait, name="borescope-attach", daemon=True)
    # pydevd hides and never traces its own helper threads; this is one of those.
    thread.is_pydev_daemon_thread = True
    thread.pydev_do_not_trace = True
    thread.start()


# --- exec ---------------------------------------------------------------------------------


class _ThreadOutput(object):
    """Stands in for sys.stdout/sys.stderr: writes from the exec thread are captured (up to a
    limit), every other thread's writes go to the real stream untouched."""

    def __init__(self, original, owner, limit):
        self._original = original
        self._owner = owner
        self._parts = []
        self._size = 0
        self._limit = limit
        self.dropped = 0

    def write(self, text):
        if threading.get_ident() != self._owner:
            return self._original.write(text)
        text = str(text)
        room = self._limit - self._size
        if room > 0:
            self._parts.append(text[:room])
            self._size += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self):
        if threading.get_ident() != self._owner and self._original is not None:
            self._original.flush()

    def value(self):
        return "".join(self._parts)

    def __getattr__(self, name):
        return getattr(self._original, name)


class _ReadThrough(dict):
    """The namespace `exec` runs code in: its own names first, then the program's ``__main__``
    globals (so ``print(app.config)`` reaches the main script's ``app``), then builtins.
    Assignments, ``def`` and ``import`` stay here: a snippet never rebinds a global of the
    program by accident (``import __main__; __main__.NAME = value`` does it on purpose).
    Functions defined in the snippet see the same chain."""

    __slots__ = ("_fallback",)

    def __init__(self, fallback, own):
        dict.__init__(self, own)
        self._fallback = fallback

    def __missing__(self, key):
        return self._fallback[key]


def _exec_namespace(filename):
    main = sys.modules.get("__main__")
    fallback = getattr(main, "__dict__", None)
    if not isinstance(fallback, dict):
        fallback = {}
    own = {
        "__name__": "__borescope_exec__",
        "__file__": filename,
        "__doc__": None,
        "__package__": None,
        "__spec__": None,
        "__builtins__": __builtins__,
    }
    return _ReadThrough(fallback, own)


def _exec(job):
    code = job.get("code", "")
    filename = job.get("filename") or "<borescope exec>"
    owner = threading.get_ident()
    limit = int(job.get("max_output") or MAX_CAPTURE)
    out = _ThreadOutput(sys.stdout, owner, limit)
    err = _ThreadOutput(sys.stderr, owner, limit)
    namespace = _exec_namespace(filename)
    error = None
    sys.stdout, sys.stderr = out, err
    try:
        try:
            compiled = compile(code, filename, "exec")
        except SyntaxError:
            error = traceback.format_exc(limit=0)
        else:
            try:
                exec(compiled, namespace)
            except BaseException as exc:  # SystemExit and KeyboardInterrupt too: never let them out
                error = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next))
    finally:
        if sys.stdout is out:
            sys.stdout = out._original
        if sys.stderr is err:
            sys.stderr = err._original
    return {
        "state": "done",
        "stdout": out.value(),
        "stderr": err.value(),
        "dropped": out.dropped + err.dropped,
        "error": error,
    }


# --- detach -------------------------------------------------------------------------------


def _stop_debugpy():
    notes = []
    pydevd = sys.modules.get("pydevd")
    if pydevd is not None:
        try:
            pydevd.stoptrace()
        except Exception as exc:
            notes.append("pydevd.stoptrace: %r" % (exc,))
    # pydevd's thread waiting for a client survives stoptrace. Flag it to end first, then
    # wake its accept() (shutdown), then let pydevd close its socket; closed before the flag
    # is seen, it would retry listen() on the closed socket forever, at full CPU.
    waiters = _connection_waiters()
    for waiter in waiters:
        try:
            waiter._kill_received = True
        except Exception as exc:
            notes.append("stopping pydevd's connection thread: %r" % (exc,))
    port = _state.pop("port", None)
    if port:
        notes.extend(_close_sockets_on(port))
    for waiter in waiters:
        try:
            waiter.do_kill_pydev_thread()
        except Exception as exc:
            notes.append("stopping pydevd's connection thread: %r" % (exc,))
    api = sys.modules.get("debugpy.server.api")
    if api is not None:
        try:
            api.listen.called = False  # allow a later attach to listen again
        except Exception as exc:
            notes.append("resetting debugpy.listen: %r" % (exc,))
    shipped = _state.pop("shipped", None)
    notes.extend(_restore_process_hooks(_state.pop("before_listen", None)))
    if shipped:
        while shipped in sys.path:
            sys.path.remove(shipped)
        _forget_importers(shipped)
        # The copy is about to be deleted: forget every module loaded from it, so a later
        # import finds a real one instead of a module whose files are gone.
        for name, module in list(sys.modules.items()):
            places = [getattr(module, "__file__", None) or ""]
            places.extend(getattr(module, "__path__", None) or [])  # namespace packages
            if any(str(place).startswith(shipped) for place in places):
                del sys.modules[name]
        # typing's caches of generic aliases (pydevd's annotations use Optional[...] of its own
        # classes) are the last references to the copy once pydevd's threads have ended (after
        # this job): clear them, and have the next attach collect the copy before it imports
        # another, instead of holding several megabytes per attach until a full collection.
        for clear in getattr(sys.modules.get("typing"), "_cleanups", ()):
            try:
                clear()
            except Exception:
                pass
        _state["collect_before_listen"] = True
    _state.pop("listening", None)
    return notes


# What debugpy changes in the process beyond its modules: (module, function) pairs it registers
# with atexit when imported, and the modules whose attributes pydevd replaces (sys.stdout and
# sys.breakpointhook, builtins' runfile, threading's enumerate and trace hook, _thread's
# start_new_thread).
_ATEXIT = (("pydevd", "stoptrace"), ("debugpy.common.log", "_close_files"))
_PATCHED_MODULES = ("sys", "builtins", "threading", "_thread")
_DEBUGGER_MODULES = ("debugpy", "pydevd", "_pydevd", "_pydev", "pydev")


def _process_hooks():
    """What listen may change, as it is before: the attributes of the modules pydevd patches,
    and which of the modules that register atexit callbacks are already loaded."""
    return {
        "modules": {name: dict(vars(sys.modules[name])) for name in _PATCHED_MODULES if name in sys.modules},
        "loaded": [name for name, _ in _ATEXIT if name in sys.modules],
    }


def _from_debugger(obj):
    """True for a function, method, class or instance defined by debugpy or pydevd."""
    import functools

    if isinstance(obj, functools.partial):
        obj = obj.func
    module = getattr(obj, "__module__", None)
    if not isinstance(module, str):
        module = getattr(type(obj), "__module__", None) or ""
    return module.split(".")[0].startswith(_DEBUGGER_MODULES)


def _restore_process_hooks(before):
    """Puts back what debugpy changed beyond its modules, so the program is as it was (its
    output not going through pydevd, a `breakpoint()` after detach not importing a debugpy
    whose files are gone) and nothing keeps a shipped copy alive: atexit callbacks of modules
    borescope's listen loaded, the patched module attributes, the state pydevd keeps on Thread
    objects, the trace functions left on running frames."""
    import atexit

    notes = []
    if not before:
        return notes
    try:
        for module_name, function in _ATEXIT:
            module = sys.modules.get(module_name)
            if module is not None and module_name not in before["loaded"] and hasattr(module, function):
                atexit.unregister(getattr(module, function))
        for name, saved in before["modules"].items():
            module = sys.modules.get(name)
            for attribute, value in list(vars(module).items()) if module is not None else []:
                if saved.get(attribute, _MISSING) is value or not _from_debugger(value):
                    continue
                if attribute in saved:
                    setattr(module, attribute, saved[attribute])
                else:
                    delattr(module, attribute)
        # pydevd hangs its per-thread state (and its id for the thread) on the program's
        # Thread objects.
        for thread in list(threading._active.values()) + list(getattr(threading, "_limbo", {}).values()):
            for name, value in list(vars(thread).items()):
                if name == "__pydevd_id__" or _from_debugger(type(value)) or _from_debugger(value):
                    delattr(thread, name)
        for frame in sys._current_frames().values():
            while frame is not None:
                if frame.f_trace is not None and _from_debugger(frame.f_trace):
                    frame.f_trace = None
                frame = frame.f_back
    except Exception as exc:
        notes.append("restoring the process after debugpy: %r" % (exc,))
    return notes


_MISSING = object()


def _connection_waiters():
    """pydevd's threads that wait for a client to connect."""
    import gc

    return [obj for obj in gc.get_objects() if type(obj).__name__ == "_WaitForConnectionThread"]


def _close_sockets_on(port):
    """Closes debugpy's listening socket and connection (the sockets on its port). pydevd
    closes its listener from another thread while one is blocked in accept(), which on Linux
    leaves it listening; shutdown() wakes that accept() up, so the port really closes."""
    import gc
    import socket

    notes = []
    for obj in gc.get_objects():
        if not isinstance(obj, socket.socket) or obj.fileno() < 0:
            continue
        try:
            if obj.getsockname()[1] != port:
                continue
        except (OSError, IndexError, TypeError):
            continue
        try:
            obj.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            obj.close()
        except OSError as exc:
            notes.append("closing debugpy's socket: %r" % (exc,))
    return notes


def _detach(job):
    """Undoes `listen`. The session's directory goes too; this job's own directory is removed
    by borescope once it has read the status (or by `run` if borescope gave up waiting)."""
    notes = _stop_debugpy()
    directories = [d for d in [_state.pop("directory", None)] + list(job.get("remove", [])) if d]
    for directory in directories:
        _forget_importers(directory)
        _remove_tree(directory)
    return {"state": "detached", "notes": notes}


# --- live snapshots -----------------------------------------------------------------------------


def _snapshots_start(job):
    if _state.get("snapshots") is not None:
        return {"state": "failed", "error": "live snapshots already run in this process (attached earlier); detach them first"}
    from . import snapshots

    if snapshots.running_elsewhere():
        return {
            "state": "failed",
            "error": "this process already takes live snapshots (it started the borescope agent itself, or borescope run did)",
        }
    try:
        pid = job.get("pid") if isinstance(job.get("pid"), int) else None
        agent = snapshots.start(job.get("server"), job.get("key"), job.get("service"), job.get("env"), pid=pid)
    except (ValueError, snapshots.snapshot_hooks.HookError) as exc:
        return {"state": "failed", "error": str(exc)}
    # This job's files are deleted once borescope has read the status; everything the agent
    # needs was imported by now. A later job's copy of this module finds it in _state.
    _state["snapshots"] = agent
    _state["snapshots_module"] = snapshots
    return {"state": "ok", "instance_id": agent.instance_id, "engine": agent.hooks.engine, "tool_id": agent.hooks.tool_id}


def _snapshots_stop(job):
    agent = _state.pop("snapshots", None)
    module = _state.pop("snapshots_module", None)
    if agent is None:
        return {"state": "ok", "stopped": False}
    notes = module.stop() if module is not None else agent.stop()
    tool = agent.hooks.tool_id
    if tool is not None and hasattr(sys, "monitoring") and sys.monitoring.get_tool(tool) is not None:
        notes.append("sys.monitoring tool id %d is still held by %s" % (tool, sys.monitoring.get_tool(tool)))
    if agent.watch in sys.meta_path:
        notes.append("the import finder is still on sys.meta_path")
    return {"state": "ok", "stopped": True, "notes": notes}
