#!/usr/bin/env bash
# Runs a command against the local stack in the environment, or against one of its own (started first and
# stopped after): what the benches' scripts share. Usage: tests/with-stack.sh COMMAND [ARG...]
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
"$@"
