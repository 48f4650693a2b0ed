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
    source = capture.source_context(
        frame.f_code.co_filename, line, SOURCE_AROUND, frame.f_globals, secrets=secret_names or capture.NO_EXTRA_NAMES
    )
    if source is not None:
        data["source"] = meter.spent(source)
    stack, more = capture.classified_stack(frame, frame_kinds(), MAX_STACK)
    data["stack"] = meter.spent(stack)
    if more:
        notices.append({"message": "the stack has %d more outer frames, not recorded" % more})
    data["locals"], omitted = capture.frame_locals(frame, limits, meter)
    if omitted:
        data["locals_omitted"] = omitted
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
