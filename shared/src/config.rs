//! `Config`: every setting of every function, read from the environment once at cold start.
//!
//! Variable names match `infra/template.yaml` exactly. This is the only module that reads the environment.
//! Settings every function needs are required; those only some functions use are optional here and required
//! by the function that uses them, through [`Config::require`].

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::{Clock, ScaledClock, SystemClock};
use crate::domain::PARSE_DEADLINE;
use crate::domain::connect::ConnectSettings;
use crate::domain::marketplace::Region;
use crate::error::ConfigError;
use crate::metrics::Metrics;

/// Login with Amazon's token endpoint.
pub const DEFAULT_LWA_ENDPOINT: &str = "https://api.amazon.com/auth/o2/token";

/// The settings of a sellersync function.
#[derive(Debug, Clone)]
pub struct Config {
    /// SP-API base URL per region; production hosts unless `SPAPI_ENDPOINT` or `SPAPI_ENDPOINT_<REGION>` say
    /// otherwise (the sandbox and tests point them at loopback).
    pub spapi_endpoints: HashMap<Region, String>,
    /// LWA token endpoint (`LWA_ENDPOINT`).
    pub lwa_endpoint: String,
    /// Secret holding the application's LWA credentials as `{"clientId": .., "clientSecret": ..}`
    /// (`LWA_CREDENTIALS_SECRET`).
    pub lwa_credentials_secret: String,
    /// Prefix of each account's refresh-token secret (`ACCOUNT_SECRET_PREFIX`).
    pub account_secret_prefix: String,
    /// KMS key for the secrets sellersync creates (`DATA_KEY_ID`); the account's default key when unset.
    pub data_key_id: Option<String>,
    /// Orders table (`ORDERS_TABLE`).
    pub orders_table: String,
    /// State table: accounts, report jobs, rate buckets, outbox (`STATE_TABLE`).
    pub state_table: String,
    /// Parse queue URL (`PARSE_QUEUE_URL`): the report poller sends to it.
    pub parse_queue_url: Option<String>,
    /// The parse queue's dead-letter queue (`PARSE_DLQ_URL`): poison messages go there with their reason.
    pub parse_dlq_url: Option<String>,
    /// Feed queue URL (`FEED_QUEUE_URL`): the API sends to it.
    pub feed_queue_url: Option<String>,
    /// The feed queue's dead-letter queue (`FEED_DLQ_URL`).
    pub feed_dlq_url: Option<String>,
    /// `APP_NOTIFICATIONS_DLQ_URL`: dead letters of the application notification queue (credentials function).
    pub app_notifications_dlq_url: Option<String>,
    /// `NOTIFICATION_QUEUE_ARN`: the queue Amazon delivers the sellers' notifications to (every account is
    /// subscribed to it); unset, accounts are not subscribed.
    pub notification_queue_arn: Option<String>,
    /// `NOTIFICATIONS_DLQ_URL`: dead letters of the sellers' notification queue.
    pub notifications_dlq_url: Option<String>,
    /// How long the first queued shipment confirmation or inventory update waits for others to join its feed
    /// (`FEED_WINDOW_SECONDS`, default 180): about 20 feeds an hour per account and type at most, within
    /// Amazon's createFeed quota of about 30 an hour.
    pub feed_window: TimeDelta,
    /// The same for cancellations (`CANCEL_WINDOW_SECONDS`, default 300).
    pub cancel_window: TimeDelta,
    /// The accounts' schedule group (`SCHEDULE_GROUP`).
    pub schedule_group: Option<String>,
    /// The report requester's ARN, every account schedule's target (`REQUESTER_ARN`).
    pub requester_arn: Option<String>,
    /// The role Scheduler assumes to invoke it (`SCHEDULER_ROLE_ARN`).
    pub scheduler_role_arn: Option<String>,
    /// Where Scheduler puts undeliverable ticks (`SCHEDULE_DLQ_ARN`).
    pub schedule_dlq_arn: Option<String>,
    /// How far each import window reaches back before the previous one ended, because orders reach reports
    /// up to a day late (`REPORT_OVERLAP_HOURS`, default 24).
    pub report_overlap: TimeDelta,
    /// How far back the first import of a new account reaches (`INITIAL_LOOKBACK_DAYS`, default 7).
    pub initial_lookback: TimeDelta,
    /// How long a document may wait for its parsers before its job is given up (`PARSE_DEADLINE_MINUTES`,
    /// default [`PARSE_DEADLINE`]): longer than the parse queue's deliveries of one message take.
    pub parse_deadline: TimeDelta,
    /// The deployment's name, the `Stack` dimension of every metric (`STACK_NAME`, default `sellersync`).
    pub stack_name: String,
    /// The bucket for report documents sellersync keeps unparsed (`RAW_DOCUMENTS_BUCKET`).
    pub raw_documents_bucket: Option<String>,
    /// The stack's event bus, where the event publisher puts order, action and account events
    /// (`EVENT_BUS_NAME`).
    pub event_bus_name: Option<String>,
    /// Whether the parser completes open merchant-fulfilled orders with getOrder after an import
    /// (`ENRICH_ORDERS`, `true` or `false`, default `false`; the template turns it on for the parser).
    pub enrich_orders: bool,
    /// `SPAPI_APPLICATION_ID`, `SPAPI_APPLICATION_DRAFT`, `SELLER_CENTRAL_URL`: the SP-API application as
    /// connect links present it to Amazon; without an application id, connect links are off.
    pub connect: ConnectSettings,
    /// Whether this runs in AWS Lambda (`AWS_LAMBDA_FUNCTION_NAME`, which Lambda sets): metrics go to stdout
    /// for CloudWatch there, and stay in memory elsewhere (the local runner counts them).
    pub in_lambda: bool,
    /// Clock speed-up for local runs (`CLOCK_SCALE`, default 1 = wall clock).
    pub clock_scale: f64,
    /// Origin of the scaled clock (`CLOCK_ORIGIN`, RFC 3339); ignored at scale 1.
    pub clock_origin: Option<DateTime<Utc>>,
    /// A clock the process that builds the functions hands in, used instead of the above: the local runner's
    /// stepped clock, which moves only when a benchmark moves it. Never set from the environment.
    pub given_clock: Option<Arc<dyn Clock>>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, which returns a variable's value if it is set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| var(name).ok_or(ConfigError::Missing(name));

