//! Connect links: how a seller connects an account in one click, following Amazon's website authorization
//! workflow (developer guide, "Website authorization workflow", Steps 0 to 4).
//!
//! An operator creates a link for one seller; its secret id is in its URL, and only its SHA-256 is stored. The
//! seller opens the link's page, which hands out a fresh `state` (the link's id and a nonce) in the consent URL
//! of the marketplace's Seller Central. Amazon sends the seller back to the callback with that state: the state
//! claims the link (one claim at a time, for a short lease), the authorization code is exchanged, and the link is
//! used up by the account it connected, or released again when Amazon refused the code, so that the seller can
//! start over while the link lasts.
//!
//! Everything here is a pure decision on a link that was read: the store saves the result on the version read,
//! so two callbacks racing for one link cannot both win.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::account::{ImportInterval, ImportOptions, check_seller_id};
use super::marketplace::{Marketplace, Region};
use crate::domain::ShipFrom;
use crate::error::DomainError;

/// How long a link lasts unless the operator says otherwise.
pub const DEFAULT_LINK_LIFETIME: TimeDelta = TimeDelta::hours(72);
/// The longest a link may last: a link is a credential that connects a seller to this stack.
pub const MAX_LINK_LIFETIME: TimeDelta = TimeDelta::days(7);
/// How long a state handed out by the link's page is good for: signing in to Seller Central and confirming.
/// Amazon asks that the state be "short-lived and verifiably unique to your user" (Step 1).
pub const STATE_LIFETIME: TimeDelta = TimeDelta::minutes(30);
/// How long a callback holds the link while it exchanges the code and connects the account; a callback that
/// died leaves the link free again after it. LWA's code lasts five minutes; the exchange and the Sellers call
/// take seconds.
pub const CLAIM_LEASE: TimeDelta = TimeDelta::seconds(60);
/// States kept per link: the page opened in a few tabs, or fetched by a chat's link preview, leaves each of
/// the latest ones usable.
pub const MAX_STATES: usize = 5;
/// Used and expired links stay readable this long, then the table's TTL removes them.
pub const KEEP_AFTER: TimeDelta = TimeDelta::days(30);

/// Letters of link ids and nonces: URL-safe without escaping.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Length of a link id and of a nonce: 32 of 62 letters, about 190 bits.
pub const SECRET_LEN: usize = 32;

