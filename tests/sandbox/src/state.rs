//! The sandbox's whole mutable state, behind one lock: sellers, tokens, reports, feeds, documents, buckets,
//! faults and statistics.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::TimeDelta;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::auth::Tokens;
use super::buckets::Buckets;
use super::documents::Documents;
use super::faults::Faults;
use super::feeds::Feeds;
use super::generator::{GeneratedSeller, SellerSpec};
use super::inspect::{OperationStats, SellerStats};
use super::operations::Operation;
use super::reports::Reports;

/// The settings the state needs from [`super::SandboxOptions`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) report_processing: TimeDelta,
    pub(crate) document_url_ttl: TimeDelta,
    pub(crate) gzip_min_bytes: usize,
    pub(crate) feed_processing: TimeDelta,
}

/// One seller as the sandbox holds it.
#[derive(Debug)]
pub(crate) struct SellerState {
    pub(crate) spec: SellerSpec,
    pub(crate) generated: GeneratedSeller,
    /// The seller still authorizes the application; `false` answers SP-API calls 403.
    pub(crate) authorized: bool,
    /// The account can use the APIs; `false` answers SP-API calls 403 with a reason.
    pub(crate) eligible: bool,
    /// Merchant-fulfilled quantities set through listings feeds, by marketplace and SKU: a listing is an
    /// offer in one marketplace, and a listings feed applies to the one marketplace it was created for.
    pub(crate) listings: BTreeMap<(String, String), ListingState>,
}

/// What listings feeds set for one SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListingState {
    /// Units available (`fulfillment_availability` with channel `DEFAULT`); `None` once deleted.
    pub(crate) quantity: Option<u32>,
    /// `lead_time_to_ship_max_days`, when a feed set one.
    pub(crate) lead_time_to_ship_max_days: Option<u32>,
    /// When the last feed changed it.
    pub(crate) updated_at: chrono::DateTime<chrono::Utc>,
    /// The feed that last changed it.
    pub(crate) feed_id: String,
}

/// Everything that changes, behind the sandbox's one mutex.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) settings: Settings,
    rng: ChaCha8Rng,
    /// Sellers are never removed, so a seller id held by a token, report or document always resolves here.
    pub(crate) sellers: BTreeMap<String, SellerState>,
    pub(crate) tokens: Tokens,
    pub(crate) reports: Reports,
    pub(crate) feeds: Feeds,
    pub(crate) documents: Documents,
    pub(crate) buckets: Buckets,
    pub(crate) faults: Faults,
    pub(crate) stats: BTreeMap<String, SellerStats>,
    /// Carrier codes of Amazon's published list that feeds are nevertheless rejected for, as when Amazon
    /// retires a code before a client's list knows.
    pub(crate) retired_carriers: BTreeSet<String>,
    /// Sellers whose application lacks the PII roles (Access Orders PII page): Orders API v2026-01-01 answers
    /// without the PII fields for them.
    pub(crate) pii_withheld: BTreeSet<String>,
    /// Seller Central's consent: the application's redirect URIs and the authorization codes handed out.
    pub(crate) consent: super::consent::Consent,
    /// The application's client secrets and its notifications (Application Management API).
    pub(crate) application: super::application::Application,
    /// Destinations, subscriptions and notifications waiting for delivery (Notifications API).
    pub(crate) notifications: super::notifications::Notifications,
}

impl World {
    /// An empty world; `seed` drives every id and token it hands out.
    pub(crate) fn new(seed: u64, rate_scale: f64, settings: Settings) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let signing_key = rng.random();
        World {
            settings,
            rng,
            sellers: BTreeMap::new(),
            tokens: Tokens::default(),
            reports: Reports::default(),
            feeds: Feeds::default(),
            documents: Documents::new(signing_key),
            buckets: Buckets::new(rate_scale),
            faults: Faults::default(),
            stats: BTreeMap::new(),
            retired_carriers: BTreeSet::new(),
            pii_withheld: BTreeSet::new(),
            consent: Default::default(),
            application: Default::default(),
            notifications: Default::default(),
        }
    }

    /// Random characters from `alphabet`, drawn from the world's seeded generator.
    pub(crate) fn random_string(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.rng.random_range(0..alphabet.len())]))
            .collect()
    }

    /// A random number in `range`.
    pub(crate) fn random_u64(&mut self, range: std::ops::Range<u64>) -> u64 {
        self.rng.random_range(range)
    }

    /// A version-4 UUID drawn from the seeded generator.
    pub(crate) fn uuid(&mut self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    /// The statistics entry of a seller's operation.
    pub(crate) fn stats_mut(&mut self, seller: &str, op: Operation) -> &mut OperationStats {
        self.stats
            .entry(seller.to_owned())
            .or_default()
            .entry(op)
            .or_default()
    }
}

/// `Duration` to `TimeDelta`, saturating.
pub(crate) fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// A feed document's id, as Amazon's look: `amzn1.tortuga.3.<uuid>.T<13 characters>`.
pub(crate) fn feed_document_id(world: &mut World) -> String {
    let uuid = world.uuid();
    let suffix = world.random_string(13, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    format!("amzn1.tortuga.3.{uuid}.T{suffix}")
}

/// The ids of the world's documents and reports look like Amazon's: `amzn1.spdoc.1.4.na.<uuid>.T<…>.<n>`.
pub(crate) fn document_id(world: &mut World, region: &str) -> String {
    let uuid = world.uuid();
    let suffix = world.random_string(13, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
    let n = world.random_u64(1000..10_000);
    format!("amzn1.spdoc.1.4.{region}.{uuid}.T{suffix}.{n}")
}
