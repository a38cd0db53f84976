//! What `getReports` and `getFeeds` share, as Amazon's models give both the same parameters: the filters
//! besides the type (`processingStatuses`, `marketplaceIds`, `pageSize`, `createdSince`, `createdUntil`), and
//! the `nextToken` of the page that follows.

use std::collections::HashMap;

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

/// What a `nextToken` stands for: the seller it was given to, what the listing's first call asked for, and
/// where the next page starts.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    seller: String,
    /// The report or feed types asked for.
    pub(crate) types: Vec<String>,
    /// The other filters.
    pub(crate) filter: ListFilter,
    offset: usize,
}

/// A listing's `nextToken`s and the pages they stand for. Tokens stay valid after use, so a client may retry a
/// page.
pub(crate) type Pages = HashMap<String, Page>;

impl Page {
    /// The page a call asks for: the one its `nextToken` stands for, which must come alone (Amazon refuses it
    /// with other parameters) and from the seller it was given to; else the first page of the types `types`
    /// reads from the query, with the filters [`ListFilter::parse`] reads.
    pub(crate) fn requested<'q>(
        pages: &Pages,
        seller: &str,
        query: &'q [(String, String)],
        now: DateTime<Utc>,
        types: impl FnOnce(Option<&'q str>) -> Result<Vec<String>, ApiError>,
        types_name: &str,
    ) -> Result<Page, ApiError> {
        let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        if let Some(token) = get("nextToken") {
            // "include this token as the only parameter. Specifying nextToken with any other parameters will
            // cause the request to fail." (getReports' and getFeeds' nextToken, reports_2021-06-30.json and
            // feeds_2021-06-30.json)
            if query.iter().any(|(k, _)| k != "nextToken") {
                return Err(invalid_input(
                    "nextToken cannot be combined with other parameters",
                ));
            }
            return pages
                .get(token)
                .filter(|page| page.seller == seller)
                .cloned()
                .ok_or_else(|| invalid_input(format!("Invalid nextToken: {token}")));
        }
        Ok(Page {
            seller: seller.to_owned(),
            types: types(get(types_name))?,
            filter: ListFilter::parse(&get, now)?,
            offset: 0,
        })
    }

    /// This page of `items` (in the listing's order), and the `nextToken` of the page after it, if any, kept in
    /// the listing's `pages`.
    pub(crate) fn cut<'a, T>(
        self,
        items: &'a [T],
        world: &mut World,
        pages: fn(&mut World) -> &mut Pages,
    ) -> (&'a [T], Option<String>) {
        let end = (self.offset + self.filter.page_size).min(items.len());
        let page = items.get(self.offset..end).unwrap_or_default();
        if end == items.len() {
            return (page, None);
        }
        // 64 characters of base64's alphabet, as Amazon's are.
        let token = world.random_string(
            64,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        );
        pages(world).insert(token.clone(), Page { offset: end, ..self });
        (page, Some(token))
    }
}
