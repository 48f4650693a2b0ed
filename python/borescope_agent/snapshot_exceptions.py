"""Exception snapshots: when the service's setting is on, the locals of every frame of an
exception's traceback are recorded where the program fails.

Where exceptions are seen (hooks installed only while the setting is on, each chaining the
hook that was there before, and removed when it is turned off or the agent stops):

- ``threading.excepthook``: an exception escaping a thread (origin ``thread``);
- ``sys.excepthook``: one escaping the main program (``excepthook``; the transport's exit
  flush sends it);
- the ``logging`` record factory: any record at ERROR or above that carries an exception
  (``logging.exception``, ``logger.error(..., exc_info=...)``), whatever the logger's handlers
  or propagation. This is how request failures are seen: Flask logs every unhandled request
  exception through ``app.log_exception``, and uvicorn (or another ASGI server) logs the one
  Starlette's ``ServerErrorMiddleware`` re-raises, each with ``exc_info``. No framework is
  imported or patched, it works the same on every Python version, and it costs nothing until
  a record is made (then one call and two attribute reads). A logged exception whose traceback
  runs through Flask or Starlette/FastAPI gets origin ``flask`` or ``fastapi``, else
  ``logging``.

A hot failing path must cost little, so the cheap checks come first, in the failing thread:
walk to the traceback's innermost entry, look its (type, code, line) up in a dict, and if a
snapshot of it was taken less than ``every_secs`` ago (60 by default) just count the occurrence.
A process-wide cap (``per_minute``, 30) bounds snapshots of many different failures. Counted
occurrences ride on the failure's next snapshot (``occurrences``), and are also sent with the
next upload once the failure's last snapshot was acknowledged, so the server adds them to it.

An exception that is logged and then escapes its thread is seen twice and counts as two
occurrences (exceptions take no weak references, and remembering them would keep their frames
alive).

If the hook we installed was wrapped by someone else since, it cannot be taken out of their
chain: it is left there, inert (it only calls what it wrapped).
"""

import sys
import threading
import time

from . import snapshot_capture

ORIGINS_BY_MODULE = (("flask", "flask"), ("starlette", "fastapi"), ("fastapi", "fastapi"))
MAX_KEYS = 1000  # failures tracked for deduplication; beyond, new ones only meet the global cap
IGNORED = (KeyboardInterrupt, SystemExit, GeneratorExit)


class ExceptionWatch(object):
    """The exception hooks of one agent, its deduplication table and its counters."""

    def __init__(self, agent):
        self.agent = agent
        self.enabled = False
        self.every = 60.0
        self.per_minute = 30
        self.max_frames = 30
        self.lock = threading.Lock()
        self._reset()
        self.hooks = None  # the installed _Hooks, while on

    def _reset(self):
        self.seen = {}  # (type, code, line) -> [last snapshot (monotonic), unreported, queued, captured, names]
        self.window_start = 0.0
        self.window_count = 0
        self.captured = 0
        self.suppressed = 0

    # -- the setting ------------------------------------------------------------------------------

    def configure(self, settings):
        """Applies the probe set's `exceptions` object (transport thread)."""
        settings = settings if isinstance(settings, dict) else {}
        try:
            self.every = max(float(settings.get("every_secs", 60)), 0.0)
            self.per_minute = max(int(settings.get("per_minute", 30)), 0)
            self.max_frames = min(max(int(settings.get("max_frames", 30)), 1), 200)
        except (TypeError, ValueError):
            pass
        if settings.get("enabled") is True:
            self.enable()
        else:
            self.disable()

    def enable(self):
        if self.enabled:
            return
        self.hooks = _Hooks(self)
        self.enabled = True

    def disable(self):
        """Turns the hooks off and takes out those still on top of their chains."""
        self.enabled = False
        hooks, self.hooks = self.hooks, None
        if hooks is not None:
            hooks.remove()

    def after_fork(self):
        """In a forked child: a new instance, its own counters (the hooks stay)."""
        self.lock = threading.Lock()
        self._reset()

    # -- deduplication and capture ----------------------------------------------------------------------

    def saw(self, exc, tb, origin):
        """An exception reached a hook: count it, and take a snapshot unless one of the same
        failure was taken recently or the process-wide cap is reached. Never raises."""
        try:
            self._saw(exc, tb, origin)
        except Exception:
            pass

    def _saw(self, exc, tb, origin):
        if exc is None or isinstance(exc, IGNORED):
            return
        guard = self.agent.guard
        if getattr(guard, "busy", False):
            return  # raised (and logged) while we capture: not the program's
        if tb is None:
            tb = exc.__traceback__
            if tb is None:
                return
        last = tb
        while last.tb_next is not None:
            last = last.tb_next
        key = (type(exc), last.tb_frame.f_code, last.tb_lineno)
        now = time.monotonic()
        with self.lock:
            entry = self.seen.get(key)
            if entry is not None and now - entry[0] < self.every:
                entry[1] += 1
                self.suppressed += 1
                return
            if now - self.window_start >= 60.0:
                self.window_start = now
                self.window_count = 0
            if self.window_count >= self.per_minute:
                if entry is None and len(self.seen) < MAX_KEYS:
                    entry = self.seen[key] = [float("-inf"), 0, 0, False, None]
                if entry is not None:
                    entry[1] += 1
                self.suppressed += 1
                return
            self.window_count += 1
            if entry is None:
                entry = [now, 0, 0, False, None]
                if len(self.seen) < MAX_KEYS:
                    self.seen[key] = entry
            occurrences = entry[1] + 1
            entry[0] = now
            entry[1] = 0
            entry[2] += 1  # queued: counts are not sent for it until it was acknowledged
            entry[3] = True
            self.captured += 1
        guard.busy = True
        try:
            data, size = snapshot_capture.exception_snapshot(
                exc,
                tb,
                _origin(origin, tb),
                int(time.time() * 1000),
                self.agent.secret_names,
                self.max_frames,
                occurrences,
                self.agent.real_path,
            )
        except Exception:
            with self.lock:
                entry[2] -= 1
            raise
        finally:
            guard.busy = False
        info = data.get("exception") or {}
        entry[4] = (info.get("type"), info.get("file"), info.get("line"))
        self.agent.transport.enqueue(("exception", key), data, size)

    def acked(self, key):
        """A queued snapshot of failure `key` was stored, refused or dropped."""
        with self.lock:
            entry = self.seen.get(key)
            if entry is not None and entry[2] > 0:
                entry[2] -= 1

    def take_counts(self):
        """Occurrences suppressed since they were last sent, for failures whose snapshots were
        all acknowledged: a list of {type, file, line, count} (reset here). The transport keeps
        them in its pending batch, sent again unchanged until a server acknowledges it."""
        counts = []
        with self.lock:
            for entry in self.seen.values():
                if entry[1] and entry[3] and not entry[2] and entry[4] is not None and entry[4][0]:
                    name, path, line = entry[4]
                    counts.append({"type": name, "file": path or "", "line": line or 0, "count": entry[1]})
                    entry[1] = 0
        return counts

    def has_counts(self):
        """True when take_counts() would return something (no lock: a hint for the transport)."""
        for entry in list(self.seen.values()):
            if entry[1] and entry[3] and not entry[2]:
                return True
        return False


