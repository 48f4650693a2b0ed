"""The rewrite engine (Python 3.9-3.11): watch a line without tracing the program.

A trace function makes CPython run every frame of every thread in its slow tracing mode, which
doubles the run time of call-heavy code even when the function ignores the frame. So for lines
inside functions, this engine recompiles the file with one extra call, ``__borescope_probe__(N)``,
just before the statement that starts on line N, and gives the live function objects the
recompiled code (``func.__code__ = ...``: every reference to the function sees it). Nothing else
in the program is slowed down.

Function objects exist only once their ``def`` has run, so the module-level code of a file that
holds a requested line is watched while it runs (a trace function that looks at that one module
frame only): after each top-level statement the new functions in its namespace are patched, and
as soon as every function that needs it is patched, tracing stops. Modules imported later are
noticed through the ``exec`` audit event; a final heap scan when a module finishes catches
functions stored elsewhere (registries, decorators).

What the engine does not take on, the settrace engine does (:func:`plan` raises
:class:`Unsupported`): lines at module level, loop headers (which run once per iteration),
``with`` statements, ``def``/``class`` lines, and lines in the middle of a statement. If a live
function's code differs from what this interpreter compiles from the file (another tool rewrote
it, as pytest does with asserts), the engine switches to settrace rather than change the code.
"""

import ast
import gc
import sys
import threading
import types

HOOK = "__borescope_probe__"

