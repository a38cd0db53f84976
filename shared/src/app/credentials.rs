//! The application's LWA client secret over its life. Amazon requires a new secret every 180 days, or every call
//! of every account fails (`invalid_client`). So:
//!
//! - a daily check reads when the stored secret expires and rotates it ([`ROTATE_BEFORE`] ahead) through the
//!   Application Management API, or at once when Amazon says it expires (`APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`);
//! - Amazon sends the new secret to the stack's queue (`APPLICATION_OAUTH_CLIENT_NEW_SECRET`), and it is stored in
//!   the credentials secret, where every function reads it within minutes
//!   ([`crate::amazon::CredentialsSource`]); the old secret works for another week;
//! - the gauge [`LWA_SECRET_DAYS_LEFT`] and the count [`LWA_ROTATION_FAILED`] drive the alarms.
//!
//! The stored secret is JSON: `clientId`, `clientSecret`, and what sellersync adds, `expiresAt` (from the
//! notification) and `rotationRequestedAt`. No secret reaches a log line.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::amazon::AmazonClient;
use crate::app::batch::{DeadLetters, HandlerError, each_message};
use crate::clock::Clock;
use crate::domain::{Problem, ProblemKind, Region};
use crate::error::{AmazonError, StoreError};
use crate::metrics::{LWA_ROTATION_FAILED, LWA_SECRET_DAYS_LEFT, MetricSet, Metrics, Unit};
use crate::ports::SecretStore;

/// Rotate this long before the stored secret expires: time enough for a failed rotation to alarm and be fixed.
pub const ROTATE_BEFORE: TimeDelta = TimeDelta::days(30);
/// A rotation whose new secret has not arrived is asked for again after this long.
pub const ROTATION_RETRY: TimeDelta = TimeDelta::days(1);

/// The credentials secret as sellersync keeps it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredCredentials {
    /// The application's LWA client id.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// When the secret expires, once a notification said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When a rotation was last asked for and its new secret has not arrived yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_requested_at: Option<DateTime<Utc>>,
    /// The last rotation that failed, until a rotation succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_failed: Option<RotationFailure>,
}

/// A rotation Amazon refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationFailure {
    /// When.
    pub at: DateTime<Utc>,
    /// Amazon's error, as the client classified it (never a secret).
    pub reason: String,
}

/// Warn this long before the stored secret expires (the rotation is due from [`ROTATE_BEFORE`] on, daily).
pub const WARN_BEFORE: TimeDelta = TimeDelta::days(14);

/// What an account's health says of the application's credentials at `now`: a problem when the secret expires
/// within [`WARN_BEFORE`], or the last rotation failed.
pub fn credentials_problem(stored: &StoredCredentials, now: DateTime<Utc>) -> Option<Problem> {
    if let Some(failure) = &stored.rotation_failed {
        return Some(Problem {
            kind: ProblemKind::CredentialsExpiring,
            detail: format!(
                "rotating the application's LWA client secret failed: {}",
                failure.reason
            ),
            at: failure.at,
        });
    }
    let expires_at = stored.expires_at?;
    (expires_at - now <= WARN_BEFORE).then(|| Problem {
        kind: ProblemKind::CredentialsExpiring,
        detail: format!(
            "the application's LWA client secret expires at {} and has not been rotated",
            expires_at.to_rfc3339()
        ),
        at: now,
    })
}

impl std::fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("rotation_requested_at", &self.rotation_requested_at)
            .field("rotation_failed", &self.rotation_failed)
            .finish()
    }
}

/// An application notification, as Amazon's credential-rotation sample shows them.
#[derive(Clone, PartialEq, Eq)]
pub enum AppNotification {
    /// `APPLICATION_OAUTH_CLIENT_NEW_SECRET`.
    NewSecret {
        /// The application it is for.
        client_id: String,
        /// The new secret.
        secret: String,
        /// When the new secret expires.
        expires_at: DateTime<Utc>,
        /// When the secrets before it expire.
        old_expires_at: DateTime<Utc>,
    },
    /// `APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`: the secret expires soon; rotate.
    SecretExpiry {
        /// The application it is for.
        client_id: String,
        /// When the secret expires.
        expires_at: DateTime<Utc>,
    },
}

