"""What a suppressed exception costs: a failure already snapshotted in the last minute is only
counted (issue 12 §3). Measures, in one process with a real agent (transport not started):

- `saw()` alone on a suppressed failure (the walk to the innermost traceback entry, the dict
  lookup and the counter), for a shallow and a 30-frame-deep traceback;
- a whole `raise` + `except` + `logger.exception(...)` round with exception snapshots off and
  on (suppressed), with the logger's level letting the record through to a logger with a NullHandler.

Run: python3 bench/exception_dedupe.py   (any Python 3.9+; prints ns per exception)
"""

import logging
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

from borescope_agent import snapshots  # noqa: E402

N = 200_000


def deep(level):
    if level == 0:
        raise KeyError("sku")
    return deep(level - 1)


def caught(depth):
    try:
        deep(depth)
    except KeyError as exc:
        return exc


def per_call(function, n=N):
    best = None
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            function()
        took = (time.perf_counter() - started) / n * 1e9
        best = took if best is None else min(best, took)
    return best


def main():
    agent = snapshots.Agent("http://127.0.0.1:9", "bsk_x", "bench", None, {"quiet": True})
    agent.active = True
    watch = agent.exceptions
    logger = logging.getLogger("bench")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())  # the record is made and handled, nothing printed
    logger.setLevel(logging.DEBUG)

    def logged_round():
        try:
            deep(2)
        except KeyError:
            logger.exception("failed")

    off = per_call(logged_round, N // 4)
    agent.apply({"version": 1, "probes": [], "exceptions": {"enabled": True}})
    for depth in (0, 30):
        exc = caught(depth)
        watch.saw(exc, exc.__traceback__, "logging")  # the first one is captured
        cost = per_call(lambda: watch.saw(exc, exc.__traceback__, "logging"))
        print("saw() on a suppressed failure, traceback of %d frames: %.0f ns" % (depth + 2, cost))
    on = per_call(logged_round, N // 4)
    print("raise + except + logger.exception, exception snapshots off: %.0f ns" % off)
    print("raise + except + logger.exception, on (suppressed):         %.0f ns (+%.0f ns)" % (on, on - off))
    print("captured %d, suppressed %d" % (watch.captured, watch.suppressed))
    agent.exceptions.disable()
    agent.transport._close_pipe()


if __name__ == "__main__":
    main()
