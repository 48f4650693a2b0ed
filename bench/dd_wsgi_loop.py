"""The in-process driver of bench/ddtrace_hit_path.py: bench/dd_app.py's order request, no server.

`python dd_wsgi_loop.py` imports the app, warms it up, prints `ready PID`, reads a count N from
stdin, calls the app's WSGI entry point N times with the same `GET /order/7` environ and prints
`elapsed WALL CPU` (seconds). With PROFILE=1 it first runs the N calls under cProfile and prints
the agents' functions (borescope_agent, ddtrace) by their own time on stderr.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dd_app  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

ENVIRON = EnvironBuilder(path="/order/7").get_environ()


def request():
    answer = dd_app.app.wsgi_app(dict(ENVIRON), lambda status, headers, exc_info=None: None)
    b"".join(answer)


def main():
    for _ in range(200):
        request()
    print("ready %d" % os.getpid(), flush=True)
    count = int(sys.stdin.readline())
    if os.environ.get("PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for _ in range(count):
            request()
        profile.disable()
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats("borescope_agent|ddtrace", 15)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        request()
    print("elapsed %.6f %.6f" % (time.perf_counter() - wall, time.process_time() - cpu), flush=True)


main()
