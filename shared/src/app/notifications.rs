//! The sellers' notifications from the stack's queue, acted on at once:
//!
//! - `REPORT_PROCESSING_FINISHED`: the report's job is polled now, as the minute poller would poll it (the same
//!   conditional writes: of two polls at once only the first moves the job).
//! - `FEED_PROCESSING_FINISHED`: the feed's open submission is polled now, its actions settled.
//! - `ORDER_CHANGE`: a stored order older than the change is read with `getOrder` and written by the one
//!   version rule, so a late or repeated notification never moves an order backwards. An order not stored yet
//!   is stored from `getOrder` (its lines at their unit prices, its details and recipient), ahead of the
//!   reports: the report row of its version replaces it with taxes, shipping and promotions, and the reports'
//!   overlapping windows bring whatever a lost notification missed.
//!
//! An order's `getOrder` waits at most [`ORDER_TOKEN_WAIT`] for its rate token. When the seller's orders change
//! faster than Amazon's `getOrder` rate serves, the rest are acknowledged as [`Taken::Deferred`] (counted in
//! `NotificationsDeferred`) and reach the store with the next report, instead of waiting out the Lambda's
//! timeout, coming back, and ending in the dead-letter queue.
//!
//! Delivery is at least once, in any order: every step reads what is stored and writes only what is newer.
//! A notification for a seller or marketplace without an account here, or for a report or feed already
//! handled, is taken and dropped; one that cannot be read goes to the dead-letter queue with the reason.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::accounts::Accounts;
use super::batch::{DeadLetters, HandlerError, each_message};
use super::enrich_orders::{EnrichError, EnrichSummary, enrich, put_details};
use super::feeds::{FeedProcessor, FeedRunError, PollFeedsSummary};
use super::import::{Import, ImportError};
use super::poll_reports::PollSummary;
use crate::amazon::{AmazonClient, IncludedData};
use crate::domain::{JobState, Marketplace, Region, SellerAccount};
use crate::error::AmazonError;
use crate::metrics;
use crate::ports::{AccountRecord, PutOutcome};

/// How many recent report jobs of an account are looked through for a finished report.
const JOBS_LOOKED_AT: u32 = 100;

/// The longest a changed order waits for its `getOrder` token: a batch of the template's 10 messages then waits
/// at most 40 s, inside the function's 60 s timeout with the calls themselves (a template test holds the sum).
pub const ORDER_TOKEN_WAIT: Duration = Duration::from_secs(4);

