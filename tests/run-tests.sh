#!/usr/bin/env bash
# Runs every sellersync test: starts the local AWS stack on loopback, runs the workspace's tests against it
# (each test starts its own SP-API sandbox on port 0), and stops the stack again, pass or fail.
# Extra arguments go to the test runner, e.g. `tests/run-tests.sh -p shared`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# xmllint checks generated feeds against Amazon's XSDs (the reference folder beside the checkout); without it
# those tests print a notice and check nothing, so install it when it is missing and we may.
if ! command -v xmllint >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then (apt-get update -q && apt-get install -y -q libxml2-utils) >/dev/null 2>&1 || true
  elif command -v sudo >/dev/null 2>&1; then (sudo -n apt-get update -q && sudo -n apt-get install -y -q libxml2-utils) >/dev/null 2>&1 || true
  fi
fi

# Debian's chromium and playwright-core, for the browser test of connecting a seller (tests/browser).
tests/browser/install.sh

# A stack of its own, so a run of the local system (tests/run-local.sh) can stay up beside it.
export SELLERSYNC_STACK_DIR="$PWD/.local/test-stack"
tests/local-stack.sh start
trap 'tests/local-stack.sh stop' EXIT
# shellcheck disable=SC1091
source "$SELLERSYNC_STACK_DIR/env"

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
  # nextest does not run doctests; a filtered run (extra arguments) leaves them out.
  if [ $# -eq 0 ]; then cargo test --workspace --doc --quiet; fi
else
  cargo test --workspace --no-fail-fast "$@"
fi