impl std::fmt::Debug for AppNotification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppNotification::NewSecret {
                client_id,
                expires_at,
                ..
            } => write!(f, "NewSecret({client_id}, expires {expires_at})"),
            AppNotification::SecretExpiry {
                client_id,
                expires_at,
            } => write!(f, "SecretExpiry({client_id}, expires {expires_at})"),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    notification_type: String,
    payload: Payload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    #[serde(rename = "applicationOAuthClientNewSecret")]
    new_secret: Option<NewSecretPayload>,
    #[serde(rename = "applicationOAuthClientSecretExpiry")]
    expiry: Option<ExpiryPayload>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewSecretPayload {
    client_id: String,
    new_client_secret: String,
    new_client_secret_expiry_time: DateTime<Utc>,
    old_client_secret_expiry_time: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExpiryPayload {
    client_id: String,
    client_secret_expiry_time: DateTime<Utc>,
}

/// Reads a notification's body; the error names what is missing or wrong, never a value.
pub fn parse_notification(body: &str) -> Result<AppNotification, String> {
    let mut deserializer = serde_json::Deserializer::from_str(body);
    let envelope: Envelope = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        match err.inner().classify() {
            serde_json::error::Category::Data => format!("the notification's {path} is missing or wrong"),
            _ => "the notification is not JSON".to_owned(),
        }
    })?;
    match envelope.notification_type.as_str() {
        "APPLICATION_OAUTH_CLIENT_NEW_SECRET" => {
            let p = envelope
                .payload
                .new_secret
                .ok_or("the notification has no payload.applicationOAuthClientNewSecret")?;
            if p.new_client_secret.trim().is_empty() {
                return Err("the notification's newClientSecret is empty".to_owned());
            }
            Ok(AppNotification::NewSecret {
                client_id: p.client_id,
                secret: p.new_client_secret,
                expires_at: p.new_client_secret_expiry_time,
                old_expires_at: p.old_client_secret_expiry_time,
            })
        }
        "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY" => {
            let p = envelope
                .payload
                .expiry
                .ok_or("the notification has no payload.applicationOAuthClientSecretExpiry")?;
            Ok(AppNotification::SecretExpiry {
                client_id: p.client_id,
                expires_at: p.client_secret_expiry_time,
            })
        }
        other => Err(format!("notification type {other} is not one sellersync takes")),
    }
}

/// What the daily check decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationDecision {
    /// Ask Amazon for a new secret now.
    Rotate,
    /// Nothing to do; the secret has this many days left (`None`: its expiry is not known yet).
    Wait(Option<i64>),
}

/// The daily check's decision on `stored` at `now`: rotate within [`ROTATE_BEFORE`] of the expiry, unless a
/// rotation was asked for less than [`ROTATION_RETRY`] ago.
pub fn decide_rotation(stored: &StoredCredentials, now: DateTime<Utc>) -> RotationDecision {
    let Some(expires_at) = stored.expires_at else {
        return RotationDecision::Wait(None);
    };
    let left = expires_at - now;
    if left <= ROTATE_BEFORE && !rotation_pending(stored, now) {
        RotationDecision::Rotate
    } else {
        RotationDecision::Wait(Some(left.num_days()))
    }
}

/// Whether a rotation was asked for less than [`ROTATION_RETRY`] before `now` (its new secret may be on the way).
fn rotation_pending(stored: &StoredCredentials, now: DateTime<Utc>) -> bool {
    stored
        .rotation_requested_at
        .is_some_and(|at| now - at < ROTATION_RETRY)
}

/// What a new-secret notification does to `stored`: the credentials to store, or `None` when it changes
/// nothing (the same secret delivered again, or an older one delivered after a newer).
pub fn apply_new_secret(
    stored: &StoredCredentials,
    secret: &str,
    expires_at: DateTime<Utc>,
) -> Option<StoredCredentials> {
    let newer = stored.expires_at.is_none_or(|current| expires_at > current);
    (stored.client_secret != secret && newer).then(|| StoredCredentials {
        client_id: stored.client_id.clone(),
        client_secret: secret.to_owned(),
        expires_at: Some(expires_at),
        rotation_requested_at: None,
        rotation_failed: None,
    })
}

/// Why a credentials step failed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The credentials secret is missing or not JSON of the expected shape.
    #[error("the LWA credentials secret {0}")]
    Secret(String),
    /// A notification cannot be read, or is for another application.
    #[error("{0}")]
    Notification(String),
    /// Secrets Manager failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Amazon refused or failed the rotation.
    #[error("rotating the client secret failed: {0}")]
    Amazon(#[from] AmazonError),
}