        let shared_endpoint = var("SPAPI_ENDPOINT");
        let mut spapi_endpoints = HashMap::new();
        for region in Region::ALL {
            let name = match region {
                Region::Na => "SPAPI_ENDPOINT_NA",
                Region::Eu => "SPAPI_ENDPOINT_EU",
                Region::Fe => "SPAPI_ENDPOINT_FE",
            };
            let url = var(name)
                .or_else(|| shared_endpoint.clone())
                .unwrap_or_else(|| region.default_base_url());
            spapi_endpoints.insert(region, parse_url(name, &url)?);
        }
        let lwa_endpoint = parse_url(
            "LWA_ENDPOINT",
            &var("LWA_ENDPOINT").unwrap_or(DEFAULT_LWA_ENDPOINT.into()),
        )?;

        let clock_scale = match var("CLOCK_SCALE") {
            None => 1.0,
            Some(text) => match text.parse::<f64>() {
                Ok(scale) if scale.is_finite() && scale >= 1.0 => scale,
                _ => return Err(invalid("CLOCK_SCALE", "expected a number of at least 1")),
            },
        };
        let clock_origin = match var("CLOCK_ORIGIN") {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(&text)
                    .map_err(|_| invalid("CLOCK_ORIGIN", "expected an RFC 3339 timestamp"))?
                    .to_utc(),
            ),
        };

        // A scaled clock without an origin starts at load time, once: every clock this configuration builds
        // then reads the same instant, however far apart they are built.
        let clock_origin = match clock_origin {
            None if clock_scale > 1.0 => Some(Utc::now()),
            origin => origin,
        };

        Ok(Config {
            spapi_endpoints,
            lwa_endpoint,
            lwa_credentials_secret: required("LWA_CREDENTIALS_SECRET")?,
            account_secret_prefix: var("ACCOUNT_SECRET_PREFIX")
                .unwrap_or_else(|| "sellersync/accounts/".into()),
            data_key_id: var("DATA_KEY_ID"),
            orders_table: required("ORDERS_TABLE")?,
            state_table: required("STATE_TABLE")?,
            parse_queue_url: var("PARSE_QUEUE_URL"),
            parse_dlq_url: var("PARSE_DLQ_URL"),
            feed_dlq_url: var("FEED_DLQ_URL"),
            app_notifications_dlq_url: var("APP_NOTIFICATIONS_DLQ_URL"),
            notification_queue_arn: var("NOTIFICATION_QUEUE_ARN"),
            notifications_dlq_url: var("NOTIFICATIONS_DLQ_URL"),
            feed_queue_url: var("FEED_QUEUE_URL"),
            feed_window: TimeDelta::seconds(whole_number(&var, "FEED_WINDOW_SECONDS", 180, 0..=86_400)?),
            cancel_window: TimeDelta::seconds(whole_number(&var, "CANCEL_WINDOW_SECONDS", 300, 0..=86_400)?),
            schedule_group: var("SCHEDULE_GROUP"),
            requester_arn: var("REQUESTER_ARN"),
            scheduler_role_arn: var("SCHEDULER_ROLE_ARN"),
            schedule_dlq_arn: var("SCHEDULE_DLQ_ARN"),
            report_overlap: TimeDelta::hours(whole_number(&var, "REPORT_OVERLAP_HOURS", 24, 0..=24 * 7)?),
            initial_lookback: TimeDelta::days(whole_number(&var, "INITIAL_LOOKBACK_DAYS", 7, 0..=730)?),
            parse_deadline: TimeDelta::minutes(whole_number(
                &var,
                "PARSE_DEADLINE_MINUTES",
                PARSE_DEADLINE.num_minutes(),
                60..=14 * 24 * 60,
            )?),
            stack_name: var("STACK_NAME").unwrap_or_else(|| "sellersync".into()),
            in_lambda: var("AWS_LAMBDA_FUNCTION_NAME").is_some(),
            raw_documents_bucket: var("RAW_DOCUMENTS_BUCKET"),
            event_bus_name: var("EVENT_BUS_NAME"),
            enrich_orders: match var("ENRICH_ORDERS").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => return Err(invalid("ENRICH_ORDERS", "expected true or false")),
            },
            connect: ConnectSettings {
                application_id: match var("SPAPI_APPLICATION_ID") {
                    Some(id) if !id.starts_with("amzn1.") || id.chars().any(char::is_whitespace) => {
                        return Err(invalid(
                            "SPAPI_APPLICATION_ID",
                            "expected the application's id, e.g. amzn1.sellerapps.app.0bf296b5-...",
                        ));
                    }
                    id => id,
                },
                draft: match var("SPAPI_APPLICATION_DRAFT").as_deref() {
                    None | Some("false") => false,
                    Some("true") => true,
                    Some(_) => return Err(invalid("SPAPI_APPLICATION_DRAFT", "expected true or false")),
                },
                seller_central_url: var("SELLER_CENTRAL_URL")
                    .map(|url| parse_url("SELLER_CENTRAL_URL", &url))
                    .transpose()?,
            },
            clock_scale,
            clock_origin,
            given_clock: None,
        })
    }

    /// The SP-API base URL for a region.
    pub fn spapi_endpoint(&self, region: Region) -> &str {
        self.spapi_endpoints
            .get(&region)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// An optional setting that the calling function needs, or the error naming its variable.
    pub fn require<'a>(value: &'a Option<String>, name: &'static str) -> Result<&'a str, ConfigError> {
        value.as_deref().ok_or(ConfigError::Missing(name))
    }

    /// Where metrics go: CloudWatch (EMF lines on stdout) in Lambda, memory anywhere else.
    pub fn metrics(&self) -> Metrics {
        if self.in_lambda {
            Metrics::stdout(&self.stack_name)
        } else {
            Metrics::recording(&self.stack_name)
        }
    }

    /// The clock the configuration asks for: the wall clock, a scaled one for local runs, or the one handed in.
    pub fn clock(&self) -> Arc<dyn Clock> {
        if let Some(clock) = &self.given_clock {
            clock.clone()
        } else if self.clock_scale > 1.0 {
            Arc::new(ScaledClock::new(
                self.clock_origin.unwrap_or_else(Utc::now),
                self.clock_scale,
            ))
        } else {
            Arc::new(SystemClock)
        }
    }
}

