"""Hooking the lines of live-snapshot probes in a running program, without tracing it.

Two engines, one interface (``arm(path, lines, module=None)`` returns, per line, whether it is
hooked; ``stop()`` undoes everything):

* ``monitoring`` (Python 3.12+): ``sys.monitoring`` on tool id 3 or 4 (whichever is free; never
  0, so debuggers and coverage keep theirs). LINE events are turned on *locally*, only on the
  code objects holding a probe line; the callback answers DISABLE for every other line, so code
  without a probe runs at full speed. Code objects are found through the functions on the heap,
  the frames running right now (a ``__main__`` still executing its module code) and the code
  objects nested in those (closures, methods, generators, async functions, even functions whose
  ``def`` has not run yet). Re-arming toggles one code object's events (never the global
  ``restart_events``).
* ``rewrite`` (Python 3.9-3.11, or 3.12+ when both tool ids are taken): the functions holding a
  probe line get code recompiled with one extra call before that line (rewrite.plan); their
  ``__code__`` is swapped on every live function object of the file (nested functions and
  methods too) and swapped back when disarmed. Lines it cannot hook (module-level code, a loop
  header, a ``def`` line) are reported with the reason.

Modules imported later are armed right after their code ran (snapshot_imports). Nothing
here ever sets a trace function.
"""

import gc
import os
import sys
import threading
import time
import types
import weakref

from . import lines as _lines

TOOL_IDS = (3, 4)
TOOL_NAME = "borescope-snapshots"
HOOK = "__borescope_snapshot__"
_FUNCTION_FLAGS = 0x0001 | 0x0002  # CO_OPTIMIZED | CO_NEWLOCALS: a function body, not module/class code


class HookError(Exception):
    """The engine cannot start (the message says why and what to do)."""


def make_hooks(on_hit, real_path, engine=None):
    """The engine for this interpreter: monitoring when it has sys.monitoring and a free tool id
    (3 or 4), the rewrite engine otherwise (or when `engine` is "rewrite")."""
    if engine not in (None, "monitoring", "rewrite"):
        raise HookError("unknown engine %r (use monitoring or rewrite)" % (engine,))
    if engine != "rewrite" and hasattr(sys, "monitoring"):
        free = [t for t in TOOL_IDS if sys.monitoring.get_tool(t) is None]
        if free:
            return MonitoringHooks(on_hit, real_path, free[0])
        if engine == "monitoring":
            taken = ", ".join("%d (%s)" % (t, sys.monitoring.get_tool(t)) for t in TOOL_IDS)
            raise HookError("sys.monitoring tool ids 3 and 4 are both taken: %s" % taken)
    elif engine == "monitoring":
        raise HookError("this Python (%d.%d) has no sys.monitoring; use the rewrite engine" % sys.version_info[:2])
    return RewriteHooks(on_hit, real_path)


# --- finding code -----------------------------------------------------------------------------


def nested_codes(roots):
    """Every code object in `roots` and nested in them (co_consts), each once."""
    seen = {}
    stack = list(roots)
    while stack:
        code = stack.pop()
        if id(code) in seen:
            continue
        seen[id(code)] = code
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                stack.append(const)
    return list(seen.values())


def namespace_functions(namespace):
    """Functions reachable from a module's namespace: its functions, classes' methods,
    static/class methods, properties, and what decorators wrapped (``__wrapped__``)."""
    found = []
    seen = set()
    stack = [(value, 0) for value in list(namespace.values())]
    while stack:
        value, depth = stack.pop()
        if id(value) in seen or depth > 6:
            continue
        seen.add(id(value))
        if isinstance(value, types.FunctionType):
            found.append(value)
            wrapped = getattr(value, "__dict__", {}).get("__wrapped__")
            if wrapped is not None:
                stack.append((wrapped, depth + 1))
        elif isinstance(value, (staticmethod, classmethod)):
            stack.append((value.__func__, depth + 1))
        elif isinstance(value, property):
            stack.extend((f, depth + 1) for f in (value.fget, value.fset, value.fdel) if f is not None)
        elif isinstance(value, type):
            try:
                members = list(vars(value).values())
            except Exception:
                members = []
            stack.extend((m, depth + 1) for m in members)
    return found


def module_functions(module):
    """The functions defined in `module` (a module that just ran) found from its namespace:
    those whose code was compiled from the module's own file."""
    if module is None:
        return []
    namespace = getattr(module, "__dict__", {})
    filename = namespace.get("__file__")
    return [f for f in namespace_functions(namespace) if f.__code__.co_filename == filename]


