"""The probe job: watch the requested lines and report hits, uncaught exceptions, and (at exit)
why nothing was hit.

Two engines, chosen by the interpreter:

* sys.monitoring (3.12+): one global PY_START callback that looks at each code object once
  (then DISABLEs itself for it) and turns on LINE events only for code objects that contain a
  requested line; the LINE callback DISABLEs every other line. Code that does not contain a
  requested line runs at full speed.
* rewrite (3.9-3.11, lines inside functions): the functions holding a requested line get code
  recompiled with a call to borescope just before that line (see rewrite.py); nothing is traced
  once they exist.
* settrace (3.9-3.11, everything else): a global trace function that returns a line tracer only
  for frames of code objects containing a requested line. Tracing slows every frame down, which
  is why the rewrite engine is preferred.

The job message lists the locations (absolute real paths), the condition, which hit to stop at
(--hit), how many hits to collect (--hits), expressions to evaluate and the output budget.
"""

import atexit
import os
import sys
import threading

from . import capture
from . import lines as _lines

_state = None


class ProbeState(object):
    def __init__(self, job, chan):
        self.chan = chan
        self.budget = job.get("budget") or {}
        self.targets = {}  # real path -> set of lines
        for loc in job.get("locations", []):
            self.targets.setdefault(loc["file"], set()).add(int(loc["line"]))
        self.stop_at = max(int(job.get("hit") or 1), 1)
        self.hits_wanted = max(int(job.get("hits") or 1), 1)
        self.condition_text = job.get("condition")
        self.condition = None
        self.evals = []
        self.counts = {}  # (file, line) -> times the line ran with the condition true
        self.ran = {}  # (file, line) -> times the line ran at all
        self.condition_errors = {}
        self.loaded = set()  # target files whose code started running
        self.reported = 0
        self.done = False
        self.lock = threading.Lock()
        self.real = {}  # co_filename -> real path
        self.code_lines = {}  # code object -> set of requested lines in it (or empty)

    def real_path(self, filename):
        try:
            return self.real[filename]
        except KeyError:
            pass
        try:
            real = os.path.realpath(filename)
        except Exception:
            real = filename
        self.real[filename] = real
        return real

    def lines_in(self, code):
        try:
            return self.code_lines[code]
        except KeyError:
            pass
        wanted = self.targets.get(self.real_path(code.co_filename))
        found = frozenset()
        if wanted:
            self.loaded.add(self.real_path(code.co_filename))
            found = frozenset(wanted & _lines.lines_of(code))
        self.code_lines[code] = found
        return found

    def on_line(self, frame, line):
        """Called when a requested line is about to run in `frame`."""
        if self.done:
            return
        key = (self.real_path(frame.f_code.co_filename), line)
        with self.lock:
            if self.done:
                return
            self.ran[key] = self.ran.get(key, 0) + 1
            if self.condition is not None:
                try:
                    ok = eval(self.condition, frame.f_globals, frame.f_locals)
                except Exception as exc:
                    text = "%s: %s" % (type(exc).__name__, exc)
                    self.condition_errors[text] = self.condition_errors.get(text, 0) + 1
                    return
                if not ok:
                    return
            count = self.counts.get(key, 0) + 1
            self.counts[key] = count
            if count < self.stop_at:
                return
            self.reported += 1
            last = self.reported >= self.hits_wanted
            if last:
                self.done = True
            report = self.capture_hit(frame, key, count)
        self.send(report)
        if last:
            self.finish()
            _wait_for_end(self.chan)

    def capture_hit(self, frame, key, count):
        locals_, omitted = capture.frame_locals(frame, self.budget)
        return {
            "type": "hit",
            "location": {"file": key[0], "line": key[1]},
            "function": frame.f_code.co_name,
            "hit": count,
            "thread": capture.thread_ref(),
            "frames": capture.stack(frame),
            "locals": locals_,
            "locals_omitted": omitted,
            "evals": [capture.evaluate(code, text, frame, self.budget) for text, code in self.evals],
        }

    def send(self, message):
        if self.chan is None:
            return
        try:
            self.chan.send(message)
        except OSError:
            pass

    def finish(self):
        """Stops watching lines (called once the last requested hit is captured)."""
        stop_engine()

    def summary(self):
        return {
            "type": "summary",
            "pid": os.getpid(),
            "loaded": sorted(self.loaded),
            "ran": [{"file": f, "line": l, "count": n} for (f, l), n in self.ran.items()],
            "matched": [{"file": f, "line": l, "count": n} for (f, l), n in self.counts.items()],
            "condition_errors": [{"error": e, "count": n} for e, n in self.condition_errors.items()],
        }


