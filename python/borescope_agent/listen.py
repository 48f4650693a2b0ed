"""The listen job: start debugpy inside this program so borescope can drive it over DAP.

debugpy runs with its adapter in-process (pydevd speaks DAP itself), listening on 127.0.0.1 on a
random port and requiring an access token that only borescope knows. The port is reported over
the agent channel; the program then waits until borescope has connected and configured its
breakpoints, so not a line of user code runs unobserved. If debugpy cannot be imported, the
program is ended before any user code runs and borescope is told exactly why.
"""

import contextlib
import os
import socket
import sys


@contextlib.contextmanager
def quiet_pydevd():
    """pydevd reads PYDEVD_DISABLE_FILE_VALIDATION when it is first imported and otherwise
    warns on the program's stderr about frozen modules. borescope's breakpoints are on user
    files, which are never frozen, so the warning is noise in someone else's output."""
    had = "PYDEVD_DISABLE_FILE_VALIDATION" in os.environ
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    try:
        yield
    finally:
        if not had:
            os.environ.pop("PYDEVD_DISABLE_FILE_VALIDATION", None)


def start(job, chan, hello):
    hello = dict(hello, engine="debugpy")
    forget_job_env()
    if chan is None:
        return
    bad = uncompilable(job.get("expressions") or [])
    if bad:
        chan.send({"type": "bad_input", "locations": [], "expressions": bad})
        chan.wait_closed()
        os._exit(2)
    extra = job.get("debugpy_path")
    if extra and extra not in sys.path:
        sys.path.append(extra)
    try:
        with quiet_pydevd():
            import debugpy
    except ImportError as exc:
        chan.send(hello)
        chan.send({"type": "no_debugpy", "executable": sys.executable, "error": str(exc)})
        chan.wait_closed()
        os._exit(97)
    hello["debugpy"] = getattr(debugpy, "__version__", "?")
    chan.send(hello)
    preload_session_view()
    host, port = listen(debugpy, job.get("token"), hello.get("agent_dir"))
    chan.send({"type": "listening", "host": host, "port": port})
    debugpy.wait_for_client()
    tune_socket()
    install_exception_stop(debugpy)
    stop_on_entry = job.get("stop_on_entry")
    if job.get("hold"):
        stop_on_entry = wait_for_go(chan)
    if stop_on_entry:
        request_stop_on_entry()


def uncompilable(expressions):
    """Breakpoint conditions and logpoint parts this interpreter cannot compile, refused before
    the program's first line (they would otherwise never fire)."""
    bad = []
    for item in expressions:
        try:
            compile(item["text"], "<%s>" % item["option"], "eval")
        except SyntaxError as exc:
            bad.append({"option": item["option"], "text": item["text"], "error": str(exc.msg)})
    return bad


def forget_job_env():
    """One session debugs one process: the program's children must not start a debugger of
    their own (they would wait for a client forever), and the program sees the environment it
    would have had without borescope."""
    agent_dir = os.environ.pop("BORESCOPE_AGENT_PATH", None)
    os.environ.pop("BORESCOPE_AGENT_JOB", None)
    os.environ.pop("BORESCOPE_AGENT_CHANNEL", None)
    path = os.environ.get("PYTHONPATH")
    if agent_dir and path is not None:
        rest = [p for p in path.split(os.pathsep) if p and p != agent_dir]
        if rest:
            os.environ["PYTHONPATH"] = os.pathsep.join(rest)
        else:
            del os.environ["PYTHONPATH"]


def wait_for_go(chan):
    """Holds the program before its first line until borescope says go (the first run
    command). Breakpoints set meanwhile are registered with debugpy before any user code runs.
    Returns whether to stop at the first line (`next`/`step` as the first command)."""
    while True:
        message = chan.receive()
        if message is None:  # borescope went away: run as if never held
            return False
        if message.get("type") == "go":
            return bool(message.get("stop_on_entry"))


