//! Rotating the application's LWA client secret through the local runner: the credentials function asks the
//! sandbox (Amazon's Application Management API) for a new secret, the sandbox's notification reaches the
//! stack's queue, the function stores the new secret, every function picks it up within minutes, and the old
//! secret's expiry a week later stops no account: the import ends equal to Amazon's truth.

use std::time::Duration;

use chrono::TimeDelta;
use shared::app::credentials::{CredentialsOutcome, StoredCredentials};
use shared::domain::{Connection, ImportInterval};
use tests::runner::scenario::{Scenario, ScenarioSettings};
use tests::stack::LocalStack;

#[tokio::test(flavor = "multi_thread")]
async fn the_client_secret_is_rotated_and_no_account_stops_when_the_old_one_expires() {
    let stack = LocalStack::with_own_dynamodb().await.unwrap();
    let mut scenario = Scenario::start(
        stack,
        ScenarioSettings {
            seed: 53,
            orders: 80,
            history: TimeDelta::days(2),
            arrivals: TimeDelta::hours(6),
            interval: ImportInterval::Minutes(60),
            clock_scale: 10_000.0,
            ..ScenarioSettings::default()
        },
    )
    .await
    .unwrap();
    let secrets_client = scenario.runner.stack.secrets.clone();
    let secret_name = scenario.runner.config.lwa_credentials_secret.clone();
    let stored = || async {
        let text = secrets_client
            .get_secret_value()
            .secret_id(&secret_name)
            .send()
            .await
            .unwrap()
            .secret_string
            .unwrap();
        serde_json::from_str::<StoredCredentials>(&text).unwrap()
    };
    let before = stored().await;
    assert_eq!(
        before.expires_at, None,
        "a secret stored by hand has no known expiry"
    );

    // On demand, as an operator would with `{"action": "rotate"}`.
    let rotated = scenario.runner.credentials.rotate().await.unwrap();
    assert_eq!(rotated, CredentialsOutcome::Rotated);
    let rotated_at = scenario.sandbox.now();
    let secrets = scenario.sandbox.client_secrets();
    assert_eq!(secrets.len(), 2, "Amazon made a new secret");
    let (new_secret, new_expiry) = secrets[1].clone();
    assert!(secrets[0].1 <= rotated_at + TimeDelta::days(7));

    // The runner delivers the notification (it asks the sandbox every quarter second of wall time, 42 minutes
    // of this clock) and the function stores the secret at its next round.
    scenario
        .runner
        .run_until(rotated_at + TimeDelta::hours(2), Duration::from_millis(20))
        .await
        .unwrap();
    let after = stored().await;
    assert_eq!(after.client_secret, new_secret, "the new secret is stored");
    assert_eq!(after.client_id, before.client_id);
    assert_eq!(
        after.expires_at.map(|t| t.timestamp()),
        Some(new_expiry.timestamp())
    );
    assert_eq!(after.rotation_requested_at, None);

    // Past the old secret's expiry: the import goes on with the new secret.
    scenario.run_to_the_end().await.unwrap();
    let week_later = rotated_at + TimeDelta::days(7) + TimeDelta::hours(12);
    scenario
        .runner
        .run_until(week_later, Duration::from_millis(20))
        .await
        .unwrap();
    let comparison = scenario.compare().await.unwrap();
    assert!(comparison.is_exact(), "{comparison:?}");
    let record = scenario
        .runner
        .import
        .accounts
        .get_account(&scenario.account_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        record.status.connection,
        Connection::Connected,
        "{:?}",
        record.status
    );
    assert_eq!(record.status.problem, None);
    let last = record.status.last_successful_import.expect("imports ran");
    assert!(
        last > rotated_at + TimeDelta::days(7),
        "the last import ({last}) is after the old secret expired"
    );
    // The daily check ran and found the new secret far from its expiry: no second rotation.
    assert_eq!(scenario.sandbox.client_secrets().len(), 2);
}
