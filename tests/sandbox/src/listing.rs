//! What `getReports` and `getFeeds` share, as Amazon's models give both the same parameters: the filters
//! besides the type (`processingStatuses`, `marketplaceIds`, `pageSize`, `createdSince`, `createdUntil`), and
//! the `nextToken` of the page that follows.

use chrono::{DateTime, TimeDelta, Utc};

use super::marketplaces::Marketplace;
use super::reports::{ProcessingStatus, invalid_input, parse_time, split_list};
use super::server::ApiError;
use super::state::World;

/// The filters of a listing, besides its types.
#[derive(Debug, Clone)]
pub(crate) struct ListFilter {
    statuses: Option<Vec<ProcessingStatus>>,
    marketplace_ids: Option<Vec<String>>,
    created_since: DateTime<Utc>,
    created_until: DateTime<Utc>,
    /// Items per page.
    pub(crate) page_size: usize,
}

impl ListFilter {
    /// Reads the parameters from `get`, refusing what Amazon refuses; `createdSince` defaults to 90 days ago
    /// and `createdUntil` to `now`.
    pub(crate) fn parse<'q>(
        get: &impl Fn(&str) -> Option<&'q str>,
        now: DateTime<Utc>,
    ) -> Result<ListFilter, ApiError> {
        let statuses = match get("processingStatuses").map(split_list) {
            None => None,
            Some(list) if list.is_empty() => {
                return Err(invalid_input("processingStatuses must not be empty"));
            }
            Some(list) => Some(
                list.iter()
                    .map(|s| {
                        ProcessingStatus::parse(s)
                            .ok_or_else(|| invalid_input(format!("Invalid processingStatuses: {s}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let marketplace_ids = match get("marketplaceIds").map(split_list) {
            None => None,
            Some(list) if list.is_empty() || list.len() > 10 => {
                return Err(invalid_input(
                    "marketplaceIds must hold between 1 and 10 marketplace ids",
                ));
            }
            Some(list) => {
                if let Some(bad) = list.iter().find(|id| Marketplace::by_id(id).is_none()) {
                    return Err(invalid_input(format!("Invalid marketplaceId: {bad}")));
                }
                Some(list)
            }
        };
        let page_size = match get("pageSize") {
            None => 10,
            Some(text) => match text.parse::<usize>() {
                Ok(size @ 1..=100) => size,
                _ => {
                    return Err(invalid_input(format!(
                        "Invalid pageSize: {text}; must be between 1 and 100"
                    )));
                }
            },
        };
        let created_since = get("createdSince")
            .map(|t| parse_time("createdSince", t))
            .transpose()?
            .unwrap_or(now - TimeDelta::days(90));
        let created_until = get("createdUntil")
            .map(|t| parse_time("createdUntil", t))
            .transpose()?
            .unwrap_or(now);
        Ok(ListFilter {
            statuses,
            marketplace_ids,
            created_since,
            created_until,
            page_size,
        })
    }

    /// Whether an item created at `created` for `marketplace_ids` is listed at `now`: within the window, within
    /// the 90 days Amazon keeps, and in one of the marketplaces asked for.
    pub(crate) fn admits(
        &self,
        created: DateTime<Utc>,
        marketplace_ids: &[String],
        now: DateTime<Utc>,
    ) -> bool {
        self.created_since <= created
            && created <= self.created_until
            && created >= now - TimeDelta::days(90)
            && self
                .marketplace_ids
                .as_ref()
                .is_none_or(|ids| marketplace_ids.iter().any(|m| ids.contains(m)))
    }

    /// Whether an item in Amazon's processing status `status` is listed.
    pub(crate) fn admits_status(&self, status: &str) -> bool {
        self.statuses
            .as_ref()
            .is_none_or(|statuses| statuses.iter().any(|s| s.as_str() == status))
    }
}

/// A new `nextToken`: 64 characters of base64's alphabet, as Amazon's are.
pub(crate) fn new_token(world: &mut World) -> String {
    world.random_string(
        64,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    )
}
