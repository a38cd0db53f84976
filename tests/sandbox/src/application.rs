//! The application's own credentials, as Amazon keeps them, and the Application Management API
//! (`application-management-api-model/application_2023-11-30.json`): `rotateApplicationClientSecret`.
//!
//! - The call is grantless: an access token from LWA's `client_credentials` grant with the scope
//!   `sellingpartnerapi::client_credential:rotation` (Amazon's "Rotate your application's client secret"
//!   tutorial, Step 2; <https://developer-docs.amazon.com/sp-api/docs/rotate-your-application-client-secret>).
//!   Any other token is refused as Amazon refuses a token that may not reach a resource (403 `Unauthorized`).
//! - It answers 204 with no body: "a new client secret is generated and sent to the developer-registered queue"
//!   (the model's description). The sandbox keeps what it sends in an outbox that the local runner (Amazon's
//!   delivery) takes and puts on the stack's queue.
//! - The notification is `APPLICATION_OAUTH_CLIENT_NEW_SECRET` with
//!   `payload.applicationOAuthClientNewSecret` = `clientId`, `newClientSecret`, `newClientSecretExpiryTime`,
//!   `oldClientSecretExpiryTime`, in the envelope of every SP-API notification (`notificationVersion`,
//!   `notificationType`, `payloadVersion`, `eventTime`, `notificationMetadata`), as Amazon's credential-rotation
//!   sample solution shows it (amzn/selling-partner-api-samples, its README's "Test the Update Secrets
//!   Workflow"): the old secret "will expire in 7 days", the new one 180 days after it was made (the sample's
//!   times: 2024-01-10 to 2024-07-08, and Amazon's 180-day rotation requirement).
//! - LWA takes every secret of the application until its expiry, and answers `invalid_client` after it
//!   ([`super::auth::lwa_token`]).

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use super::auth::CLIENT_ID;
use super::state::World;

/// The scope of the rotation's grantless token.
pub const ROTATION_SCOPE: &str = "sellingpartnerapi::client_credential:rotation";
/// A client secret lasts this long after it is made.
pub(crate) const SECRET_LIFETIME: TimeDelta = TimeDelta::days(180);
/// After a rotation, the secrets made before it last this much longer at most.
pub(crate) const OLD_SECRET_GRACE: TimeDelta = TimeDelta::days(7);
/// The application's id in notifications' metadata (Amazon's `amzn1.sp.solution...` shape).
const SOLUTION_ID: &str = "amzn1.sp.solution.5a4d3f2e-1b0c-4d5e-8f9a-0b1c2d3e4f5a";

const SECRET_ALPHABET: &[u8] = b"0123456789abcdef";

/// One client secret of the application.
#[derive(Debug, Clone)]
pub(crate) struct AppSecret {
    pub(crate) value: String,
    pub(crate) expires_at: DateTime<Utc>,
}

/// The application's secrets (newest last) and the notifications waiting for delivery.
#[derive(Debug, Default)]
pub(crate) struct Application {
    pub(crate) secrets: Vec<AppSecret>,
    /// Notifications not yet taken for delivery.
    pub(crate) outbox: Vec<Value>,
    /// Rotations done.
    pub(crate) rotations: u64,
}

impl Application {
    /// The application with its first secret, made at `now`.
    pub(crate) fn new(first_secret: &str, now: DateTime<Utc>) -> Application {
        Application {
            secrets: vec![AppSecret {
                value: first_secret.to_owned(),
                expires_at: now + SECRET_LIFETIME,
            }],
            outbox: Vec::new(),
            rotations: 0,
        }
    }

    /// Whether `secret` is one of the application's and not expired at `now`.
    pub(crate) fn accepts(&self, secret: &str, now: DateTime<Utc>) -> bool {
        self.secrets
            .iter()
            .any(|s| s.value == secret && now < s.expires_at)
    }

    /// The newest secret.
    pub(crate) fn current(&self) -> Option<&AppSecret> {
        self.secrets.last()
    }
}

/// `rotateApplicationClientSecret` at `now`: a new secret, the older ones cut to a week, and the notification
/// carrying the new one queued for delivery.
pub(crate) fn rotate(world: &mut World, now: DateTime<Utc>) {
    let value = format!("amzn1.oa2-cs.v1.{}", world.random_string(64, SECRET_ALPHABET));
    let old_expiry = now + OLD_SECRET_GRACE;
    for secret in &mut world.application.secrets {
        secret.expires_at = secret.expires_at.min(old_expiry);
    }
    let new = AppSecret {
        value: value.clone(),
        expires_at: now + SECRET_LIFETIME,
    };
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let notification = json!({
        "notificationVersion": "1.0",
        "notificationType": "APPLICATION_OAUTH_CLIENT_NEW_SECRET",
        "payloadVersion": "2023-11-30",
        "eventTime": stamp(now),
        "payload": {
            "applicationOAuthClientNewSecret": {
                "clientId": CLIENT_ID,
                "newClientSecret": value,
                "newClientSecretExpiryTime": stamp(new.expires_at),
                "oldClientSecretExpiryTime": stamp(old_expiry),
            }
        },
        "notificationMetadata": {
            "applicationId": SOLUTION_ID,
            "subscriptionId": world.uuid().to_string(),
            "publishTime": stamp(now),
            "notificationId": world.uuid().to_string(),
        }
    });
    world.application.secrets.push(new);
    world.application.rotations += 1;
    world.application.outbox.push(notification);
}

/// Takes the notifications waiting for delivery.
pub(crate) fn take_notifications(world: &mut World) -> Vec<Value> {
    world.application.outbox.drain(..).collect()
}
