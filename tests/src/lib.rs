//! The SP-API sandbox, the local stack harness and the local runner.
