#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (scripts/test-setup.sh),
# then runs every test. Snapshots are compared, never rewritten (INSTA_UPDATE=no).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-setup.sh
export INSTA_UPDATE=no
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast
fi
