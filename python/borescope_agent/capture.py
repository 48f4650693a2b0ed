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
# Names whose values are hidden, compared after normalising (lower case; `_`, `-`, `$`, `@` and
# a leading `.` removed). At least every identifier Datadog Dynamic Instrumentation redacts by
# default, plus common spellings of keys, tokens and credentials.
_SECRET_NAMES = frozenset(
    """2fa accesskey accesstoken address aiohttpsession apikey apisecret apisignature apitoken
    appkey applicationkey auth authorization authtoken bearer ccnumber cardnumber
    certificatepin cipher clientid clientsecret connectionstring connectsid cookie credential
    credentials creditcard csrf csrftoken cvc cvv databaseurl dburl dsn encryptionkey
    encryptionkeyid geolocation gpgkey idtoken ipaddress jti jwt licensekey masterkey mysqlpwd
    nonce oauth oauthtoken otp passhash passphrase passwd password passwordb pemfile pgpkey
    phpsessid pin pincode pkcs8 privatekey publickey pwd recaptchakey refreshtoken
    routingnumber salt secret secretaccesskey secretkey secrettoken securityanswer securitycode
    securityquestion serviceaccountcredentials session sessionid sessionkey sessiontoken
    setcookie signature signaturekey sshkey ssn symfony token transactionid twiliotoken
    usersession voterid xapikey xauthtoken xcsrftoken xforwardedfor xrealip xsrf xsrftoken""".split()
)
_SECRET_SUFFIXES = ("password", "passwd", "secret", "token", "apikey", "privatekey", "accesskey", "credentials")
_DROPPED_IN_NAMES = {ord(c): None for c in "_-$@"}
_NO_EXTRA_NAMES = frozenset()
NO_EXTRA_NAMES = _NO_EXTRA_NAMES  # for callers outside this module
MAX_FRAMES = 200


def normal_name(name):
    """A name as the secret list spells it: `X-Api-Key` and `api_key` both give `xapikey`/`apikey`."""
    return name.lower().translate(_DROPPED_IN_NAMES).lstrip(".")


def is_secret_name(name, extra=_NO_EXTRA_NAMES):
    """True when `name` looks secret: on the built-in list, ending like a secret, or in `extra`
    (more names, already normalised with :func:`normal_name`)."""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    if not isinstance(name, str):
        return False
    normal = normal_name(name)
    return normal in _SECRET_NAMES or normal.endswith(_SECRET_SUFFIXES) or normal in extra


def _secrets(budget):
    """None when the budget turns redaction off, else the extra secret names (maybe none)."""
    if not budget.get("redact", True):
        return None
    return budget.get("secret_names") or _NO_EXTRA_NAMES


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
    secrets = _secrets(budget)
    if isinstance(value, (str, bytes, bytearray)) and len(value) > limit:
        text = repr(value[:limit])
        return text[:-1] + "...", len(value), True
    out = _Text(limit)
    try:
        _write(out, value, depth, secrets)
    except _Full:
        pass
    except Exception as exc:  # a value we could not walk: say so, never fail the capture
        return "<unavailable: %s>" % type(exc).__name__, None, False
    return out.value(), None, out.cut


def _write(out, value, depth, secrets):
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
        _write_sequence(out, value, depth, secrets)
    elif kind is dict or (isinstance(value, dict) and kind.__repr__ is dict.__repr__):
        _write_mapping(out, value, depth, secrets)
    elif _has_default_repr(kind) and _attributes(value) is not None:
        _write_object(out, value, depth, secrets)
    else:
        out.add(_guarded_repr(value, out.left + 1))


def _write_sequence(out, value, depth, secrets):
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
        _write(out, item, depth - 1, secrets)
    if kind is tuple and len(value) == 1:
        out.add(",")
    out.add(close + suffix)


