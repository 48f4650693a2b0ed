"""Live snapshots in a running service: the agent object, its probe registry and the hit
pipeline.

``start(server=..., key=..., service=...)`` returns at once: a background thread
(snapshot_transport) registers this process as an instance of the service, long-polls the
server for the service's probes and uploads what was captured. When a probe set arrives, each
probe's file is matched against the loaded modules (an absolute path, or a path matching the end
of a module's real path on a `/` boundary: ``orders/views.py``), its line is checked, and its
line is hooked (snapshot_hooks). Modules imported later are armed as they are imported.

When a hooked line runs, in the application's thread, the cheapest checks come first: which
probes watch this line, the probe's own rate limit and the process-wide one (token buckets),
the probe's condition, and only then the capture (snapshot_capture), which goes to a bounded
queue. Nothing in that path touches the network or waits for the transport thread. (A probe
with a condition has it evaluated before its rate limits are charged: a run whose condition is
false is neither a hit nor rate limited, so the counters say what the condition selected.)

Each probe reports one status per instance: pending (its file is not imported yet), installed,
error (why), emitting, rate_limited, expired (its time or its hit limit ran out), with `hits`
(runs of the line with the condition true) and `rate_limited` (of those, not captured because
of a rate limit).

When the service's exception-snapshot setting is on (the probe set's ``exceptions``),
snapshot_exceptions hooks where exceptions escape or are logged and records every frame of
their tracebacks, deduplicated by (type, location).

``stop()`` leaves the process as it was: lines unhooked (tool id freed, code swapped back),
the import finder removed, the thread flushed and joined.
"""

import atexit
import os
import posixpath
import socket
import sys
import threading
import time
import uuid

from . import VERSION
from . import capture
from . import lines as _lines
from . import snapshot_capture
from . import snapshot_exceptions
from . import snapshot_hooks
from . import snapshot_imports
from . import snapshot_source
from .snapshot_probe import Bucket, ProbeRuntime
from . import snapshot_transport
from .snapshot_servers import server_list

THREAD_NAME = snapshot_transport.THREAD_NAME
DEFAULT_GLOBAL_RATE = 100.0
RATE_LIMITED_FOR = 5.0  # seconds a probe shows rate_limited after its last skipped hit

_agent = None
_agent_lock = threading.Lock()
_fork_hook_registered = False


def start(server, key, service, env=None, **options):
    """Starts live snapshots in this process and returns the agent. Raises ValueError on bad
    arguments. When an agent already runs (started by `borescope run`, or an earlier call) it is
    kept and returned, with one line on stderr if it was started with other settings: a second
    start must never stop the program. Returns None when another copy of the agent (another
    installation of this package) runs. Never touches the network in the caller's thread."""
    global _agent
    _check_arguments(server, key, service, env)
    server = ",".join(server_list(server))
    with _agent_lock:
        if _agent is not None:
            if _agent.config != (server, key, service, env):
                _warn(
                    "live snapshots already run in this process for service %s (server %s); keeping them, not starting another agent"
                    % (_agent.service, _agent.server)
                )
            return _agent
        if running_elsewhere():
            _warn("another copy of the borescope agent already takes live snapshots in this process; not starting another")
            return None
        agent = Agent(server, key, service, env, options)
        agent.start()
        _agent = agent
        _register_fork_hook()
        return agent


def stop(timeout=2.0):
    """Stops live snapshots (flushing what was captured for at most `timeout` seconds) and
    returns notes on anything that could not be undone (normally none)."""
    global _agent
    with _agent_lock:
        agent, _agent = _agent, None
    if agent is None:
        return []
    return agent.stop(timeout)


def current():
    """The running agent, or None."""
    return _agent


def running_elsewhere():
    """True when a live-snapshot agent thread of another copy of this package runs here."""
    return any(t.name == THREAD_NAME and t.is_alive() for t in threading.enumerate())


def _warn(message):
    try:
        sys.stderr.write("borescope agent: %s\n" % message)
    except Exception:
        pass


def _check_arguments(server, key, service, env):
    server_list(server)  # raises ValueError naming the bad URL
    if not isinstance(key, str) or not key.strip():
        raise ValueError("key must be the agent key that `borescope snap key add --service NAME` printed")
    if not isinstance(service, str) or not service.strip():
        raise ValueError("service must name the service this process belongs to, like \"api\"")
    if env is not None and not isinstance(env, str):
        raise ValueError("env must be a string like \"prod\", or None")


def _register_fork_hook():
    global _fork_hook_registered
    if not _fork_hook_registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
        _fork_hook_registered = True


