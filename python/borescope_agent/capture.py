"""Turns frames and values into plain, bounded data. No I/O happens here.

Every value is rendered by our own walker, not by repr() of the whole object: builtin
containers and plain objects are walked to a fixed depth and stop as soon as the character
budget is spent, so a million-element list costs no more than a short one. Objects with their own
__repr__ are asked for it (that is what the user wrote), guarded against exceptions and cut.
Names that look secret are redacted unless the budget says otherwise.
"""

import ast
import sys
import threading
import types

_HIDDEN_AT_MODULE_LEVEL = (types.ModuleType, types.FunctionType, type, types.BuiltinFunctionType)
_SECRET_NAMES = frozenset(
    """password passwd passphrase pwd secret secretkey clientsecret token accesstoken
    refreshtoken idtoken authtoken apikey apitoken accesskey secretaccesskey privatekey
    authorization auth cookie setcookie sessionid sessiontoken csrftoken xsrftoken
    credential credentials creditcard cardnumber cvv cvc ssn jwt bearer signature
    connectionstring dsn""".split()
)
_SECRET_SUFFIXES = ("password", "passwd", "secret", "token", "apikey", "privatekey", "accesskey", "credentials")
MAX_FRAMES = 200


def is_secret_name(name):
    if not isinstance(name, str):
        return False
    normal = name.lower().replace("_", "").replace("-", "").lstrip(".")
    return normal in _SECRET_NAMES or normal.endswith(_SECRET_SUFFIXES)


class _Full(Exception):
    pass


class _Text(object):
    """A string builder that stops when the character budget is spent."""

    def __init__(self, limit):
        self.parts = []
        self.left = limit
        self.cut = False

    def add(self, text):
        if len(text) > self.left:
            self.parts.append(text[: max(self.left, 0)])
            self.left = 0
            self.cut = True
            raise _Full()
        self.parts.append(text)
        self.left -= len(text)

    def value(self):
        text = "".join(self.parts)
        return text + "..." if self.cut else text


def value_text(value, budget):
    """(text, full_length or None, cut) for a value within the budget."""
    limit = int(budget.get("max_value", 200))
    depth = int(budget.get("depth", 2))
    redact = bool(budget.get("redact", True))
    if isinstance(value, (str, bytes, bytearray)) and len(value) > limit:
        text = repr(value[:limit])
        return text[:-1] + "...", len(value), True
    out = _Text(limit)
    try:
        _write(out, value, depth, redact)
    except _Full:
        pass
    except Exception as exc:  # a value we could not walk: say so, never fail the capture
        return "<unavailable: %s>" % type(exc).__name__, None, False
    return out.value(), None, out.cut


def _write(out, value, depth, redact):
    kind = type(value)
    if value is None or kind in (bool, float, complex):
        out.add(repr(value))
    elif kind is int:
        try:
            out.add(repr(value))
        except ValueError:  # more digits than int-to-str allows
            out.add("<int of %d bits>" % value.bit_length())
    elif kind in (str, bytes, bytearray):
        out.add(repr(value))
    elif kind in (list, tuple, set, frozenset) or (kind.__module__ == "collections" and kind.__name__ == "deque"):
        _write_sequence(out, value, depth, redact)
    elif kind is dict or (isinstance(value, dict) and kind.__repr__ is dict.__repr__):
        _write_mapping(out, value, depth, redact)
    elif _has_default_repr(kind) and _attributes(value) is not None:
        _write_object(out, value, depth, redact)
    else:
        out.add(_guarded_repr(value, out.left + 1))


def _write_sequence(out, value, depth, redact):
    kind = type(value)
    open_, close = {list: "[]", tuple: "()", set: "{}", frozenset: "{}"}.get(kind, "[]")
    prefix = "" if kind in (list, tuple, set) else kind.__name__ + "("
    suffix = "" if not prefix else ")"
    if kind is set and not value:
        out.add("set()")
        return
    if depth <= 0 and len(value):
        out.add("%s%s...%s%s%s" % (prefix, open_, _items(len(value)), close, suffix))
        return
    out.add(prefix + open_)
    for i, item in enumerate(value):
        if i:
            out.add(", ")
        _write(out, item, depth - 1, redact)
    if kind is tuple and len(value) == 1:
        out.add(",")
    out.add(close + suffix)


def _write_mapping(out, value, depth, redact):
    kind = type(value)
    prefix = "" if kind is dict else kind.__name__ + "("
    if depth <= 0 and value:
        out.add("%s{...%s}%s" % (prefix, _items(len(value)), ")" if prefix else ""))
        return
    out.add(prefix + "{")
    for i, (key, item) in enumerate(list(value.items())):
        if i:
            out.add(", ")
        _write(out, key, 0, redact)
        out.add(": ")
        if redact and is_secret_name(key):
            out.add("<redacted>")
        else:
            _write(out, item, depth - 1, redact)
    out.add("}" + (")" if prefix else ""))


