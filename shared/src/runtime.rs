//! Cold-start wiring: the adapters and use cases each function runs, built once from `Config` and the AWS SDK
//! configuration. Every function's `main.rs` and the local runner build through here, so they run the same
//! code against different endpoints.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;

use crate::adapters::dynamo::{DynamoOrderStore, DynamoRateLimiter, DynamoStateStore};
use crate::adapters::s3::S3Archive;
use crate::adapters::scheduler::{EventBridgeSchedules, ScheduleTarget};
use crate::adapters::secrets::SecretsManagerStore;
use crate::adapters::sqs::SqsQueue;
use crate::amazon::{AmazonClient, Credentials, CredentialsSource, Endpoints, LwaCredentials, RetryPolicy};
use crate::api::{ApiParts, ApiState};
use crate::app::accounts::{AccountNaming, Accounts};
use crate::app::batch::DeadLetters;
use crate::app::credentials::AppCredentials;
use crate::app::feeds::{FeedProcessor, FeedSettings};
use crate::app::import::{Import, ImportSettings};
use crate::app::notifications::NotificationHandler;
use crate::app::subscriptions::Subscriptions;
use crate::config::Config;
use crate::error::{AmazonError, ConfigError, StoreError};
use crate::metrics::Metrics;
use crate::ports::SecretStore;

/// Deliveries of a parse message before it is dead-lettered; matches `maxReceiveCount` in the template.
pub const PARSE_MAX_RECEIVES: u32 = 5;

/// Why a function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is missing or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A secret could not be read.
    #[error("reading secrets failed: {0}")]
    Store(#[from] StoreError),
    /// The application's LWA credentials are missing or malformed.
    #[error(transparent)]
    Amazon(#[from] AmazonError),
    /// The LWA credentials secret does not exist.
    #[error(
        "the LWA credentials secret {0} does not exist; create it as {{\"clientId\": .., \"clientSecret\": ..}}"
    )]
    NoCredentials(String),
}

/// The AWS SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL*` locally).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// The event publisher's bus.
pub fn event_publisher(sdk: &SdkConfig, bus: String) -> crate::adapters::eventbridge::EventBus {
    crate::adapters::eventbridge::EventBus::new(aws_sdk_eventbridge::Client::new(sdk), bus)
}

/// What the scheduled and queue-driven functions share: the state table, secrets, metrics and Amazon.
#[derive(Clone)]
struct Backend {
    dynamodb: aws_sdk_dynamodb::Client,
    state: Arc<DynamoStateStore>,
    secrets: Arc<SecretsManagerStore>,
    metrics: Metrics,
    amazon: AmazonClient,
}

async fn backend(config: &Config, sdk: &SdkConfig) -> Result<Backend, StartupError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let state = Arc::new(DynamoStateStore::new(dynamodb.clone(), &config.state_table));
    let secrets = Arc::new(secrets_store(config, sdk));
    let metrics = config.metrics();
    let amazon = amazon_client(
        config,
        &dynamodb,
        secrets.clone(),
        RetryPolicy::default(),
        metrics.clone(),
    )
    .await?;
    Ok(Backend {
        dynamodb,
        state,
        secrets,
        metrics,
        amazon,
    })
}

/// The import functions' use cases over DynamoDB, SQS, Secrets Manager and Amazon.
pub async fn import(config: &Config, sdk: &SdkConfig) -> Result<Import, StartupError> {
    import_over(config, sdk, backend(config, sdk).await?)
}

fn import_over(config: &Config, sdk: &SdkConfig, backend: Backend) -> Result<Import, StartupError> {
    let clock = config.clock();
    let Backend {
        dynamodb,
        state,
        secrets,
        metrics,
        amazon,
    } = backend;
    let parse_queue = Config::require(&config.parse_queue_url, "PARSE_QUEUE_URL")?;
    let subscriptions = Subscriptions::new(
        amazon.clone(),
        state.clone(),
        clock.clone(),
        config.notification_queue_arn.clone(),
    );
    Ok(Import {
        accounts: state.clone(),
        jobs: state,
        orders: Arc::new(DynamoOrderStore::new(dynamodb, &config.orders_table)),
        secrets,
        parse_queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), parse_queue)),
        archive: Arc::new(S3Archive::new(
            s3_client(sdk),
            Config::require(&config.raw_documents_bucket, "RAW_DOCUMENTS_BUCKET")?,
            config.data_key_id.clone(),
        )),
        subscriptions,
        amazon,
        clock,
        metrics,
        settings: ImportSettings {
            overlap: config.report_overlap,
            initial_lookback: config.initial_lookback,
            parse_deadline: config.parse_deadline,
            naming: naming(config),
            enrich_orders: config.enrich_orders,
        },
    })
}

