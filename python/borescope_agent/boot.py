"""Starts the job borescope described in BORESCOPE_AGENT_JOB (JSON)."""

import json
import os
import sys

from . import channel as _channel


def start(job_text, agent_dir):
    job = json.loads(job_text)
    if job.get("kind") == "snapshots":
        _start_snapshots(job)
        return
    path = os.environ.get("BORESCOPE_AGENT_CHANNEL")
    chan = _channel.Channel.connect(path) if path else None
    hello = {
        "type": "hello",
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "version": "Python %d.%d.%d" % sys.version_info[:3],
        "executable": sys.executable,
        "agent_dir": agent_dir,
        "runtime_dirs": _runtime_dirs(),
    }
    kind = job.get("kind")
    try:
        if kind == "probe":
            from . import probe

            probe.start(job, chan, hello)
        elif kind == "listen":
            from . import listen

            listen.start(job, chan, hello)
        else:
            raise ValueError("unknown job kind %r" % (kind,))
    except Exception:
        # The job could not start: say why and end before any of the program's code runs, so
        # nothing executes unobserved (the user asked for it to be watched).
        if chan is None:
            raise
        import traceback

        chan.send({"type": "agent_error", "message": traceback.format_exc(limit=4).strip()})
        os._exit(98)


def _start_snapshots(job):
    """Live snapshots for `borescope run --server`: the program runs whatever happens here."""
    try:
        from . import snapshots

        snapshots.start(job.get("server"), job.get("key"), job.get("service"), job.get("env"))
    except Exception as exc:
        try:
            sys.stderr.write("borescope agent: live snapshots not started: %s\n" % (exc,))
        except Exception:
            pass


def _runtime_dirs():
    """Directories holding the standard library, so frames there can be told apart."""
    import sysconfig

    dirs = []
    for key in ("stdlib", "platstdlib"):
        try:
            value = sysconfig.get_paths().get(key)
        except Exception:
            value = None
        if value and value not in dirs:
            dirs.append(os.path.realpath(value))
    return dirs
