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
# aarch64 builds for the test that boots an emulated arm64 machine (scripts/arm64-vm; linked by
# .cargo/config.toml's cross linker): borescope itself and borescope-inject's register test.
run cargo build --quiet --target aarch64-unknown-linux-gnu -p borescope
run cargo test --quiet --target aarch64-unknown-linux-gnu -p borescope-inject --test registers --no-run
if cargo nextest --version >/dev/null 2>&1; then
  run cargo nextest run --workspace --no-fail-fast
  run cargo test --workspace --doc
else
  run cargo test --workspace --no-fail-fast
fi
# The agent's own tests (pure Python, the test virtualenv's pytest; some run the sid rootfs's 3.14).
run "${BORESCOPE_TEST_CACHE:-$HOME/.cache/borescope}/venv/bin/python" -m pytest -q -p no:cacheprovider python/tests
if [ ${#failed[@]} -gt 0 ]; then
  printf 'test.sh: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "test.sh: all tests passed"
