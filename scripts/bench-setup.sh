#!/usr/bin/env bash
# Installs what the benchmarks in bench/ need beyond scripts/test-setup.sh, idempotently, cached
# under ~/.cache/borescope/bench (override the root with BORESCOPE_TEST_CACHE):
#   wrk                    the HTTP load generator (Debian package)
#   gdb                    what debugpy `--pid` injects with on Python < 3.14: the peer
#                          bench/attach_legacy.py times borescope's attach against (Debian package)
#   bench/venv-ddtrace/    host Python (3.11) with Flask, gunicorn and Datadog's ddtrace (pinned):
#                          the app bench/ddtrace_compare.py runs bare, under ddtrace and under
#                          borescope (the borescope agent is the standard library only)
#   bench/ddtrace-py314/   the same three for the sid rootfs's Python 3.14, as a --target
#                          directory (binary wheels only), put on PYTHONPATH by the bench
# Not part of the test setup: no test needs ddtrace.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${BORESCOPE_TEST_CACHE:-$HOME/.cache/borescope}"
BENCH="$CACHE/bench"
mkdir -p "$BENCH"

# wrk: the load generator (C, keep-alive, fixed connections), so the client's own CPU stays small
# next to the server's on a 2-core machine.
if ! command -v wrk >/dev/null; then
  echo "bench-setup: apt-get install wrk"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

# gdb: only the attach bench's peer needs it (debugpy --pid); borescope itself never uses it, and
# no test may (scripts/test-setup.sh does not install it).
if ! command -v gdb >/dev/null; then
  echo "bench-setup: apt-get install gdb"
  apt-get install -y gdb >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y gdb >/dev/null; }
fi

PKGS=(flask==3.1.2 gunicorn==27.0.1 ddtrace==4.16.0)
TAG=$(IFS=-; echo "${PKGS[*]}")

# The host interpreter, resolved through any pyenv shim to the real executable.
PY=$(python3 -c 'import sys; print(sys.executable)')
VENV="$BENCH/venv-ddtrace"
if [ ! -f "$VENV/.borescope-$TAG" ]; then
  echo "bench-setup: ${PKGS[*]} at $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PKGS[@]}"
  touch "$VENV/.borescope-$TAG"
fi

# Python 3.14 of the sid rootfs (scripts/sid-rootfs.sh): binary wheels for cp314 only, so
# nothing is compiled against the host's headers.
SID_PY="$CACHE/sid-rootfs/usr/bin/python3.14"
TARGET="$BENCH/ddtrace-py314"
if [ -x "$SID_PY" ] && [ ! -f "$TARGET/.borescope-$TAG" ]; then
  echo "bench-setup: ${PKGS[*]} for Python 3.14 at $TARGET"
  rm -rf "$TARGET"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --target "$TARGET" \
    --python-version 3.14 --implementation cp --abi cp314 --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform linux_x86_64 \
    --only-binary=:all: "${PKGS[@]}"
  touch "$TARGET/.borescope-$TAG"
fi
