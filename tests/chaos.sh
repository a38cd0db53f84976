#!/usr/bin/env bash
# The chaos run: the local system (SP-API sandbox, DynamoDB Local + moto, the local runner) importing under
# seeded faults, checked against the sandbox's truth per seed. Starts the local stack if it is not running.
#
#   tests/chaos.sh [--orders N] [SEED | FIRST..=LAST]...     (default: seeds 1..=20)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tests/local-stack.sh status 2>/dev/null || bash tests/local-stack.sh start
# shellcheck disable=SC1091
source "${SELLERSYNC_STACK_DIR:-$root/.local/stack}/env"
exec cargo run -q -p tests --bin chaos-run -- "$@"
