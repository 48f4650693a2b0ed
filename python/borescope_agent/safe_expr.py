"""The safe expression subset of live-snapshot conditions, capture expressions and logpoint
templates: checked, compiled once, evaluated against a frame with six builtins only.

Allowed: names, attributes, subscripts and slices, literals (numbers, strings, bytes, True,
False, None, list/tuple/set/dict displays), comparisons (including `in` and `is`), `and`, `or`,
`not`, arithmetic and bitwise operators, unary `-`/`+`/`~`, conditional expressions, and calls
to `len`, `str`, `int`, `float`, `bool` and `isinstance` (positional arguments only).

Refused: every other call, assignment and `:=`, lambda, comprehensions, f-strings, `await`,
`yield`, starred arguments, and any name or attribute starting with `__` (no way to
`__class__`, `__globals__` or `__subclasses__`). The server checks the same subset before it
stores a probe; the agent checks again before use, so an agent never runs what it was not meant
to.

At run time a few operators are guarded, so an expression cannot exhaust memory or time by
accident (`'x' * 10**9`, `10**10**10`, `1 << 10**9` raise instead), and a subscript with a key
computed at run time cannot read a secret-looking entry (`d[name]` where `name` is
`"password"`). Names are looked up in the frame's locals, then its globals, then the six
builtins: the program's own builtins (`open`, `__import__`, ...) are out of reach.
"""

import ast

from . import capture

ALLOWED_CALLS = ("len", "str", "int", "float", "bool", "isinstance")
SAFE_BUILTINS = {"len": len, "str": str, "int": int, "float": float, "bool": bool, "isinstance": isinstance}

# The largest sequence `*` may build, and the largest integer `**` and `<<` may build, in bits.
MAX_REPEAT = 1 << 20
MAX_BITS = 1 << 16

_COMPARE_OPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn)
_BINARY_OPS = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.LShift,
    ast.RShift,
    ast.BitAnd,
    ast.BitOr,
    ast.BitXor,
)
_UNARY_OPS = (ast.Not, ast.USub, ast.UAdd, ast.Invert)
_PLAIN = (ast.Expression, ast.Load, ast.BoolOp, ast.And, ast.Or, ast.IfExp, ast.Compare, ast.Slice, ast.List, ast.Tuple, ast.Set)
_NAMES = {
    ast.Lambda: "lambda",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.NamedExpr: "assignment (:=)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.JoinedStr: "an f-string",
    ast.Starred: "* unpacking",
}


class Refused(ValueError):
    """The text is not in the safe subset (or does not parse); the message says why, in one line."""


class RedactedAccess(Exception):
    """An expression read a secret-looking entry through a key computed at run time."""


def check(text):
    """Parses `text` and checks it against the subset. Returns the tree; raises Refused."""
    if not isinstance(text, str) or not text.strip():
        raise Refused("the expression is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise Refused("not a Python expression: %s (column %s)" % (exc.msg, exc.offset))
    except (ValueError, MemoryError, RecursionError) as exc:
        raise Refused("not a Python expression: %s" % (exc,))
    for node in ast.walk(tree):
        _check_node(node)
    return tree


def _where(node):
    column = getattr(node, "col_offset", None)
    return "" if column is None else " (column %d)" % (column + 1)


def _check_node(node):
    if isinstance(node, _PLAIN) or isinstance(node, _COMPARE_OPS + _BINARY_OPS + _UNARY_OPS):
        return
    if isinstance(node, ast.Name):
        if not isinstance(node.ctx, ast.Load):
            raise Refused("assignment is not allowed%s" % _where(node))
        if node.id.startswith("__"):
            raise Refused("names starting with __ are not allowed: %s%s" % (node.id, _where(node)))
    elif isinstance(node, ast.Attribute):
        if not isinstance(node.ctx, ast.Load):
            raise Refused("assignment is not allowed%s" % _where(node))
        if node.attr.startswith("__"):
            raise Refused("attributes starting with __ are not allowed: .%s%s" % (node.attr, _where(node)))
    elif isinstance(node, ast.Subscript):
        if not isinstance(node.ctx, ast.Load):
            raise Refused("assignment is not allowed%s" % _where(node))
    elif isinstance(node, ast.Constant) or type(node).__name__ == "Index":  # Index: Python 3.8 only
        return
    elif isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise Refused("** unpacking is not allowed%s" % _where(node))
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _BINARY_OPS):
            raise Refused("the operator %s is not allowed%s" % (type(node.op).__name__, _where(node)))
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _UNARY_OPS):
            raise Refused("the operator %s is not allowed%s" % (type(node.op).__name__, _where(node)))
    elif isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in ALLOWED_CALLS:
            shown = name or ast.dump(node.func)[:40]
            if isinstance(node.func, ast.Attribute):
                shown = "." + node.func.attr
            raise Refused(
                "calls are not allowed except %s: %s(...)%s" % ("/".join(ALLOWED_CALLS), shown, _where(node))
            )
        if node.keywords:
            raise Refused("keyword arguments are not allowed in %s(...)%s" % (name, _where(node)))
    else:
        what = _NAMES.get(type(node), type(node).__name__)
        raise Refused("%s is not allowed%s" % (what, _where(node)))


