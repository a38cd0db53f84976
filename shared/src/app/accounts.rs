//! Connecting, changing and disconnecting seller accounts, keeping their secret and schedule in step.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::amazon::SellerAuth;
use crate::clock::Clock;
use crate::domain::ShipFrom;
use crate::domain::account::check_seller_id;
use crate::domain::{
    ImportInterval, ImportOptions, Marketplace, Problem, ProblemKind, Region, SellerAccount,
};
use crate::error::{DomainError, StoreError};
use crate::ports::{AccountRecord, AccountStore, Page, ScheduleSpec, Schedules, SecretStore};

/// What it takes to connect a seller account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// Amazon's merchant id.
    pub seller_id: String,
    /// The region of its marketplaces.
    pub region: Region,
    /// Marketplaces to import.
    pub marketplaces: Vec<String>,
    /// LWA refresh token from the seller's authorization; goes to Secrets Manager only.
    pub refresh_token: RefreshToken,
    /// How often to import.
    pub import_interval: ImportInterval,
    /// What to import.
    pub options: ImportOptions,
    /// Where its shipments leave from by default.
    pub ship_from: Option<ShipFrom>,
}

/// Changes to an account; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChanges {
    /// New marketplaces (same region).
    pub marketplaces: Option<Vec<String>>,
    /// A new refresh token, after the seller authorized the app again.
    pub refresh_token: Option<RefreshToken>,
    /// A new interval.
    pub import_interval: Option<ImportInterval>,
    /// New options.
    pub options: Option<ImportOptions>,
    /// A new default ship-from address (`Some(None)` removes it).
    pub ship_from: Option<Option<ShipFrom>>,
}

/// An LWA refresh token: a credential, so its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// Checks the shape of a refresh token (`Atzr|...`), naming `field` when it is wrong.
    pub fn parse(field: &str, token: &str) -> Result<RefreshToken, DomainError> {
        let token = token.trim();
        if token.len() < 8 || token.len() > 2048 || token.chars().any(char::is_whitespace) {
            // Never echo a credential back, even a malformed one.
            return Err(DomainError::invalid(
                field,
                "(hidden)",
                "expected an LWA refresh token such as Atzr|...",
            ));
        }
        Ok(RefreshToken(token.to_owned()))
    }

    /// The token, for the secret store and LWA only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The request does not fit the domain; names the field.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// Nothing by that id: what was looked for, e.g. `account A2X-na`, `order 1 of account A2X-na`.
    #[error("no {0}")]
    NotFound(String),
    /// An account for this seller and region exists already.
    #[error("account {0} exists already")]
    Exists(String),
    /// Storage, secrets or the scheduler failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Account settings that live outside the record: where secrets go and what schedules are called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountNaming {
    /// Prefix of each account's refresh-token secret name (`sellersync/<stack>/accounts/`).
    pub secret_prefix: String,
    /// The application's LWA credentials secret (`LWA_CREDENTIALS_SECRET`), whose rotation every account's
    /// health reports on.
    pub lwa_secret: String,
}

impl AccountNaming {
    /// The name of the secret holding an account's refresh token.
    pub fn secret_name(&self, account_id: &str) -> String {
        format!("{}{account_id}/refresh-token", self.secret_prefix)
    }

    /// The account's credentials for Amazon, with its refresh token from `secrets`; `None` when no token is
    /// stored.
    pub async fn seller_auth(
        &self,
        secrets: &dyn SecretStore,
        account: &SellerAccount,
    ) -> Result<Option<SellerAuth>, StoreError> {
        let token = secrets.get(&self.secret_name(&account.id)).await?;
        Ok(token.map(|token| {
            SellerAuth::new(account.id.clone(), account.region, token)
                .with_seller_id(account.seller_id.clone())
        }))
    }

    /// The name of an account's schedule.
    pub fn schedule_name(account_id: &str) -> String {
        format!("account-{account_id}")
    }
}

/// The account use cases.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    secrets: Arc<dyn SecretStore>,
    schedules: Arc<dyn Schedules>,
    clock: Arc<dyn Clock>,
    naming: AccountNaming,
}

impl Accounts {
    /// The use cases over their ports.
    pub fn new(
        store: Arc<dyn AccountStore>,
        secrets: Arc<dyn SecretStore>,
        schedules: Arc<dyn Schedules>,
        clock: Arc<dyn Clock>,
        naming: AccountNaming,
    ) -> Self {
        Accounts {
            store,
            secrets,
            schedules,
            clock,
            naming,
        }
    }

    /// The id of a seller's account in a region: one account per seller and region, so connecting twice finds
    /// the first one instead of importing every order twice.
    pub fn account_id(seller_id: &str, region: Region) -> String {
        format!(
            "{}-{}",
            seller_id.to_ascii_uppercase(),
            region.code().to_ascii_lowercase()
        )
    }