def preload_session_view():
    """Imports what borescope calls in a paused frame (session_view), so that a paused thread
    never has to import anything."""
    try:
        from . import session_view  # noqa: F401
    except Exception:
        pass


def install_exception_stop(debugpy):
    """Makes an uncaught exception in the main thread stop in the debugger (honouring the
    client's exception filters) while its frames are still alive. With settrace (Python < 3.12)
    pydevd cannot see the end of a main module it did not start itself, so without this the
    program would just exit."""
    try:
        from _pydevd_bundle.pydevd_constants import PYDEVD_USE_SYS_MONITORING
    except Exception:
        PYDEVD_USE_SYS_MONITORING = sys.version_info >= (3, 12)
    if PYDEVD_USE_SYS_MONITORING:
        return  # with sys.monitoring pydevd sees the unwind of the main module itself
    previous = sys.excepthook

    def excepthook(etype, value, tb):
        try:
            trigger = getattr(debugpy, "trigger_exception_handler", None)
            if trigger is not None:
                trigger((etype, value, tb))
            else:  # debugpy < 1.8.21
                import threading

                import pydevd
                from _pydevd_bundle.pydevd_breakpoints import stop_on_unhandled_exception

                py_db = pydevd.get_global_debugger()
                if py_db is not None:
                    thread = threading.current_thread()
                    info = py_db.set_additional_thread_info(thread)
                    stop_on_unhandled_exception(py_db, thread, info, (etype, value, tb))
        except Exception:
            pass
        previous(etype, value, tb)

    sys.excepthook = excepthook


def listen(debugpy, token, hidden_dir):
    """debugpy.listen with the in-process adapter, an access token, and our own files hidden
    from the debugger (so a step never lands in borescope code)."""
    with quiet_pydevd():
        return _listen(debugpy, token, hidden_dir)


def _listen(debugpy, token, hidden_dir):
    try:
        debugpy.configure(subProcess=False)
    except Exception:
        pass
    api = None
    original = None
    try:
        from debugpy.server import api as api

        original = api._settrace

        def settrace_with_token(*args, **kwargs):
            if token:
                kwargs["access_token"] = token
            if hidden_dir:
                patterns = tuple(kwargs.get("dont_trace_start_patterns") or ())
                kwargs["dont_trace_start_patterns"] = patterns + (hidden_dir,)
            return original(*args, **kwargs)

        api._settrace = settrace_with_token
    except Exception:
        api = None
    try:
        address = debugpy.listen(("127.0.0.1", 0), in_process_debug_adapter=True)
    finally:
        if api is not None and original is not None:
            api._settrace = original
    host, port = address if address else ("127.0.0.1", 0)
    if not port:  # debugpy < 1.8.21 returns nothing for an OS-chosen port
        port = _bound_port()
    return host, port


def _bound_port():
    """Older debugpy returns port 0 for an OS-chosen port; ask pydevd where it listens."""
    import pydevd

    debugger = pydevd.get_global_debugger()
    wait = getattr(debugger, "wait_for_server_socket_ready", None)
    if wait is not None:
        wait()
    for _ in range(500):
        name = getattr(debugger, "_server_socket_name", None)
        if name:
            return name[1]
        import time

        time.sleep(0.01)
    raise RuntimeError("debugpy did not report its port")


def tune_socket():
    """pydevd writes each message's header and body in two send() calls; without TCP_NODELAY
    every reply then waits ~40 ms for the client's delayed ACK."""
    try:
        import pydevd

        writer = pydevd.get_global_debugger().writer
        writer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except Exception:
        pass


def request_stop_on_entry():
    try:
        from _pydevd_bundle.pydevd_api import PyDevdAPI

        PyDevdAPI().stop_on_entry()
    except Exception as exc:
        sys.stderr.write("borescope agent: stop-on-entry unavailable: %r\n" % (exc,))
