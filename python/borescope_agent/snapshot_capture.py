"""What a live snapshot records when its line runs: a `SnapshotData` dict (the JSON the server
takes, see crates/borescope-snapshots-api/src/snapshot.rs), built from capture.py's bounded,
redacted pieces. Runs in the application's thread, so it is bounded twice: every value by the
budget (depth, items, characters) and the whole snapshot by a byte and a time budget (checked
between variables, frames and expressions; a notice says what was left out). No I/O but reading
source lines through linecache.
"""

import threading
import time

from . import capture

DEPTH = 3
MAX_VALUE = 500
MAX_VARS = 50
MAX_BYTES = 64 * 1024
MAX_SECONDS = 0.100
MAX_STACK = 64
SOURCE_AROUND = 4

_kinds = None


def frame_kinds():
    global _kinds
    if _kinds is None:
        _kinds = capture.FrameKinds()
    return _kinds


def budget(secret_names):
    return {"depth": DEPTH, "max_value": MAX_VALUE, "max_vars": MAX_VARS, "redact": True, "secret_names": secret_names}


def _base(probe_id, frame, path, line, time_ms):
    thread = threading.current_thread()
    return {
        "probe_id": probe_id,
        "time_ms": time_ms,
        "location": {"file": path, "line": line},
        "function": frame.f_code.co_name,
        "thread": {"id": threading.get_ident(), "name": thread.name},
    }


def logpoint(probe_id, template, frame, path, line, time_ms, secret_names):
    """(data, size, errors) for a logpoint: its rendered message and nothing else."""
    started = time.perf_counter()
    data = _base(probe_id, frame, path, line, time_ms)
    message, errors = template.render(frame, budget(secret_names))
    data["message"] = message
    data["capture_us"] = int((time.perf_counter() - started) * 1e6)
    return data, len(message) + 300, errors