    /// Connects an account: stores its refresh token, its record and its schedule.
    pub async fn create(&self, new: NewAccount) -> Result<AccountRecord, AccountError> {
        check_seller_id("sellerId", &new.seller_id)?;
        check_marketplaces(new.region, &new.marketplaces)?;
        if let Some(ship_from) = &new.ship_from {
            ship_from.validate()?;
        }
        let account = SellerAccount {
            id: Accounts::account_id(&new.seller_id, new.region),
            seller_id: new.seller_id,
            region: new.region,
            marketplaces: new.marketplaces,
            import_interval: new.import_interval,
            options: new.options,
            created_at: self.clock.now(),
            ship_from: new.ship_from,
        };
        // The record first, conditionally: of two requests connecting one seller, only the one that stores it
        // goes on to store its token. Nothing imports before the schedule exists, so no import finds a record
        // without its token.
        if !self.store.create_account(&account).await? {
            return Err(AccountError::Exists(account.id));
        }
        let written = async {
            self.secrets
                .put(&self.naming.secret_name(&account.id), new.refresh_token.expose())
                .await?;
            self.schedules.put(&schedule_for(&account)).await
        }
        .await;
        if let Err(err) = written {
            // A request that fails changes nothing: what it wrote goes again.
            self.undo_create(&account.id).await;
            return Err(err.into());
        }
        tracing::info!(account = %account.id, interval = %account.import_interval, "account connected");
        self.get(&account.id).await
    }

    /// Removes what a failed connection wrote (deleting what is missing succeeds).
    async fn undo_create(&self, id: &str) {
        let undone = [
            (
                "schedule",
                self.schedules.delete(&AccountNaming::schedule_name(id)).await,
            ),
            ("secret", self.secrets.delete(&self.naming.secret_name(id)).await),
            ("record", self.store.delete_account(id).await),
        ];
        for (what, result) in undone {
            if let Err(err) = result {
                tracing::error!(account = %id, what, error = %err, "cannot undo a failed connection");
            }
        }
    }

    /// One account.
    pub async fn get(&self, id: &str) -> Result<AccountRecord, AccountError> {
        self.store
            .get_account(id)
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("account {id}")))
    }

    /// Accounts in id order, `limit` at a time, starting after the account `after`.
    pub async fn list(&self, after: Option<&str>, limit: u32) -> Result<Page<AccountRecord>, AccountError> {
        Ok(self.store.list_accounts(after, limit).await?)
    }

    /// The account's schedule as EventBridge Scheduler holds it, if it exists.
    pub async fn schedule(&self, id: &str) -> Result<Option<ScheduleSpec>, AccountError> {
        Ok(self.schedules.get(&AccountNaming::schedule_name(id)).await?)
    }

    /// Applies changes; a new refresh token clears a "store a new token" problem at the next import.
    ///
    /// The settings are written first (only while the account exists), then the schedule they imply, then the
    /// token; when a write fails, those before it are put back, so a failed request changes nothing.
    pub async fn update(&self, id: &str, changes: AccountChanges) -> Result<AccountRecord, AccountError> {
        let before = self.get(id).await?.account;
        let mut account = before.clone();
        if let Some(marketplaces) = changes.marketplaces {
            check_marketplaces(account.region, &marketplaces)?;
            account.marketplaces = marketplaces;
        }
        if let Some(interval) = changes.import_interval {
            account.import_interval = interval;
        }
        if let Some(options) = changes.options {
            account.options = options;
        }
        if let Some(ship_from) = changes.ship_from {
            if let Some(address) = &ship_from {
                address.validate()?;
            }
            account.ship_from = ship_from;
        }
        if !self.store.save_settings(&account).await? {
            return Err(AccountError::NotFound(format!("account {id}")));
        }
        if let Err(err) = self.schedules.put(&schedule_for(&account)).await {
            self.restore(&before, false).await;
            return Err(err.into());
        }
        if let Some(token) = &changes.refresh_token
            && let Err(err) = self
                .secrets
                .put(&self.naming.secret_name(id), token.expose())
                .await
        {
            self.restore(&before, true).await;
            return Err(err.into());
        }
        tracing::info!(account = %id, interval = %account.import_interval, "account updated");
        self.get(id).await
    }

    /// Puts back the settings (and the schedule) a failed change wrote over.
    async fn restore(&self, before: &SellerAccount, schedule: bool) {
        if let Err(err) = self.store.save_settings(before).await {
            tracing::error!(account = %before.id, error = %err, "cannot put back the settings of a failed change");
        }
        if schedule && let Err(err) = self.schedules.put(&schedule_for(before)).await {
            tracing::error!(account = %before.id, error = %err, "cannot put back the schedule of a failed change");
        }
    }

    /// Disconnects an account: its schedule, secret and record go; its orders stay until their own expiry.
    pub async fn delete(&self, id: &str) -> Result<(), AccountError> {
        self.get(id).await?;
        self.schedules.delete(&AccountNaming::schedule_name(id)).await?;
        self.secrets.delete(&self.naming.secret_name(id)).await?;
        self.store.delete_account(id).await?;
        tracing::info!(account = %id, "account deleted");
        Ok(())
    }
}