def _resolver(paths, real_path, names):
    """A cached `filename -> one of paths, or None`. Only file names whose base name is one of
    `names` are resolved (resolving a path costs system calls, each a chance for another thread
    to take the GIL)."""
    wanted = set(paths)
    known = {}

    def resolve(filename):
        try:
            return known[filename]
        except KeyError:
            pass
        path = None
        if os.path.basename(filename) in names:
            path = real_path(filename)
            if path not in wanted:
                path = None
        known[filename] = path
        return path

    return resolve


def heap_functions(paths, real_path, names):
    """{path: [function, ...]} for every live function whose file is one of `paths` (and whose
    file's base name is in `names`)."""
    resolve = _resolver(paths, real_path, names)
    found = {path: [] for path in paths}
    function_type = types.FunctionType
    for obj in gc.get_objects():
        if type(obj) is function_type:
            path = resolve(obj.__code__.co_filename)
            if path is not None:
                found[path].append(obj)
    return found


def running_codes(paths, real_path, names):
    """{path: [code, ...]} of the frames running right now in any thread (a module still
    executing, a function that never returns)."""
    resolve = _resolver(paths, real_path, names)
    found = {path: [] for path in paths}
    for frame in list(sys._current_frames().values()):
        while frame is not None:
            path = resolve(frame.f_code.co_filename)
            if path is not None:
                found[path].append(frame.f_code)
            frame = frame.f_back
    return found


def unreached_reason(path, line):
    """Why no live code holds `line` (which has code in the file): (state, message)."""
    try:
        with open(path, "rb") as handle:
            top = compile(handle.read(), path, "exec", dont_inherit=True)
    except Exception as exc:
        return "error", "cannot compile %s: %s" % (path, exc)
    holder = None
    for code in nested_codes([top]):
        if line in _lines.lines_of(code) and (holder is None or code.co_firstlineno >= holder.co_firstlineno):
            holder = code
    if holder is None or not holder.co_flags & _FUNCTION_FLAGS:
        where = "module-level code" if holder is None or holder.co_name == "<module>" else "the body of class %s" % holder.co_name
        return (
            "error",
            "line %d is %s, which ran once when the module was imported; put the probe on a line inside a function" % (line, where),
        )
    return "pending", "no live function holds line %d yet (%s is not defined); armed when it is" % (line, holder.co_name)


# --- sys.monitoring (3.12+) ---------------------------------------------------------------------


class MonitoringHooks(object):
    """LINE events on the code objects holding probe lines, on our own tool id."""

    engine = "monitoring"

    def __init__(self, on_hit, real_path, tool_id):
        self.on_hit = on_hit
        self.real_path = real_path
        self.tool_id = tool_id
        self.lock = threading.RLock()
        self.armed = {}  # code -> {line: (path, line)}; replaced whole, never changed in place
        self.by_path = {}  # path -> {code: frozenset(lines)}
        self.lines_cache = {}
        self.started = False

    def start(self):
        monitoring = sys.monitoring
        if monitoring.get_tool(self.tool_id) is not None:
            raise HookError("sys.monitoring tool id %d was taken by %s" % (self.tool_id, monitoring.get_tool(self.tool_id)))
        monitoring.use_tool_id(self.tool_id, TOOL_NAME)
        disable = monitoring.DISABLE
        getframe = sys._getframe
        hooks = self

        def on_line(code, line):
            where = hooks.armed.get(code)
            if where is None:
                return disable
            key = where.get(line)
            if key is None:
                return disable
            try:
                hooks.on_hit(getframe(1), key[0], line)
            except Exception:
                pass  # the program must never see our failure
            return None

        monitoring.register_callback(self.tool_id, monitoring.events.LINE, on_line)
        self.started = True

    def _lines_of(self, code):
        try:
            return self.lines_cache[code]
        except KeyError:
            found = self.lines_cache[code] = frozenset(_lines.lines_of(code))
            return found

    def arm(self, path, wanted, module=None, functions=None, running=None):
        """Hooks `wanted` lines of `path` (all earlier ones of the file not in it are unhooked).
        `module`: a module that just ran (only its namespace is searched); otherwise the caller
        passes what heap_functions/running_codes found. Returns {line: (state, message)}."""
        with self.lock:
            if not self.started:
                return {}
            if not wanted:
                self._apply(path, {})
                return {}
            roots = [f.__code__ for f in module_functions(module)]
            for function in functions or ():
                roots.append(function.__code__)
            roots.extend(running or ())
            codes = nested_codes(roots)
            plan = {}
            outcome = {}
            for line in wanted:
                holders = [c for c in codes if line in self._lines_of(c)]
                inner = set()
                for holder in holders:
                    inner.update(id(c) for c in nested_codes([holder]) if c is not holder)
                holders = [c for c in holders if id(c) not in inner]
                if not holders:
                    outcome[line] = None  # the caller decides: pending or an error
                    continue
                for code in holders:
                    plan.setdefault(code, set()).add(line)
                count = len(holders)
                outcome[line] = ("installed", None if count == 1 else "hooked in %d code objects" % count)
            self._apply(path, dict((code, frozenset(found)) for code, found in plan.items()))
            return outcome

    def _apply(self, path, plan):
        monitoring = sys.monitoring
        line_event = monitoring.events.LINE
        before = self.by_path.get(path, {})
        for code in before:
            if code not in plan:
                monitoring.set_local_events(self.tool_id, code, 0)
        armed = dict(self.armed)
        for code in before:
            armed.pop(code, None)
        for code, found in plan.items():
            armed[code] = dict((line, (path, line)) for line in found)
        self.armed = armed  # the callback sees the new table at once
        for code, found in plan.items():
            old = before.get(code)
            if old is None or not found <= old:
                # A line DISABLEd earlier stays disabled until this code object's events are
                # toggled: re-arm this one code object only.
                monitoring.set_local_events(self.tool_id, code, 0)
                monitoring.set_local_events(self.tool_id, code, line_event)
        if plan:
            self.by_path[path] = plan
        else:
            self.by_path.pop(path, None)

    def armed_paths(self):
        return list(self.by_path)

    def after_fork(self):
        self.lock = threading.RLock()

    def stop(self):
        """Unhooks everything and frees the tool id. Returns notes on anything left behind."""
        notes = []
        with self.lock:
            if not self.started:
                return notes
            monitoring = sys.monitoring
            for path in list(self.by_path):
                for code in self.by_path[path]:
                    try:
                        monitoring.set_local_events(self.tool_id, code, 0)
                    except Exception as exc:
                        notes.append("clearing events of %s: %r" % (code.co_name, exc))
            self.by_path = {}
            self.armed = {}
            self.lines_cache = {}
            try:
                monitoring.register_callback(self.tool_id, monitoring.events.LINE, None)
                monitoring.free_tool_id(self.tool_id)
            except Exception as exc:
                notes.append("freeing sys.monitoring tool id %d: %r" % (self.tool_id, exc))
            self.started = False
        return notes


