//! The operations the sandbox answers and Amazon's default usage plan (rate and burst) of each.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An operation the sandbox meters, injects faults into and counts in its statistics.
///
/// Serialized with Amazon's operation ids (`createReport`), plus `lwaToken` for the Login with Amazon token
/// exchange, `downloadDocument` for fetching a document from its presigned URL and `uploadDocument` for putting
/// a feed document to its presigned URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Operation {
    /// `POST /auth/o2/token` (Login with Amazon; not rate-limited by a usage plan).
    LwaToken,
    /// Tokens API `createRestrictedDataToken`.
    CreateRestrictedDataToken,
    /// Reports API `getReports`.
    GetReports,
    /// Reports API `createReport`.
    CreateReport,
    /// Reports API `getReport`.
    GetReport,
    /// Reports API `cancelReport`.
    CancelReport,
    /// Reports API `getReportDocument`.
    GetReportDocument,
    /// `GET` of a document's presigned URL (S3 in production; not rate-limited).
    DownloadDocument,
    /// Feeds API `createFeedDocument`.
    CreateFeedDocument,
    /// Feeds API `createFeed`.
    CreateFeed,
    /// Feeds API `getFeed`.
    GetFeed,
    /// Feeds API `getFeeds`.
    GetFeeds,
    /// Feeds API `cancelFeed`.
    CancelFeed,
    /// Feeds API `getFeedDocument`.
    GetFeedDocument,
    /// `PUT` of a feed document to its presigned URL (S3 in production; not rate-limited).
    UploadDocument,
    /// Orders API v2026-01-01 `getOrder`.
    GetOrder,
    /// Orders API v2026-01-01 `searchOrders`.
    SearchOrders,
    /// Sellers API `getMarketplaceParticipations`.
    GetMarketplaceParticipations,
    /// Application Management API `rotateApplicationClientSecret` (grantless).
    RotateApplicationClientSecret,
    /// Notifications API `createDestination` (grantless).
    CreateDestination,
    /// Notifications API `getDestinations` (grantless).
    GetDestinations,
    /// Notifications API `getDestination` (grantless).
    GetDestination,
    /// Notifications API `deleteDestination` (grantless).
    DeleteDestination,
    /// Notifications API `createSubscription`.
    CreateSubscription,
    /// Notifications API `getSubscription`.
    GetSubscription,
    /// Notifications API `getSubscriptions`.
    GetSubscriptions,
    /// Notifications API `getSubscriptionById` (grantless).
    GetSubscriptionById,
    /// Notifications API `deleteSubscriptionById` (grantless).
    DeleteSubscriptionById,
}

impl Operation {
    /// Every operation, in a stable order.
    pub const ALL: [Operation; 28] = [
        Operation::LwaToken,
        Operation::CreateRestrictedDataToken,
        Operation::GetReports,
        Operation::CreateReport,
        Operation::GetReport,
        Operation::CancelReport,
        Operation::GetReportDocument,
        Operation::DownloadDocument,
        Operation::CreateFeedDocument,
        Operation::CreateFeed,
        Operation::GetFeed,
        Operation::GetFeeds,
        Operation::CancelFeed,
        Operation::GetFeedDocument,
        Operation::UploadDocument,
        Operation::GetOrder,
        Operation::SearchOrders,
        Operation::GetMarketplaceParticipations,
        Operation::RotateApplicationClientSecret,
        Operation::CreateDestination,
        Operation::GetDestinations,
        Operation::GetDestination,
        Operation::DeleteDestination,
        Operation::CreateSubscription,
        Operation::GetSubscription,
        Operation::GetSubscriptions,
        Operation::GetSubscriptionById,
        Operation::DeleteSubscriptionById,
    ];