def _wait_for_end(chan):
    """Holds the hitting thread still until borescope ends the process, so the program does not
    run past the reported line. Gives up (and lets the program go on) if borescope goes away."""
    if chan is None:
        return
    try:
        chan.wait_closed()
    except Exception:
        pass


def start(job, chan, hello):
    global _state
    if chan is None:
        return
    state = ProbeState(job, chan)
    problems = []
    for path, wanted in sorted(state.targets.items()):
        for problem in _lines.check_file(path, sorted(wanted)):
            problem["file"] = path
            problems.append(problem)
    bad_input = []
    if state.condition_text:
        try:
            state.condition = compile(state.condition_text, "<--if>", "eval")
        except SyntaxError as exc:
            bad_input.append({"option": "--if", "text": state.condition_text, "error": str(exc.msg)})
    for text in job.get("evals") or []:
        try:
            state.evals.append((text, compile(text, "<--eval>", "eval")))
        except SyntaxError as exc:
            bad_input.append({"option": "--eval", "text": text, "error": str(exc.msg)})
    plans = None
    if hasattr(sys, "monitoring"):
        engine = "sys.monitoring"
    elif problems or bad_input or os.environ.get("BORESCOPE_PROBE_ENGINE") == "settrace":
        engine = "settrace"
    else:
        from . import rewrite

        try:
            plans = rewrite.plan(state.targets)
            engine = "rewrite"
        except rewrite.Unsupported as exc:
            engine = "settrace"
            hello = dict(hello, engine_reason=str(exc))
        except Exception as exc:
            engine = "settrace"
            hello = dict(hello, engine_reason="cannot rewrite: %r" % (exc,))
    hello = dict(hello, engine=engine)
    chan.send(hello)
    if problems or bad_input:
        chan.send({"type": "bad_input", "locations": problems, "expressions": bad_input})
        chan.wait_closed()
        os._exit(2)
    _state = state
    _install_exception_hooks(state)
    atexit.register(_at_exit)
    chan.serve({"threads": lambda request: {"type": "threads", "threads": capture.all_threads(), "summary": state.summary()}})
    if engine == "sys.monitoring":
        _start_monitoring(state)
    elif engine == "rewrite":
        from . import rewrite

        rewrite.Rewriter(state, plans, lambda: _start_settrace(state)).start()
    else:
        _start_settrace(state)


def _at_exit():
    state = _state
    if state is not None and not state.done:
        state.send(state.summary())


# --- exceptions -------------------------------------------------------------------------------


def _install_exception_hooks(state):
    previous = sys.excepthook

    def excepthook(etype, value, tb):
        try:
            if not state.done and not issubclass(etype, (SystemExit, KeyboardInterrupt)):
                state.done = True
                stop_engine()
                state.send(_exception_report(state, etype, value, tb, None))
        except Exception:
            pass
        previous(etype, value, tb)

    sys.excepthook = excepthook

    previous_thread_hook = threading.excepthook

    def thread_hook(args):
        try:
            if not state.done and args.exc_type is not SystemExit:
                report = _exception_report(state, args.exc_type, args.exc_value, args.exc_traceback, args.thread)
                report["type"] = "thread_exception"
                state.send(report)
        except Exception:
            pass
        previous_thread_hook(args)

    threading.excepthook = thread_hook