/// The HTTP API's use cases over DynamoDB, Secrets Manager, EventBridge Scheduler and Amazon. Its Amazon
/// client retries little: a person waits on the answer, and the import's functions retry for themselves.
pub async fn api(config: &Config, sdk: &SdkConfig) -> Result<ApiState, StartupError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let state = Arc::new(DynamoStateStore::new(dynamodb.clone(), &config.state_table));
    let secrets = Arc::new(secrets_store(config, sdk));
    let amazon = amazon_client(config, &dynamodb, secrets.clone(), API_RETRY, config.metrics()).await?;
    Ok(ApiState::new(ApiParts {
        accounts: state.clone(),
        jobs: state.clone(),
        orders: Arc::new(DynamoOrderStore::new(dynamodb, &config.orders_table)),
        secrets,
        schedules: Arc::new(schedules(config, sdk)?),
        idempotency: state.clone(),
        outbox: state.clone(),
        feed_queue: Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(sdk),
            Config::require(&config.feed_queue_url, "FEED_QUEUE_URL")?,
        )),
        amazon,
        clock: config.clock(),
        naming: naming(config),
        links: state,
        connect: config.connect.clone(),
        notification_queue_arn: config.notification_queue_arn.clone(),
    }))
}

/// The feed submitter's and poller's use cases over DynamoDB, Secrets Manager and Amazon.
pub async fn feeds(config: &Config, sdk: &SdkConfig) -> Result<FeedProcessor, StartupError> {
    Ok(feeds_over(config, backend(config, sdk).await?))
}

fn feeds_over(config: &Config, backend: Backend) -> FeedProcessor {
    let Backend {
        state,
        secrets,
        metrics,
        amazon,
        ..
    } = backend;
    FeedProcessor {
        accounts: state.clone(),
        secrets,
        outbox: state.clone(),
        leases: state,
        amazon,
        clock: config.clock(),
        metrics,
        naming: naming(config),
        settings: FeedSettings::new(config.feed_window, config.cancel_window),
    }
}

/// The API's retry policy: two attempts, short waits, so an answer comes well within API Gateway's 30 s.
pub const API_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 2,
    base_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(2),
    attempt_timeout: Duration::from_secs(10),
};

/// The account use cases over DynamoDB, Secrets Manager and EventBridge Scheduler.
pub fn accounts(config: &Config, sdk: &SdkConfig) -> Result<Accounts, StartupError> {
    Ok(Accounts::new(
        Arc::new(DynamoStateStore::new(
            aws_sdk_dynamodb::Client::new(sdk),
            &config.state_table,
        )),
        Arc::new(secrets_store(config, sdk)),
        Arc::new(schedules(config, sdk)?),
        config.clock(),
        naming(config),
    ))
}

/// How long functions trust the application's LWA credentials they read before reading them again.
pub const CREDENTIALS_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The SP-API client with the application's LWA credentials and the shared DynamoDB rate buckets.
async fn amazon_client(
    config: &Config,
    dynamodb: &aws_sdk_dynamodb::Client,
    secrets: Arc<dyn SecretStore>,
    retry: RetryPolicy,
    metrics: Metrics,
) -> Result<AmazonClient, StartupError> {
    let credentials_json = secrets
        .get(&config.lwa_credentials_secret)
        .await?
        .ok_or_else(|| StartupError::NoCredentials(config.lwa_credentials_secret.clone()))?;
    let clock = config.clock();
    // Read again every few minutes and whenever LWA refuses them: a rotated client secret reaches warm
    // functions without a deploy.
    let credentials = Credentials::from_source(
        LwaCredentials::from_secret_json(&credentials_json)?,
        clock.now(),
        CredentialsSource {
            secrets,
            name: config.lwa_credentials_secret.clone(),
            lifetime: CREDENTIALS_LIFETIME,
        },
    );
    let limiter = Arc::new(DynamoRateLimiter::new(
        dynamodb.clone(),
        &config.state_table,
        clock.clone(),
    ));
    Ok(AmazonClient::new(
        AmazonClient::http_client()?,
        Endpoints::from_config(config),
        credentials,
        clock,
        limiter,
        retry,
        metrics,
    ))
}