/// The schedule an account should have: its interval, or disabled for "never".
pub fn schedule_for(account: &SellerAccount) -> ScheduleSpec {
    let minutes = account.import_interval.duration().map_or(0, |d| d.as_secs() / 60);
    ScheduleSpec {
        name: AccountNaming::schedule_name(&account.id),
        // A disabled schedule still needs a valid expression; it keeps the last one.
        expression: account
            .import_interval
            .schedule_expression()
            .unwrap_or_else(|| "rate(1 day)".to_owned()),
        enabled: account.import_interval != ImportInterval::Never,
        // Spread ticks over a fifth of the interval (1 to 15 minutes) so accounts do not all call at once.
        flexible_window_minutes: (minutes / 5).clamp(1, 15) as u32,
        input: json!({ "accountId": account.id }).to_string(),
    }
}

fn check_marketplaces(region: Region, marketplaces: &[String]) -> Result<(), DomainError> {
    if marketplaces.is_empty() {
        return Err(DomainError::invalid(
            "marketplaceIds",
            "[]",
            "at least one marketplace is needed",
        ));
    }
    let in_region = region.marketplaces().count();
    if marketplaces.len() > in_region {
        return Err(DomainError::invalid(
            "marketplaceIds",
            &marketplaces.len().to_string(),
            format!("region {region} has {in_region} marketplaces; give each at most once"),
        ));
    }
    for (i, id) in marketplaces.iter().enumerate() {
        let field = format!("marketplaceIds[{i}]");
        let marketplace = Marketplace::parse_id(&field, id)?;
        if marketplace.region != region {
            return Err(DomainError::invalid(
                field,
                id,
                format!(
                    "{} is in region {}, not {region}",
                    marketplace.country, marketplace.region
                ),
            ));
        }
        if marketplaces[..i].contains(id) {
            return Err(DomainError::invalid(field, id, "listed twice"));
        }
    }
    Ok(())
}

/// The one place a failure becomes an account's problem (its health cause, its connection state): `kind`
/// is what the failure says about the account (`None`: nothing, and nothing is recorded); a throttled call
/// also stamps the account's last throttling.
pub async fn record_account_failure(
    accounts: &dyn AccountStore,
    account_id: &str,
    kind: Option<ProblemKind>,
    err: &(dyn std::fmt::Display + Sync),
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(kind) = kind else { return Ok(()) };
    if kind == ProblemKind::Throttled {
        accounts.record_throttled(account_id, at).await?;
    }
    tracing::warn!(account = %account_id, problem = %kind, error = %err, "account problem");
    let problem = Problem {
        kind,
        detail: err.to_string(),
        at,
    };
    accounts.record_problem(account_id, &problem).await
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn a_refresh_token_never_shows_in_debug_or_errors() {
        let token = RefreshToken::parse("refreshToken", "Atzr|IwEBIsecretsecret").unwrap();
        assert_eq!(format!("{token:?}"), "RefreshToken(<redacted>)");
        let err = RefreshToken::parse("refreshToken", "Atzr| secret with spaces").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert_eq!(err.field, "refreshToken");
    }

    #[test]
    fn marketplaces_must_exist_and_belong_to_the_region() {
        let wrong =
            check_marketplaces(Region::Eu, &["A1PA6795UKMFR9".into(), "ATVPDKIKX0DER".into()]).unwrap_err();
        assert_eq!(wrong.field, "marketplaceIds[1]");
        assert!(wrong.reason.contains("region NA"), "{wrong}");
        assert_eq!(
            check_marketplaces(Region::Na, &["XYZ".into()]).unwrap_err().field,
            "marketplaceIds[0]"
        );
        assert!(check_marketplaces(Region::Na, &[]).is_err());
        let twice = [
            "ATVPDKIKX0DER".into(),
            "A2EUQ1WTGCTBG2".into(),
            "ATVPDKIKX0DER".into(),
        ];
        assert_eq!(
            check_marketplaces(Region::Na, &twice).unwrap_err().field,
            "marketplaceIds[2]"
        );
        assert_eq!(
            check_marketplaces(Region::Na, &vec!["ATVPDKIKX0DER".to_owned(); 100_000])
                .unwrap_err()
                .field,
            "marketplaceIds"
        );
    }

    #[test]
    fn never_disables_the_schedule_and_short_intervals_get_short_windows() {
        let mut account = SellerAccount {
            id: "A2SELLER-na".into(),
            seller_id: "A2SELLER".into(),
            region: Region::Na,
            marketplaces: vec!["ATVPDKIKX0DER".into()],
            import_interval: ImportInterval::Minutes(5),
            options: ImportOptions::default(),
            created_at: Utc::now(),
            ship_from: None,
        };
        let spec = schedule_for(&account);
        assert_eq!(
            (
                spec.expression.as_str(),
                spec.enabled,
                spec.flexible_window_minutes
            ),
            ("rate(5 minutes)", true, 1)
        );
        assert_eq!(spec.input, r#"{"accountId":"A2SELLER-na"}"#);
        account.import_interval = ImportInterval::Never;
        assert!(!schedule_for(&account).enabled);
        account.import_interval = ImportInterval::Minutes(1440);
        assert_eq!(schedule_for(&account).flexible_window_minutes, 15);
    }
}
