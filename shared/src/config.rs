//! `Config`: every setting of every function, read from the environment once at cold start.
//!
//! Variable names match `infra/template.yaml` exactly. This is the only module that reads the environment.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, ScaledClock, SystemClock};
use crate::domain::marketplace::Region;
use crate::error::ConfigError;

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
    /// Clock speed-up for local runs (`CLOCK_SCALE`, default 1 = wall clock), from `CLOCK_ORIGIN` (RFC 3339).
    pub clock_scale: f64,
    /// Origin of the scaled clock; ignored at scale 1.
    pub clock_origin: Option<DateTime<Utc>>,
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

        Ok(Config {
            spapi_endpoints,
            lwa_endpoint,
            clock_scale,
            clock_origin,
        })
    }

    /// The SP-API base URL for a region.
    pub fn spapi_endpoint(&self, region: Region) -> &str {
        self.spapi_endpoints
            .get(&region)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The clock the configuration asks for: the wall clock, or a scaled one for local runs.
    pub fn clock(&self) -> Arc<dyn Clock> {
        if self.clock_scale > 1.0 {
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

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.get(name).cloned())
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

    #[test]
    fn bad_values_name_their_variable() {
        let err = config(&[("CLOCK_SCALE", "fast")]).unwrap_err();
        assert!(err.to_string().contains("CLOCK_SCALE"), "{err}");
        let err = config(&[("LWA_ENDPOINT", "api.amazon.com")]).unwrap_err();
        assert!(err.to_string().contains("LWA_ENDPOINT"), "{err}");
    }
}
