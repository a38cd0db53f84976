//! Reading an account's imported orders: filtered listings by last update, and single orders with their items.

use std::sync::Arc;

use super::accounts::AccountError;
use chrono::{DateTime, Utc};

use crate::domain::{Order, OrderDetails, OrderPii, PiiAvailability};
use crate::error::DomainError;
use crate::ports::{AccountStore, OrderQuery, OrderStore, Page};

/// The most orders on one page.
pub const MAX_PAGE: u32 = 100;

/// The order use cases.
#[derive(Debug, Clone)]
pub struct Orders {
    accounts: Arc<dyn AccountStore>,
    orders: Arc<dyn OrderStore>,
}

impl Orders {
    /// The use cases over their stores.
    pub fn new(accounts: Arc<dyn AccountStore>, orders: Arc<dyn OrderStore>) -> Self {
        Orders { accounts, orders }
    }

    /// A page of the account's orders matching `query`, oldest update first. The cursor in `query.after` is a
    /// previous page's `next`: the last order's `<last update>#<order id>`.
    pub async fn list(&self, account_id: &str, query: OrderQuery) -> Result<Page<Order>, AccountError> {
        check_page(query.limit, query.after.as_deref())?;
        self.require_account(account_id).await?;
        Ok(self.orders.list_orders(account_id, &query).await?)
    }

    /// A page of the account's merchant orders still to ship, latest ship date soonest first, each with its
    /// `getOrder` details; only `marketplace_id`'s when given. `after` is a previous page's `next`.
    pub async fn to_ship(
        &self,
        account_id: &str,
        marketplace_id: Option<&str>,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<(Order, OrderDetails)>, AccountError> {
        check_page(limit, after)?;
        self.require_account(account_id).await?;
        Ok(self
            .orders
            .orders_to_ship(account_id, marketplace_id, limit, after)
            .await?)
    }

    /// One order with its items.
    pub async fn get(&self, account_id: &str, order_id: &str) -> Result<Order, AccountError> {
        self.require_account(account_id).await?;
        self.orders
            .get_order(account_id, order_id)
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("order {order_id} of account {account_id}")))
    }

    /// The order's shipping details from `getOrder`, when they were read.
    pub async fn details(
        &self,
        account_id: &str,
        order_id: &str,
    ) -> Result<Option<OrderDetails>, AccountError> {
        Ok(self.orders.get_order_details(account_id, order_id).await?)
    }

    /// The order's buyer PII from `getOrder` as of `now`: what stands between the caller and it, if anything.
    pub async fn recipient(
        &self,
        account_id: &str,
        order_id: &str,
        now: DateTime<Utc>,
    ) -> Result<RecipientRead, AccountError> {
        self.get(account_id, order_id).await?;
        let Some(details) = self.orders.get_order_details(account_id, order_id).await? else {
            return Ok(RecipientRead::NotRead);
        };
        if details.pii == PiiAvailability::Withheld {
            return Ok(RecipientRead::Withheld);
        }
        match self.orders.get_order_pii(account_id, order_id).await? {
            Some((pii, expires_at)) if expires_at > now => {
                Ok(RecipientRead::Found(Box::new(pii), expires_at))
            }
            _ => Ok(RecipientRead::Expired),
        }
    }

    async fn require_account(&self, account_id: &str) -> Result<(), AccountError> {
        match self.accounts.get_account(account_id).await? {
            Some(_) => Ok(()),
            None => Err(AccountError::NotFound(format!("account {account_id}"))),
        }
    }
}

/// What reading an order's PII found.
#[derive(Debug)]
pub enum RecipientRead {
    /// The PII and when it is removed.
    Found(Box<OrderPii>, DateTime<Utc>),
    /// `getOrder` has not read the order yet.
    NotRead,
    /// Amazon withheld it: the application lacks the role, or the order was not in a status that allows it.
    Withheld,
    /// Removed: 30 days after the promised delivery (Amazon's Data Protection Policy).
    Expired,
}

impl RecipientRead {
    /// A word for the access log.
    pub fn outcome(&self) -> &'static str {
        match self {
            RecipientRead::Found(..) => "found",
            RecipientRead::NotRead => "not_read",
            RecipientRead::Withheld => "withheld",
            RecipientRead::Expired => "expired",
        }
    }
}

/// A page size within [`MAX_PAGE`] and a cursor of the form pages return (`<time>#<order id>`).
fn check_page(limit: u32, after: Option<&str>) -> Result<(), AccountError> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(
            DomainError::invalid("limit", &limit.to_string(), format!("expected 1 to {MAX_PAGE}")).into(),
        );
    }
    if let Some(after) = after {
        let well_formed = after
            .split_once('#')
            .is_some_and(|(at, id)| !id.is_empty() && at.parse::<chrono::DateTime<chrono::Utc>>().is_ok());
        if !well_formed {
            return Err(DomainError::invalid("nextToken", after, "not a token this API returned").into());
        }
    }
    Ok(())
}
