#!/usr/bin/env bash
# Builds (once) the Debian sid root filesystem that tests use as a stand-in for a container:
# it brings Python 3.13/3.14, debugpy, uvicorn, flask, FastAPI and gunicorn. Cached outside the repository.
set -euo pipefail
CACHE="${BORESCOPE_CACHE_DIR:-$HOME/.cache/borescope}"
ROOT="$CACHE/sid-rootfs"
STAMP="$ROOT/.borescope-complete-v2"
PKGS="python3.14,python3.13,python3-debugpy,python3-pytest,python3-uvicorn,python3-flask,python3-fastapi,python3-gunicorn,procps"
if [ -f "$STAMP" ]; then echo "sid rootfs ready: $ROOT"; exit 0; fi
if ! command -v debootstrap >/dev/null; then
  apt-get install -y debootstrap >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y debootstrap >/dev/null; }
fi
rm -rf "$ROOT.partial"
mkdir -p "$CACHE"
debootstrap --variant=minbase --include="$PKGS" sid "$ROOT.partial" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 \
  || { echo "debootstrap failed; see $CACHE/debootstrap.log" >&2; tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
rm -rf "$ROOT"
mv "$ROOT.partial" "$ROOT"
touch "$STAMP"
echo "sid rootfs ready: $ROOT"
