"""borescope bootstrap: runs at interpreter start-up because borescope put this directory first
on PYTHONPATH for the program it launched.

It starts the job borescope asked for (a probe, or a debugpy listener for a session), removes
itself from sys.path, and then hands over to whatever sitecustomize the program would have
loaded without us. It must never stop the program from running: every failure is reported to
borescope over the agent channel and swallowed here.
"""


def _borescope_start():
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    job = os.environ.get("BORESCOPE_AGENT_JOB")
    if job:
        try:
            from borescope_agent import boot

            boot.start(job, here)
        except BaseException as exc:  # never let our failure stop the program
            try:
                sys.stderr.write("borescope agent: could not start: %r\n" % (exc,))
            except Exception:
                pass
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    # Hand over to the sitecustomize the program would have had without us.
    ours = sys.modules.pop("sitecustomize", None)
    try:
        import importlib

        importlib.import_module("sitecustomize")
    except ImportError as exc:
        if getattr(exc, "name", None) != "sitecustomize":
            raise
        if ours is not None:
            sys.modules["sitecustomize"] = ours


_borescope_start()
del _borescope_start