def _exception_report(state, etype, value, tb, thread):
    entries = []  # (frame, line the exception passed through), outermost first
    while tb is not None:
        entries.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    entries.reverse()  # innermost first
    if not entries:
        return {"type": "exception", "exception": _exception_info(etype, value, None)}
    inner_frame, inner_line = entries[0]
    raised_at = {"file": inner_frame.f_code.co_filename, "line": inner_line}
    user_frame, user_line = entries[0]
    for frame, line in entries:
        if _is_user_file(frame.f_code.co_filename):
            user_frame, user_line = frame, line
            break
    frames = [{"function": f.f_code.co_name, "file": f.f_code.co_filename, "line": n} for f, n in entries]
    locals_, omitted = capture.frame_locals(user_frame, state.budget)
    ident = thread.ident if thread is not None else None
    return {
        "type": "exception",
        "exception": _exception_info(etype, value, raised_at),
        "location": {"file": user_frame.f_code.co_filename, "line": user_line},
        "function": user_frame.f_code.co_name,
        "thread": capture.thread_ref(ident),
        "frames": frames,
        "frame_index": [f for f, _ in entries].index(user_frame),
        "locals": locals_,
        "locals_omitted": omitted,
        "evals": [capture.evaluate(code, text, user_frame, state.budget) for text, code in state.evals],
    }


def _exception_info(etype, value, raised_at):
    try:
        message = str(value)
    except Exception:
        message = "<str() failed>"
    info = {"type_name": getattr(etype, "__qualname__", str(etype)), "message": message, "uncaught": True}
    if raised_at:
        info["raised_at"] = raised_at
    return info


def _is_user_file(filename):
    if filename.startswith("<"):
        return False
    for marker in ("site-packages", "dist-packages", os.sep + "borescope_agent" + os.sep):
        if marker in filename:
            return False
    prefixes = {sys.prefix, sys.base_prefix, getattr(sys, "exec_prefix", sys.prefix)}
    for prefix in prefixes:
        lib = os.path.join(prefix, "lib")
        if filename.startswith(lib):
            return False
    return True


# --- engines ----------------------------------------------------------------------------------

_TOOL = None


def _start_monitoring(state):
    global _TOOL
    monitoring = sys.monitoring
    tool = None
    for candidate in (4, 3, 5, 2, 1):
        if monitoring.get_tool(candidate) is None:
            tool = candidate
            break
    if tool is None:
        state.send({"type": "agent_error", "message": "every sys.monitoring tool id is taken"})
        return
    monitoring.use_tool_id(tool, "borescope")
    _TOOL = tool
    events = monitoring.events
    disable = monitoring.DISABLE
    lines_in = state.lines_in
    getframe = sys._getframe

    def on_start(code, offset):
        if lines_in(code):
            monitoring.set_local_events(tool, code, events.LINE)
        return disable

    def on_line(code, line):
        if line not in lines_in(code):
            return disable
        state.on_line(getframe(1), line)

    monitoring.register_callback(tool, events.PY_START, on_start)
    monitoring.register_callback(tool, events.LINE, on_line)
    monitoring.set_events(tool, events.PY_START)


def _start_settrace(state):
    lines_in = state.lines_in

    def local_trace(frame, event, arg):
        if event == "line" and frame.f_lineno in lines_in(frame.f_code):
            state.on_line(frame, frame.f_lineno)
        return local_trace

    def global_trace(frame, event, arg):
        if lines_in(frame.f_code):
            return local_trace
        return None

    threading.settrace(global_trace)
    sys.settrace(global_trace)


def stop_engine():
    if _TOOL is not None:
        try:
            sys.monitoring.set_events(_TOOL, 0)
            sys.monitoring.free_tool_id(_TOOL)
        except Exception:
            pass
    else:
        try:
            sys.settrace(None)
            threading.settrace(None)
        except Exception:
            pass