    /// The operation id as Amazon's models spell it (`createReport`), or the sandbox's own name.
    pub fn name(self) -> &'static str {
        match self {
            Operation::LwaToken => "lwaToken",
            Operation::CreateRestrictedDataToken => "createRestrictedDataToken",
            Operation::GetReports => "getReports",
            Operation::CreateReport => "createReport",
            Operation::GetReport => "getReport",
            Operation::CancelReport => "cancelReport",
            Operation::GetReportDocument => "getReportDocument",
            Operation::DownloadDocument => "downloadDocument",
            Operation::CreateFeedDocument => "createFeedDocument",
            Operation::CreateFeed => "createFeed",
            Operation::GetFeed => "getFeed",
            Operation::GetFeeds => "getFeeds",
            Operation::CancelFeed => "cancelFeed",
            Operation::GetFeedDocument => "getFeedDocument",
            Operation::UploadDocument => "uploadDocument",
            Operation::GetOrder => "getOrder",
            Operation::SearchOrders => "searchOrders",
            Operation::GetMarketplaceParticipations => "getMarketplaceParticipations",
            Operation::RotateApplicationClientSecret => "rotateApplicationClientSecret",
            Operation::CreateDestination => "createDestination",
            Operation::GetDestinations => "getDestinations",
            Operation::GetDestination => "getDestination",
            Operation::DeleteDestination => "deleteDestination",
            Operation::CreateSubscription => "createSubscription",
            Operation::GetSubscription => "getSubscription",
            Operation::GetSubscriptions => "getSubscriptions",
            Operation::GetSubscriptionById => "getSubscriptionById",
            Operation::DeleteSubscriptionById => "deleteSubscriptionById",
        }
    }

    /// Whether this is an SP-API operation (JSON error bodies, access token, usage plan).
    pub fn is_sp_api(self) -> bool {
        !matches!(
            self,
            Operation::LwaToken | Operation::DownloadDocument | Operation::UploadDocument
        )
    }

    /// The operation's default usage plan, if it has one.
    pub fn usage_plan(self) -> Option<&'static UsagePlan> {
        UsagePlan::find(self.name())
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Operation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Operation::ALL
            .into_iter()
            .find(|op| op.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown operation {s:?}"))
    }
}

/// One row of Amazon's default usage plans: a token bucket refilled at `rate` tokens a second up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsagePlan {
    /// The API model, e.g. `reports_2021-06-30`.
    pub model: &'static str,
    /// The operation id, e.g. `createReport`.
    pub operation: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Path template as in the model.
    pub path: &'static str,
    /// Requests per second the bucket refills.
    pub rate: f64,
    /// Bucket size; buckets start full.
    pub burst: u32,
}

impl UsagePlan {
    /// The default plan of an operation id.
    pub fn find(operation: &str) -> Option<&'static UsagePlan> {
        USAGE_PLANS.iter().find(|plan| plan.operation == operation)
    }
}

const fn plan(
    model: &'static str,
    operation: &'static str,
    method: &'static str,
    path: &'static str,
    rate: f64,
    burst: u32,
) -> UsagePlan {
    UsagePlan {
        model,
        operation,
        method,
        path,
        rate,
        burst,
    }
}