def secret_names_read(tree, extra=frozenset()):
    """The secret-looking names the expression reads anywhere: variables, attributes and
    constant string keys (`password`, `user.api_key`, `headers['Authorization']`)."""
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Subscript):
            key = node.slice
            if type(key).__name__ == "Index":
                key = key.value
            if isinstance(key, ast.Constant) and isinstance(key.value, (str, bytes)):
                name = key.value
        if name is not None and capture.is_secret_name(name, extra) and name not in found:
            found.append(name)
    return found


# --- run-time guards -------------------------------------------------------------------------


def _size_of(value):
    try:
        return len(value)
    except Exception:
        return 0


def _guard_mult(left, right):
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, (str, bytes, bytearray, list, tuple)) and isinstance(count, int):
            if count > 0 and _size_of(seq) * count > MAX_REPEAT:
                raise ValueError("the result would have more than %d items" % MAX_REPEAT)
    return left * right


def _guard_pow(base, exponent):
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * base.bit_length() > MAX_BITS:
            raise ValueError("the result would have more than %d bits" % MAX_BITS)
    return base**exponent


def _guard_lshift(value, count):
    if isinstance(value, int) and isinstance(count, int) and value and count + value.bit_length() > MAX_BITS:
        raise ValueError("the result would have more than %d bits" % MAX_BITS)
    return value << count


class _Guarded(ast.NodeTransformer):
    """Turns guarded operators and run-time subscripts into calls to the guard functions (names
    starting with `__`, which user text can never spell)."""

    _CALLS = {ast.Mult: "__bs_mult__", ast.Pow: "__bs_pow__", ast.LShift: "__bs_lshift__"}

    def visit_BinOp(self, node):
        self.generic_visit(node)
        name = self._CALLS.get(type(node.op))
        if name is None:
            return node
        call = ast.Call(ast.Name(name, ast.Load()), [node.left, node.right], [])
        return ast.copy_location(call, node)

    def visit_Subscript(self, node):
        self.generic_visit(node)
        key = node.slice
        if type(key).__name__ == "Index":
            key = key.value
        if isinstance(key, (ast.Slice, ast.Constant)) or type(key).__name__ == "ExtSlice":
            return node  # a constant key was checked when compiling; slices name nothing
        call = ast.Call(ast.Name("__bs_item__", ast.Load()), [node.value, key], [])
        return ast.copy_location(call, node)


