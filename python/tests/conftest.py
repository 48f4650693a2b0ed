"""Shared helpers for the agent's Python tests.

Run with the test venv: ``~/.cache/borescope/venv/bin/python -m pytest python/tests`` (set up by
scripts/test-setup.sh, which also provides the Debian sid rootfs whose Python 3.14 runs through
scripts/sid-python). The package is imported from this checkout, never from an installed copy.
"""

import json
import os
import subprocess
import sys

import pytest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PYTHON_DIR)
SID_PYTHON = os.path.join(REPO, "scripts", "sid-python")
# The sid rootfs's 3.13 with awslambdaric (the Lambda tests; see lambda_support.py).
LAMBDA_PYTHON = os.path.join(REPO, "scripts", "lambda-python")

if PYTHON_DIR not in sys.path:
    sys.path.insert(0, PYTHON_DIR)


def interpreters():
    """(label, argv) of the interpreters the hook tests run in: this one (3.11 in the test venv:
    the rewrite engine) and the sid rootfs's 3.14 (sys.monitoring)."""
    return [("host", [sys.executable]), ("sid-3.14", [SID_PYTHON])]


def run_script(argv, script, cwd, timeout=60, args=()):
    """Runs `script` (text, with `args`) in a fresh interpreter with the agent importable;
    returns the JSON object it printed last."""
    path = os.path.join(cwd, "driver.py")
    with open(path, "w") as f:
        f.write("import sys\nsys.path.insert(0, %r)\n" % PYTHON_DIR + script)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("BORESCOPE_AGENT_JOB", None)
    done = subprocess.run(argv + [path] + list(args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if done.returncode == 125 and argv[0] == SID_PYTHON:
        pytest.fail("no sid rootfs for Python 3.14: run scripts/test-setup.sh")
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout.decode().strip().splitlines()[-1])
