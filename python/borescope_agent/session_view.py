"""What a paused debugpy session shows, captured by the probe's own rules (capture.py).

borescope asks through a DAP ``evaluate`` in a frame of the stopped thread, with one call:
``request(text)``, where ``text`` is a JSON object naming the operation. The answer is one JSON
string (debugpy returns it whole: the request uses the "clipboard" context and raw strings).
Requests:

    stop      the stopped thread's frames (every one, library and runtime frames included, as
              a probe shows them) and the locals of the frame debugpy stopped in
    locals    the locals of one frame
    children  what ``vars PATH`` lists: the items or attributes of the value of PATH
    eval      the user's text as an expression, or else as statements, in the frame

Frames are found by debugpy's frame ids (DAP ids map to id(frame) in its message schema, and its
suspended-frames manager keeps the frames while the thread is paused); without those internal
APIs, by walking the evaluating thread's own stack.
Every answer has ``ok``: false means borescope could not look (it then falls back to debugpy's
own variables); a user's mistake (a bad path, an exception in their code) is ``ok`` with an
``error``. Nothing here raises into the program.
"""

import ast
import itertools
import json
import sys

from . import capture


def request(text):
    """Answers one request (JSON text) with JSON text. Never raises."""
    try:
        ask = json.loads(text)
        answer = _OPERATIONS[ask["op"]](ask)
    except BaseException as exc:  # never let our failure reach the program
        answer = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}
    try:
        return json.dumps(answer, default=repr)
    except Exception as exc:
        return json.dumps({"ok": False, "error": "cannot encode the answer: %r" % (exc,)})


# --- finding frames ---------------------------------------------------------------------------


def _debugger():
    pydevd = sys.modules.get("pydevd")
    getter = getattr(pydevd, "get_global_debugger", None)
    return getter() if getter is not None else None


def _schema():
    """pydevd's DAP message base class, which maps DAP ids to its own (id(frame)) and back."""
    module = sys.modules.get("_pydevd_bundle._debug_adapter.pydevd_base_schema")
    return getattr(module, "BaseSchema", None)


def _from_dap(dap_id):
    try:
        return _schema()._translate_id_from_dap(dap_id)
    except Exception:
        return dap_id


def _to_dap(frame):
    try:
        return _schema()._translate_id_to_dap(id(frame))
    except Exception:
        return id(frame)


def _find(dap_id):
    """(frame, pydevd's thread id for it or None) for a DAP frame id."""
    frame_id = _from_dap(int(dap_id))
    py_db = _debugger()
    try:
        thread_id = py_db.suspended_frames_manager.get_thread_id_for_variable_reference(frame_id)
        frame = py_db.find_frame(thread_id, frame_id)
        if frame is not None:
            return frame, thread_id
    except Exception:
        pass
    # pydevd's frame ids are id(frame), and evaluation runs on the paused thread itself, so a
    # frame still on that thread's stack can be found by walking it.
    frame = sys._getframe(1)
    while frame is not None:
        if id(frame) == frame_id:
            return frame, None
        frame = frame.f_back
    raise LookupError("no paused frame has id %d" % frame_id)


def _is_debugger_frame(py_db, frame):
    try:
        return py_db.get_file_type(frame) == py_db.PYDEV_FILE
    except Exception:
        return False


def _thread_frames(top, thread_id):
    """[(frame, line)] of the paused thread, innermost first. For an exception stop, every frame
    of its traceback (debugpy's own list starts at the innermost *user* frame, a probe's at the
    raise); else debugpy's list; else the chain from `top`."""
    py_db = _debugger()
    try:
        frames_list = py_db.suspended_frames_manager.get_frames_list(thread_id)
    except Exception:
        frames_list = None
    trace = getattr(frames_list, "trace_obj", None)
    if trace is not None and getattr(trace, "tb_frame", None) is not None:
        entries = [(f, f.f_lineno) for f in _chain(trace.tb_frame.f_back)]
        entries.reverse()  # outermost first, like the traceback
        while trace is not None:
            entries.append((trace.tb_frame, trace.tb_lineno))
            trace = trace.tb_next
        entries.reverse()
    elif frames_list is not None:
        lines = getattr(frames_list, "frame_id_to_lineno", None) or {}
        entries = [(f, lines.get(id(f), f.f_lineno)) for f in frames_list]
    else:
        entries = [(f, f.f_lineno) for f in _chain(top)]
    return [(f, line) for f, line in entries[: capture.MAX_FRAMES] if not _is_debugger_frame(py_db, f)]


