"""The program bench/attach_legacy.py attaches to: an idle service whose threads each wake every
millisecond and remember the longest gap between two wake-ups, so the bench can tell how long an
attach stopped the program.

  main      the main thread, in a Python loop (where a pending call or PEP 768 code runs)
  python    another Python thread (needs the GIL: stalls while any Python code holds it)
  native    a C thread that never takes the GIL (bench/attach_ticker.c, path in argv[1];
            stalls only while the operating system has it stopped, e.g. under gdb)

An audit hook also notes when the attaching tool's first Python code starts (borescope's job
opening its `run.py`, PEP 768's script event, debugpy's injected `import attach_pid_injected`):
the time from the main thread's last wake-up to then is how long the tool held the main thread
(stopped under ptrace or gdb, or waiting for its next safe point) before anything of it ran.

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
        self.last = time.perf_counter()

    def run(self, generation_source):
        seen = generation_source.generation
        while True:
            time.sleep(PERIOD)
            now = time.perf_counter()
            if seen != generation_source.generation:
                seen = generation_source.generation
                self.longest = 0.0
            elif now - self.last > self.longest:
                self.longest = now - self.last
            self.last = now


class FirstInjectedCode:
    """When the attaching tool's first Python code ran, as a gap after the main thread's last tick."""

    def __init__(self, main):
        self.main = main
        self.held = None

    def hook(self, event, args):
        if self.held is not None:
            return
        if event == "open":
            hit = isinstance(args[0], str) and "/borescope-" in args[0]
        elif event == "import":
            hit = args[0] == "attach_pid_injected"
        else:
            hit = event == "cpython.remote_debugger_script"
        if hit:
            self.held = time.perf_counter() - self.main.last


class Control:
    def __init__(self, native):
        self.generation = 0
        self.main = Gaps()
        self.python = Gaps()
        self.native = native
        self.injected = FirstInjectedCode(self.main)

    def serve(self):
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                self.generation += 1
                self.injected.held = None
                if self.native is not None:
                    self.native.ticker_reset()
                time.sleep(0.01)  # every ticker has seen the reset
                answer = "ok"
            elif command == "report":
                answer = json.dumps({
                    "main": self.main.longest,
                    "held": self.injected.held,
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
    sys.addaudithook(control.injected.hook)
    threading.Thread(target=control.python.run, args=(control,), name="python-ticker", daemon=True).start()
    threading.Thread(target=control.serve, name="control", daemon=True).start()
    print("ready pid=%d" % os.getpid(), flush=True)
    control.main.run(control)


main()
