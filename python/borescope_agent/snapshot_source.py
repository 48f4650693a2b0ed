"""The lines around a probe's line, for the server's web page (sent once per probe, when the
server's probe set says ``want_source``).

Read by the transport thread, never an application thread, straight from the file (the
interpreter's linecache is left alone), and capped as the server's API documents: at most
``CONTEXT`` lines each side, ``MAX_LINE_CHARS`` characters a line (longer ones are cut and end in
an ellipsis), ``MAX_BYTES`` bytes in all (lines far from the probe line go first), and only the
first ``MAX_READ`` bytes of a file are read. String literals next to secret-looking names are
hidden, as in the source lines of a snapshot (capture.redact_source_line).
"""

from . import capture

CONTEXT = 15
MAX_LINE_CHARS = 240
MAX_BYTES = 16 * 1024
MAX_READ = 8 << 20


def read(path, line, secret_names=frozenset()):
    """{"path", "first_line", "lines"} around `line` of `path`, or None when it cannot be read
    or has no such line. `secret_names`: the server's extra names to redact."""
    first = max(1, line - CONTEXT)
    last = line + CONTEXT
    lines = []
    try:
        with open(path, "rb") as handle:
            taken = 0
            for number, raw in enumerate(handle, 1):
                taken += len(raw)
                if number > last or taken > MAX_READ:
                    break
                if number >= first:
                    text = raw.decode("utf-8", "replace").rstrip("\r\n")
                    lines.append(_cut(capture.redact_source_line(text, secret_names)))
    except (OSError, ValueError):
        return None
    if len(lines) < line - first + 1:
        return None
    while sum(len(text.encode("utf-8")) for text in lines) > MAX_BYTES and len(lines) > 1:
        # Drop the line farthest from the probe line.
        if (line - first) >= (first + len(lines) - 1 - line):
            lines.pop(0)
            first += 1
        else:
            lines.pop()
    return {"path": path, "first_line": first, "lines": lines}


def _cut(text):
    text = text.replace("\t", "    ")
    if len(text) > MAX_LINE_CHARS:
        return text[: MAX_LINE_CHARS - 1] + "\u2026"
    return text