def _write_mapping(out, value, depth, secrets):
    kind = type(value)
    prefix = "" if kind is dict else kind.__name__ + "("
    if depth <= 0 and value:
        out.add("%s{...%s}%s" % (prefix, _items(len(value)), ")" if prefix else ""))
        return
    out.add(prefix + "{")
    for i, (key, item) in enumerate(list(value.items())):
        if i:
            out.add(", ")
        _write(out, key, 0, secrets)
        out.add(": ")
        if secrets is not None and is_secret_name(key, secrets):
            out.add("<redacted>")
        else:
            _write(out, item, depth - 1, secrets)
    out.add("}" + (")" if prefix else ""))


def _items(count):
    return "1 item" if count == 1 else "%d items" % count


def _write_object(out, value, depth, secrets):
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
        if secrets is not None and is_secret_name(key, secrets):
            out.add("<redacted>")
        else:
            _write(out, item, depth - 1, secrets)
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
    secrets = _secrets(budget)
    if secret is None:
        secret = secrets is not None and is_secret_name(name, secrets)
    if secrets is not None and secret:
        return {"name": name, "type_name": type_name(value), "value": "", "redacted": True}
    text, full, cut = value_text(value, budget)
    result = {"name": name, "type_name": type_name(value), "value": text}
    if full is not None:
        result["full_length"] = full
    if cut:
        result["cut"] = True
    return result


def frame_locals(frame, budget, meter=None):
    """(variables, omitted) for a frame's locals, dunders and module-level imports/defs hidden.
    With a :class:`Meter`, stops early (counting the rest as omitted) once it is spent."""
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
    if meter is None:
        shown = [variable(str(name), value, budget) for name, value in items[:limit]]
        return shown, max(len(items) - limit, 0)
    shown = []
    for name, value in items[:limit]:
        if not meter.ok():
            break
        shown.append(meter.spent(variable(str(name), value, budget)))
    return shown, len(items) - len(shown)


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
    secrets = _secrets(budget)
    secret = secrets is not None and secret_expression(expression, secrets)
    return {"expression": expression, "value": variable(expression, value, budget, secret=secret)}


def secret_expression(expression, extra=_NO_EXTRA_NAMES):
    """True when an expression ends by reading a secret-looking name: a variable, an attribute
    or a constant string key."""
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except Exception:
        return False
    if isinstance(node, ast.Name):
        return is_secret_name(node.id, extra)
    if isinstance(node, ast.Attribute):
        return is_secret_name(node.attr, extra)
    if isinstance(node, ast.Subscript):
        key = node.slice
        if not isinstance(key, ast.Constant):
            key = getattr(key, "value", None)  # Python 3.8 wraps it in ast.Index
        return isinstance(key, ast.Constant) and isinstance(key.value, str) and is_secret_name(key.value, extra)
    return False


def all_threads():
    """Every thread's stack, for the timeout report."""
    result = []
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue  # the agent thread answering this request
        result.append({"thread": thread_ref(ident), "frames": stack(frame)})
    return result


# --- snapshots: a byte and time budget per capture, classified frames, source around a line ---


class Meter(object):
    """The byte and time budget of one snapshot. Checked between variables and frames (a single
    value is already bounded by `max_value`); once spent, `why` says which ran out."""

    def __init__(self, max_bytes, max_seconds, clock):
        self.left = max_bytes
        self.clock = clock
        self.deadline = clock() + max_seconds
        self.why = None  # "size" or "time"

    def ok(self):
        if self.why is not None:
            return False
        if self.left <= 0:
            self.why = "size"
        elif self.clock() > self.deadline:
            self.why = "time"
        return self.why is None

    def spent(self, item):
        """Counts a captured dict's text against the budget; returns it."""
        self.left -= _size(item)
        return item


def _size(item):
    """Roughly how many bytes `item` takes once serialised (its strings plus punctuation)."""
    if isinstance(item, str):
        return len(item) + 3
    if isinstance(item, dict):
        return sum(len(k) + 4 + _size(v) for k, v in item.items())
    if isinstance(item, (list, tuple)):
        return sum(_size(v) + 1 for v in item) + 2
    return 8


