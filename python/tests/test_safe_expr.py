"""The safe expression subset: what is accepted, what is refused (with a message naming it), and
the run-time guards that keep an accepted expression from exhausting memory or reading secrets."""

import sys

import pytest

from borescope_agent import safe_expr

ACCEPTED = [
    "x > 1 and y['a'] in (1, 2)",
    "len(items) == 3",
    "isinstance(order, str) or bool(order)",
    "a if b else c",
    "[1, {2: 3}, {4}, (5,)]",
    "not done",
    "-x ** 2 % 3 // 1",
    "flags & 4 | 1 ^ 2",
    "d[k]",
    "s[1:3]",
    "user.name.first",
    "x is None and y is not None",
    "int('4') + float(x) + len(str(y))",
]

REFUSED = [
    ("open('x')", "calls are not allowed except len/str/int/float/bool/isinstance: open(...)"),
    ("x.upper()", "calls are not allowed except len/str/int/float/bool/isinstance: .upper(...)"),
    ("x.__class__", "attributes starting with __ are not allowed: .__class__"),
    ("__import__", "names starting with __ are not allowed: __import__"),
    ("lambda: 1", "lambda is not allowed"),
    ("[i for i in x]", "a list comprehension is not allowed"),
    ("(i for i in x)", "a generator expression is not allowed"),
    ("(y := 1)", "assignment (:=) is not allowed"),
    ("f'{x}'", "an f-string is not allowed"),
    ("len(x=1)", "keyword arguments are not allowed in len(...)"),
    ("len(*a)", "* unpacking is not allowed"),
    ("{**d}", "** unpacking is not allowed"),
    ("", "the expression is empty"),
    ("x =", "not a Python expression"),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_the_subset_is_accepted(text):
    safe_expr.check(text)


@pytest.mark.parametrize("text,message", REFUSED)
def test_everything_else_is_refused_with_a_reason(text, message):
    with pytest.raises(safe_expr.Refused) as refused:
        safe_expr.check(text)
    assert message in str(refused.value)


def test_evaluation_sees_locals_and_globals_but_only_six_builtins():
    order = {"total": 12}
    frame = sys._getframe(0)
    assert safe_expr.Expression("order['total'] * 2 + len(ACCEPTED)").evaluate(frame) == 24 + len(ACCEPTED)
    for text in ("open", "print", "getattr", "sys"):
        # `sys` is a global of this module: found. The others are builtins we do not give.
        if text == "sys":
            assert safe_expr.Expression(text).evaluate(frame) is sys
        else:
            with pytest.raises(NameError):
                safe_expr.Expression(text).evaluate(frame)


def test_guards_stop_memory_and_cpu_bombs():
    text = "ab"
    frame = sys._getframe(0)
    for expression in ("text * 10**7", "10 ** 10 ** 10", "1 << 10**6"):
        with pytest.raises(ValueError):
            safe_expr.Expression(expression).evaluate(frame)
    assert safe_expr.Expression("text * 3").evaluate(frame) == "ababab"
    assert safe_expr.Expression("2 ** 10").evaluate(frame) == 1024


def test_secret_names_are_found_anywhere_and_run_time_keys_are_guarded():
    assert safe_expr.Expression("str(password) + 'x'").secrets == ["password"]
    assert safe_expr.Expression("user.api_key").secret
    assert safe_expr.Expression("headers['Authorization']").secret
    assert safe_expr.Expression("order_ref", frozenset(["orderref"])).secret
    assert not safe_expr.Expression("order.total").secret
    settings = {"password": "hunter2", "region": "eu"}
    key = "password"
    frame = sys._getframe(0)
    with pytest.raises(safe_expr.RedactedAccess):
        safe_expr.Expression("settings[key]").evaluate(frame)
    key = "region"
    assert safe_expr.Expression("settings[key]").evaluate(frame) == "eu"


def test_templates_render_values_strings_secrets_and_errors():
    total = 12
    name = "Ada"
    password = "hunter2"
    frame = sys._getframe(0)
    template = safe_expr.Template("{name} owes {total * 2} {{EUR}} pw={password} {missing}")
    message, errors = template.render(frame, {"max_value": 100})
    assert message == "Ada owes 24 {EUR} pw=<redacted> <error: NameError: name 'missing' is not defined>"
    assert errors == ["{missing}: NameError: name 'missing' is not defined"]


@pytest.mark.parametrize(
    "text,message",
    [("{", "never closed"), ("}", "a lone }"), ("a {} b", "an empty {}"), ("{open(1)}", "in {open(1)}: calls are not allowed")],
)
def test_bad_templates_are_refused(text, message):
    with pytest.raises(safe_expr.Refused) as refused:
        safe_expr.Template(text)
    assert message in str(refused.value)