# Statements whose first line is not "run once, just before the statement".
_NOT_REWRITTEN = (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


class Unsupported(Exception):
    """A requested line this engine cannot watch."""


def plan(targets, hook=HOOK):
    """For ``{real path: set of lines}``, the code objects to swap, per file:
    ``{path: {(co_name, co_firstlineno): (plain code, rewritten code)}}``. The inserted call is
    ``hook(N)`` (a global name the caller puts in the functions' globals)."""
    plans = {}
    for path, wanted in targets.items():
        with open(path, "rb") as f:
            source = f.read()
        plain = compile(source, path, "exec", dont_inherit=True)
        tree = ast.parse(source, path)
        places = {}
        _find_statements(tree, set(wanted), False, places)
        missing = sorted(set(wanted) - set(places))
        if missing:
            raise Unsupported("line %d of %s does not start a statement inside a function" % (missing[0], path))
        # Insert from the bottom of each body up, so earlier indexes stay valid.
        for line, (body, index) in sorted(places.items(), key=lambda item: -item[1][1]):
            statement = body[index]
            call = ast.Expr(ast.Call(ast.Name(hook, ast.Load()), [ast.Constant(line)], []))
            body.insert(index, ast.copy_location(call, statement))
        ast.fix_missing_locations(tree)
        rewritten = compile(tree, path, "exec", dont_inherit=True)
        swaps = {}
        _pair(plain, rewritten, swaps)
        plans[path] = swaps
    return plans


def _find_statements(node, wanted, in_function, places):
    for _, value in ast.iter_fields(node):
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            for index, statement in enumerate(value):
                line = statement.lineno
                if line in wanted and line not in places:
                    if not in_function:
                        raise Unsupported("line %d is module-level code" % line)
                    if isinstance(statement, _NOT_REWRITTEN):
                        raise Unsupported("line %d starts a %s statement" % (line, type(statement).__name__))
                    places[line] = (value, index)
        for child in (value if isinstance(value, list) else [value]):
            if isinstance(child, ast.AST):
                _find_statements(child, wanted, in_function or isinstance(child, _FUNCTIONS), places)


def _pair(plain, rewritten, swaps):
    """Records every code object whose rewritten version differs; returns whether this one does."""
    inner_plain = [c for c in plain.co_consts if isinstance(c, types.CodeType)]
    inner_rewritten = [c for c in rewritten.co_consts if isinstance(c, types.CodeType)]
    if len(inner_plain) != len(inner_rewritten):
        raise Unsupported("the rewritten file compiles to a different shape")
    changed = plain.co_code != rewritten.co_code
    for a, b in zip(inner_plain, inner_rewritten):
        changed = _pair(a, b, swaps) or changed
    if changed and plain.co_name != "<module>":
        key = (plain.co_name, plain.co_firstlineno)
        if key in swaps:
            raise Unsupported("two functions named %s start on line %d" % key)
        swaps[key] = (plain, rewritten)
    return changed


class Rewriter(object):
    """Swaps code objects in the running program as their functions appear."""

    def __init__(self, state, plans, fallback):
        self.state = state
        self.plans = plans
        self.pending = {path: set(swaps) for path, swaps in plans.items()}
        self.fallback = fallback  # starts the settrace engine
        self.failed = False
        self.lock = threading.RLock()
        self.sizes = {}  # id(namespace) -> size when last scanned
        self.watching = {}  # thread ident -> number of module frames being watched
        self.tracer = self._watch  # one bound method, so `sys.gettrace() is self.tracer` works

    def hook(self, line):
        self.state.on_line(sys._getframe(1), line)

    def start(self):
        sys.addaudithook(self._audit)
        for module in list(sys.modules.values()):
            path = self._path(getattr(module, "__file__", None) or "")
            if path in self.plans:
                self.state.loaded.add(path)
                self._scan_heap(path)
        main = sys.argv[0] if sys.argv else ""
        if main not in ("", "-c", "-m") and self._path(main) in self.plans:
            self._watch_this_thread()

    # -- noticing module code -------------------------------------------------------------

    def _path(self, filename):
        return self.state.real_path(filename) if filename else ""

    def _audit(self, event, args):
        if event != "exec" or self.failed:
            return
        try:
            code = args[0]
            if isinstance(code, types.CodeType) and code.co_name == "<module>" and self._path(code.co_filename) in self.plans:
                self._watch_this_thread()
        except Exception:
            pass

    def _watch_this_thread(self):
        current = sys.gettrace()
        if current is None:
            sys.settrace(self.tracer)
        elif current is not self.tracer:
            # Someone else traces this program (coverage, a debugger): watching would replace
            # their trace function, and so would the settrace engine; say so and use it.
            self._fail("the program already has a trace function")

    def _watch(self, frame, event, arg):
        if event == "call" and frame.f_code.co_name == "<module>":
            path = self._path(frame.f_code.co_filename)
            if path in self.plans:
                self.state.loaded.add(path)
                ident = threading.get_ident()
                self.watching[ident] = self.watching.get(ident, 0) + 1
                return self._module_event
        return None

    def _module_event(self, frame, event, arg):
        path = self._path(frame.f_code.co_filename)
        try:
            if event == "line":
                self._scan_namespace(path, frame.f_globals)
                if not self.pending.get(path):
                    self._unwatch(frame)
                    return None
            elif event == "return":
                self._scan_namespace(path, frame.f_globals)
                self._scan_heap(path)
                self._unwatch(frame)
                return None
        except Exception as exc:
            self._fail("rewriting %s failed: %r" % (path, exc))
            return None
        return self._module_event

    def _unwatch(self, frame):
        frame.f_trace = None
        ident = threading.get_ident()
        count = self.watching.get(ident, 1) - 1
        self.watching[ident] = count
        if count <= 0 and sys.gettrace() is self.tracer:
            sys.settrace(None)

    # -- finding and patching functions ---------------------------------------------------

    def _scan_namespace(self, path, namespace):
        if not self.pending.get(path) or len(namespace) == self.sizes.get(id(namespace)):
            return
        self.sizes[id(namespace)] = len(namespace)
        seen = set()
        for value in list(namespace.values()):
            self._visit(path, value, seen, 0)

    def _visit(self, path, value, seen, depth):
        if id(value) in seen or depth > 4:
            return
        seen.add(id(value))
        if isinstance(value, types.FunctionType):
            self._patch(path, value)
            wrapped = getattr(value, "__wrapped__", None)
            if wrapped is not None:
                self._visit(path, wrapped, seen, depth + 1)
        elif isinstance(value, (staticmethod, classmethod)):
            self._visit(path, value.__func__, seen, depth + 1)
        elif isinstance(value, property):
            for accessor in (value.fget, value.fset, value.fdel):
                if accessor is not None:
                    self._visit(path, accessor, seen, depth + 1)
        elif isinstance(value, type):
            for member in list(vars(value).values()):
                self._visit(path, member, seen, depth + 1)

    def _scan_heap(self, path):
        """Patches every live function of the file, wherever it is referenced from."""
        filenames = {}
        for obj in gc.get_objects():
            if isinstance(obj, types.FunctionType):
                filename = obj.__code__.co_filename
                if filename not in filenames:
                    filenames[filename] = self._path(filename) == path
                if filenames[filename]:
                    self._patch(path, obj)

    def _patch(self, path, function):
        code = function.__code__
        swap = self.plans.get(path, {}).get((code.co_name, code.co_firstlineno))
        if swap is None or self.failed:
            return
        plain, rewritten = swap
        if code is rewritten:
            return
        if code.co_code != plain.co_code or code.co_names != plain.co_names:
            self._fail(
                "%s in %s is not the code this file compiles to (another tool, such as pytest's assert rewriting, changed it)"
                % (code.co_name, path)
            )
            return
        with self.lock:
            function.__globals__.setdefault(HOOK, self.hook)
            function.__code__ = rewritten
            self.pending.get(path, set()).discard((code.co_name, code.co_firstlineno))

    def _fail(self, why):
        """Falls back to tracing, which sees every frame whatever its code."""
        if self.failed:
            return
        self.failed = True
        try:
            self.state.send({"type": "engine", "engine": "settrace", "reason": why})
        except Exception:
            pass
        if sys.gettrace() is self.tracer:
            sys.settrace(None)
        self.fallback()
