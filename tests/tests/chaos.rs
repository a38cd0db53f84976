//! The chaos run in the suite, on a few seeds of a small seller: under crashed, cut-off, duplicated and
//! reordered deliveries, DynamoDB throttling and Amazon faults, the import ends with Amazon's orders and every
//! shipment queued through the API reaches Amazon exactly once or is reported rejected with its reason.
//! `tests/chaos.sh` runs more seeds and larger sellers.

use tests::runner::chaos::{ChaosSettings, run_seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_import_ends_with_amazons_orders_under_seeded_chaos() {
    for seed in [1, 2] {
        let run = run_seed(seed, 40, ChaosSettings::default()).await.unwrap();
        println!("{run}");
        let c = &run.counts;
        assert!(
            c.crashes + c.timeouts + c.duplicates + c.reorders > 0 && c.throttled > 0,
            "seed {seed} injected nothing: {c}"
        );
        assert!(run.held(), "{run}");
        // Each seed's seller has merchant orders awaiting shipment to the end, so actions are queued whether the
        // import kept up with the scaled clock (checkpoints while orders arrive) or not (after settling).
        assert!(
            run.actions.queued > 0,
            "seed {seed} queued no seller action: {run}"
        );
    }
}