class Expression(object):
    """One checked, compiled expression. `secret` is true when it reads a secret-looking name
    (its value is then shown redacted, and a condition doing so is refused by the caller)."""

    def __init__(self, text, extra_secrets=frozenset()):
        self.text = text
        tree = check(text)
        self.secrets = secret_names_read(tree, extra_secrets)
        self.secret = bool(self.secrets)
        guarded = ast.fix_missing_locations(_Guarded().visit(tree))
        self.code = compile(guarded, "<borescope expression>", "eval", dont_inherit=True)
        extra = extra_secrets

        def item(container, key):
            if isinstance(key, (str, bytes)) and capture.is_secret_name(key, extra):
                raise RedactedAccess("reading the entry %r is not allowed (the name looks secret)" % (key,))
            return container[key]

        self.env = dict(
            __builtins__=SAFE_BUILTINS,
            __bs_mult__=_guard_mult,
            __bs_pow__=_guard_pow,
            __bs_lshift__=_guard_lshift,
            __bs_item__=item,
        )

    def evaluate(self, frame):
        """The value in `frame`; raises whatever the expression raises."""
        return eval(self.code, self.env, _Scope(frame))


class _Scope(object):
    """The frame's locals, then its globals; names of the guards are never looked up here."""

    __slots__ = ("locals", "globals")

    def __init__(self, frame):
        self.locals = frame.f_locals
        self.globals = frame.f_globals

    def __getitem__(self, name):
        if name.startswith("__"):
            raise KeyError(name)
        try:
            return self.locals[name]
        except KeyError:
            return self.globals[name]


# --- logpoint templates ----------------------------------------------------------------------


def parse_template(text):
    """Splits a logpoint template into ("text", str) and ("expr", str) parts. `{expression}`
    is evaluated, `{{` and `}}` are literal braces. Raises Refused on unbalanced braces."""
    if not isinstance(text, str) or not text:
        raise Refused("the template is empty")
    parts = []
    literal = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "{" and text[i + 1 : i + 2] == "{":
            literal.append("{")
            i += 2
        elif c == "}" and text[i + 1 : i + 2] == "}":
            literal.append("}")
            i += 2
        elif c == "}":
            raise Refused("a lone } at column %d of the template (write }} for a brace)" % (i + 1))
        elif c == "{":
            depth = 1
            j = i + 1
            while j < n and depth:
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                j += 1
            if depth:
                raise Refused("the { at column %d of the template is never closed" % (i + 1))
            inner = text[i + 1 : j - 1].strip()
            if not inner:
                raise Refused("an empty {} at column %d of the template" % (i + 1))
            if literal:
                parts.append(("text", "".join(literal)))
                literal = []
            parts.append(("expr", inner))
            i = j
        else:
            literal.append(c)
            i += 1
    if literal:
        parts.append(("text", "".join(literal)))
    return parts


class Template(object):
    """A checked logpoint template: its literal parts and compiled expressions."""

    def __init__(self, text, extra_secrets=frozenset()):
        self.text = text
        self.parts = []
        for kind, value in parse_template(text):
            if kind == "expr":
                try:
                    value = Expression(value, extra_secrets)
                except Refused as exc:
                    raise Refused("in {%s}: %s" % (value, exc))
            self.parts.append((kind, value))

    def render(self, frame, budget, max_length=8192):
        """(message, errors): the rendered text and the error text of each part that failed.
        A string value is inserted as is, other values as capture renders them, secret ones as
        <redacted>; a failing part shows as <error: ...>."""
        out = []
        errors = []
        for kind, value in self.parts:
            if kind == "text":
                out.append(value)
                continue
            if value.secret:
                out.append("<redacted>")
                continue
            try:
                result = value.evaluate(frame)
            except Exception as exc:
                text = "%s: %s" % (type(exc).__name__, exc)
                errors.append("{%s}: %s" % (value.text, text))
                out.append("<error: %s>" % text)
                continue
            limit = int(budget.get("max_value", 500))
            if type(result) is str:
                out.append(result if len(result) <= limit else result[:limit] + "...")
            else:
                out.append(capture.value_text(result, budget)[0])
        message = "".join(out)
        if len(message) > max_length:
            message = message[:max_length] + "..."
        return message, errors
