#!/usr/bin/env bash
# The getOrder backlog benchmark (tests/src/bin/enrich-bench.rs): a new account with 10,000 unshipped merchant
# orders, drained by the minute report poller within the seller's getOrder bucket against the SP-API sandbox at
# Amazon's rate (0.5/s, burst 30), while new orders arrive. Prints getOrder calls, 429s, the drain time next to
# the least Amazon's rate allows and how long arriving orders waited; exits 1 when a target is missed. Uses the
# local stack in the environment, or starts one of its own and stops it again. Extra arguments go to
# enrich-bench, e.g. --backlog 2000. Figures are in simulated time, so the debug build the tests use is enough.
exec "$(dirname "${BASH_SOURCE[0]}")/with-stack.sh" cargo run -q -p tests --bin enrich-bench -- "$@"