def _items(count):
    return "1 item" if count == 1 else "%d items" % count


def _write_object(out, value, depth, redact):
    attrs = _attributes(value)
    name = type(value).__name__
    if depth <= 0:
        out.add("%s(...)" % name)
        return
    out.add(name + "(")
    for i, (key, item) in enumerate(attrs):
        if i:
            out.add(", ")
        out.add(str(key) + "=")
        if redact and is_secret_name(key):
            out.add("<redacted>")
        else:
            _write(out, item, depth - 1, redact)
    out.add(")")


def _has_default_repr(kind):
    try:
        return kind.__repr__ is object.__repr__
    except Exception:
        return False


def _attributes(value):
    """Instance attributes as (name, value) pairs, without running properties."""
    try:
        data = object.__getattribute__(value, "__dict__")
    except Exception:
        data = None
    if isinstance(data, dict):
        return [(k, v) for k, v in data.items() if not (isinstance(k, str) and k.startswith("__"))]
    slots = []
    for klass in type(value).__mro__:
        names = klass.__dict__.get("__slots__", ())
        if isinstance(names, str):
            names = (names,)
        for slot in names:
            try:
                slots.append((slot, object.__getattribute__(value, slot)))
            except Exception:
                pass
    return slots if slots else None


def _guarded_repr(value, limit):
    try:
        text = repr(value)
    except Exception as exc:
        return "<%s object; repr() raised %s>" % (type(value).__name__, type(exc).__name__)
    if not isinstance(text, str):
        text = str(type(text))
    return text[: limit + 1]


def type_name(value):
    try:
        return type(value).__name__
    except Exception:
        return "?"


def variable(name, value, budget, secret=None):
    """A named value; hidden when the name (or `secret`, when given) says it looks secret."""
    if secret is None:
        secret = is_secret_name(name)
    if budget.get("redact", True) and secret:
        return {"name": name, "type_name": type_name(value), "value": "", "redacted": True}
    text, full, cut = value_text(value, budget)
    result = {"name": name, "type_name": type_name(value), "value": text}
    if full is not None:
        result["full_length"] = full
    if cut:
        result["cut"] = True
    return result


def frame_locals(frame, budget):
    """(variables, omitted) for a frame's locals, dunders and module-level imports/defs hidden."""
    try:
        names = frame.f_locals
    except Exception:
        return [], 0
    at_module = frame.f_code.co_name == "<module>"
    items = []
    for name in list(names.keys()):
        if isinstance(name, str) and name.startswith("__") and name.endswith("__"):
            continue
        try:
            value = names[name]
        except Exception:
            continue
        if at_module and isinstance(value, _HIDDEN_AT_MODULE_LEVEL):
            continue
        items.append((name, value))
    limit = int(budget.get("max_vars", 50))
    shown = [variable(str(name), value, budget) for name, value in items[:limit]]
    return shown, max(len(items) - limit, 0)


def frame_info(frame):
    return {"function": frame.f_code.co_name, "file": frame.f_code.co_filename, "line": frame.f_lineno}


def stack(frame):
    """Frames from `frame` outwards, innermost first."""
    frames = []
    while frame is not None and len(frames) < MAX_FRAMES:
        frames.append(frame_info(frame))
        frame = frame.f_back
    return frames


def thread_ref(ident=None):
    if ident is None:
        ident = threading.get_ident()
    for thread in threading.enumerate():
        if thread.ident == ident:
            return {"id": ident, "name": thread.name}
    return {"id": ident, "name": "thread-%d" % ident}


def evaluate(code, expression, frame, budget):
    try:
        value = eval(code, frame.f_globals, frame.f_locals)
    except Exception as exc:
        return {"expression": expression, "error": "%s: %s" % (type(exc).__name__, exc)}
    return evaluated(expression, value, budget)


def evaluated(expression, value, budget):
    """The EvalResult for an expression's value; hidden when the expression reads a
    secret-looking name (`password`, `self.api_token`, `cfg['api_key']`)."""
    return {"expression": expression, "value": variable(expression, value, budget, secret=secret_expression(expression))}


def secret_expression(expression):
    """True when an expression ends by reading a secret-looking name: a variable, an attribute
    or a constant string key."""
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except Exception:
        return False
    if isinstance(node, ast.Name):
        return is_secret_name(node.id)
    if isinstance(node, ast.Attribute):
        return is_secret_name(node.attr)
    if isinstance(node, ast.Subscript):
        key = node.slice
        if not isinstance(key, ast.Constant):
            key = getattr(key, "value", None)  # Python 3.8 wraps it in ast.Index
        return isinstance(key, ast.Constant) and isinstance(key.value, str) and is_secret_name(key.value)
    return False


def all_threads():
    """Every thread's stack, for the timeout report."""
    result = []
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue  # the agent thread answering this request
        result.append({"thread": thread_ref(ident), "frames": stack(frame)})
    return result