def _register(thread_id, frames):
    """Makes frames debugpy did not list (the library frames of an exception's traceback)
    known to its suspended-frames manager, so `frame N` can select them like any other. Best
    effort: without it those frames are shown but cannot be selected."""
    try:
        py_db = _debugger()
        manager = py_db.suspended_frames_manager
        tracker = manager.get_frame_tracker(thread_id)
        with tracker._lock:
            for frame in frames:
                if id(frame) not in tracker._frame_id_to_frame:
                    tracker._frame_id_to_frame[id(frame)] = frame
                    tracker._frame_id_to_main_thread_id[id(frame)] = thread_id
                    manager._variable_reference_to_frames_tracker[id(frame)] = tracker
    except Exception:
        pass


def _chain(frame):
    frames = []
    while frame is not None and len(frames) < capture.MAX_FRAMES:
        frames.append(frame)
        frame = frame.f_back
    return frames


# --- operations -------------------------------------------------------------------------------


def _stop(ask):
    frame, thread_id = _find(ask["frame"])
    entries = _thread_frames(frame, thread_id)
    if thread_id is not None:
        _register(thread_id, [f for f, _ in entries])
    frames = []
    for f, line in entries:
        info = capture.frame_info(f)
        info["line"] = line
        info["id"] = _to_dap(f)
        frames.append(info)
    ids = [id(f) for f, _ in entries]
    variables, omitted = _locals_of(frame, ask.get("budget") or {})
    return {
        "ok": True,
        "frames": frames,
        "selected": ids.index(id(frame)) if id(frame) in ids else 0,
        "variables": variables,
        "omitted": omitted,
    }


def _locals(ask):
    frame, _ = _find(ask["frame"])
    variables, omitted = _locals_of(frame, ask.get("budget") or {})
    return {"ok": True, "variables": variables, "omitted": omitted}


def _locals_of(frame, budget):
    variables, omitted = capture.frame_locals(frame, budget)
    names = frame.f_locals
    for var in variables:
        try:
            var["expandable"] = bool(not var.get("redacted") and has_children(names[var["name"]]))
        except Exception:
            pass
    return variables, omitted


def _children(ask):
    frame, _ = _find(ask["frame"])
    budget = ask.get("budget") or {}
    path = ask["path"]
    try:
        value = eval(compile(path, "<borescope vars>", "eval"), frame.f_globals, frame.f_locals)
    except BaseException as exc:
        return {"ok": True, "error": _describe(exc)}
    if budget.get("redact", True) and capture.secret_expression(path):
        return {"ok": True, "variables": [capture.variable(path, value, budget, secret=True)], "omitted": 0}
    limit = int(budget.get("max_vars", 50))
    listed = children_of(value, limit)
    if listed is None:
        return {"ok": True, "variables": [capture.variable(path, value, budget)], "omitted": 0}
    items, total = listed
    shown = []
    for name, secret, child in items:
        var = capture.variable(name, child, budget, secret=secret)
        var["expandable"] = bool(not var.get("redacted") and has_children(child))
        shown.append(var)
    return {"ok": True, "variables": shown, "omitted": max(total - len(shown), 0)}


_SCALARS = (str, bytes, bytearray, int, float, complex, bool, type(None))


def _is_sequence(kind):
    return kind in (list, tuple, set, frozenset) or (kind.__module__ == "collections" and kind.__name__ == "deque")


def has_children(value):
    """True when `vars PATH` would list something for the value (cheap: no copying)."""
    kind = type(value)
    if isinstance(value, _SCALARS):
        return False
    if isinstance(value, dict) or _is_sequence(kind):
        return len(value) > 0
    return bool(capture._attributes(value))