impl CredentialsError {
    /// Whether trying again may help (a queue message is redelivered, others go to the dead-letter queue).
    pub fn is_retryable(&self) -> bool {
        match self {
            CredentialsError::Store(err) => err.is_retryable(),
            CredentialsError::Amazon(err) => err.is_retryable(),
            CredentialsError::Secret(_) | CredentialsError::Notification(_) => false,
        }
    }
}

/// What a step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsOutcome {
    /// A rotation was asked for.
    Rotated,
    /// A new secret was stored; it expires then.
    Stored(DateTime<Utc>),
    /// Nothing to do; days left, when known.
    Unchanged(Option<i64>),
}

/// What invokes the credentials function (see its `main.rs`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CredentialsEvent {
    /// Application notifications from the stack's notification queue.
    Notifications(SqsEvent),
    /// The daily schedule (`{"action": "check"}`), or an operator asking for a rotation now
    /// (`{"action": "rotate"}`, e.g. with `aws lambda invoke`).
    Action(ActionInput),
}

/// A scheduled or manual invocation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    /// What to do.
    pub action: Action,
}

/// What a scheduled or manual invocation asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The daily check: rotate when the secret is near its expiry.
    Check,
    /// Rotate now.
    Rotate,
}

impl HandlerError for CredentialsError {
    fn is_retryable(&self) -> bool {
        CredentialsError::is_retryable(self)
    }
}

/// The application's credentials' use cases.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    secrets: Arc<dyn SecretStore>,
    name: String,
    amazon: AmazonClient,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    region: Region,
}

impl AppCredentials {
    /// Over the secret `name` in `secrets`, rotating through `region`'s endpoint.
    pub fn new(
        secrets: Arc<dyn SecretStore>,
        name: impl Into<String>,
        amazon: AmazonClient,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
        region: Region,
    ) -> AppCredentials {
        AppCredentials {
            secrets,
            name: name.into(),
            amazon,
            clock,
            metrics,
            region,
        }
    }

    async fn stored(&self) -> Result<StoredCredentials, CredentialsError> {
        let text = self
            .secrets
            .get(&self.name)
            .await?
            .ok_or_else(|| CredentialsError::Secret(format!("{} does not exist", self.name)))?;
        serde_json::from_str(&text).map_err(|_| {
            CredentialsError::Secret(format!(
                "{} is not {{\"clientId\", \"clientSecret\"}} JSON",
                self.name
            ))
        })
    }

    async fn store(&self, credentials: &StoredCredentials) -> Result<(), CredentialsError> {
        let text = serde_json::to_string(credentials)
            .map_err(|err| CredentialsError::Secret(format!("cannot be written: {err}")))?;
        Ok(self.secrets.put(&self.name, &text).await?)
    }

    fn gauge(&self, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        if let Some(expires_at) = expires_at {
            let days = (expires_at - now).num_minutes() as f64 / (24.0 * 60.0);
            let set = MetricSet::new().value(LWA_SECRET_DAYS_LEFT, Unit::Count, days);
            self.metrics.emit(&set, now);
        }
    }

    /// The daily check: rotates when [`decide_rotation`] says so, and reports the days left.
    pub async fn check(&self) -> Result<CredentialsOutcome, CredentialsError> {
        let now = self.clock.now();
        let stored = self.stored().await?;
        self.gauge(stored.expires_at, now);
        match decide_rotation(&stored, now) {
            RotationDecision::Rotate => self.rotate_from(stored, now).await,
            RotationDecision::Wait(days) => {
                if days.is_none() {
                    tracing::warn!(
                        "the LWA client secret's expiry is unknown until Amazon sends a new secret; rotate once to learn it"
                    );
                }
                Ok(CredentialsOutcome::Unchanged(days))
            }
        }
    }

    /// Asks Amazon for a new secret now (on demand, or for an expiry notification).
    pub async fn rotate(&self) -> Result<CredentialsOutcome, CredentialsError> {
        let now = self.clock.now();
        let stored = self.stored().await?;
        self.rotate_from(stored, now).await
    }

