#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what the tests need (scripts/test-setup.sh),
# then runs every test. Snapshots are compared, never rewritten (INSTA_UPDATE=no).
# Every part runs even when an earlier one fails; the script fails at the end if any did.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-setup.sh
export INSTA_UPDATE=no
failed=()
run() {
  if ! "$@"; then
    failed+=("$*")
  fi
}
if cargo nextest --version >/dev/null 2>&1; then
  run cargo nextest run --workspace --no-fail-fast
  run cargo test --workspace --doc
else
  run cargo test --workspace --no-fail-fast
fi
# The aarch64 half of the ptrace injector compiles (it cannot run on this x86-64 machine).
run cargo check --quiet --target aarch64-unknown-linux-gnu -p borescope-inject
# The agent's own tests (pure Python, the test virtualenv's pytest; some run the sid rootfs's 3.14).
run "${BORESCOPE_TEST_CACHE:-$HOME/.cache/borescope}/venv/bin/python" -m pytest -q -p no:cacheprovider python/tests
if [ ${#failed[@]} -gt 0 ]; then
  printf 'test.sh: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "test.sh: all tests passed"