class FrameKinds(object):
    """Tells user code from installed libraries, the standard library and borescope's own agent
    (the `kind` of a stack frame), by the frame's file name."""

    def __init__(self):
        import os
        import sysconfig

        self.agent_dir = os.path.dirname(os.path.abspath(__file__)) + os.sep
        dirs = set()
        for key in ("stdlib", "platstdlib"):
            try:
                value = sysconfig.get_paths().get(key)
            except Exception:
                value = None
            if value:
                dirs.add(value.rstrip(os.sep) + os.sep)
                dirs.add(os.path.realpath(value).rstrip(os.sep) + os.sep)
        self.runtime_dirs = tuple(dirs)
        self.known = {}

    def kind(self, filename):
        try:
            return self.known[filename]
        except KeyError:
            pass
        if filename.startswith(self.agent_dir):
            kind = "debugger"
        elif "site-packages" in filename or "dist-packages" in filename:
            kind = "library"
        elif filename.startswith("<frozen") or filename.startswith(self.runtime_dirs):
            kind = "runtime"
        else:
            kind = "user"
        if len(self.known) < 10000:
            self.known[filename] = kind
        return kind


def classified_stack(frame, kinds, limit):
    """(frames, more): up to `limit` frames from `frame` outwards, innermost first, each with its
    index and kind; `more` counts the frames beyond the limit (up to MAX_FRAMES)."""
    frames = []
    more = 0
    while frame is not None and len(frames) + more < MAX_FRAMES:
        if len(frames) < limit:
            code = frame.f_code
            frames.append(
                {
                    "index": len(frames),
                    "function": code.co_name,
                    "file": code.co_filename,
                    "line": frame.f_lineno,
                    "kind": kinds.kind(code.co_filename),
                }
            )
        else:
            more += 1
        frame = frame.f_back
    return frames, more


# `name = 'literal'`, `name: str = "literal"`, `"name": 'literal'`, `name='literal'` (a
# keyword argument): a string literal written next to a name, in one source line.
_NAMED_LITERAL = None


def _named_literal():
    global _NAMED_LITERAL
    if _NAMED_LITERAL is None:
        import re

        _NAMED_LITERAL = re.compile(
            r"""(?P<name>[A-Za-z_][A-Za-z0-9_]*|'[^'\n]*'|"[^"\n]*")"""
            r"""(?P<sep>\s*\]?\s*(?::\s*[A-Za-z_][\w\[\], .]*?)?\s*[:=]\s*)"""
            r"""(?P<prefix>[rRbBuU]{0,2})(?P<quote>'|")(?P<body>(?:\\.|(?!(?P=quote)).)*)(?P=quote)"""
        )
    return _NAMED_LITERAL


def redact_source_line(text, extra=_NO_EXTRA_NAMES):
    """A source line with the string literals written next to secret-looking names hidden
    (`password = "hunter2"` gives `password = "<redacted>"`): secrets hard-coded in the source
    must not leave the process either."""
    if "'" not in text and '"' not in text:
        return text

    def hide(match):
        name = match.group("name").strip("'\"")
        if not is_secret_name(name, extra):
            return match.group(0)
        quote = match.group("quote")
        return "%s%s%s%s<redacted>%s" % (match.group("name"), match.group("sep"), match.group("prefix"), quote, quote)

    try:
        return _named_literal().sub(hide, text)
    except Exception:
        return text


def source_context(filename, line, around, module_globals=None, width=500, secrets=_NO_EXTRA_NAMES):
    """Lines `line - around` to `line + around` of a file, as a SourceContext, or None. String
    literals next to secret-looking names are hidden unless `secrets` is None (redaction off)."""
    import linecache

    try:
        lines = linecache.getlines(filename, module_globals)
    except Exception:
        return None
    if not lines or line < 1 or line > len(lines):
        return None
    first = max(line - around, 1)
    last = min(line + around, len(lines))
    text = [lines[n - 1].rstrip("\r\n")[:width] for n in range(first, last + 1)]
    if secrets is not None:
        text = [redact_source_line(t, secrets) for t in text]
    return {"first_line": first, "current_line": line, "lines": text}