    async fn rotate_from(
        &self,
        stored: StoredCredentials,
        now: DateTime<Utc>,
    ) -> Result<CredentialsOutcome, CredentialsError> {
        if let Err(err) = self.amazon.rotate_application_client_secret(self.region).await {
            tracing::error!(error = %err, "rotating the LWA client secret failed");
            self.metrics.emit(
                &MetricSet::new().value(LWA_ROTATION_FAILED, Unit::Count, 1.0),
                now,
            );
            return Err(err.into());
        }
        tracing::info!(client_id = %stored.client_id, "asked Amazon for a new LWA client secret");
        let requested = StoredCredentials {
            rotation_requested_at: Some(now),
            ..stored
        };
        self.store(&requested).await?;
        Ok(CredentialsOutcome::Rotated)
    }

    /// One invocation: a batch of notifications (failed ones redelivered or dead-lettered with their reason), or
    /// an action.
    pub async fn handle_event(
        &self,
        event: CredentialsEvent,
        dead_letters: Option<&DeadLetters>,
    ) -> Result<serde_json::Value, CredentialsError> {
        let value = match event {
            CredentialsEvent::Notifications(batch) => {
                serde_json::to_value(self.take_batch(batch, dead_letters).await)
            }
            CredentialsEvent::Action(ActionInput { action }) => {
                let outcome = match action {
                    Action::Check => self.check().await?,
                    Action::Rotate => self.rotate().await?,
                };
                Ok(serde_json::json!({ "outcome": format!("{outcome:?}") }))
            }
        };
        value.map_err(|err| CredentialsError::Secret(format!("answer cannot be encoded: {err}")))
    }

    /// A batch from the notification queue: each message taken on its own ([`each_message`]).
    pub async fn take_batch(&self, batch: SqsEvent, dead_letters: Option<&DeadLetters>) -> SqsBatchResponse {
        each_message(batch, dead_letters, |message| async move {
            self.take_notification(message.body.as_deref().unwrap_or_default())
                .await
                .map(drop)
        })
        .await
    }

