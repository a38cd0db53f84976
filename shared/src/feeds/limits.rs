//! Amazon's limits on the feeds sellersync submits, each in Amazon's own words (where two sources disagree,
//! the stricter is followed). The sandbox enforces the same values, from the same sources, in its own code.

use chrono::TimeDelta;

/// Marketplace ids one `createFeed` may name. The model allows 1 to 25, but Amazon refuses more than one:
/// `JSON_LISTINGS_FEED` answers 400 "Too many 'marketplaceIds' values provided. Expected a maximum of 1."
/// (amzn/selling-partner-api-models#4726, 2025), an Amazon maintainer says several marketplaces per feed
/// are only planned (#5049, 2025-11-25), and other feed types answer 400 `InvalidInput` "Invalid request
/// parameters" (#2327). So every feed goes to exactly one marketplace.
pub const MARKETPLACES_PER_FEED: usize = 1;

/// Messages in one `JSON_LISTINGS_FEED` document. The listings feed schema's `maxItems` is 25,000 (and
/// Amazon's changelog of 2025-05-06 raised it from 10,000), but an Amazon reply in
/// amzn/selling-partner-api-models#4097 gives 10,000, beyond which the feed fails with "feed messages list
/// beyond allowed size": the stricter holds.
pub const LISTINGS_MESSAGES_PER_FEED: usize = 10_000;

/// Bytes in one feed document: "Keep file size less than 10 MiB (…10,485,760 bytes)" (Feeds API Best
/// Practices; the same figure is quoted in amzn/selling-partner-api-models#4097).
pub const FEED_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// `JSON_LISTINGS_FEED` submissions per seller and region within [`LISTINGS_FEED_WINDOW`], on top of
/// `createFeed`'s own bucket: "five feed submissions per five minutes" (Amazon's changelog "Feed size and
/// rate limit changes for the JSON_LISTINGS_FEED", 2025-05-06; the Feeds API rate-limits page lists it
/// among createFeed's "limits for specific cases"). Beyond it Amazon answers 429 `QuotaExceeded`
/// (amzn/selling-partner-api-models#4414).
pub const LISTINGS_FEEDS_PER_WINDOW: usize = 5;

/// The window of [`LISTINGS_FEEDS_PER_WINDOW`].
pub const LISTINGS_FEED_WINDOW: TimeDelta = TimeDelta::minutes(5);
