//! Connecting a seller in one click (Amazon's website authorization workflow; [`crate::domain::connect`] has
//! the link's rules): an operator's link, its page's consent URL, and the callback that exchanges Amazon's code,
//! discovers the seller's marketplaces and connects the account, or renews the token of the one that exists.
//!
//! The callback claims the link before it spends the code, so of two callbacks with one link only one reaches
//! Amazon; a callback that fails before the account is stored releases the link, and changes nothing else. No
//! code, token, state or link id is logged: a link is named by the first characters of its digest.

use std::sync::Arc;

use crate::amazon::{AmazonClient, SellerAuth};
use crate::app::accounts::{AccountChanges, AccountError, Accounts, NewAccount, RefreshToken};
use crate::clock::Clock;
use crate::domain::connect::{
    ConnectSettings, ConnectState, consent_url, digest, is_secret, new_secret, seller_central_url,
};
use crate::domain::{ConnectLink, LinkRefusal, Marketplace, NewLink, SellerAccount};
use crate::error::{AmazonError, DomainError, StoreError};
use crate::ports::{AccountStore, ConnectLinkStore};

/// A link just created: its secret id, shown to the operator once, and the link.
#[derive(Debug, Clone)]
pub struct CreatedLink {
    /// The secret id, for the link's URL; only its digest is stored.
    pub id: String,
    /// The stored link.
    pub link: ConnectLink,
}

/// Why a link cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateLinkError {
    /// The request does not fit; names the field.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// No application id is configured.
    #[error("connect links are off: the stack has no SP-API application id (parameter SpApiApplicationId)")]
    NotSetUp,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The link's page: where to send the seller.
#[derive(Debug, Clone)]
pub struct ConsentStart {
    /// The link, with the new state.
    pub link: ConnectLink,
    /// The OAuth authorization URI with the new state.
    pub consent_url: String,
}

/// What Amazon's redirect brought to the callback (Step 3), as the query said it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Callback {
    /// `state`.
    pub state: Option<String>,
    /// `selling_partner_id`.
    pub selling_partner_id: Option<String>,
    /// `spapi_oauth_code`.
    pub code: Option<String>,
    /// An OAuth `error` (`access_denied`), should Amazon send one instead of a code.
    pub error: Option<String>,
}

