//! Connecting a seller in one click, in a real browser: Debian's headless chromium, driven by playwright-core
//! (`tests/browser/connect.mjs`, installed by `tests/browser/install.sh`, which `tests/run-tests.sh` runs), opens
//! an operator's connect link on the local runner's API, follows its button to the sandbox's Seller Central,
//! chooses the seller, confirms, and lands on the callback's page; the account it connected then imports the
//! seller's orders in the local runner. Screenshots of both of sellersync's pages are kept in
//! `target/test-artefacts/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::domain::ImportInterval;
use tests::runner::scenario::{Scenario, ScenarioSettings};
use tests::stack::LocalStack;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

/// Runs the browser through the link at `url` as seller `seller` in `locale`; what its pages said.
async fn click_through(url: &str, seller: &str, screenshots: &std::path::Path, locale: &str) -> Value {
    let script = repository().join("tests/browser/connect.mjs");
    assert!(
        repository()
            .join("tests/browser/node_modules/playwright-core")
            .is_dir()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "playwright-core or chromium is missing: run tests/browser/install.sh (tests/run-tests.sh does)"
    );
    let child = tokio::process::Command::new("node")
        .arg(&script)
        .arg(url)
        .arg(seller)
        .arg(screenshots)
        .arg(locale)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("the browser finishes within two minutes")
        .expect("node's output");
    assert!(
        output.status.success(),
        "the browser failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|err| panic!("{err}: {stdout}"))
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// Creates a connect link on the API at `base`; its URL.
async fn new_link(client: &reqwest::Client, base: &str) -> String {
    let created = client
        .post(format!("{base}/connect-links"))
        .json(&json!({"region": "NA", "importInterval": "5m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let link: Value = created.json().await.unwrap();
    link["url"].as_str().unwrap().to_owned()
}

fn is_png(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seller_connects_in_a_browser_and_the_account_imports_its_orders() {
    let stack = LocalStack::with_own_dynamodb().await.unwrap();
    // A minute of Amazon's time per wall-clock second: LWA's five-minute code still outlives the browser's
    // round trip many times over, and an import takes seconds.
    let mut scenario = Scenario::start(
        stack,
        ScenarioSettings {
            seed: 41,
            orders: 40,
            history: TimeDelta::days(2),
            arrivals: TimeDelta::hours(1),
            interval: ImportInterval::Minutes(5),
            clock_scale: 60.0,
            connect_account: false,
            ..ScenarioSettings::default()
        },
    )
    .await
    .unwrap();
    let (base, server) = scenario.runner.serve_api(0).await.unwrap();
    scenario
        .sandbox
        .set_redirect_uris(&[&format!("{base}/connect/callback")]);
    let client = reqwest::Client::new();
    let url = new_link(&client, &base).await;

    let screenshots = repository().join("target/test-artefacts");
    std::fs::create_dir_all(&screenshots).unwrap();
    let seller = scenario.seller.seller_id.clone();
    let said = click_through(&url, &seller, &screenshots, "en-US").await;
    assert_eq!(said["linkTitle"], "Connect your Amazon seller account", "{said}");
    assert_eq!(
        said["connectedTitle"], "Your Amazon account is connected",
        "{said}"
    );
    let text = said["connectedText"].as_str().unwrap();
    assert!(text.contains(&seller) && text.contains("Amazon.com"), "{text}");
    // Only sellersync's API and the sandbox (Seller Central) were ever asked for anything: no external asset.
    let mut origins: Vec<String> = serde_json::from_value(said["origins"].clone()).unwrap();
    origins.sort();
    let mut expected = vec![base.clone(), scenario.sandbox.base_url().to_owned()];
    expected.sort();
    assert_eq!(origins, expected);
    for page in ["connect-link-page-en.png", "connect-connected-page-en.png"] {
        assert!(is_png(&screenshots.join(page)), "{page} was not saved");
    }

    // The account exists with the seller's marketplaces, and imports like any other.
    let account = get_json(&client, &format!("{base}/accounts/{}", scenario.account_id)).await;
    let mut marketplaces: Vec<String> = serde_json::from_value(account["marketplaceIds"].clone()).unwrap();
    marketplaces.sort();
    let mut sellers: Vec<String> = scenario.settings.marketplaces.clone();
    sellers.sort();
    assert_eq!(marketplaces, sellers, "{account}");
    let until = scenario.sandbox.now() + TimeDelta::minutes(40);
    scenario
        .runner
        .run_until(until, Duration::from_millis(20))
        .await
        .unwrap();
    let stored = scenario.stored_orders().await.unwrap();
    assert!(!stored.is_empty(), "the connected account imported nothing");

    // The same in German, through a second link for the same seller: its token renewed, no second account.
    let url = new_link(&client, &base).await;
    let said = click_through(&url, &seller, &screenshots, "de-DE").await;
    assert_eq!(said["lang"], "de", "{said}");
    assert_eq!(
        said["connectedTitle"], "Ihr Amazon-Konto ist wieder verbunden",
        "{said}"
    );
    for page in ["connect-link-page-de.png", "connect-connected-page-de.png"] {
        assert!(is_png(&screenshots.join(page)), "{page} was not saved");
    }
    let accounts = get_json(&client, &format!("{base}/accounts")).await;
    assert_eq!(accounts["items"].as_array().unwrap().len(), 1, "{accounts}");
    server.abort();
}