/// A new random link id or nonce.
pub fn new_secret() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..SECRET_LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The stored form of a link id or nonce: SHA-256, hex. Whoever reads the table cannot open a link with it.
pub fn digest(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` has the shape of a link id or nonce.
pub fn is_secret(text: &str) -> bool {
    text.len() == SECRET_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// How this stack appears to Amazon in the website authorization workflow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectSettings {
    /// The SP-API application's id (`amzn1.sellerapps.app...`); `None` turns connect links off.
    pub application_id: Option<String>,
    /// The application is in draft status: consent URLs carry `version=beta`.
    pub draft: bool,
    /// A Seller Central to send every seller to instead of Amazon's (the sandbox's, in tests).
    pub seller_central_url: Option<String>,
}

/// `state` as the link's page hands it to Amazon: the link's id and a nonce.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectState {
    /// The link's secret id.
    pub link_id: String,
    /// This consent's nonce.
    pub nonce: String,
}

impl ConnectState {
    /// A fresh state for the link `link_id`.
    pub fn new(link_id: &str) -> ConnectState {
        ConnectState {
            link_id: link_id.to_owned(),
            nonce: new_secret(),
        }
    }

    /// Reads a `state` that came back from Amazon; `None` when it is not one this stack handed out.
    pub fn parse(state: &str) -> Option<ConnectState> {
        let (link_id, nonce) = state.split_once('.')?;
        (is_secret(link_id) && is_secret(nonce)).then(|| ConnectState {
            link_id: link_id.to_owned(),
            nonce: nonce.to_owned(),
        })
    }

    /// The `state` parameter.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.link_id, self.nonce)
    }
}

impl std::fmt::Debug for ConnectState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectState(<redacted>)")
    }
}

/// A state the link's page handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedState {
    /// [`digest`] of its nonce.
    pub nonce_hash: String,
    /// It is refused from then on.
    pub expires_at: DateTime<Utc>,
}

/// Where a link is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LinkStatus {
    /// Waiting for the seller.
    Open,
    /// A callback is connecting the account until `until`.
    Claimed {
        /// The claim's lease ends.
        until: DateTime<Utc>,
    },
    /// It connected an account, and cannot be used again.
    Used {
        /// The account it connected or renewed.
        account_id: String,
        /// The seller who consented.
        seller_id: String,
        /// When.
        at: DateTime<Utc>,
    },
}

/// What an operator asks for in a link: the account it will connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    /// The seller's region.
    pub region: Region,
    /// The marketplace whose Seller Central the seller signs in to; the region's first one by default.
    pub marketplace_id: Option<String>,
    /// The seller the operator expects; another seller's consent is refused. `None` takes any seller.
    pub seller_id: Option<String>,
    /// The new account's import interval.
    pub import_interval: ImportInterval,
    /// The new account's options.
    pub options: ImportOptions,
    /// The new account's default ship-from address.
    pub ship_from: Option<ShipFrom>,
    /// How long the link lasts.
    pub lifetime: TimeDelta,
}

/// A connect link as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectLink {
    /// [`digest`] of the link's secret id.
    pub id_hash: String,
    /// The seller's region.
    pub region: Region,
    /// The marketplace whose Seller Central the seller signs in to.
    pub marketplace_id: String,
    /// The seller the operator expects, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    /// The new account's import interval.
    pub import_interval: ImportInterval,
    /// The new account's options.
    pub options: ImportOptions,
    /// The new account's default ship-from address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from: Option<ShipFrom>,
    /// When the operator created it.
    pub created_at: DateTime<Utc>,
    /// It is refused from then on.
    pub expires_at: DateTime<Utc>,
    /// The states its page handed out, newest last.
    #[serde(default)]
    pub states: Vec<IssuedState>,
    /// Where it is in its life.
    pub status: LinkStatus,
    /// Moves on with every change; the store saves a change only on the version it was decided on.
    pub version: u64,
}

/// Why a link cannot be opened or a callback cannot connect. None of them changes anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// No link has this id, or the state was not one this stack handed out.
    #[error("the link or the state is not one of ours")]
    Unknown,
    /// The link is past its expiry.
    #[error("the link expired at {0}")]
    Expired(DateTime<Utc>),
    /// The link connected an account already.
    #[error("the link was used at {at} for account {account_id}")]
    Used {
        /// The account it connected.
        account_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The state names the link but not a nonce its page handed out (forged, or pushed out by newer ones).
    #[error("the state does not match one the link's page handed out")]
    Forged,
    /// The state is older than [`STATE_LIFETIME`].
    #[error("the state expired; open the link again")]
    StateExpired,
    /// Another callback is connecting with this link right now.
    #[error("the link is being used right now")]
    Busy,
    /// A seller other than the one the operator named consented.
    #[error("the link is for seller {expected}, and seller {got} consented")]
    OtherSeller {
        /// The seller the link is for.
        expected: String,
        /// The seller Amazon named.
        got: String,
    },
}

impl ConnectLink {
    /// A new open link from what the operator asked for, checked.
    pub fn new(request: NewLink, id_hash: String, now: DateTime<Utc>) -> Result<ConnectLink, DomainError> {
        let marketplace = match &request.marketplace_id {
            Some(id) => {
                let marketplace = Marketplace::parse_id("marketplaceId", id)?;
                if marketplace.region != request.region {
                    return Err(DomainError::invalid(
                        "marketplaceId",
                        id,
                        format!(
                            "{} is in region {}, not {}",
                            marketplace.country, marketplace.region, request.region
                        ),
                    ));
                }
                marketplace
            }
            None => request
                .region
                .marketplaces()
                .next()
                .expect("every region has marketplaces"),
        };
        if let Some(seller) = &request.seller_id {
            check_seller_id("sellerId", seller)?;
        }
        if request.lifetime <= TimeDelta::zero() || request.lifetime > MAX_LINK_LIFETIME {
            return Err(DomainError::invalid(
                "expiresInHours",
                &request.lifetime.num_hours().to_string(),
                format!("a link lasts 1 to {} hours", MAX_LINK_LIFETIME.num_hours()),
            ));
        }
        if let Some(ship_from) = &request.ship_from {
            ship_from.validate()?;
        }
        Ok(ConnectLink {
            id_hash,
            region: request.region,
            marketplace_id: marketplace.id.to_owned(),
            seller_id: request.seller_id,
            import_interval: request.import_interval,
            options: request.options,
            ship_from: request.ship_from,
            created_at: now,
            expires_at: now + request.lifetime,
            states: Vec::new(),
            status: LinkStatus::Open,
            version: 1,
        })
    }

    /// When the table may forget the link.
    pub fn keep_until(&self) -> DateTime<Utc> {
        let last = match &self.status {
            LinkStatus::Used { at, .. } => (*at).max(self.expires_at),
            _ => self.expires_at,
        };
        last + KEEP_AFTER
    }

    fn still_usable(&self, now: DateTime<Utc>) -> Result<(), LinkRefusal> {
        if let LinkStatus::Used { account_id, at, .. } = &self.status {
            return Err(LinkRefusal::Used {
                account_id: account_id.clone(),
                at: *at,
            });
        }
        if now >= self.expires_at {
            return Err(LinkRefusal::Expired(self.expires_at));
        }
        Ok(())
    }

    /// The link's page was opened: the link with one more state (`nonce_hash`), the oldest ones and expired
    /// ones pushed out.
    pub fn open(&self, nonce_hash: String, now: DateTime<Utc>) -> Result<ConnectLink, LinkRefusal> {
        self.still_usable(now)?;
        let mut next = self.clone();
        next.states.retain(|s| s.expires_at > now);
        next.states.push(IssuedState {
            nonce_hash,
            expires_at: (now + STATE_LIFETIME).min(self.expires_at),
        });
        let excess = next.states.len().saturating_sub(MAX_STATES);
        next.states.drain(..excess);
        next.version += 1;
        Ok(next)
    }

    /// Amazon sent the seller `seller_id` back with the state holding `nonce_hash`: the link claimed by this
    /// callback until [`CLAIM_LEASE`] from now, the state used up.
    pub fn claim(
        &self,
        nonce_hash: &str,
        seller_id: &str,
        now: DateTime<Utc>,
    ) -> Result<ConnectLink, LinkRefusal> {
        self.still_usable(now)?;
        let Some(position) = self.states.iter().position(|s| s.nonce_hash == nonce_hash) else {
            return Err(LinkRefusal::Forged);
        };
        if now >= self.states[position].expires_at {
            return Err(LinkRefusal::StateExpired);
        }
        if let Some(expected) = &self.seller_id
            && !expected.eq_ignore_ascii_case(seller_id)
        {
            return Err(LinkRefusal::OtherSeller {
                expected: expected.clone(),
                got: seller_id.to_owned(),
            });
        }
        if let LinkStatus::Claimed { until } = self.status
            && now < until
        {
            return Err(LinkRefusal::Busy);
        }
        let mut next = self.clone();
        next.states.remove(position);
        next.status = LinkStatus::Claimed {
            until: now + CLAIM_LEASE,
        };
        next.version += 1;
        Ok(next)
    }

    /// The claim ends without an account (Amazon refused the code, or could not be reached): open again.
    pub fn release(&self) -> ConnectLink {
        let mut next = self.clone();
        next.status = LinkStatus::Open;
        next.version += 1;
        next
    }

    /// The claim connected `account_id`: the link is used up.
    pub fn finish(&self, account_id: &str, seller_id: &str, now: DateTime<Utc>) -> ConnectLink {
        let mut next = self.clone();
        next.states.clear();
        next.status = LinkStatus::Used {
            account_id: account_id.to_owned(),
            seller_id: seller_id.to_owned(),
            at: now,
        };
        next.version += 1;
        next
    }
}

/// The Seller Central whose consent page a seller of `marketplace` signs in to (developer guide, "Seller
/// Central URLs"). Marketplaces the guide's table leaves out take their region's pan-regional Seller Central:
/// authorizations are regional, so a consent there reaches every marketplace of the region ("Constructing an
/// OAuth authorization URI").
pub fn seller_central_url(marketplace: &Marketplace) -> &'static str {
    match marketplace.country {
        "CA" => "https://sellercentral.amazon.ca",
        "US" => "https://sellercentral.amazon.com",
        "MX" => "https://sellercentral.amazon.com.mx",
        "BR" => "https://sellercentral.amazon.com.br",
        "NL" => "https://sellercentral.amazon.nl",
        "SE" => "https://sellercentral.amazon.se",
        "PL" => "https://sellercentral.amazon.pl",
        "TR" => "https://sellercentral.amazon.com.tr",
        "AE" => "https://sellercentral.amazon.ae",
        "IN" => "https://sellercentral.amazon.in",
        "SG" => "https://sellercentral.amazon.sg",
        "AU" => "https://sellercentral.amazon.com.au",
        "JP" => "https://sellercentral.amazon.co.jp",
        _ => match marketplace.region {
            Region::Na => "https://sellercentral.amazon.com",
            Region::Eu => "https://sellercentral-europe.amazon.com",
            Region::Fe => "https://sellercentral.amazon.co.jp",
        },
    }
}

/// The OAuth authorization URI (Step 1): `{seller_central}/apps/authorize/consent` with the application's id,
/// the state, the redirect URI and, for an application in draft status, `version=beta`.
pub fn consent_url(
    seller_central: &str,
    application_id: &str,
    state: &ConnectState,
    redirect_uri: &str,
    draft: bool,
) -> String {
    let state = state.encode();
    let mut query = vec![
        ("application_id", application_id),
        ("state", state.as_str()),
        ("redirect_uri", redirect_uri),
    ];
    if draft {
        query.push(("version", "beta"));
    }
    let query = serde_urlencoded::to_string(query).expect("strings encode");
    format!(
        "{}/apps/authorize/consent?{query}",
        seller_central.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    fn request() -> NewLink {
        NewLink {
            region: Region::Eu,
            marketplace_id: Some("A1PA6795UKMFR9".into()),
            seller_id: None,
            import_interval: ImportInterval::Minutes(15),
            options: ImportOptions::default(),
            ship_from: None,
            lifetime: TimeDelta::hours(2),
        }
    }

    fn link() -> ConnectLink {
        ConnectLink::new(request(), digest("link"), t(0)).unwrap()
    }

    #[test]
    fn a_state_round_trips_and_anything_else_is_not_one() {
        let state = ConnectState::new(&new_secret());
        assert_eq!(ConnectState::parse(&state.encode()), Some(state.clone()));
        assert!(!format!("{state:?}").contains(&state.nonce));
        for bad in [
            "",
            ".",
            "abc.def",
            &format!("{}.", state.link_id),
            &format!("{}.{}x", state.link_id, state.nonce),
            &format!("{}.{}", state.link_id, "é".repeat(16)),
            &format!("{}:{}", state.link_id, state.nonce),
        ] {
            assert_eq!(ConnectState::parse(bad), None, "{bad}");
        }
        assert_ne!(new_secret(), new_secret());
    }

    #[test]
    fn a_new_link_checks_the_request() {
        let link = link();
        assert_eq!((link.expires_at, link.version), (t(120), 1));
        assert_eq!(link.status, LinkStatus::Open);
        let us = NewLink {
            marketplace_id: Some("ATVPDKIKX0DER".into()),
            ..request()
        };
        assert_eq!(
            ConnectLink::new(us, digest("x"), t(0)).unwrap_err().field,
            "marketplaceId"
        );
        let default = NewLink {
            marketplace_id: None,
            region: Region::Fe,
            ..request()
        };
        let fe = ConnectLink::new(default, digest("x"), t(0)).unwrap();
        assert_eq!(Marketplace::by_id(&fe.marketplace_id).unwrap().region, Region::Fe);
        for lifetime in [TimeDelta::zero(), MAX_LINK_LIFETIME + TimeDelta::hours(1)] {
            let long = NewLink {
                lifetime,
                ..request()
            };
            assert_eq!(
                ConnectLink::new(long, digest("x"), t(0)).unwrap_err().field,
                "expiresInHours"
            );
        }
        let seller = NewLink {
            seller_id: Some("not a seller".into()),
            ..request()
        };
        assert_eq!(
            ConnectLink::new(seller, digest("x"), t(0)).unwrap_err().field,
            "sellerId"
        );
    }

    #[test]
    fn a_state_claims_the_link_once_and_only_while_both_last() {
        let opened = link().open(digest("n1"), t(1)).unwrap();
        assert_eq!(opened.version, 2);
        // Table of (nonce, seller, at) -> outcome on the opened link.
        let cases: Vec<(&str, &str, i64, Result<(), LinkRefusal>)> = vec![
            ("n1", "A2SELLER01", 2, Ok(())),
            ("n2", "A2SELLER01", 2, Err(LinkRefusal::Forged)),
            ("n1", "A2SELLER01", 1 + 30, Err(LinkRefusal::StateExpired)),
            ("n1", "A2SELLER01", 120, Err(LinkRefusal::Expired(t(120)))),
        ];
        for (nonce, seller, at, expected) in cases {
            let got = opened.claim(&digest(nonce), seller, t(at)).map(|_| ());
            assert_eq!(got, expected, "{nonce} at {at}");
        }
        let claimed = opened.claim(&digest("n1"), "A2SELLER01", t(2)).unwrap();
        assert_eq!(claimed.version, 3);
        assert!(claimed.states.is_empty(), "the state is used up");
        // The same state again (a reloaded callback) is no longer one the page handed out.
        assert_eq!(
            claimed.claim(&digest("n1"), "A2SELLER01", t(2)),
            Err(LinkRefusal::Forged)
        );
        // A second tab's state meets the claim while it lasts, and the link after it ends.
        let two_tabs = opened.open(digest("n2"), t(1)).unwrap();
        let claimed = two_tabs.claim(&digest("n1"), "A2SELLER01", t(2)).unwrap();
        assert_eq!(
            claimed.claim(&digest("n2"), "A2SELLER01", t(2)),
            Err(LinkRefusal::Busy)
        );
        assert!(
            claimed
                .claim(&digest("n2"), "A2SELLER01", t(2) + CLAIM_LEASE)
                .is_ok()
        );
        // A finished link refuses everything, naming the account.
        let used = claimed.finish("A2SELLER01-eu", "A2SELLER01", t(3));
        let refusal = LinkRefusal::Used {
            account_id: "A2SELLER01-eu".into(),
            at: t(3),
        };
        assert_eq!(used.open(digest("n3"), t(4)), Err(refusal.clone()));
        assert_eq!(used.claim(&digest("n2"), "A2SELLER01", t(4)), Err(refusal));
        assert_eq!(used.keep_until(), t(120) + KEEP_AFTER);
        // A released claim lets the seller start over with a new state.
        let again = claimed.release().open(digest("n4"), t(5)).unwrap();
        assert!(again.claim(&digest("n4"), "A2SELLER01", t(6)).is_ok());
    }

    #[test]
    fn a_link_for_one_seller_refuses_another() {
        let link = ConnectLink::new(
            NewLink {
                seller_id: Some("A2SELLER01".into()),
                ..request()
            },
            digest("x"),
            t(0),
        )
        .unwrap()
        .open(digest("n"), t(1))
        .unwrap();
        assert_eq!(
            link.claim(&digest("n"), "A9OTHER999", t(2)),
            Err(LinkRefusal::OtherSeller {
                expected: "A2SELLER01".into(),
                got: "A9OTHER999".into()
            })
        );
        assert!(link.claim(&digest("n"), "a2seller01", t(2)).is_ok());
    }

    #[test]
    fn only_the_latest_states_are_kept_and_none_outlives_the_link() {
        let mut link = link();
        for i in 0..MAX_STATES + 2 {
            link = link.open(digest(&format!("n{i}")), t(100)).unwrap();
        }
        assert_eq!(link.states.len(), MAX_STATES);
        assert_eq!(
            link.claim(&digest("n0"), "A2SELLER01", t(101)),
            Err(LinkRefusal::Forged)
        );
        assert!(link.claim(&digest("n6"), "A2SELLER01", t(101)).is_ok());
        assert!(
            link.states.iter().all(|s| s.expires_at == t(120)),
            "capped at the link's expiry"
        );
        // Expired states make room first.
        let later = link.open(digest("late"), t(119)).unwrap();
        assert_eq!(later.states.len(), MAX_STATES);
    }

    #[test]
    fn the_consent_url_follows_step_one() {
        let state = ConnectState {
            link_id: "L".repeat(SECRET_LEN),
            nonce: "N".repeat(SECRET_LEN),
        };
        let de = Marketplace::by_id("A1PA6795UKMFR9").unwrap();
        let url = consent_url(
            seller_central_url(de),
            "amzn1.sellerapps.app.x",
            &state,
            "https://api.example/connect/callback",
            true,
        );
        assert_eq!(
            url,
            format!(
                "https://sellercentral-europe.amazon.com/apps/authorize/consent?application_id=amzn1.sellerapps.app.x\
                 &state={}.{}&redirect_uri=https%3A%2F%2Fapi.example%2Fconnect%2Fcallback&version=beta",
                state.link_id, state.nonce
            )
        );
        let ie = Marketplace::by_id("A28R8C7NBKEWEA").unwrap();
        assert_eq!(seller_central_url(ie), "https://sellercentral-europe.amazon.com");
        let jp = Marketplace::by_id("A1VC38T7YXB528").unwrap();
        assert_eq!(seller_central_url(jp), "https://sellercentral.amazon.co.jp");
    }
}