def children_of(value, limit):
    """What `vars PATH` lists for a value: ([(name, secret-looking, child)] up to `limit`,
    how many there are), or None when it has nothing to list. Containers list their items
    (`[0]`, `['key']`), other objects their instance attributes (properties are not run)."""
    kind = type(value)
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, dict):
        items = []
        for key, item in list(itertools.islice(value.items(), limit)):
            label = "[%s]" % capture.value_text(key, {"depth": 1, "max_value": 80})[0]
            items.append((label, capture.is_secret_name(key), item))
        return (items, len(value)) if value else None
    if _is_sequence(kind):
        items = [("[%d]" % i, False, item) for i, item in enumerate(itertools.islice(value, limit))]
        return (items, len(value)) if len(value) else None
    attributes = capture._attributes(value)
    if not attributes:
        return None
    return [(str(name), capture.is_secret_name(name), item) for name, item in attributes[:limit]], len(attributes)


def _eval(ask):
    frame, _ = _find(ask["frame"])
    return {"ok": True, "result": evaluate(frame, ask["text"], ask.get("budget") or {})}


def evaluate(frame, text, budget):
    """Runs `text` in `frame`: as an expression when it is one, else as statements. Names it
    binds are written back to the frame's locals. Returns an EvalResult (borescope-model)."""
    try:
        code = compile(text, "<borescope eval>", "eval")
        statements = None
    except SyntaxError:
        try:
            code = compile(text, "<borescope eval>", "exec")
            statements = ast.parse(text, "<borescope eval>", "exec").body
        except SyntaxError as exc:
            return {"expression": text, "error": "SyntaxError: %s" % (exc.msg,)}
    # One namespace, as debugpy does: names bound by the text are visible to the rest of it,
    # and lambdas and comprehensions in it see the frame's locals.
    f_locals = frame.f_locals
    namespace = dict(frame.f_globals)
    namespace.update(f_locals)
    before = dict(namespace)
    try:
        if statements is None:
            value = eval(code, namespace)
        else:
            exec(code, namespace)
    except BaseException as exc:  # SystemExit too: the program must go on
        _write_back(frame, namespace, before)
        return {"expression": text, "error": _describe(exc)}
    _write_back(frame, namespace, before)
    if statements is None:
        return capture.evaluated(text, value, budget)
    assigned = []
    for name in _assigned_names(statements):
        if name in namespace and name not in [a["name"] for a in assigned]:
            assigned.append(capture.variable(name, namespace[name], budget))
    return {"expression": text, "statement": {"assigned": assigned}}


def _assigned_names(statements):
    """Simple names bound by top-level assignments (`x = ...`, `x += ...`, `a, b = ...`)."""
    names = []
    for statement in statements:
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
            targets = [statement.target]
        else:
            continue
        while targets:
            target = targets.pop(0)
            if isinstance(target, ast.Name):
                names.append(target.id)
            elif isinstance(target, (ast.Tuple, ast.List)):
                targets[:0] = list(target.elts)
    return names


def _write_back(frame, namespace, before):
    """Stores the names the text bound or rebound into the frame: its locals (module frames:
    its globals, which are its locals)."""
    changed = [(k, v) for k, v in namespace.items() if before.get(k, _MISSING) is not v]
    if not changed:
        return
    f_locals = frame.f_locals  # 3.13+: writes go through to the frame (PEP 667)
    for name, value in changed:
        try:
            f_locals[name] = value
        except Exception:
            pass
    if sys.version_info < (3, 13) and f_locals is not frame.f_globals:
        _locals_to_fast(frame)


_MISSING = object()


def _locals_to_fast(frame):
    """Before 3.13 f_locals is a snapshot dict: copy it back into the frame's fast slots."""
    try:
        import ctypes

        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
    except Exception:
        pass


def _describe(exc):
    try:
        message = str(exc)
    except Exception:
        message = "<str() failed>"
    name = type(exc).__name__
    return "%s: %s" % (name, message) if message else name


_OPERATIONS = {"stop": _stop, "locals": _locals, "children": _children, "eval": _eval}