/// Why a link's page or the callback ends without a connected account. None changes an account; those after
/// the claim release the link again, so that the seller can start over while it lasts.
#[derive(Debug, thiserror::Error)]
pub enum ConnectRefusal {
    /// The link refuses (unknown, expired, used, a forged or stale state, busy, another seller).
    #[error(transparent)]
    Link(#[from] LinkRefusal),
    /// No application id is configured.
    #[error("connect links are off")]
    NotSetUp,
    /// Amazon sent an error instead of a code: the seller did not authorize.
    #[error("the seller did not authorize the application")]
    Denied,
    /// The redirect lacks the state, the seller or the code, or one is malformed.
    #[error("the redirect lacks {0}")]
    Incomplete(&'static str),
    /// LWA refused the code: used already, older than five minutes, or for another redirect URI.
    #[error("Amazon refused the authorization code")]
    CodeRefused,
    /// Amazon could not be reached or failed; trying again may work.
    #[error("Amazon is unavailable: {0}")]
    AmazonUnavailable(AmazonError),
    /// The seller sells in no marketplace of the link's region that sellersync imports.
    #[error("the seller sells in no marketplace of the region")]
    NoMarketplaces,
    /// Storage, secrets or the scheduler failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The account could not be stored.
    #[error("the account could not be connected: {0}")]
    Account(AccountError),
}

/// A connected account.
#[derive(Debug, Clone)]
pub struct Connected {
    /// The account as stored now.
    pub account: SellerAccount,
    /// An existing account got a new token (its settings are kept), rather than a new account being made.
    pub renewed: bool,
}

/// Attempts at a change when another request changed the link between our read and our write.
const SAVE_ATTEMPTS: usize = 3;

/// The connect use cases.
#[derive(Debug, Clone)]
pub struct Connect {
    links: Arc<dyn ConnectLinkStore>,
    accounts: Accounts,
    account_store: Arc<dyn AccountStore>,
    amazon: AmazonClient,
    clock: Arc<dyn Clock>,
    settings: ConnectSettings,
}

/// A short, harmless name of a link for logs: the start of its digest.
fn log_name(link: &ConnectLink) -> &str {
    &link.id_hash[..12]
}

impl Connect {
    /// The use cases over their ports.
    pub fn new(
        links: Arc<dyn ConnectLinkStore>,
        accounts: Accounts,
        account_store: Arc<dyn AccountStore>,
        amazon: AmazonClient,
        clock: Arc<dyn Clock>,
        settings: ConnectSettings,
    ) -> Connect {
        Connect {
            links,
            accounts,
            account_store,
            amazon,
            clock,
            settings,
        }
    }

    /// Creates a link for one seller.
    pub async fn create_link(&self, request: NewLink) -> Result<CreatedLink, CreateLinkError> {
        if self.settings.application_id.is_none() {
            return Err(CreateLinkError::NotSetUp);
        }
        let id = new_secret();
        let link = ConnectLink::new(request, digest(&id), self.clock.now())?;
        if !self.links.save_link(&link, None).await? {
            // 190 random bits met a stored digest: not in this universe, but never overwrite a link.
            return Err(StoreError::Unavailable {
                operation: "PutItem",
                message: "a new connect link met an existing one; try again".into(),
            }
            .into());
        }
        tracing::info!(link = log_name(&link), region = %link.region, "connect link created");
        Ok(CreatedLink { id, link })
    }

    /// The link with secret id `id`, if there is one.
    pub async fn link(&self, id: &str) -> Result<Option<ConnectLink>, StoreError> {
        self.links.get_link(&digest(id)).await
    }

    /// The link's page was opened: a new state for it, and the consent URL to send the seller to, with
    /// `redirect_uri` (this API's callback, as registered with Amazon).
    pub async fn start(&self, id: &str, redirect_uri: &str) -> Result<ConsentStart, ConnectRefusal> {
        let Some(application_id) = &self.settings.application_id else {
            return Err(ConnectRefusal::NotSetUp);
        };
        if !is_secret(id) {
            return Err(LinkRefusal::Unknown.into());
        }
        let state = ConnectState::new(id);
        let now = self.clock.now();
        let opened = self
            .decide_and_save(&digest(id), |link| link.open(digest(&state.nonce), now))
            .await?;
        let marketplace = Marketplace::by_id(&opened.marketplace_id).ok_or(LinkRefusal::Unknown)?;
        let seller_central = self
            .settings
            .seller_central_url
            .as_deref()
            .unwrap_or(seller_central_url(marketplace));
        let consent_url = consent_url(
            seller_central,
            application_id,
            &state,
            redirect_uri,
            self.settings.draft,
        );
        tracing::info!(link = log_name(&opened), "connect link opened");
        Ok(ConsentStart {
            link: opened,
            consent_url,
        })
    }

    /// Amazon's redirect: checks the state, claims the link, exchanges the code (sent to `redirect_uri`),
    /// discovers the seller's marketplaces and connects the account.
    pub async fn finish(&self, callback: Callback, redirect_uri: &str) -> Result<Connected, ConnectRefusal> {
        if self.settings.application_id.is_none() {
            return Err(ConnectRefusal::NotSetUp);
        }
        if callback.error.is_some() {
            return Err(ConnectRefusal::Denied);
        }
        let state = callback
            .state
            .as_deref()
            .ok_or(ConnectRefusal::Incomplete("state"))?;
        let state = ConnectState::parse(state).ok_or(LinkRefusal::Unknown)?;
        let seller_id = callback
            .selling_partner_id
            .filter(|s| crate::domain::account::check_seller_id("selling_partner_id", s).is_ok())
            .ok_or(ConnectRefusal::Incomplete("selling_partner_id"))?;
        let code = callback
            .code
            .filter(|c| !c.is_empty() && c.len() <= 512)
            .ok_or(ConnectRefusal::Incomplete("spapi_oauth_code"))?;
        let claimed = self.claim(&state, &seller_id).await?;
        match self.connect(&claimed, &seller_id, &code, redirect_uri).await {
            Ok(connected) => {
                let finished = claimed.finish(&connected.account.id, &seller_id, self.clock.now());
                if !self.links.save_link(&finished, Some(claimed.version)).await? {
                    // Our claim's lease ran out and another callback took the link: the account is connected
                    // all the same, and that callback's code meets the same account.
                    tracing::warn!(link = log_name(&claimed), "connect link changed during its claim");
                }
                tracing::info!(
                    link = log_name(&claimed),
                    account = %connected.account.id,
                    renewed = connected.renewed,
                    "seller connected"
                );
                Ok(connected)
            }
            Err(refusal) => {
                tracing::warn!(link = log_name(&claimed), reason = %refusal, "connect callback refused");
                let released = claimed.release();
                if let Err(err) = self.links.save_link(&released, Some(claimed.version)).await {
                    // The claim's lease frees the link by itself.
                    tracing::error!(link = log_name(&claimed), error = %err, "cannot release a connect link");
                }
                Err(refusal)
            }
        }
    }

    /// Claims the link of `state` for this callback.
    async fn claim(&self, state: &ConnectState, seller_id: &str) -> Result<ConnectLink, ConnectRefusal> {
        let now = self.clock.now();
        self.decide_and_save(&digest(&state.link_id), |link| {
            link.claim(&digest(&state.nonce), seller_id, now)
        })
        .await
    }

    /// Reads the link `id_hash`, decides its next state with `decide` and saves it on the version read; when
    /// another request changed the link in between, reads and decides again.
    async fn decide_and_save(
        &self,
        id_hash: &str,
        decide: impl Fn(&ConnectLink) -> Result<ConnectLink, LinkRefusal>,
    ) -> Result<ConnectLink, ConnectRefusal> {
        for _ in 0..SAVE_ATTEMPTS {
            let link = self.links.get_link(id_hash).await?.ok_or(LinkRefusal::Unknown)?;
            let next = decide(&link)?;
            if self.links.save_link(&next, Some(link.version)).await? {
                return Ok(next);
            }
        }
        Err(LinkRefusal::Busy.into())
    }

    /// The claimed link's work: the code for a refresh token, the seller's marketplaces, the account.
    async fn connect(
        &self,
        link: &ConnectLink,
        seller_id: &str,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Connected, ConnectRefusal> {
        let granted = self
            .amazon
            .exchange_authorization_code(code, redirect_uri)
            .await
            .map_err(|err| match err {
                AmazonError::AuthorizationCodeRefused { .. } => ConnectRefusal::CodeRefused,
                other => ConnectRefusal::AmazonUnavailable(other),
            })?;
        let token = RefreshToken::parse("refresh_token", granted.expose()).map_err(|err| {
            ConnectRefusal::AmazonUnavailable(AmazonError::Decode {
                operation: "LWA",
                reason: err.reason,
            })
        })?;
        let account_id = Accounts::account_id(seller_id, link.region);
        let auth = SellerAuth::new(account_id.clone(), link.region, token.expose()).with_seller_id(seller_id);
        let participations = self
            .amazon
            .get_marketplace_participations(&auth)
            .await
            .map_err(ConnectRefusal::AmazonUnavailable)?;
        let marketplaces = marketplaces_to_import(link, &participations);
        if marketplaces.is_empty() {
            return Err(ConnectRefusal::NoMarketplaces);
        }
        let new = NewAccount {
            seller_id: seller_id.to_ascii_uppercase(),
            region: link.region,
            marketplaces,
            refresh_token: token.clone(),
            import_interval: link.import_interval,
            options: link.options.clone(),
            ship_from: link.ship_from.clone(),
        };
        match self.accounts.create(new).await {
            Ok(record) => Ok(Connected {
                account: record.account,
                renewed: false,
            }),
            Err(AccountError::Exists(id)) => {
                let changes = AccountChanges {
                    refresh_token: Some(token),
                    ..AccountChanges::default()
                };
                let record = self
                    .accounts
                    .update(&id, changes)
                    .await
                    .map_err(ConnectRefusal::Account)?;
                // The new token works (the Sellers API answered with it): whatever stopped the account
                // (a revoked token, denied access) is over.
                self.account_store.record_connected(&id).await?;
                Ok(Connected {
                    account: record.account,
                    renewed: true,
                })
            }
            Err(err) => Err(ConnectRefusal::Account(err)),
        }
    }
}

/// The marketplaces a new account imports: those of the link's region the seller participates in, in the
/// region's order.
fn marketplaces_to_import(
    link: &ConnectLink,
    participations: &[crate::amazon::MarketplaceParticipation],
) -> Vec<String> {
    link.region
        .marketplaces()
        .filter(|m| {
            participations
                .iter()
                .any(|p| p.marketplace_id == m.id && p.is_participating)
        })
        .map(|m| m.id.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta};

    use super::*;
    use crate::amazon::MarketplaceParticipation;
    use crate::domain::{ImportInterval, ImportOptions, Region};

    fn participation(id: &str, participating: bool) -> MarketplaceParticipation {
        MarketplaceParticipation {
            marketplace_id: id.into(),
            name: String::new(),
            country_code: String::new(),
            is_participating: participating,
            has_suspended_listings: false,
        }
    }

    #[test]
    fn a_new_account_imports_the_participating_marketplaces_of_the_links_region() {
        let link = ConnectLink::new(
            NewLink {
                region: Region::Eu,
                marketplace_id: None,
                seller_id: None,
                import_interval: ImportInterval::Minutes(15),
                options: ImportOptions::default(),
                ship_from: None,
                lifetime: TimeDelta::hours(1),
            },
            digest("x"),
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        )
        .unwrap();
        let participations = [
            participation("A1PA6795UKMFR9", true),
            participation("ATVPDKIKX0DER", true),
            participation("A13V1IB3VIYZZH", false),
            participation("A1F83G8C2ARO7P", true),
            participation("AXXXXXXXXXXXX", true),
        ];
        assert_eq!(
            marketplaces_to_import(&link, &participations),
            ["A1F83G8C2ARO7P", "A1PA6795UKMFR9"],
            "GB and DE in the region's order; not US (another region), FR (not participating) or an unknown id"
        );
    }
}