    /// An application notification from the queue: a new secret is stored, an expiry notice rotates.
    pub async fn take_notification(&self, body: &str) -> Result<CredentialsOutcome, CredentialsError> {
        let notification = parse_notification(body).map_err(CredentialsError::Notification)?;
        let stored = self.stored().await?;
        let now = self.clock.now();
        let for_us = |client_id: &str| {
            if client_id == stored.client_id {
                Ok(())
            } else {
                Err(CredentialsError::Notification(format!(
                    "the notification is for client {client_id}, not this stack's {}",
                    stored.client_id
                )))
            }
        };
        match notification {
            AppNotification::NewSecret {
                client_id,
                secret,
                expires_at,
                old_expires_at,
            } => {
                for_us(&client_id)?;
                match apply_new_secret(&stored, &secret, expires_at) {
                    Some(next) => {
                        self.store(&next).await?;
                        tracing::info!(
                            %client_id, %expires_at, %old_expires_at,
                            "stored the new LWA client secret"
                        );
                        self.gauge(Some(expires_at), now);
                        Ok(CredentialsOutcome::Stored(expires_at))
                    }
                    None => Ok(CredentialsOutcome::Unchanged(
                        stored.expires_at.map(|e| (e - now).num_days()),
                    )),
                }
            }
            AppNotification::SecretExpiry {
                client_id,
                expires_at,
            } => {
                for_us(&client_id)?;
                tracing::warn!(%expires_at, "Amazon says the LWA client secret expires soon");
                if rotation_pending(&stored, now) {
                    return Ok(CredentialsOutcome::Unchanged(Some((expires_at - now).num_days())));
                }
                self.rotate_from(stored, now).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(days: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::days(days)
    }

    fn stored(expires: Option<i64>, requested: Option<i64>) -> StoredCredentials {
        StoredCredentials {
            client_id: "amzn1.application-oa2-client.x".into(),
            client_secret: "old".into(),
            expires_at: expires.map(t),
            rotation_requested_at: requested.map(t),
            rotation_failed: None,
        }
    }

    #[test]
    fn health_warns_two_weeks_ahead_and_after_a_failed_rotation() {
        assert_eq!(credentials_problem(&stored(None, None), t(0)), None);
        assert_eq!(credentials_problem(&stored(Some(15), None), t(0)), None);
        let near = credentials_problem(&stored(Some(14), None), t(0)).expect("two weeks left");
        assert_eq!(near.kind, ProblemKind::CredentialsExpiring);
        assert!(near.detail.contains("expires at"), "{}", near.detail);
        let failed = StoredCredentials {
            rotation_failed: Some(RotationFailure {
                at: t(-1),
                reason: "403 Unauthorized".into(),
            }),
            ..stored(Some(90), None)
        };
        let problem = credentials_problem(&failed, t(0)).expect("a failed rotation");
        assert!(problem.detail.contains("403 Unauthorized"), "{}", problem.detail);
        assert!(
            !ProblemKind::CredentialsExpiring.needs_action(),
            "the accounts still work"
        );
    }

    #[test]
    fn the_check_rotates_a_month_ahead_and_not_twice_a_day() {
        let cases = [
            (stored(None, None), RotationDecision::Wait(None)),
            (stored(Some(90), None), RotationDecision::Wait(Some(90))),
            (stored(Some(31), None), RotationDecision::Wait(Some(31))),
            (stored(Some(30), None), RotationDecision::Rotate),
            (stored(Some(-1), None), RotationDecision::Rotate),
            (stored(Some(20), Some(0)), RotationDecision::Wait(Some(20))),
            (stored(Some(20), Some(-1)), RotationDecision::Rotate),
        ];
        for (credentials, expected) in cases {
            assert_eq!(decide_rotation(&credentials, t(0)), expected, "{credentials:?}");
        }
    }

    #[test]
    fn a_new_secret_replaces_the_stored_one_only_when_it_is_newer() {
        let current = stored(Some(20), Some(0));
        let next = apply_new_secret(&current, "new", t(200)).expect("stored");
        assert_eq!(
            (
                next.client_secret.as_str(),
                next.expires_at,
                next.rotation_requested_at
            ),
            ("new", Some(t(200)), None)
        );
        assert_eq!(apply_new_secret(&next, "new", t(200)), None, "delivered twice");
        assert_eq!(apply_new_secret(&next, "older", t(180)), None, "out of order");
        assert!(
            apply_new_secret(&stored(None, None), "new", t(1)).is_some(),
            "expiry unknown"
        );
        assert!(!format!("{next:?}").contains("new\""), "{next:?}");
    }

    #[test]
    fn notifications_are_read_as_amazons_sample_shows_them_and_errors_name_the_field() {
        let body = r#"{"notificationVersion":"1.0","notificationType":"APPLICATION_OAUTH_CLIENT_NEW_SECRET",
            "payloadVersion":"2023-11-30","eventTime":"2024-01-10T22:09:17.456Z",
            "payload":{"applicationOAuthClientNewSecret":{"clientId":"amzn1.application-oa2-client.6X",
              "newClientSecret":"amzn1.oa2-cs.v1.8b6X","newClientSecretExpiryTime":"2024-07-08T22:09:17.198Z",
              "oldClientSecretExpiryTime":"2024-01-17T22:09:17.180Z"}},
            "notificationMetadata":{"applicationId":"amzn1.sp.solution.6X","subscriptionId":"8594dc0e",
              "publishTime":"2024-01-10T22:09:18.706Z","notificationId":"b0805eb9"}}"#;
        let AppNotification::NewSecret {
            secret, expires_at, ..
        } = parse_notification(body).unwrap()
        else {
            panic!("not a new secret");
        };
        assert_eq!(secret, "amzn1.oa2-cs.v1.8b6X");
        assert_eq!(
            expires_at,
            "2024-07-08T22:09:17.198Z".parse::<DateTime<Utc>>().unwrap()
        );
        let expiry = r#"{"notificationVersion":"1.0","notificationType":"APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY",
            "payloadVersion":"2023-11-30","eventTime":"2024-01-10T02:15:10.045Z",
            "payload":{"applicationOAuthClientSecretExpiry":{"clientId":"amzn1.application-oa2-client.x",
              "clientSecretExpiryTime":"2024-03-03T22:06:39.224Z","clientSecretExpiryReason":"PERIODIC_ROTATION"}}}"#;
        assert!(matches!(
            parse_notification(expiry),
            Ok(AppNotification::SecretExpiry { .. })
        ));
        let missing = body.replace("newClientSecretExpiryTime", "expiry");
        let err = parse_notification(&missing).unwrap_err();
        assert!(err.contains("applicationOAuthClientNewSecret"), "{err}");
        assert!(!err.contains("8b6X"), "{err}");
        assert!(parse_notification("{").unwrap_err().contains("not JSON"));
        let other = body.replace("APPLICATION_OAUTH_CLIENT_NEW_SECRET", "ORDER_CHANGE");
        assert!(parse_notification(&other).unwrap_err().contains("ORDER_CHANGE"));
    }
}
