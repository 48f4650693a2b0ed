#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine of this kind, idempotently.
# Heavy things are cached under ~/.cache/borescope (override: BORESCOPE_TEST_CACHE):
#   venv/        host Python with debugpy and pytest (sessions need debugpy; probes need nothing)
#                and the official MCP SDK (a client for the MCP server tests)
#   pkgtools/    maturin, uv and pipx: build and install the Python wheel (the install test)
#   npm/         the MCP Inspector (a second, independent MCP client)
#   venv-moto/   moto in server mode (an AWS stand-in for the Lambda control-plane tests)
#   venv-web/    host Python with Flask, FastAPI, uvicorn and gunicorn (the live-snapshot apps)
#   sid-rootfs/  Debian sid root filesystem with Python 3.13/3.14 (the container stand-in; both
#                also run as plain processes: scripts/sid-python, scripts/sid-python3.13), with
#                Flask, FastAPI, uvicorn and gunicorn for 3.14, and AWS's Lambda runtime
#                interface client for 3.13 in opt/lambda-runtime (the Lambda tests)
#   kube/        Kubernetes v1.20.2 binaries built from Debian's source package and the OCI
#                images of the Kubernetes tests (scripts/kube-cluster setup)
# The tests themselves add venv-bare/ (host Python without debugpy) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${BORESCOPE_TEST_CACHE:-$HOME/.cache/borescope}"
mkdir -p "$CACHE"

need_apt=()
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
command -v unshare >/dev/null || need_apt+=(util-linux)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
command -v curl >/dev/null || need_apt+=(curl)
command -v setpriv >/dev/null || need_apt+=(util-linux)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || need_apt+=(iproute2)
[ -x /usr/bin/zsh ] || need_apt+=(zsh)     # completion scripts are loaded by the real shells
[ -x /usr/bin/fish ] || need_apt+=(fish)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)   # the Lambda relay's stand-in broker
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)   # scripts/postgres-private: the server's Postgres tests and bench
command -v strace >/dev/null || need_apt+=(strace)               # a tracer already attached: attach to Python < 3.14 refuses it
[ -x /usr/bin/chromium ] || need_apt+=(chromium)                  # the web page's browser test (headless)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)     # ... driven over WebDriver
command -v cc >/dev/null || need_apt+=(gcc)                   # borescope-inject's register test builds a tiny C target
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  apt-get install -y "${need_apt[@]}" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "${need_apt[@]}" >/dev/null; }
fi

# The host interpreter, resolved through any pyenv shim to the real executable.
PY=$(python3 -c 'import sys; print(sys.executable)')
VENV="$CACHE/venv"
STAMP="$VENV/.borescope-v2"
if [ ! -f "$STAMP" ]; then
  echo "setup: virtualenv with debugpy, pytest and the MCP SDK at $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "debugpy==1.8.22" "pytest>=8" "mcp==2.3.0"
  touch "$STAMP"
fi

# Web frameworks the live-snapshot tests run real apps on (pinned), without debugpy: the
# snapshot agent needs nothing but the standard library.
WEB=(flask==3.1.2 fastapi==0.165.0 uvicorn==0.54.0 gunicorn==27.0.1)
WEB_VENV="$CACHE/venv-web"
WEB_STAMP="$WEB_VENV/.borescope-$(IFS=-; echo "${WEB[*]}")"
if [ ! -f "$WEB_STAMP" ]; then
  echo "setup: ${WEB[*]} at $WEB_VENV"
  rm -rf "$WEB_VENV"
  "$PY" -m venv "$WEB_VENV"
  "$WEB_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${WEB[@]}"
  touch "$WEB_STAMP"
fi

# The build backend `pip install ./python` (the agent package) needs, as wheels, so the test
# installs it offline (`--no-index --find-links`).
WHEELS="$CACHE/wheels"
WHEELS_STAMP="$WHEELS/.borescope-setuptools-80.9.0"
if [ ! -f "$WHEELS_STAMP" ]; then
  echo "setup: setuptools wheel at $WHEELS"
  rm -rf "$WHEELS" && mkdir -p "$WHEELS"
  "$PY" -m pip download --quiet --disable-pip-version-check --only-binary=:all: --dest "$WHEELS" "setuptools==80.9.0"
  touch "$WHEELS_STAMP"
fi

# The Python packaging tools the install test uses, pinned, in a virtualenv of their own:
# maturin builds the wheel; pip (in fresh virtualenvs), uv and pipx install it.
PKGTOOLS=(maturin==1.16.0 uv==0.13.9 pipx==1.18.4)
PKGTOOLS_VENV="$CACHE/pkgtools"
PKGTOOLS_STAMP="$PKGTOOLS_VENV/.borescope-$(IFS=-; echo "${PKGTOOLS[*]}")"
if [ ! -f "$PKGTOOLS_STAMP" ]; then
  echo "setup: ${PKGTOOLS[*]} at $PKGTOOLS_VENV"
  rm -rf "$PKGTOOLS_VENV"
  "$PY" -m venv "$PKGTOOLS_VENV"
  "$PKGTOOLS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PKGTOOLS[@]}"
  touch "$PKGTOOLS_STAMP"
