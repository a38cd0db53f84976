#!/usr/bin/env bash
# Runs sellersync locally, end to end: starts the local AWS stack on loopback (installing it the first time),
# then the local runner, which starts the SP-API sandbox, creates the template's tables and queues, connects a
# generated sandbox seller and imports its orders through the real handlers, printing what happened.
# Stops the stack again at the end. Extra arguments go to the runner, e.g. `tests/run-local.sh --orders 2000`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export SELLERSYNC_STACK_DIR="$PWD/.local/run-stack"
tests/local-stack.sh start
trap 'tests/local-stack.sh stop' EXIT
# shellcheck disable=SC1091
source "$SELLERSYNC_STACK_DIR/env"

cargo run --quiet -p tests --bin local-runner -- "$@"
