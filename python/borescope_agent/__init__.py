"""borescope's in-process agent. Standard library only; runs inside the program being debugged.

Modules:
    boot     -- reads the job borescope sent and starts it
    channel  -- the Unix-socket line protocol back to borescope (transport only)
    capture  -- turns frames and values into plain, bounded data (no I/O)
    lines    -- which lines of a file hold code, from the interpreter's own compiler
    probe    -- watches lines with sys.monitoring (3.12+), rewrite or a narrow settrace (3.9-3.11)
    rewrite  -- recompiles the functions holding a requested line with a call to borescope (3.9-3.11)
    listen   -- starts debugpy inside the program for an interactive session
    session_view -- what a paused session shows (locals, drill-down, eval), by capture's rules
    remote   -- jobs run inside an already-running program through PEP 768 (attach, exec)
    pod      -- run by borescope inside a Kubernetes container (never in a target): lists
                processes and runs `remote` jobs there through sys.remote_exec (3.14+) or,
                on 3.9-3.13, as a pending call that pod_ptrace schedules
    pod_ptrace -- pod's ptrace trigger (ctypes): stops the main thread for a moment and makes
                it queue Py_AddPendingCall(PyRun_SimpleString, code) (never in a target)
    snapshots -- live snapshots for `borescope server`: the agent, probe registry, hit pipeline
    snapshot_probe -- one probe: compiled expressions, token bucket, counters
    snapshot_hooks -- hooking probe lines (sys.monitoring, or the rewrite engine)
    snapshot_imports -- arming probe lines of modules imported later (a sys.meta_path wrapper)
    snapshot_capture -- what one snapshot records, within its byte and time budget
    snapshot_exceptions -- exception snapshots: excepthooks and logging, deduplication, counts
    snapshot_transport -- the background thread talking to the server
    snapshot_servers -- the server URLs an agent is given (replicas it fails over between)
    snapshot_source -- the lines around a probe line, capped, for the server's web page
    safe_expr -- the safe expression subset of conditions, captures and logpoint templates
    lambda_relay -- Lambda relay wire: WebSocket + MQTT client, SigV4 presign, sealed chunks
    lambda_shim -- the handler borescope's Lambda layer runs in AWS (never in a local target)
    lambda_worker -- runs relayed Lambda invocations from the local code (developer's side)

Live snapshots from the application itself (``pip install`` this package)::

    import borescope_agent
    borescope_agent.start(server="http://127.0.0.1:7300", key="bsk_...", service="api")
"""

VERSION = "0.1.0"


def start(server, key, service, env=None, **options):
    """Starts live snapshots in this process: registers it with the borescope server at
    `server` (a URL; or several replicas of one server, as a list or a comma-separated string,
    tried in turn when one fails) as an instance of `service` (and `env`, like "prod"), using the agent key
    `key`, and arms the service's probes as they come. Returns at once (the network is
    only used by a background thread) with the agent (its `instance_id`). When an agent
    already runs in this process (`borescope run` started one) it is kept and returned.

    Options: `engine` ("monitoring" or "rewrite"; the best one by default), `poll_wait`
    (long-poll seconds, 20), `max_queue` (snapshots held while the server is unreachable,
    1000), `flush_timeout` (seconds spent flushing at exit, 2), `quiet` (no stderr line
    when the server refuses the key or cannot be reached)."""
    from . import snapshots

    return snapshots.start(server, key, service, env, **options)


def stop(timeout=2.0):
    """Stops live snapshots, flushing for at most `timeout` seconds, and leaves the process as
    it was. Returns notes on anything that could not be undone (normally an empty list)."""
    import sys

    snapshots = sys.modules.get(__name__ + ".snapshots")
    if snapshots is None:
        return []
    return snapshots.stop(timeout)