/// Amazon's default usage plans (reference: `spapi-models/sandbox-examples/usage-plans.tsv`), kept as code so
/// the sandbox needs no file at run time. Orders and Notifications rows are here for the APIs to come.
pub static USAGE_PLANS: &[UsagePlan] = &[
    // orders_2026-01-01.json, each operation's "Usage Plan" table; listed before v0's getOrder so the
    // operation id finds this version's plan.
    plan(
        "orders_2026-01-01",
        "getOrder",
        "GET",
        "/orders/2026-01-01/orders/{orderId}",
        0.5,
        30,
    ),
    plan(
        "orders_2026-01-01",
        "searchOrders",
        "GET",
        "/orders/2026-01-01/orders",
        0.0056,
        20,
    ),
    // sellers.json, getMarketplaceParticipations' "Usage Plan" table (the TSV has no Sellers API rows).
    plan(
        "sellers",
        "getMarketplaceParticipations",
        "GET",
        "/sellers/v1/marketplaceParticipations",
        0.016,
        15,
    ),
    // application_2023-11-30.json, rotateApplicationClientSecret's "Usage Plan" table.
    plan(
        "application_2023-11-30",
        "rotateApplicationClientSecret",
        "POST",
        "/applications/2023-11-30/clientSecret",
        0.0167,
        1,
    ),
    plan(
        "reports_2021-06-30",
        "getReports",
        "GET",
        "/reports/2021-06-30/reports",
        0.0222,
        10,
    ),
    plan(
        "reports_2021-06-30",
        "createReport",
        "POST",
        "/reports/2021-06-30/reports",
        0.0167,
        15,
    ),
    plan(
        "reports_2021-06-30",
        "cancelReport",
        "DELETE",
        "/reports/2021-06-30/reports/{reportId}",
        0.0222,
        10,
    ),
    plan(
        "reports_2021-06-30",
        "getReport",
        "GET",
        "/reports/2021-06-30/reports/{reportId}",
        2.0,
        15,
    ),
    plan(
        "reports_2021-06-30",
        "getReportSchedules",
        "GET",
        "/reports/2021-06-30/schedules",
        0.0222,
        10,
    ),
    plan(
        "reports_2021-06-30",
        "createReportSchedule",
        "POST",
        "/reports/2021-06-30/schedules",
        0.0222,
        10,
    ),
    plan(
        "reports_2021-06-30",
        "cancelReportSchedule",
        "DELETE",
        "/reports/2021-06-30/schedules/{reportScheduleId}",
        0.0222,
        10,
    ),
    plan(
        "reports_2021-06-30",
        "getReportSchedule",
        "GET",
        "/reports/2021-06-30/schedules/{reportScheduleId}",
        0.0222,
        10,
    ),
    plan(
        "reports_2021-06-30",
        "getReportDocument",
        "GET",
        "/reports/2021-06-30/documents/{reportDocumentId}",
        0.0167,
        15,
    ),
    plan(
        "feeds_2021-06-30",
        "getFeeds",
        "GET",
        "/feeds/2021-06-30/feeds",
        0.0222,
        10,
    ),
    plan(
        "feeds_2021-06-30",
        "createFeed",
        "POST",
        "/feeds/2021-06-30/feeds",
        0.0083,
        15,
    ),
    plan(
        "feeds_2021-06-30",
        "cancelFeed",
        "DELETE",
        "/feeds/2021-06-30/feeds/{feedId}",
        2.0,
        15,
    ),
    plan(
        "feeds_2021-06-30",
        "getFeed",
        "GET",
        "/feeds/2021-06-30/feeds/{feedId}",
        2.0,
        15,
    ),
    plan(
        "feeds_2021-06-30",
        "createFeedDocument",
        "POST",
        "/feeds/2021-06-30/documents",
        0.5,
        15,
    ),
    plan(
        "feeds_2021-06-30",
        "getFeedDocument",
        "GET",
        "/feeds/2021-06-30/documents/{feedDocumentId}",
        0.0222,
        10,
    ),
    plan("ordersV0", "getOrders", "GET", "/orders/v0/orders", 0.0167, 20),
    plan(
        "ordersV0",
        "getOrder",
        "GET",
        "/orders/v0/orders/{orderId}",
        0.5,
        30,
    ),
    plan(
        "ordersV0",
        "getOrderBuyerInfo",
        "GET",
        "/orders/v0/orders/{orderId}/buyerInfo",
        0.5,
        30,
    ),
    plan(
        "ordersV0",
        "getOrderAddress",
        "GET",
        "/orders/v0/orders/{orderId}/address",
        0.5,
        30,
    ),
    plan(
        "ordersV0",
        "getOrderItems",
        "GET",
        "/orders/v0/orders/{orderId}/orderItems",
        0.5,
        30,
    ),
    plan(
        "ordersV0",
        "getOrderItemsBuyerInfo",
        "GET",
        "/orders/v0/orders/{orderId}/orderItems/buyerInfo",
        0.5,
        30,
    ),
    plan(
        "ordersV0",
        "updateShipmentStatus",
        "POST",
        "/orders/v0/orders/{orderId}/shipment",
        5.0,
        15,
    ),
    plan(
        "ordersV0",
        "getOrderRegulatedInfo",
        "GET",
        "/orders/v0/orders/{orderId}/regulatedInfo",
        0.5,
        30,
    ),
    plan(
        "ordersV0",
        "updateVerificationStatus",
        "PATCH",
        "/orders/v0/orders/{orderId}/regulatedInfo",
        0.5,
        30,
    ),
    plan(
        "ordersV0",
        "confirmShipment",
        "POST",
        "/orders/v0/orders/{orderId}/shipmentConfirmation",
        2.0,
        10,
    ),
    plan(
        "tokens_2021-03-01",
        "createRestrictedDataToken",
        "POST",
        "/tokens/2021-03-01/restrictedDataToken",
        1.0,
        10,
    ),
    plan(
        "notifications",
        "getSubscriptions",
        "GET",
        "/notifications/v1/subscriptions",
        1.0,
        5,
    ),
    plan(
        "notifications",
        "getSubscription",
        "GET",
        "/notifications/v1/subscriptions/{notificationType}",
        1.0,
        5,
    ),
    plan(
        "notifications",
        "createSubscription",
        "POST",
        "/notifications/v1/subscriptions/{notificationType}",
        1.0,
        5,
    ),
    plan(
        "notifications",
        "getSubscriptionById",
        "GET",
        "/notifications/v1/subscriptions/{notificationType}/{subscriptionId}",
        1.0,
        5,
    ),
    plan(
        "notifications",
        "deleteSubscriptionById",
        "DELETE",
        "/notifications/v1/subscriptions/{notificationType}/{subscriptionId}",
        1.0,
        5,
    ),
    plan(
        "notifications",
        "sendTestNotification",
        "POST",
        "/notifications/v1/subscriptions/{notificationType}/testNotification",
        1.0,
        5,
    ),
    plan(
        "notifications",
        "getDestinations",
        "GET",
        "/notifications/v1/destinations",
        1.0,
        5,
    ),
    plan(
        "notifications",
        "createDestination",
        "POST",
        "/notifications/v1/destinations",
        1.0,
        5,
    ),
    plan(
        "notifications",
        "getDestination",
        "GET",
        "/notifications/v1/destinations/{destinationId}",
        1.0,
        5,
    ),
    plan(
        "notifications",
        "deleteDestination",
        "DELETE",
        "/notifications/v1/destinations/{destinationId}",
        1.0,
        5,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sp_api_operation_has_a_usage_plan_and_the_others_do_not() {
        for op in Operation::ALL {
            assert_eq!(op.usage_plan().is_some(), op.is_sp_api(), "{op}");
        }
        let create = Operation::CreateReport
            .usage_plan()
            .expect("createReport has a plan");
        assert_eq!((create.rate, create.burst), (0.0167, 15));
    }

    #[test]
    fn operations_parse_from_their_amazon_names() {
        assert_eq!("createReport".parse::<Operation>(), Ok(Operation::CreateReport));
        assert_eq!(
            serde_json::to_string(&Operation::GetReportDocument).expect("serializes"),
            "\"getReportDocument\""
        );
        assert_eq!("createFeed".parse::<Operation>(), Ok(Operation::CreateFeed));
        assert!("getOrders".parse::<Operation>().is_err());
        let create_feed = Operation::CreateFeed.usage_plan().expect("createFeed has a plan");
        assert_eq!((create_feed.rate, create_feed.burst), (0.0083, 15));
    }
}
