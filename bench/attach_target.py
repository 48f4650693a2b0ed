"""The program bench/attach_legacy.py attaches to: an idle service whose threads each wake every
millisecond and remember the longest gap between two wake-ups, so the bench can tell how long an
attach stopped the program.

  main      the main thread, in a Python loop (where a pending call or PEP 768 code runs)
  python    another Python thread (needs the GIL: stalls while any Python code holds it)
  native    a C thread that never takes the GIL (bench/attach_ticker.c, path in argv[1];
            stalls only while the operating system has it stopped, e.g. under gdb)

Driven over stdin/stdout, one line each way: `reset` forgets the gaps so far (answer `ok`),
`report` answers a JSON object of the longest gaps in seconds since the last reset.
"""
import ctypes
import json
import os
import sys
import threading
import time

PERIOD = 0.001


class Gaps:
    """The longest gap between two wake-ups of one thread, since the last reset."""

    def __init__(self):
        self.longest = 0.0
        self.generation = 0

    def run(self, generation_source):
        last = time.perf_counter()
        seen = generation_source.generation
        while True:
            time.sleep(PERIOD)
            now = time.perf_counter()
            if seen != generation_source.generation:
                seen = generation_source.generation
                self.longest = 0.0
            elif now - last > self.longest:
                self.longest = now - last
            last = now


class Control:
    def __init__(self, native):
        self.generation = 0
        self.main = Gaps()
        self.python = Gaps()
        self.native = native

    def serve(self):
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                self.generation += 1
                if self.native is not None:
                    self.native.ticker_reset()
                time.sleep(0.01)  # every ticker has seen the reset
                answer = "ok"
            elif command == "report":
                answer = json.dumps({
                    "main": self.main.longest,
                    "python": self.python.longest,
                    "native": self.native.ticker_longest_gap_ns() / 1e9 if self.native is not None else None,
                })
            else:
                answer = "unknown command %r" % command
            sys.stdout.write(answer + "\n")
            sys.stdout.flush()
        os._exit(0)  # stdin closed: the bench is gone


def main():
    native = None
    if len(sys.argv) > 1:
        native = ctypes.CDLL(sys.argv[1])
        native.ticker_longest_gap_ns.restype = ctypes.c_long
        if native.ticker_start() != 0:
            sys.exit("attach_target: could not start the native ticker thread")
    control = Control(native)
    threading.Thread(target=control.python.run, args=(control,), name="python-ticker", daemon=True).start()
    threading.Thread(target=control.serve, name="control", daemon=True).start()
    print("ready pid=%d" % os.getpid(), flush=True)
    control.main.run(control)


main()