class _Hooks(object):
    """One installation of the three hooks, each chaining what was there before. A new
    installation (off, then on again) makes new hooks: one left inert inside someone else's
    chain never calls the new ones' predecessors, so no chain can loop."""

    def __init__(self, watch):
        import logging

        self.watch = watch
        self.live = True
        self.prev_sys = sys.excepthook
        self.prev_thread = threading.excepthook
        self.prev_factory = logging.getLogRecordFactory()
        # Made once, so that `sys.excepthook is hooks.sys_hook` tells ours.
        self.sys_hook = self._sys_hook
        self.thread_hook = self._thread_hook
        self.factory = self._factory
        sys.excepthook = self.sys_hook
        threading.excepthook = self.thread_hook
        logging.setLogRecordFactory(self.factory)

    def remove(self):
        """Restores each hook we are still on top of; the others stay inert."""
        import logging

        self.live = False
        if sys.excepthook is self.sys_hook:
            sys.excepthook = self.prev_sys
        if threading.excepthook is self.thread_hook:
            threading.excepthook = self.prev_thread
        if logging.getLogRecordFactory() is self.factory:
            logging.setLogRecordFactory(self.prev_factory)

    def _sys_hook(self, kind, value, tb):
        if self.live:
            self.watch.saw(value, tb, "excepthook")
        previous = self.prev_sys if self.prev_sys is not None else sys.__excepthook__
        return previous(kind, value, tb)

    def _thread_hook(self, args):
        if self.live:
            self.watch.saw(args.exc_value, args.exc_traceback, "thread")
        previous = self.prev_thread if self.prev_thread is not None else threading.__excepthook__
        return previous(args)

    def _factory(self, *args, **kwargs):
        record = self.prev_factory(*args, **kwargs)
        if self.live:
            try:
                info = record.exc_info
                if info and record.levelno >= 40 and isinstance(info, tuple) and len(info) == 3 and info[1] is not None:
                    self.watch.saw(info[1], info[2], "logging")
            except Exception:
                pass
        return record


def _origin(origin, tb):
    """`flask`/`fastapi` for a logged exception whose traceback runs through that framework."""
    if origin != "logging":
        return origin
    while tb is not None:
        try:
            name = tb.tb_frame.f_globals.get("__name__") or ""
        except Exception:
            name = ""
        for prefix, framework in ORIGINS_BY_MODULE:
            if name == prefix or name.startswith(prefix + "."):
                return framework
        tb = tb.tb_next
    return origin
