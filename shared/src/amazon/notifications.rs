//! Notifications API v1 (`notifications-api-model/notifications.json`): the stack's SQS destination and each
//! seller's subscriptions to it.
//!
//! Destinations and subscriptions by id are the application's, so those calls are grantless (an LWA
//! `client_credentials` token with the scope `sellingpartnerapi::notifications`); `createSubscription` and
//! `getSubscription` are made with the seller's token. Every operation's usage plan is 1 request a second,
//! burst 5.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::application::APPLICATION_ACCOUNT;
use super::auth::SellerAuth;
use super::client::{AmazonClient, ApiRequest, segment};
use super::rate::Operation;
use crate::domain::{NotificationType, Region};
use crate::error::AmazonError;

/// The LWA scope of the Notifications API's grantless token.
pub const NOTIFICATIONS_SCOPE: &str = "sellingpartnerapi::notifications";

/// A destination of the application's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Amazon's id.
    pub destination_id: String,
    /// The name it was given.
    pub name: String,
    /// The SQS queue's ARN, for SQS destinations.
    pub sqs_arn: Option<String>,
}

/// A seller's subscription to one notification type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Amazon's id.
    pub subscription_id: String,
    /// The destination it delivers to.
    pub destination_id: String,
    /// The payload version.
    pub payload_version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDestination {
    destination_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    resource: RawResource,
}

#[derive(Deserialize, Default)]
struct RawResource {
    #[serde(default)]
    sqs: Option<RawSqs>,
}

#[derive(Deserialize)]
struct RawSqs {
    arn: String,
}

impl From<RawDestination> for Destination {
    fn from(raw: RawDestination) -> Destination {
        Destination {
            destination_id: raw.destination_id,
            name: raw.name,
            sqs_arn: raw.resource.sqs.map(|s| s.arn),
        }
    }
}

#[derive(Deserialize)]
struct Payload<T> {
    payload: T,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateDestinationRequest<'a> {
    name: &'a str,
    resource_specification: ResourceSpecification<'a>,
}

#[derive(Serialize)]
struct ResourceSpecification<'a> {
    sqs: SqsResource<'a>,
}

#[derive(Serialize)]
struct SqsResource<'a> {
    arn: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateSubscriptionRequest<'a> {
    payload_version: &'a str,
    destination_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    processing_directive: Option<serde_json::Value>,
}

/// The `processingDirective` a subscription of `notification_type` needs: `ORDER_CHANGE` takes an event filter
/// of its own type (Amazon refuses it without one, and refuses `marketplaceIds` in it: every marketplace's
/// changes come, and the handler keeps those of the account's marketplaces); the status changes and the
/// buyers' cancellation requests are what sellersync acts on.
fn processing_directive(notification_type: NotificationType) -> Option<serde_json::Value> {
    (notification_type == NotificationType::OrderChange).then(|| {
        serde_json::json!({
            "eventFilter": {
                "eventFilterType": "ORDER_CHANGE",
                "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"],
            }
        })
    })
}

/// The caller of a grantless call made for the application at `region`'s endpoint.
fn application(region: Region) -> SellerAuth {
    SellerAuth::new(APPLICATION_ACCOUNT, region, "")
}

impl AmazonClient {
    async fn grantless_request(
        &self,
        operation: Operation,
        method: Method,
        path: String,
    ) -> Result<ApiRequest, AmazonError> {
        let mut request = ApiRequest::new(operation, method, path);
        request.grantless_token = Some(self.grantless_token(NOTIFICATIONS_SCOPE).await?);
        Ok(request)
    }

    /// `getDestinations` at `region`'s endpoint.
    pub async fn get_destinations(&self, region: Region) -> Result<Vec<Destination>, AmazonError> {
        let request = self
            .grantless_request(
                Operation::GetDestinations,
                Method::GET,
                "/notifications/v1/destinations".to_owned(),
            )
            .await?;
        let answer: Payload<Vec<RawDestination>> = self.send_json(&application(region), request).await?;
        Ok(answer.payload.into_iter().map(Destination::from).collect())
    }

    /// `createDestination` of the SQS queue `arn` at `region`'s endpoint. Amazon answers 409 when the
    /// application already has a destination for the queue ([`AmazonError::BadRequest`] with status 409).
    pub async fn create_destination(
        &self,
        region: Region,
        name: &str,
        arn: &str,
    ) -> Result<Destination, AmazonError> {
        let request = self
            .grantless_request(
                Operation::CreateDestination,
                Method::POST,
                "/notifications/v1/destinations".to_owned(),
            )
            .await?
            .json(&CreateDestinationRequest {
                name,
                resource_specification: ResourceSpecification {
                    sqs: SqsResource { arn },
                },
            })?;
        let answer: Payload<RawDestination> = self.send_json(&application(region), request).await?;
        Ok(answer.payload.into())
    }

    /// `getSubscription` of the seller's for `notification_type`; `None` when there is none (404).
    pub async fn get_subscription(
        &self,
        seller: &SellerAuth,
        notification_type: NotificationType,
    ) -> Result<Option<Subscription>, AmazonError> {
        let request = ApiRequest::new(
            Operation::GetSubscription,
            Method::GET,
            format!("/notifications/v1/subscriptions/{notification_type}"),
        );
        match self.send_json::<Payload<Subscription>>(seller, request).await {
            Ok(answer) => Ok(Some(answer.payload)),
            Err(AmazonError::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `createSubscription` of the seller's for `notification_type` to `destination_id`. Amazon answers 409
    /// when the seller already has one for the type.
    pub async fn create_subscription(
        &self,
        seller: &SellerAuth,
        notification_type: NotificationType,
        destination_id: &str,
    ) -> Result<Subscription, AmazonError> {
        let request = ApiRequest::new(
            Operation::CreateSubscription,
            Method::POST,
            format!("/notifications/v1/subscriptions/{notification_type}"),
        )
        .json(&CreateSubscriptionRequest {
            payload_version: notification_type.payload_version(),
            destination_id,
            processing_directive: processing_directive(notification_type),
        })?;
        let answer: Payload<Subscription> = self.send_json(seller, request).await?;
        Ok(answer.payload)
    }

    /// `deleteSubscriptionById` at `region`'s endpoint; a subscription Amazon does not know (404) is deleted.
    pub async fn delete_subscription_by_id(
        &self,
        region: Region,
        notification_type: NotificationType,
        subscription_id: &str,
    ) -> Result<(), AmazonError> {
        let id = segment(subscription_id);
        let request = self
            .grantless_request(
                Operation::DeleteSubscriptionById,
                Method::DELETE,
                format!("/notifications/v1/subscriptions/{notification_type}/{id}"),
            )
            .await?;
        match self.send(&application(region), request).await {
            Ok(_) | Err(AmazonError::NotFound { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }
}