def snapshot(probe_id, frame, path, line, time_ms, secret_names, expressions=(), frames_with_locals=1):
    """(data, size, errors): locals, stack, source, the capture expressions' values and
    `frames_with_locals - 1` more frames' locals; `errors` lists failed expressions."""
    started = time.perf_counter()
    limits = budget(secret_names)
    meter = capture.Meter(MAX_BYTES, MAX_SECONDS, time.perf_counter)
    data = _base(probe_id, frame, path, line, time_ms)
    notices = []
    errors = []
    _add_source(data, frame, line, meter, secret_names)
    stack, more = capture.classified_stack(frame, frame_kinds(), MAX_STACK)
    data["stack"] = meter.spent(stack)
    if more:
        notices.append({"message": "the stack has %d more outer frames, not recorded" % more})
    _add_locals(data, frame, limits, meter)
    evals = []
    skipped = 0
    for expression in expressions:
        if not meter.ok():
            skipped += 1
            continue
        if expression.secret:
            # It reads a secret-looking name somewhere (`str(password)`): not even evaluated.
            result = {"expression": expression.text, "value": {"name": expression.text, "value": "", "redacted": True}}
        else:
            try:
                value = expression.evaluate(frame)
            except Exception as exc:
                text = "%s: %s" % (type(exc).__name__, exc)
                errors.append("%s: %s" % (expression.text, text))
                result = {"expression": expression.text, "error": text}
            else:
                result = capture.evaluated(expression.text, value, limits)
        evals.append(meter.spent(result))
    if evals:
        data["evals"] = evals
    if skipped:
        notices.append({"message": "%d capture expressions were not evaluated" % skipped})
    extra = []
    outer = frame.f_back
    index = 1
    while outer is not None and index < frames_with_locals and index < len(stack):
        if not meter.ok():
            break
        variables, _ = capture.frame_locals(outer, limits, meter)
        extra.append({"index": index, "locals": variables})
        outer = outer.f_back
        index += 1
    if extra:
        data["frame_locals"] = extra
    if meter.why == "size":
        notices.append(
            {
                "message": "the snapshot reached its size budget (%d KB); later values were not captured" % (MAX_BYTES // 1024),
                "hint": "capture the values you need with --capture EXPR, or fewer frames",
            }
        )
    elif meter.why == "time":
        notices.append(
            {
                "message": "capturing took longer than %d ms; later values were not captured" % int(MAX_SECONDS * 1000),
                "hint": "capture the values you need with --capture EXPR",
            }
        )
    if notices:
        data["notices"] = notices
    data["capture_us"] = int((time.perf_counter() - started) * 1e6)
    return data, MAX_BYTES - meter.left + 300, errors


# --- exception snapshots -------------------------------------------------------------------------

MAX_MESSAGE = 1000
MAX_CHAIN = 5


def exception_snapshot(exc, tb, origin, time_ms, secret_names, max_frames, occurrences, real_path=None):
    """(data, size) for an exception: its type, message, origin and chain, the traceback as the
    stack (innermost first, at most `max_frames`), the innermost frame's locals as `locals` and
    every other recorded frame's as `frame_locals`, all within the snapshot's byte and time
    budget (innermost frames first, so the frames nearest the failure are kept)."""
    started = time.perf_counter()
    limits = budget(secret_names)
    meter = capture.Meter(MAX_BYTES, MAX_SECONDS, time.perf_counter)
    entries = []
    while tb is not None:
        entries.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    entries.reverse()
    more = max(len(entries) - max_frames, 0)
    entries = entries[:max_frames]
    kinds = frame_kinds()
    frame, line = entries[0]
    path = frame.f_code.co_filename
    if real_path is not None:
        path = real_path(path)
    info = {
        "type": type_name(type(exc)),
        "message": _message(exc),
        "file": path,
        "line": line,
        "function": frame.f_code.co_name,
        "origin": origin,
        "occurrences": occurrences,
    }
    chain = _chain(exc, real_path)
    if chain:
        info["chain"] = chain
    thread = threading.current_thread()
    data = {
        "kind": "exception",
        "probe_id": None,
        "exception": info,
        "time_ms": time_ms,
        "location": {"file": path, "line": line},
        "function": frame.f_code.co_name,
        "thread": {"id": threading.get_ident(), "name": thread.name},
    }
    notices = []
    _add_source(data, frame, line, meter, secret_names)
    stack = []
    for index, (outer, at) in enumerate(entries):
        code = outer.f_code
        stack.append({"index": index, "function": code.co_name, "file": code.co_filename, "line": at, "kind": kinds.kind(code.co_filename)})
    data["stack"] = meter.spent(stack)
    if more:
        notices.append({"message": "the traceback has %d more outer frames, not recorded" % more})
    _add_locals(data, frame, limits, meter)
    extra = []
    for index, (outer, _) in enumerate(entries[1:], 1):
        if not meter.ok():
            break
        variables, _ = capture.frame_locals(outer, limits, meter)
        extra.append({"index": index, "locals": variables})
    if extra:
        data["frame_locals"] = extra
    if len(extra) + 1 < len(entries):
        notices.append({"message": "locals of %d outer frames were not captured" % (len(entries) - 1 - len(extra))})
    if meter.why == "size":
        notices.append({"message": "the snapshot reached its size budget (%d KB); later values were not captured" % (MAX_BYTES // 1024)})
    elif meter.why == "time":
        notices.append({"message": "capturing took longer than %d ms; later values were not captured" % int(MAX_SECONDS * 1000)})
    if notices:
        data["notices"] = notices
    data["capture_us"] = int((time.perf_counter() - started) * 1e6)
    return data, MAX_BYTES - meter.left + 300


def _add_source(data, frame, line, meter, secret_names):
    """The lines around `line` of the frame's file (secrets in the text redacted), if readable."""
    source = capture.source_context(
        frame.f_code.co_filename, line, SOURCE_AROUND, frame.f_globals, secrets=secret_names or capture.NO_EXTRA_NAMES
    )
    if source is not None:
        data["source"] = meter.spent(source)


def _add_locals(data, frame, limits, meter):
    """The frame's locals within the budget, and how many did not fit."""
    data["locals"], omitted = capture.frame_locals(frame, limits, meter)
    if omitted:
        data["locals_omitted"] = omitted


def type_name(kind):
    """`KeyError` for a builtin, `orders.PriceError` otherwise."""
    try:
        module = kind.__module__
        name = kind.__qualname__
    except Exception:
        return "?"
    return name if module in ("builtins", "exceptions") else "%s.%s" % (module, name)


def _message(exc):
    try:
        text = str(exc)
    except Exception as failure:
        return "<str() raised %s>" % type(failure).__name__
    if not isinstance(text, str):
        return ""
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def _chain(exc, real_path):
    """The exceptions `exc` was chained to (`raise ... from`, or raised while handling),
    nearest first, at most MAX_CHAIN."""
    chain = []
    seen = set([id(exc)])
    current = exc
    while len(chain) < MAX_CHAIN:
        cause = getattr(current, "__cause__", None)
        relation = "cause"
        if cause is None and not getattr(current, "__suppress_context__", False):
            cause = getattr(current, "__context__", None)
            relation = "context"
        if cause is None or id(cause) in seen:
            break
        seen.add(id(cause))
        entry = {"relation": relation, "type": type_name(type(cause)), "message": _message(cause)}
        tb = getattr(cause, "__traceback__", None)
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None:
            path = tb.tb_frame.f_code.co_filename
            entry["file"] = real_path(path) if real_path is not None else path
            entry["line"] = tb.tb_lineno
        chain.append(entry)
        current = cause
    return chain