# --- the rewrite engine (3.9-3.11) --------------------------------------------------------------


class RewriteHooks(object):
    """Swaps the code of live functions for code with a call to us before each probe line."""

    engine = "rewrite"
    tool_id = None

    def __init__(self, on_hit, real_path):
        from . import rewrite  # now, not on first use: an attached agent's files are gone by then

        self.rewrite = rewrite
        self.on_hit = on_hit
        self.real_path = real_path
        self.lock = threading.RLock()
        self.swapped = {}  # id(function) -> (weakref to it, original code, rewritten code, path)
        self.lines = {}  # path -> frozenset of lines in the current plan
        self.globals = {}  # id(namespace) -> namespace holding our hook
        self.rewritten = {}  # path -> set of rewritten code objects (also nested ones) ever installed
        self.started = False

    def start(self):
        self.started = True

    def _hook(self, line):
        """Called by rewritten code just before line `line` runs."""
        if not self.started:
            return
        try:
            frame = sys._getframe(1)
            self.on_hit(frame, self.real_path(frame.f_code.co_filename), line)
        except Exception:
            pass  # the program must never see our failure

    def arm(self, path, wanted, module=None, functions=None, running=None):
        """Same contract as MonitoringHooks.arm (`running` is not used: a frame's code cannot
        change while it runs)."""
        rewrite = self.rewrite
        with self.lock:
            if not self.started:
                return {}
            outcome = {}
            good = set(wanted)
            swaps = {}
            if good:
                try:
                    swaps = rewrite.plan({path: good}, hook=HOOK)[path]
                except rewrite.Unsupported:
                    for line in sorted(good):
                        try:
                            rewrite.plan({path: {line}}, hook=HOOK)
                        except rewrite.Unsupported as exc:
                            outcome[line] = ("error", _unsupported_message(line, exc))
                        except Exception as exc:
                            outcome[line] = ("error", "cannot rewrite %s: %s" % (path, exc))
                    good -= set(outcome)
                    swaps = rewrite.plan({path: good}, hook=HOOK)[path] if good else {}
                except Exception as exc:
                    return dict((line, ("error", "cannot rewrite %s: %s" % (path, exc))) for line in wanted)
            candidates = list(functions or ()) + module_functions(module)
            for ref, _, _, fpath in list(self.swapped.values()):
                function = ref()
                if function is not None and fpath == path:
                    candidates.append(function)
            installed = set()
            mismatched = {}
            seen = set()
            for function in candidates:
                if id(function) in seen:
                    continue
                seen.add(id(function))
                entry = self.swapped.get(id(function))
                if entry is not None and entry[0]() is not function:
                    self.swapped.pop(id(function), None)  # a dead function's id was reused
                    entry = None
                original = entry[1] if entry else function.__code__
                if self.real_path(original.co_filename) != path:
                    continue
                swap = swaps.get((original.co_name, original.co_firstlineno))
                if swap is None:
                    if entry is not None:
                        self._restore(function, entry)
                    continue
                plain, rewritten = swap
                held = _lines.code_lines(plain) & good
                if original.co_code != plain.co_code or original.co_names != plain.co_names:
                    for line in held:
                        mismatched[line] = original.co_name
                    continue
                if function.__code__ is not rewritten:
                    if entry is not None and function.__code__ is not entry[2]:
                        continue  # someone else changed it since: leave it alone
                    function.__globals__[HOOK] = self._hook
                    self.globals[id(function.__globals__)] = function.__globals__
                    function.__code__ = rewritten
                    self.swapped[id(function)] = (weakref.ref(function), original, rewritten, path)
                    self.rewritten.setdefault(path, set()).update(nested_codes([rewritten]))
                installed |= held
            for line in good:
                if line in installed:
                    outcome[line] = ("installed", None)
                elif line in mismatched:
                    outcome[line] = (
                        "error",
                        "%s in %s is not the code this file compiles to (the file changed since it was imported, or another tool rewrote it)"
                        % (mismatched[line], path),
                    )
                else:
                    outcome[line] = None
            if good:
                self.lines[path] = frozenset(good)
            else:
                self.lines.pop(path, None)
            return outcome

    def _restore(self, function, entry):
        _, original, rewritten, _ = entry
        if function.__code__ is rewritten:
            function.__code__ = original
        self.swapped.pop(id(function), None)

    def armed_paths(self):
        return list(self.lines)

    def after_fork(self):
        self.lock = threading.RLock()

    def stop(self):
        """Swaps every function's code back. The hook name leaves the module namespaces too,
        unless rewritten code is still running (a suspended generator, a loop that never
        returns): it then stays, doing nothing, so that code cannot fail."""
        notes = []
        with self.lock:
            if not self.started:
                return notes
            self.started = False
            for ref, original, rewritten, _ in list(self.swapped.values()):
                function = ref()
                if function is not None and function.__code__ is rewritten:
                    function.__code__ = original
            self.swapped = {}
            self.lines = {}
            rewritten = set()
            for codes in self.rewritten.values():
                rewritten.update(id(c) for c in codes)
            still = _still_running(rewritten)
            waited = 0
            while still and waited < 25 and not _suspended(rewritten):
                # Threads inside a rewritten function (a request being served) leave it soon.
                time.sleep(0.02)
                waited += 1
                still = _running_in_threads(rewritten)
            for namespace in self.globals.values():
                if namespace.get(HOOK) == self._hook:
                    if still:
                        namespace[HOOK] = _inert_hook
                    else:
                        del namespace[HOOK]
            if still:
                notes.append("%d frames still run rewritten code; %s stays in their modules as a no-op" % (still, HOOK))
            self.globals = {}
            self.rewritten = {}
        return notes


