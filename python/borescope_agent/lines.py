"""Which lines of a source file hold code, according to this interpreter's own compiler.

A line "holds code" when some code object compiled from the file has an instruction on it, so a
line event can fire there. Blank lines, comments, the middle of a docstring or a lone `else:`
do not. The answer depends on the Python version, which is why it is computed here, inside the
target interpreter, rather than guessed by borescope.
"""

import types


def code_lines(code):
    """Line numbers with instructions in `code` and every code object nested in it."""
    found = set()
    stack = [code]
    while stack:
        current = stack.pop()
        found.update(lines_of(current))
        for const in current.co_consts:
            if isinstance(const, types.CodeType):
                stack.append(const)
    return found


def lines_of(code):
    """Line numbers with instructions in this one code object."""
    if hasattr(code, "co_lines"):
        return {line for _, _, line in code.co_lines() if line is not None}
    import dis  # Python 3.9

    return {line for _, line in dis.findlinestarts(code)}


def check_file(path, wanted):
    """Returns a list of problems, one per wanted line that has no code."""
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as exc:
        return [{"line": line, "reason": "cannot read the file: %s" % (exc.strerror or exc)} for line in wanted]
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        reason = "the file does not compile: %s (line %s)" % (exc.msg, exc.lineno)
        return [{"line": line, "reason": reason} for line in wanted]
    except ValueError as exc:
        return [{"line": line, "reason": "the file does not compile: %s" % exc} for line in wanted]
    have = code_lines(code)
    problems = []
    for line in wanted:
        if line in have:
            continue
        before = [n for n in have if n < line]
        after = [n for n in have if n > line]
        problems.append(
            {
                "line": line,
                "reason": "no code on this line",
                "before": max(before) if before else None,
                "after": min(after) if after else None,
            }
        )
    return problems