fn schedules(config: &Config, sdk: &SdkConfig) -> Result<EventBridgeSchedules, StartupError> {
    let target = ScheduleTarget {
        group: Config::require(&config.schedule_group, "SCHEDULE_GROUP")?.to_owned(),
        function_arn: Config::require(&config.requester_arn, "REQUESTER_ARN")?.to_owned(),
        role_arn: Config::require(&config.scheduler_role_arn, "SCHEDULER_ROLE_ARN")?.to_owned(),
        dead_letter_arn: Config::require(&config.schedule_dlq_arn, "SCHEDULE_DLQ_ARN")?.to_owned(),
    };
    Ok(EventBridgeSchedules::new(
        aws_sdk_scheduler::Client::new(sdk),
        target,
    ))
}

/// An S3 client; path-style addressing when an endpoint is configured (a local stack on 127.0.0.1 has no
/// bucket subdomains).
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn secrets_store(config: &Config, sdk: &SdkConfig) -> SecretsManagerStore {
    SecretsManagerStore::new(
        aws_sdk_secretsmanager::Client::new(sdk),
        config.data_key_id.clone(),
    )
}

fn naming(config: &Config) -> AccountNaming {
    AccountNaming {
        secret_prefix: config.account_secret_prefix.clone(),
        lwa_secret: config.lwa_credentials_secret.clone(),
    }
}

/// Deliveries of an application notification before it is dead-lettered; matches the template's queue.
pub const APP_NOTIFICATION_MAX_RECEIVES: u32 = 5;

/// The credentials function's use cases: the application's LWA secret in Secrets Manager, rotated through
/// Amazon's endpoint for North America (where "Rotate your application's client secret" calls it), and the
/// notification queue's dead letters.
pub async fn credentials(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<(AppCredentials, Option<DeadLetters>), StartupError> {
    let Backend {
        secrets,
        metrics,
        amazon,
        ..
    } = backend(config, sdk).await?;
    let credentials = AppCredentials::new(
        secrets,
        config.lwa_credentials_secret.clone(),
        amazon,
        config.clock(),
        metrics,
        crate::domain::Region::Na,
    );
    let dead_letters = config
        .app_notifications_dlq_url
        .as_deref()
        .map(|url| DeadLetters {
            queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), url))
                as Arc<dyn crate::ports::MessageQueue>,
            max_receives: APP_NOTIFICATION_MAX_RECEIVES,
        });
    Ok((credentials, dead_letters))
}

/// Deliveries of a seller notification before it is dead-lettered (the template's `maxReceiveCount`).
pub const NOTIFICATION_MAX_RECEIVES: u32 = 5;

/// The notification handler (the import's and the feed poller's use cases) and its dead letters.
pub async fn notifications(
    config: &Config,
    sdk: &SdkConfig,
) -> Result<(NotificationHandler, Option<DeadLetters>), StartupError> {
    // One backend (one Amazon client, one read of the application's credentials) and one clock for both.
    let backend = backend(config, sdk).await?;
    let import = import_over(config, sdk, backend.clone())?;
    let feeds = FeedProcessor {
        clock: import.clock.clone(),
        ..feeds_over(config, backend)
    };
    let handler = NotificationHandler { import, feeds };
    let dead_letters = config.notifications_dlq_url.as_deref().map(|url| DeadLetters {
        queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), url))
            as Arc<dyn crate::ports::MessageQueue>,
        max_receives: NOTIFICATION_MAX_RECEIVES,
    });
    Ok((handler, dead_letters))
}

/// The parse queue's dead letters, when the configuration names the dead-letter queue.
pub fn parse_dead_letters(config: &Config, sdk: &SdkConfig) -> Option<DeadLetters> {
    let url = config.parse_dlq_url.as_deref()?;
    Some(DeadLetters {
        queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), url)),
        max_receives: PARSE_MAX_RECEIVES,
    })
}