fn invalid(name: &'static str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.to_owned(),
    }
}

/// A whole number within `range`, or `default` when the variable is unset.
fn whole_number(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|v| range.contains(v))
            .ok_or_else(|| {
                invalid(
                    name,
                    &format!(
                        "expected a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )
            }),
    }
}

fn parse_url(name: &'static str, url: &str) -> Result<String, ConfigError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(url.trim_end_matches('/').to_owned())
    } else {
        Err(invalid(name, "expected an http:// or https:// URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIRED: [(&str, &str); 3] = [
        ("LWA_CREDENTIALS_SECRET", "lwa"),
        ("ORDERS_TABLE", "orders"),
        ("STATE_TABLE", "state"),
    ];

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = REQUIRED
            .iter()
            .chain(vars)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn connect_links_are_off_without_an_application_id_and_a_malformed_one_is_named() {
        assert_eq!(config(&[]).unwrap().connect, ConnectSettings::default());
        let on = config(&[
            ("SPAPI_APPLICATION_ID", "amzn1.sellerapps.app.1"),
            ("SPAPI_APPLICATION_DRAFT", "true"),
            ("SELLER_CENTRAL_URL", "http://127.0.0.1:9/"),
        ])
        .unwrap()
        .connect;
        assert_eq!(on.application_id.as_deref(), Some("amzn1.sellerapps.app.1"));
        assert!(on.draft);
        assert_eq!(on.seller_central_url.as_deref(), Some("http://127.0.0.1:9"));
        for (name, value) in [
            ("SPAPI_APPLICATION_ID", "my app"),
            ("SPAPI_APPLICATION_DRAFT", "yes"),
            ("SELLER_CENTRAL_URL", "sellercentral.amazon.com"),
        ] {
            let err = config(&[(name, value)]).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn enrichment_is_off_unless_turned_on_and_a_typo_is_refused() {
        assert!(!config(&[]).unwrap().enrich_orders);
        assert!(config(&[("ENRICH_ORDERS", "true")]).unwrap().enrich_orders);
        assert!(!config(&[("ENRICH_ORDERS", "false")]).unwrap().enrich_orders);
        let err = config(&[("ENRICH_ORDERS", "yes")]).unwrap_err();
        assert!(err.to_string().contains("ENRICH_ORDERS"), "{err}");
    }

    #[test]
    fn defaults_point_at_amazon() {
        let config = config(&[]).unwrap();
        assert_eq!(
            config.spapi_endpoint(Region::Eu),
            "https://sellingpartnerapi-eu.amazon.com"
        );
        assert_eq!(config.lwa_endpoint, DEFAULT_LWA_ENDPOINT);
        assert_eq!(config.clock_scale, 1.0);
        assert_eq!(config.report_overlap, TimeDelta::hours(24));
        assert_eq!(config.initial_lookback, TimeDelta::days(7));
        assert_eq!(config.parse_deadline, TimeDelta::hours(12));
        assert_eq!(config.stack_name, "sellersync");
    }

    #[test]
    fn one_endpoint_serves_every_region_unless_a_region_overrides_it() {
        let config = config(&[
            ("SPAPI_ENDPOINT", "http://127.0.0.1:9000/"),
            ("SPAPI_ENDPOINT_FE", "http://127.0.0.1:9001"),
        ])
        .unwrap();
        assert_eq!(config.spapi_endpoint(Region::Na), "http://127.0.0.1:9000");
        assert_eq!(config.spapi_endpoint(Region::Fe), "http://127.0.0.1:9001");
    }

    /// Clocks built from one configuration at different moments read the same time: a scaled clock whose
    /// origin were taken when each is built would lag the first by the scaled gap (here 100 ms x 600 = 60 s).
    #[test]
    fn every_clock_of_one_configuration_reads_the_same_time() {
        let config = config(&[("CLOCK_SCALE", "600")]).unwrap();
        let first = config.clock();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let second = config.clock();
        let (a, b) = (first.now(), second.now());
        assert!((a - b).abs() < TimeDelta::seconds(5), "{a} vs {b}");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = config(&[("CLOCK_SCALE", "fast")]).unwrap_err();
        assert!(err.to_string().contains("CLOCK_SCALE"), "{err}");
        let err = config(&[("LWA_ENDPOINT", "api.amazon.com")]).unwrap_err();
        assert!(err.to_string().contains("LWA_ENDPOINT"), "{err}");
        let err = config(&[("REPORT_OVERLAP_HOURS", "-1")]).unwrap_err();
        assert!(err.to_string().contains("REPORT_OVERLAP_HOURS"), "{err}");
    }

    #[test]
    fn missing_required_and_needed_optional_settings_are_named() {
        let err = Config::from_lookup(|_| None).unwrap_err();
        assert_eq!(err, ConfigError::Missing("LWA_CREDENTIALS_SECRET"));
        let config = config(&[]).unwrap();
        assert_eq!(
            Config::require(&config.parse_queue_url, "PARSE_QUEUE_URL").unwrap_err(),
            ConfigError::Missing("PARSE_QUEUE_URL")
        );
    }
}
