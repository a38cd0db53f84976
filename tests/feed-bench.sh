#!/usr/bin/env bash
# The feed submitter's benchmark (tests/src/bin/feed-bench.rs): 100,000 shipment confirmations over one
# simulated hour against the SP-API sandbox at Amazon's quotas. Prints createFeed calls, 429s and the time from
# API call to submission; exits 1 when a target is missed. Uses the local stack in the environment, or starts one
# of its own and stops it again. Extra arguments go to feed-bench, e.g. --confirmations 20000.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

own_stack=""
cleanup() { [ -n "$own_stack" ] && tests/local-stack.sh stop || true; }
trap cleanup EXIT
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  export SELLERSYNC_STACK_DIR="$root/.local/bench-stack"
  tests/local-stack.sh start
  own_stack=1
  # shellcheck disable=SC1091
  source "$SELLERSYNC_STACK_DIR/env"
fi
# Figures are in simulated time, so the debug build the tests use is enough.
cargo run -q -p tests --bin feed-bench -- "$@"