fi
# moto in server mode stands in for AWS in the Lambda control-plane tests
# (crates/borescope-lambda/tests: CloudFormation, Lambda, IAM, STS, IoT, S3 on loopback).
MOTO=("moto[server,cloudformation]==5.2.5")
MOTO_VENV="$CACHE/venv-moto"
MOTO_STAMP="$MOTO_VENV/.borescope-moto-5.2.5"
if [ ! -f "$MOTO_STAMP" ]; then
  echo "setup: ${MOTO[*]} at $MOTO_VENV"
  rm -rf "$MOTO_VENV"
  "$PY" -m venv "$MOTO_VENV"
  "$MOTO_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${MOTO[@]}"
  touch "$MOTO_STAMP"
fi
# Every crate Cargo.lock names, for every platform: the install test builds with --offline, and
# maturin's `cargo metadata` reads them all (a no-op once they are in ~/.cargo).
cargo fetch --quiet
# The standard library for aarch64, and an emulated arm64 machine (QEMU, Debian's cross
# compiler, a sid arm64 root file system with its kernel and Python 3.13), so the suite runs the
# aarch64 half of borescope-inject's ptrace code for real.
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "setup: rustup target add aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu
fi
if [ ! -f "$CACHE/arm64-vm/ready" ]; then
  echo "setup: an arm64 machine (scripts/arm64-vm)"
fi
scripts/arm64-vm setup

NPM_DIR="$CACHE/npm"
INSPECTOR="@modelcontextprotocol/inspector@2.12.0"
if [ ! -f "$NPM_DIR/.borescope-v1" ]; then
  echo "setup: $INSPECTOR at $NPM_DIR"
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && npm install --silent --no-audit --no-fund "$INSPECTOR")
  touch "$NPM_DIR/.borescope-v1"
fi

BORESCOPE_CACHE_DIR="$CACHE" scripts/sid-rootfs.sh
# Added to the rootfs after it was first built (a rebuild would take minutes): FastAPI and
# gunicorn for Python 3.14 in the container stand-in.
SID_WEB_STAMP="$CACHE/sid-rootfs/.borescope-web-v1"
if [ ! -f "$SID_WEB_STAMP" ]; then
  echo "setup: python3-fastapi and gunicorn in the sid rootfs"
  BORESCOPE_SID_ROOT="$CACHE/sid-rootfs" scripts/in-sid sh -c \
    'apt-get install -y --no-install-recommends python3-fastapi python3-gunicorn >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends python3-fastapi python3-gunicorn >/dev/null; }'
  touch "$SID_WEB_STAMP"
fi
# AWS's Lambda runtime interface client for the rootfs's Python 3.13, in the role of a managed
# runtime's /var/runtime (scripts/lambda-python puts it on the path). Installed by the host's pip
# for the 3.13 ABI (the rootfs's Python has no pip), from PyPI's binary wheels.
LAMBDA_RIC=(awslambdaric==4.2.2)
LAMBDA_STAMP="$CACHE/sid-rootfs/.borescope-lambda-v1"
if [ ! -f "$LAMBDA_STAMP" ]; then
  echo "setup: ${LAMBDA_RIC[*]} for the sid rootfs's Python 3.13"
  rm -rf "$CACHE/sid-rootfs/opt/lambda-runtime"
  "$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --only-binary=:all: --python-version 3.13 \
    --implementation cp --platform manylinux2014_x86_64 --target "$CACHE/sid-rootfs/opt/lambda-runtime" "${LAMBDA_RIC[@]}"
  touch "$LAMBDA_STAMP"
fi
# The attach tests' CPython 3.12 and 3.8 (the oldest refused) are pyenv builds: no registry
# reachable here carries them (PyPI has no python-build-standalone-style interpreter wheel,
# Debian's suites no python3.12), and machines of this kind ship them beside the host's 3.11.
for minor in 3.12 3.8; do
  compgen -G "${PYENV_ROOT:-$HOME/.pyenv}/versions/$minor.*/bin/python$minor" >/dev/null \
    || echo "setup: warning: CPython $minor is missing under ${PYENV_ROOT:-$HOME/.pyenv}/versions; the attach tests need it: \`pyenv install $minor\`" >&2
done
# The Kubernetes tests' cluster: packages, binaries (minutes, once) and images (needs the sid rootfs).
BORESCOPE_TEST_CACHE="$CACHE" scripts/kube-cluster setup
echo "setup: done"
