//! Plain data types of the domain: no I/O.

pub mod account;
pub mod actions;
pub mod backfill;
mod carriers;
pub mod connect;
pub mod events;
pub mod health;
pub mod marketplace;
pub mod money;
pub mod notifications;
pub mod order;
pub mod order_details;
pub mod outbox;
pub mod pii;
pub mod report;
pub mod shipment;

pub use account::{CountryFilter, ImportInterval, ImportOptions, SellerAccount};
pub use actions::{
    CancelReason, Cancellation, CancelledItem, Carrier, CarrierCode, InventoryUpdate, ItemQuantity, ShipFrom,
    ShipmentConfirmation, ShippedItems,
};
pub use backfill::{Backfill, BackfillStatus, BackfillWindow};
pub use carriers::CARRIER_CODES;
pub use connect::{ConnectLink, ConnectState, LinkRefusal, LinkStatus, NewLink};
pub use health::{Connection, ImportStatus, Problem, ProblemKind};
pub use marketplace::{MARKETPLACES, Marketplace, Region};
pub use money::{Currency, Money};
pub use notifications::{NotificationStatus, NotificationType, SubscriptionState};
pub use order::{FulfillmentChannel, ItemAmounts, Order, OrderItem, OrderStatus, ShipTo, StoredVersion};
pub use order_details::{
    CancellationRequest, DetailsDecision, OrderDetails, OrderPii, PiiAvailability, ShippableItem, TimeWindow,
    awaits_details, decide_details, needs_details, still_to_ship,
};
pub use outbox::{
    ActionOrigin, ActionPayload, ActionState, FeedAction, FeedNudge, FeedSubmission, QueuedGroup,
    SubmissionStatus, SubmittedMessage, action_id, action_key,
};
pub use pii::{BuyerPii, PostalAddress};
pub use report::{
    ImportSummary, JobPrecondition, JobPurpose, JobState, PARSE_DEADLINE, ReportJob, ReportKind,
    ReportTypeSpec, Window,
};
pub use shipment::{FbaShipmentItem, UnshippedItem, UnshippedOrder};
