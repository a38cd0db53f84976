#!/usr/bin/env bash
# The order latency and cost benchmark (tests/src/bin/latency-bench.rs): one seller receiving 10,000 orders an
# hour, imported with Amazon's notifications and by reports alone, side by side, on a simulated clock. Prints
# how long after the Orders API showed a change or a recipient sellersync stored it (p50, p99), and per 1,000
# orders the SP-API calls, DynamoDB, SQS, EventBridge and Lambda requests and their cost; exits 1 when a target
# is missed. Uses the local stack in the environment, or starts one of its own and stops it again. Extra
# arguments go to latency-bench, e.g. --orders-per-hour 1000 --mode notifications. Figures are in simulated
# time, so the debug build the tests use is enough.
exec "$(dirname "${BASH_SOURCE[0]}")/with-stack.sh" cargo run -q -p tests --bin latency-bench -- "$@"