def _inert_hook(line):
    return None


def _still_running(code_ids):
    """How many frames (threads' stacks, suspended generators and coroutines) run one of the
    code objects in `code_ids`."""
    if not code_ids:
        return 0
    return _running_in_threads(code_ids) + _suspended(code_ids)


def _running_in_threads(code_ids):
    count = 0
    for frame in list(sys._current_frames().values()):
        while frame is not None:
            if id(frame.f_code) in code_ids:
                count += 1
            frame = frame.f_back
    return count


def _suspended(code_ids):
    count = 0
    for obj in gc.get_objects():
        if isinstance(obj, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
            frame = getattr(obj, "gi_frame", None) or getattr(obj, "cr_frame", None) or getattr(obj, "ag_frame", None)
            if frame is not None and id(frame.f_code) in code_ids:
                count += 1
    return count


def _unsupported_message(line, exc):
    text = str(exc)
    version = "Python %d.%d" % sys.version_info[:2]
    if "module-level" in text:
        return "line %d is module-level (or class-body) code; on %s only lines inside functions can be hooked" % (line, version)
    if "starts a" in text:
        kind = text.rsplit(" ", 2)[-2] if text.endswith("statement") else "compound"
        return "line %d starts a %s statement, which %s cannot hook; use a line inside its body (or the one before it)" % (
            line,
            kind,
            version,
        )
    if "does not start a statement" in text:
        return "line %d is in the middle of a statement; use the statement's first line" % line
    return "cannot hook line %d on %s: %s" % (line, version, text)
