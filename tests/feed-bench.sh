#!/usr/bin/env bash
# The feed submitter's benchmark (tests/src/bin/feed-bench.rs): 100,000 shipment confirmations over one
# simulated hour against the SP-API sandbox at Amazon's quotas. Prints createFeed calls, 429s and the time from
# API call to submission; exits 1 when a target is missed. Uses the local stack in the environment, or starts one
# of its own and stops it again. Extra arguments go to feed-bench, e.g. --confirmations 20000.
# Figures are in simulated time, so the debug build the tests use is enough.
exec "$(dirname "${BASH_SOURCE[0]}")/with-stack.sh" cargo run -q -p tests --bin feed-bench -- "$@"