/// A notification sellersync acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SellerNotification {
    /// An order changed.
    OrderChange {
        /// The seller.
        seller_id: String,
        /// The order.
        order_id: String,
        /// Its marketplace.
        marketplace_id: String,
        /// When it changed.
        changed_at: DateTime<Utc>,
    },
    /// A report reached DONE, CANCELLED or FATAL.
    ReportFinished {
        /// The seller.
        seller_id: String,
        /// The report.
        report_id: String,
    },
    /// A feed reached DONE, CANCELLED or FATAL.
    FeedFinished {
        /// The seller.
        seller_id: String,
        /// The feed.
        feed_id: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OrderEnvelope {
    payload: OrderPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OrderPayload {
    order_change_notification: OrderChange,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OrderChange {
    seller_id: String,
    amazon_order_id: String,
    order_change_trigger: Trigger,
    summary: Summary,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Trigger {
    time_of_order_change: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    marketplace_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProcessingEnvelope {
    payload: ProcessingPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProcessingPayload {
    report_processing_finished_notification: Option<Finished>,
    feed_processing_finished_notification: Option<Finished>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Finished {
    seller_id: Option<String>,
    report_id: Option<String>,
    feed_id: Option<String>,
}

/// Reads a notification as Amazon's schemas shape it (`ORDER_CHANGE` in PascalCase, the processing-finished
/// ones in camelCase); the error names what is wrong.
pub fn parse(body: &str) -> Result<SellerNotification, String> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|err| format!("the notification is not JSON: {err}"))?;
    let kind = value["NotificationType"]
        .as_str()
        .or(value["notificationType"].as_str())
        .ok_or("the notification has no NotificationType")?
        .to_owned();
    let kind = kind.as_str();
    fn field(what: &str) -> impl Fn(serde_json::Error) -> String + '_ {
        move |err| format!("{what}: {err}")
    }
    match kind {
        "ORDER_CHANGE" => {
            let envelope: OrderEnvelope = serde_json::from_value(value).map_err(field("ORDER_CHANGE"))?;
            let change = envelope.payload.order_change_notification;
            Ok(SellerNotification::OrderChange {
                seller_id: change.seller_id,
                order_id: change.amazon_order_id,
                marketplace_id: change.summary.marketplace_id,
                changed_at: change.order_change_trigger.time_of_order_change,
            })
        }
        "REPORT_PROCESSING_FINISHED" | "FEED_PROCESSING_FINISHED" => {
            let envelope: ProcessingEnvelope = serde_json::from_value(value).map_err(field(kind))?;
            let payload = envelope.payload;
            let missing = |name: &str| format!("{kind}: {name} is missing");
            let finished = payload
                .report_processing_finished_notification
                .or(payload.feed_processing_finished_notification)
                .ok_or_else(|| missing("the payload"))?;
            // Vendor groups carry no seller id; sellersync has sellers only.
            let seller_id = finished.seller_id.ok_or_else(|| missing("sellerId"))?;
            if kind == "REPORT_PROCESSING_FINISHED" {
                Ok(SellerNotification::ReportFinished {
                    seller_id,
                    report_id: finished.report_id.ok_or_else(|| missing("reportId"))?,
                })
            } else {
                Ok(SellerNotification::FeedFinished {
                    seller_id,
                    feed_id: finished.feed_id.ok_or_else(|| missing("feedId"))?,
                })
            }
        }
        other => Err(format!("sellersync does not subscribe to {other} notifications")),
    }
}

/// What taking one notification did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The report's job was polled.
    Report(PollSummary),
    /// The feed's submission was polled.
    Feed(PollFeedsSummary),
    /// The stored order was read again and written by the version rule.
    Order(EnrichSummary),
    /// An order no import brought yet was stored from `getOrder`, with its recipient when Amazon gave it.
    NewOrder {
        /// Amazon gave the recipient.
        recipient: bool,
    },
    /// The order's `getOrder` token would not come within [`ORDER_TOKEN_WAIT`]: the change is left to the
    /// reports (the scheduled import's overlapping windows bring it) and the notification is acknowledged.
    Deferred,
    /// Nothing to do, and why.
    Dropped(&'static str),
}

/// Why a notification could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// Not a notification sellersync reads (never succeeds).
    #[error("{0}")]
    Invalid(String),
    /// The import's stores or Amazon failed.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The feed poll failed.
    #[error(transparent)]
    Feed(#[from] FeedRunError),
}

impl HandlerError for NotificationError {
    fn is_retryable(&self) -> bool {
        match self {
            NotificationError::Invalid(_) => false,
            NotificationError::Import(err) => err.is_retryable(),
            // The feed poller's failures are all worth another delivery except a missing account (then dropped).
            NotificationError::Feed(_) => true,
        }
    }
}

impl From<EnrichError> for NotificationError {
    fn from(err: EnrichError) -> Self {
        NotificationError::Import(ImportError::from(err))
    }
}

/// The notification handler's dependencies: the import's and the feed poller's use cases.
#[derive(Debug, Clone)]
pub struct NotificationHandler {
    /// Reports and orders.
    pub import: Import,
    /// Feeds.
    pub feeds: FeedProcessor,
}

impl NotificationHandler {
    /// A batch from the notification queue, each message on its own ([`each_message`]).
    pub async fn take_batch(&self, batch: SqsEvent, dead_letters: Option<&DeadLetters>) -> SqsBatchResponse {
        each_message(batch, dead_letters, |message| async move {
            let taken = self.take(message.body.as_deref().unwrap_or_default()).await?;
            tracing::info!(?taken, "notification taken");
            Ok::<(), NotificationError>(())
        })
        .await
    }

    /// One notification.
    pub async fn take(&self, body: &str) -> Result<Taken, NotificationError> {
        match parse(body).map_err(NotificationError::Invalid)? {
            SellerNotification::ReportFinished { seller_id, report_id } => {
                self.report_finished(&seller_id, &report_id).await
            }
            SellerNotification::FeedFinished { seller_id, feed_id } => {
                if self.account(&seller_id, None).await?.is_none() {
                    return Ok(Taken::Dropped("no account of this seller"));
                }
                match self.feeds.poll_feed(&feed_id).await {
                    Ok(Some(summary)) => Ok(Taken::Feed(summary)),
                    Ok(None) => Ok(Taken::Dropped("no open submission has this feed")),
                    Err(FeedRunError::NoAccount(_)) => Ok(Taken::Dropped("the account was deleted")),
                    Err(err) => Err(err.into()),
                }
            }
            SellerNotification::OrderChange {
                seller_id,
                order_id,
                marketplace_id,
                changed_at,
            } => {
                self.order_changed(&seller_id, &order_id, &marketplace_id, changed_at)
                    .await
            }
        }
    }

    /// The seller's account in the marketplace's region (any region when no marketplace is named).
    async fn account(
        &self,
        seller_id: &str,
        marketplace_id: Option<&str>,
    ) -> Result<Option<AccountRecord>, ImportError> {
        let regions: Vec<Region> = match marketplace_id {
            Some(id) => Marketplace::by_id(id).map(|m| m.region).into_iter().collect(),
            None => Region::ALL.to_vec(),
        };
        for region in regions {
            let id = Accounts::account_id(seller_id, region);
            if let Some(record) = self.import.accounts.get_account(&id).await? {
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    async fn report_finished(&self, seller_id: &str, report_id: &str) -> Result<Taken, NotificationError> {
        let Some(record) = self.account(seller_id, None).await? else {
            return Ok(Taken::Dropped("no account of this seller"));
        };
        let jobs = self
            .import
            .jobs
            .list_jobs(&record.account.id, None, JOBS_LOOKED_AT)
            .await
            .map_err(ImportError::from)?;
        let Some(job) = jobs.items.into_iter().find(|j| j.report_id == report_id) else {
            return Ok(Taken::Dropped("no job of this stack has the report"));
        };
        // Polled only while Amazon has it: once its document went to the parsers, the poller watches it.
        if !matches!(job.state, JobState::Pending { .. }) {
            return Ok(Taken::Dropped("the report's job was handled already"));
        }
        let auth = self.import.seller_auth(&record.account).await?;
        Ok(Taken::Report(self.import.poll_job(&auth, job, true).await?))
    }

    async fn order_changed(
        &self,
        seller_id: &str,
        order_id: &str,
        marketplace_id: &str,
        changed_at: DateTime<Utc>,
    ) -> Result<Taken, NotificationError> {
        let Some(record) = self.account(seller_id, Some(marketplace_id)).await? else {
            return Ok(Taken::Dropped(
                "no account of this seller in the marketplace's region",
            ));
        };
        let account = &record.account;
        if !account.marketplaces.iter().any(|m| m == marketplace_id) {
            return Ok(Taken::Dropped("the account does not import this marketplace"));
        }
        let orders = self.import.orders.as_ref();
        let Some(stored) = orders
            .get_order(&account.id, order_id)
            .await
            .map_err(ImportError::from)?
        else {
            return self.new_order(account, order_id).await;
        };
        let details = orders
            .get_order_details(&account.id, order_id)
            .await
            .map_err(ImportError::from)?;
        let known = details.map_or(stored.last_updated, |d| d.last_updated.max(stored.last_updated));
        if known >= changed_at {
            return Ok(Taken::Dropped("the stored order already has this change"));
        }
        let auth = self.import.seller_auth(account).await?;
        match enrich(&self.order_reader(), &auth, orders, &[order_id.to_owned()]).await {
            Ok(summary) => Ok(Taken::Order(summary)),
            Err(EnrichError::Amazon(AmazonError::QuotaInUse { .. })) => Ok(self.deferred(account)),
            Err(err) => Err(err.into()),
        }
    }

    /// The client for a changed order's `getOrder`: it waits for its token at most [`ORDER_TOKEN_WAIT`].
    fn order_reader(&self) -> AmazonClient {
        self.import.amazon.waiting_at_most(ORDER_TOKEN_WAIT)
    }

    /// A change left to the reports, counted.
    fn deferred(&self, account: &SellerAccount) -> Taken {
        let now = self.import.clock.now();
        self.import
            .metrics
            .emit(&metrics::notification_deferred(&account.id), now);
        Taken::Deferred
    }
}

impl NotificationHandler {
    /// An order no import brought yet: stored as `getOrder` tells it, ahead of the reports (the report row of
    /// its version replaces it, with taxes, shipping and promotions), with its details and recipient.
    async fn new_order(&self, account: &SellerAccount, order_id: &str) -> Result<Taken, NotificationError> {
        let auth = self.import.seller_auth(account).await?;
        let answer = match self
            .order_reader()
            .get_order(&auth, order_id, &IncludedData::FOR_SHIPPING)
            .await
        {
            Ok(answer) => answer,
            Err(AmazonError::NotFound { .. }) => return Ok(Taken::Dropped("Amazon does not know the order")),
            Err(AmazonError::QuotaInUse { .. }) => return Ok(self.deferred(account)),
            Err(err) => return Err(ImportError::from(err).into()),
        };
        let order = match answer.to_order() {
            Ok(order) => order,
            Err(reason) => {
                tracing::warn!(account = %account.id, order = order_id, %reason, "getOrder's answer makes no order; the next import brings it");
                return Ok(Taken::Dropped(
                    "getOrder's answer makes no order: the next import brings it",
                ));
            }
        };
        if !account.options.admits_new(&order) {
            return Ok(Taken::Dropped("the account's options leave the order out"));
        }
        let orders = self.import.orders.as_ref();
        let created = orders
            .create_order_ahead_of_reports(&account.id, &order)
            .await
            .map_err(ImportError::from)?;
        if created != PutOutcome::Written {
            // An import stored it meanwhile: its details follow by the import's own path.
            return Ok(Taken::Dropped("an import stored the order meanwhile"));
        }
        let (details, pii) = answer.split(true);
        let recipient = put_details(orders, &account.id, &details, &pii, order.purchase_date)
            .await
            .map_err(ImportError::from)?;
        Ok(Taken::NewOrder { recipient })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazons_samples_are_read_and_what_is_missing_is_named() {
        let order = r#"{"NotificationVersion":"1.0","NotificationType":"ORDER_CHANGE","PayloadVersion":"1.0",
            "EventTime":"2020-01-11T00:09:53.109Z","Payload":{"OrderChangeNotification":{"NotificationLevel":
            "OrderLevel","SellerId":"A3TH9S8BH6GOGM","AmazonOrderId":"903-8868176-2219830","OrderChangeType":
            "BuyerRequestedChange","OrderChangeTrigger":{"TimeOfOrderChange":"2022-11-29T19:42:04.284Z",
            "ChangeReason":"Buyer Requested Cancel"},"Summary":{"MarketplaceId":"ATVPDKIKX0DER","OrderStatus":
            "Unshipped","PurchaseDate":"2022-07-13T19:42:04.284Z","DestinationPostalCode":"48110",
            "FulfillmentType":"MFN","OrderType":"StandardOrder","OrderItems":[]}}},"NotificationMetadata":{
            "ApplicationId":"app-id","SubscriptionId":"sub","PublishTime":"2020-07-13T19:42:04.284Z",
            "NotificationId":"d0e9e693-c3ad-4373-979f-ed4ec98dd746"}}"#;
        assert_eq!(
            parse(order).unwrap(),
            SellerNotification::OrderChange {
                seller_id: "A3TH9S8BH6GOGM".into(),
                order_id: "903-8868176-2219830".into(),
                marketplace_id: "ATVPDKIKX0DER".into(),
                changed_at: "2022-11-29T19:42:04.284Z".parse().unwrap(),
            }
        );
        let report = r#"{"notificationVersion":"2020-09-04","notificationType":"REPORT_PROCESSING_FINISHED",
            "payloadVersion":"2020-09-04","eventTime":"2020-07-14T03:35:13.214Z","payload":{
            "reportProcessingFinishedNotification":{"sellerId":"A3TH9S8BH6GOGM","accountId":
            "amzn1.merchant.o.A3TH9S8BH6GOGM","reportId":"54517018502","reportType":
            "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA","processingStatus":"CANCELLED"}},"notificationMetadata":{}}"#;
        assert_eq!(
            parse(report).unwrap(),
            SellerNotification::ReportFinished {
                seller_id: "A3TH9S8BH6GOGM".into(),
                report_id: "54517018502".into()
            }
        );
        let feed = report
            .replace("REPORT_PROCESSING_FINISHED", "FEED_PROCESSING_FINISHED")
            .replace(
                "reportProcessingFinishedNotification",
                "feedProcessingFinishedNotification",
            )
            .replace("reportId", "feedId");
        assert_eq!(
            parse(&feed).unwrap(),
            SellerNotification::FeedFinished {
                seller_id: "A3TH9S8BH6GOGM".into(),
                feed_id: "54517018502".into()
            }
        );
        let vendor = report.replace(r#""sellerId":"A3TH9S8BH6GOGM","#, "");
        assert!(parse(&vendor).unwrap_err().contains("sellerId"));
        assert!(parse("{").unwrap_err().contains("not JSON"));
        assert!(
            parse(r#"{"notificationType":"ANY_OFFER_CHANGED"}"#)
                .unwrap_err()
                .contains("ANY_OFFER_CHANGED")
        );
        let cut = &order[..order.len() / 2];
        assert!(parse(cut).is_err());
        let no_time = order.replace("TimeOfOrderChange", "Time");
        assert!(
            parse(&no_time).unwrap_err().contains("TimeOfOrderChange"),
            "{}",
            parse(&no_time).unwrap_err()
        );
    }
}
