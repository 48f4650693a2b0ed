"""The live-snapshot benchmark's workload: a request handler called in a loop.

`python snap_workload.py N`  prints `ready`, waits for a line on stdin (so probes can be armed
first), runs N "requests", prints `elapsed SECONDS`.
`python snap_workload.py forever` prints `ready` and calls the handler until killed (arming
latency).
"""
import sys
import time


def handle(request_id):
    total = 0
    for step in range(40):
        total += step * request_id
    return total  # BENCH: hit


def never_called(value):
    doubled = value * 2
    return doubled  # BENCH: never


def main():
    print("ready", flush=True)
    if sys.argv[1] == "forever":
        request_id = 0
        while True:
            handle(request_id)
            request_id += 1
            if request_id % 1000 == 0:
                time.sleep(0.001)
    count = int(sys.argv[1])
    sys.stdin.readline()
    started = time.perf_counter()
    for request_id in range(count):
        handle(request_id)
    print("elapsed %.6f" % (time.perf_counter() - started), flush=True)


main()