def _after_fork_in_parent():
    # Counts the children this process forked (a pre-fork server's parent), for its statuses.
    agent = _agent
    if agent is not None:
        agent.forked += 1


def _after_fork_in_child():
    # Registered once and never removable: does nothing once the agent is stopped.
    global _agent_lock
    _agent_lock = threading.Lock()
    agent = _agent
    if agent is not None:
        try:
            agent.after_fork()
        except Exception:
            pass


class Agent(object):
    """Live snapshots in this process: registry, hooks and transport together."""

    def __init__(self, server, key, service, env, options):
        self.config = (server, key, service, env)
        self.server = server
        self.service = service
        self.env = env
        self.options = options
        self.instance_id = uuid.uuid4().hex
        # The pid to register: the caller's view of it when borescope attached from outside
        # this process's PID namespace (a container), else our own; a forked child uses its own.
        self.pid = options.get("pid") or os.getpid()
        self.lock = threading.RLock()
        self.guard = threading.local()
        self.real = {}
        self.hooks = snapshot_hooks.make_hooks(self.on_hit, self.real_path, options.get("engine"))
        self.watch = snapshot_imports.ImportWatch(self._watched, self._module_ran)
        self.transport = snapshot_transport.Transport(self, server, key, options)
        self.exceptions = snapshot_exceptions.ExceptionWatch(self)
        self.probes = {}  # id -> ProbeRuntime
        self.retired = {}  # id -> ProbeRuntime gone from the set, with a final status to send
        self.index = {}  # (path, line) -> tuple of ProbeRuntime; replaced whole, never changed in place
        self.outcomes = {}  # path -> {line: (state, message)}
        self.matched = {}  # probe id -> [paths]
        self.checked = {}  # (path, mtime, size) -> {line: message or None}
        self.secret_names = frozenset()
        self.global_bucket = Bucket(DEFAULT_GLOBAL_RATE)
        self.basenames = frozenset()
        self.retry_at = None
        self.retry_delay = 0.5
        self.relocate_soon = False
        self.fresh = True
        self.active = False
        self.forked = 0  # children forked since start (each its own instance)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self):
        self.hooks.start()
        self.active = True
        self.watch.install()
        atexit.register(self._at_exit)
        try:
            self.transport.start()
        except Exception:
            self.stop(0)
            raise

    def stop(self, timeout=2.0):
        notes = []
        self.active = False
        self.index = {}
        self.exceptions.disable()
        self.watch.remove()
        try:
            atexit.unregister(self._at_exit)
        except Exception:
            pass
        with self.lock:
            notes.extend(self.hooks.stop())
        notes.extend(self.transport.stop(timeout))
        return notes

    def _at_exit(self):
        self.active = False
        self.exceptions.disable()
        self.transport.stop(self.options.get("flush_timeout", 2.0))

    def after_fork(self):
        """In a forked child: a new instance with its own id, queue, thread and counters."""
        self.lock = threading.RLock()
        self.guard = threading.local()
        self.instance_id = uuid.uuid4().hex
        self.pid = os.getpid()
        self.forked = 0
        self.global_bucket = Bucket(self.global_bucket.rate)
        for probe in self.probes.values():
            probe.lock = threading.Lock()
            probe.bucket = Bucket(probe.bucket.rate)
            probe.reset_counters()
        self.hooks.after_fork()
        self.exceptions.after_fork()
        self.fresh = True
        self.transport.after_fork()

    def register_body(self):
        return {
            "instance_id": self.instance_id,
            "service": self.service,
            "env": self.env,
            "host": socket.gethostname(),
            "pid": self.pid,
            "python": "%d.%d.%d" % sys.version_info[:3],
            "agent_version": VERSION,
            "engine": self.hooks.engine,
        }

    def real_path(self, filename):
        try:
            return self.real[filename]
        except KeyError:
            pass
        try:
            real = os.path.realpath(filename) if not filename.startswith("<") else filename
        except Exception:
            real = filename
        if len(self.real) > 50000:
            self.real = {}
        self.real[filename] = real
        return real

    # -- probe sets -----------------------------------------------------------------------------

    def apply(self, probe_set):
        """Takes the server's whole current probe set (transport thread)."""
        now_ms = int(time.time() * 1000)
        with self.lock:
            if not self.active:
                return
            names = probe_set.get("redact") or []
            secrets = frozenset(capture.normal_name(n) for n in names if isinstance(n, str))
            recompile = secrets != self.secret_names
            self.secret_names = secrets
            if probe_set.get("global_rate"):
                self.global_bucket.set_rate(probe_set["global_rate"])
            self.exceptions.configure(probe_set.get("exceptions"))
            probes = {}
            for spec in probe_set.get("probes") or []:
                try:
                    pid = int(spec["id"])
                    old = self.probes.get(pid)
                    if old is not None and old.same(spec):
                        if recompile:
                            old.compile(secrets)
                        old.update(spec, now_ms)
                        probes[pid] = old
                    else:
                        probes[pid] = ProbeRuntime(spec, secrets, now_ms)
                except (KeyError, TypeError, ValueError):
                    continue  # a probe we cannot read: the server validated it, so skip it
            for pid, old in self.probes.items():
                if probes.get(pid) is not old:
                    old.done = True
                    if pid not in probes and old.ended is not None:
                        # It ended here (time or hit limit) and the server dropped it from the
                        # set since: report that (and the final counts) once more.
                        self.retired[pid] = old
            self.probes = probes
            self.basenames = frozenset(posixpath.basename(p.file.replace("\\", "/")) for p in probes.values())
            self.retry_delay = 0.5
            self.relocate(None if self.fresh else set())
            self.fresh = False

    def relocate(self, only, module=None, module_path=None):
        """Matches probes to loaded files and (re)arms lines. `only`: the paths to re-arm even if
        their wanted lines did not change (None: all); `module`: a module that just ran from
        `module_path` (its namespace is searched instead of the whole heap)."""
        files = {}  # real path -> the name the module was loaded under
        basenames = self.basenames
        for module_object in list(sys.modules.values()):
            name = snapshot_imports.module_file(module_object)
            # Only files that may be a probe's are resolved (see snapshot_hooks._resolver).
            if name is not None and os.path.basename(name) in basenames:
                files[self.real_path(name)] = os.path.abspath(name)
        wanted = {}
        matched = {}
        for probe in self.probes.values():
            if not probe.armable():
                continue
            paths = [path for path, name in files.items() if probe.matches(path) or probe.matches(name)]
            matched[probe.id] = paths
            for path in paths:
                wanted.setdefault(path, set()).add(probe.line)
        for path in list(self.outcomes):
            if path not in wanted:
                self.hooks.arm(path, set())
                del self.outcomes[path]
        targets = set(wanted) if only is None else set(only) & set(wanted)
        targets.update(path for path, found in wanted.items() if set(self.outcomes.get(path, {})) != found)
        discover = [path for path in targets if module is None or path != module_path]
        names = set(os.path.basename(files[path]) for path in discover) | set(os.path.basename(p) for p in discover)
        functions = snapshot_hooks.heap_functions(discover, self.real_path, names) if discover else {}
        running = snapshot_hooks.running_codes(discover, self.real_path, names) if discover else {}
        for path in targets:
            problems = self._line_problems(path, wanted[path])
            good = wanted[path] - set(problems)
            armed = self.hooks.arm(
                path,
                good,
                module=module if path == module_path else None,
                functions=functions.get(path),
                running=running.get(path),
            )
            outcome = dict((line, ("error", text)) for line, text in problems.items())
            for line in good:
                outcome[line] = armed.get(line) or snapshot_hooks.unreached_reason(path, line)
            self.outcomes[path] = outcome
        self.matched = matched
        index = {}
        for probe in self.probes.values():
            for path in matched.get(probe.id, ()):
                if self.outcomes.get(path, {}).get(probe.line, ("",))[0] == "installed":
                    index.setdefault((path, probe.line), []).append(probe)
        self.index = dict((key, tuple(found)) for key, found in index.items())
        pending = any(p.armable() and self._pending(p) for p in self.probes.values())
        self.retry_at = time.monotonic() + self.retry_delay if pending else None
        self.transport.poke()

    def _pending(self, probe):
        paths = self.matched.get(probe.id) or []
        if not paths:
            return True
        return any(self.outcomes.get(path, {}).get(probe.line, ("pending",))[0] == "pending" for path in paths)

    def _line_problems(self, path, wanted):
        """{line: message} for wanted lines without code (`no code at line 12; nearest lines
        with code: 11, 14`), cached per file version."""
        try:
            info = os.stat(path)
            key = (path, info.st_mtime_ns, info.st_size)
        except OSError:
            key = (path, None, None)
        known = self.checked.setdefault(key, {})
        missing = sorted(line for line in wanted if line not in known)
        if missing:
            for line in missing:
                known[line] = None
            for problem in _lines.check_file(path, missing):
                known[problem["line"]] = _problem_text(problem)
        return dict((line, known[line]) for line in wanted if known.get(line))

    def _watched(self, filename):
        """The real path of a module file being imported when a probe may want it, else None."""
        if not self.basenames or os.path.basename(filename) not in self.basenames:
            return None
        path = self.real_path(filename)
        for probe in list(self.probes.values()):
            if probe.armable() and probe.matches(path):
                return path
        return None

    def _module_ran(self, module, path):
        """A watched module finished running its code (importing thread): arm its lines now."""
        with self.lock:
            if self.active:
                self.relocate({path}, module=module, module_path=path)

    def tick(self, now):
        """Periodic work of the transport thread: expiry, retries of pending probes, disarming
        probes that ended. Returns when it next needs to run (monotonic), or None."""
        now_ms = int(time.time() * 1000)
        with self.lock:
            if not self.active:
                return None
            changed = self.relocate_soon
            self.relocate_soon = False
            next_expiry = None
            for probe in self.probes.values():
                if probe.done:
                    continue
                if probe.expires_ms and now_ms >= probe.expires_ms:
                    probe.end("its time ran out")
                    changed = True
                elif probe.expires_ms:
                    due = now + (probe.expires_ms - now_ms) / 1000.0
                    next_expiry = due if next_expiry is None else min(next_expiry, due)
            if changed:
                self.relocate(set())
            elif self.retry_at is not None and now >= self.retry_at:
                self.retry_delay = min(self.retry_delay * 2, 10.0)
                self.relocate(set(path for path, found in self.outcomes.items() if any(s[0] == "pending" for s in found.values())))
            times = [t for t in (next_expiry, self.retry_at) if t is not None]
            return min(times) if times else None

    # -- statuses ---------------------------------------------------------------------------------

    def statuses(self, now, counts_due):
        """Status entries that changed since last sent (and, when `counts_due`, those whose
        counters moved), as (entries, commit) where commit() marks them sent."""
        entries = []
        marks = []
        with self.lock:
            retired = [p for pid, p in self.retired.items() if pid not in self.probes]
            for probe in list(self.probes.values()) + retired:
                status, message = self._status_of(probe, now)
                counts = (probe.hits, probe.rate_limited)
                source = self._source_due(probe)
                if probe.sent == (status, message) and (probe.sent_counts == counts or not counts_due) and source is None:
                    continue
                entry = {"probe_id": probe.id, "status": status, "hits": counts[0], "rate_limited": counts[1]}
                if message:
                    entry["message"] = message
                if source is not None:
                    entry["source"] = source
                entries.append(entry)
                marks.append((probe, (status, message), counts, source is not None))

        def commit():
            for probe, sent, counts, with_source in marks:
                probe.sent = sent
                probe.sent_counts = counts
                if with_source:
                    probe.source_sent = True
            for probe in retired:
                self.retired.pop(probe.id, None)

        return entries, commit

    def _source_due(self, probe):
        """The lines around the probe's line, when the server asked and none were sent yet
        (read from the first file the probe matched; one try per probe)."""
        if not probe.want_source or probe.source_sent:
            return None
        paths = self.matched.get(probe.id) or []
        if not paths:
            return None
        source = snapshot_source.read(paths[0], probe.line, self.secret_names)
        if source is None:
            probe.source_sent = True  # unreadable: do not read it again on every report
        return source

    def _status_of(self, probe, now):
        if probe.error:
            return "error", probe.error
        if probe.ended:
            return "expired", probe.ended
        if probe.condition_errors:
            return "error", "the condition failed %s; last: %s" % (_times(probe.condition_errors), probe.condition_error)
        paths = self.matched.get(probe.id) or []
        if not paths:
            waiting = "waiting for a module whose file is (or ends with) %s to be imported" % probe.file
            if self.forked:
                # A pre-fork server's parent (gunicorn's arbiter, uWSGI's master) rarely runs
                # the application: its workers are instances of their own.
                waiting += " (this process forked %d child process%s, each an instance of its own)" % (
                    self.forked,
                    "" if self.forked == 1 else "es",
                )
            return "pending", waiting
        states = [(path,) + self.outcomes.get(path, {}).get(probe.line, ("pending", "not armed yet")) for path in paths]
        installed = [s for s in states if s[1] == "installed"]
        others = [s for s in states if s[1] != "installed"]
        many = len(paths) > 1
        if not installed:
            pending = [s for s in others if s[1] == "pending"]
            if pending:
                return "pending", _located(pending[0], many)
            return "error", "; ".join(_located(s, many) for s in others)
        notes = []
        if many:
            notes.append("installed in %d files: %s" % (len(installed), ", ".join(s[0] for s in installed)))
        notes.extend(_located(s, True) for s in others)
        notes.extend(s[2] for s in installed if s[2])
        if probe.expression_errors:
            notes.append("an expression failed %s; last: %s" % (_times(probe.expression_errors), probe.expression_error))
        message = "; ".join(notes) or None
        if probe.limited_at is not None and now - probe.limited_at < RATE_LIMITED_FOR:
            return "rate_limited", message
        if probe.captured:
            return "emitting", message
        return "installed", message

    def acked(self, probe_ids):
        """The server stored (or refused) these snapshots, or the queue dropped them: they no
        longer count as unsent. Called from application threads too: no agent lock."""
        probes = self.probes
        for pid in probe_ids:
            if isinstance(pid, tuple):  # ("exception", failure key)
                self.exceptions.acked(pid[1])
                continue
            probe = probes.get(pid)
            if probe is not None:
                with probe.lock:
                    if probe.unsent > 0:
                        probe.unsent -= 1

    # -- the hit path (application threads) -----------------------------------------------------------

    def on_hit(self, frame, path, line):
        probes = self.index.get((path, line))
        if not probes:
            return
        guard = self.guard
        if getattr(guard, "busy", False):
            return  # a value's repr ran a hooked line while we capture: not a hit
        guard.busy = True
        try:
            for probe in probes:
                try:
                    self._hit(probe, frame, path, line)
                except Exception:
                    pass
        finally:
            guard.busy = False

    def _hit(self, probe, frame, path, line):
        if probe.done or not self.active:
            return
        wall = time.time()
        now_ms = int(wall * 1000)
        if probe.expires_ms and now_ms >= probe.expires_ms:
            probe.end("its time ran out")
            self._changed(ended=True)
            return
        now = time.monotonic()
        if probe.condition is None and (not probe.bucket.ready(now) or not self.global_bucket.ready(now)):
            self._limited(probe, now, counted=True)
            return
        if probe.condition is not None:
            try:
                ok = bool(probe.condition.evaluate(frame))
            except Exception as exc:
                with probe.lock:
                    probe.condition_errors += 1
                    probe.condition_error = "%s: %s" % (type(exc).__name__, exc)
                    first = probe.condition_errors == 1
                if first:
                    self._changed()
                return
            if not ok:
                return
        last = False
        with probe.lock:
            probe.hits += 1
            if probe.done:
                return
            if not probe.bucket.take(now):
                limited = True
            elif not self.global_bucket.take(now):
                probe.bucket.refund()
                limited = True
            else:
                limited = False
                if probe.remaining is not None:
                    probe.remaining -= 1
                    last = probe.remaining <= 0
                    if last:
                        probe.done = True
                probe.unsent += 1
                probe.captured += 1
                first = probe.captured == 1
        if limited:
            self._limited(probe, now, counted=False)
            return
        secrets = self.secret_names
        if probe.template is not None:
            data, size, errors = snapshot_capture.logpoint(probe.id, probe.template, frame, path, line, now_ms, secrets)
        else:
            data, size, errors = snapshot_capture.snapshot(
                probe.id, frame, path, line, now_ms, secrets, probe.captures, probe.frames_with_locals
            )
        if errors:
            with probe.lock:
                probe.expression_errors += 1
                probe.expression_error = errors[-1]
        self.transport.enqueue(probe.id, data, size)
        if last:
            probe.end("its hit limit was reached")
            self._changed(ended=True)
        elif first:
            self._changed()

    def _limited(self, probe, now, counted):
        with probe.lock:
            if counted:
                probe.hits += 1
            probe.rate_limited += 1
            was = probe.limited_at
            probe.limited_at = now
        if was is None or now - was >= RATE_LIMITED_FOR:
            self._changed()

    def _changed(self, ended=False):
        """A status changed in an application thread: have the transport thread report it (and
        disarm an ended probe) soon. Costs one flag and at most one byte on a pipe."""
        if ended:
            self.relocate_soon = True
        self.transport.poke()


def _times(count):
    return "once" if count == 1 else "%d times" % count


def _located(state, with_path):
    path, status, message = state
    message = message or status
    return "%s: %s" % (path, message) if with_path else message


def _problem_text(problem):
    line = problem["line"]
    if problem.get("reason") != "no code on this line":
        return "line %d: %s" % (line, problem.get("reason"))
    near = [n for n in (problem.get("before"), problem.get("after")) if n]
    if not near:
        return "no code at line %d (the file has no code)" % line
    return "no code at line %d; nearest line%s with code: %s" % (line, "s" if len(near) > 1 else "", ", ".join(str(n) for n in near))
