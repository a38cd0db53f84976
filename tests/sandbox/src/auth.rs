//! Authorization as Amazon does it: Login with Amazon's token endpoint (refresh-token, client-credentials and
//! authorization-code grants), the `x-amz-access-token` check on every SP-API call, and Restricted Data Tokens.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::server::ApiError;
use super::state::World;

/// The client id of the one LWA application the sandbox knows.
pub const CLIENT_ID: &str = "amzn1.application-oa2-client.5a4d3f2e1b0c4d5e8f9a0b1c2d3e4f5a";
/// That application's client secret.
pub const CLIENT_SECRET: &str =
    "amzn1.oa2-cs.v1.3c8f0e6b9d2a4f1e7b5c8d0a2e4f6b8d1c3e5f7a9b0d2f4e6a8c0b2d4f6e8a0c";

/// Access tokens and Restricted Data Tokens live an hour of clock time.
const TOKEN_LIFETIME: TimeDelta = TimeDelta::seconds(3600);
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// What a token may reach: a method and a path, generic (`{orderId}`) or specific.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RestrictedResource {
    #[serde(default)]
    pub(crate) method: String,
    #[serde(default)]
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) data_elements: Option<Vec<String>>,
}

impl RestrictedResource {
    fn covers(&self, method: &str, path: &str) -> bool {
        if !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        let mine: Vec<&str> = self.path.trim_end_matches('/').split('/').collect();
        let theirs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        mine.len() == theirs.len()
            && mine
                .iter()
                .zip(&theirs)
                .all(|(m, t)| m == t || (m.starts_with('{') && m.ends_with('}')))
    }
}

#[derive(Debug)]
struct RefreshToken {
    seller: String,
    revoked: bool,
}

/// An issued access token or RDT.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    /// `None` for grantless (client-credentials) tokens.
    seller: Option<String>,
    expires_at: DateTime<Utc>,
    /// Set for Restricted Data Tokens: the only resources the token reaches.
    restricted: Option<Vec<RestrictedResource>>,
    /// The scope of a grantless token.
    scope: Option<String>,
}

/// Every refresh token and access token the sandbox has issued.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    refresh: HashMap<String, RefreshToken>,
    access: HashMap<String, AccessToken>,
}

impl Tokens {
    /// The seller a refresh token was issued for, revoked or not.
    pub(crate) fn seller_of(&self, refresh_token: &str) -> Option<String> {
        self.refresh.get(refresh_token).map(|t| t.seller.clone())
    }

    /// Revokes every refresh token of a seller; access tokens already issued keep working until they expire.
    pub(crate) fn revoke_refresh_tokens(&mut self, seller: &str) {
        for token in self.refresh.values_mut().filter(|t| t.seller == seller) {
            token.revoked = true;
        }
    }
}

/// Issues a new refresh token for a seller, as a fresh authorization in Seller Central would.
pub(crate) fn issue_refresh_token(world: &mut World, seller: &str) -> String {
    let token = format!("Atzr|{}", world.random_string(360, TOKEN_ALPHABET));
    world.tokens.refresh.insert(
        token.clone(),
        RefreshToken {
            seller: seller.to_owned(),
            revoked: false,
        },
    );
    token
}

/// An LWA error: status, the OAuth `error` code, its description and Amazon's `x-amzn-ErrorType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LwaError {
    pub(crate) status: u16,
    pub(crate) error: &'static str,
    pub(crate) description: &'static str,
    pub(crate) error_type: &'static str,
}

impl LwaError {
    fn unsupported_grant_type() -> Self {
        LwaError {
            status: 400,
            error: "unsupported_grant_type",
            description: "The authorization grant type is not supported by the authorization server",
            error_type: "OA2UnsupportedGrantTypeException",
        }
    }

    fn invalid_client() -> Self {
        LwaError {
            status: 401,
            error: "invalid_client",
            description: "Client authentication failed",
            error_type: "OA2InvalidClientException",
        }
    }

    fn invalid_grant(description: &'static str) -> Self {
        LwaError {
            status: 400,
            error: "invalid_grant",
            description,
            error_type: "OA2InvalidGrantException",
        }
    }

    fn invalid_request(description: &'static str) -> Self {
        LwaError {
            status: 400,
            error: "invalid_request",
            description,
            error_type: "OA2InvalidRequestException",
        }
    }

    /// The JSON body; only `unsupported_grant_type` was recorded with `error_index` and `request_id`.
    pub(crate) fn body(&self, request_id: &str, error_index: &str) -> Value {
        if self.error == "unsupported_grant_type" {
            json!({
                "error_index": error_index,
                "error_description": self.description,
                "error": self.error,
                "request_id": request_id,
            })
        } else {
            json!({ "error_description": self.description, "error": self.error })
        }
    }
}

/// `POST /auth/o2/token`: exchanges a refresh token (or client credentials) for an access token. Returns the
/// seller the token is for (if any) and the JSON body.
pub(crate) fn lwa_token(
    world: &mut World,
    form: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<(Option<String>, Value), LwaError> {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let grant_type = field("grant_type");
    if !matches!(
        grant_type,
        Some("refresh_token" | "client_credentials" | "authorization_code")
    ) {
        return Err(LwaError::unsupported_grant_type());
    }
    // Every secret of the application works until its expiry; a rotation cuts the older ones to a week
    // (super::application).
    let secret_ok = field("client_secret").is_some_and(|s| world.application.accepts(s, now));
    if field("client_id") != Some(CLIENT_ID) || !secret_ok {
        return Err(LwaError::invalid_client());
    }
    let access_token = format!("Atza|{}", world.random_string(380, TOKEN_ALPHABET));
    match grant_type {
        Some("refresh_token") => {
            let Some(refresh_token) = field("refresh_token").filter(|t| !t.is_empty()) else {
                return Err(LwaError::invalid_request(
                    "The request is missing a required parameter : refresh_token",
                ));
            };
            let seller = match world.tokens.refresh.get(refresh_token) {
                Some(token) if !token.revoked => token.seller.clone(),
                _ => {
                    return Err(LwaError::invalid_grant(
                        "The request has an invalid grant parameter : refresh_token",
                    ));
                }
            };
            let refresh_token = refresh_token.to_owned();
            Ok(seller_grant(world, access_token, seller, refresh_token, now))
        }
        Some("client_credentials") => {
            let Some(scope) = field("scope").filter(|s| s.starts_with("sellingpartnerapi::")) else {
                return Err(LwaError {
                    status: 400,
                    error: "invalid_scope",
                    description: "The request has an invalid parameter : scope",
                    error_type: "OA2InvalidScopeException",
                });
            };
            world.tokens.access.insert(
                access_token.clone(),
                AccessToken {
                    seller: None,
                    expires_at: now + TOKEN_LIFETIME,
                    restricted: None,
                    scope: Some(scope.to_owned()),
                },
            );
            let body = json!({
                "access_token": access_token,
                "scope": scope,
                "token_type": "bearer",
                "expires_in": TOKEN_LIFETIME.num_seconds(),
            });
            Ok((None, body))
        }
        // The website authorization workflow's Step 4: a code Seller Central handed out, once, within five
        // minutes, with the redirect URI it went to (super::consent). The refresh token is new; the access token
        // comes with it.
        _ => {
            let code = field("code").unwrap_or_default();
            let Some(seller) = super::consent::redeem(world, code, field("redirect_uri"), now) else {
                return Err(LwaError::invalid_grant(
                    "The request has an invalid grant parameter : code",
                ));
            };
            let refresh_token = issue_refresh_token(world, &seller);
            Ok(seller_grant(world, access_token, seller, refresh_token, now))
        }
    }
}

/// A seller's grant: the access token issued for the seller, answered with the refresh token it came from (or
/// was issued with), as LWA's recorded bodies are.
fn seller_grant(
    world: &mut World,
    access_token: String,
    seller: String,
    refresh_token: String,
    now: DateTime<Utc>,
) -> (Option<String>, Value) {
    world.tokens.access.insert(
        access_token.clone(),
        AccessToken {
            seller: Some(seller.clone()),
            expires_at: now + TOKEN_LIFETIME,
            restricted: None,
            scope: None,
        },
    );
    let body = json!({
        "access_token": access_token,
        "refresh_token": refresh_token,
        "token_type": "bearer",
        "expires_in": TOKEN_LIFETIME.num_seconds(),
    });
    (Some(seller), body)
}

/// Who is calling an SP-API operation.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) seller: String,
    /// Set when the call carries a Restricted Data Token.
    pub(crate) restricted: Option<Vec<RestrictedResource>>,
}

impl Caller {
    /// Whether the call carries an RDT reaching `method path`.
    pub(crate) fn has_rdt_for(&self, method: &str, path: &str) -> bool {
        self.restricted
            .as_ref()
            .is_some_and(|resources| resources.iter().any(|r| r.covers(method, path)))
    }
}

/// Why a call was refused before reaching its operation, with the seller when the token named one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No `x-amz-access-token` header.
    Missing,
    /// A token the sandbox never issued.
    Invalid,
    /// A token older than an hour of clock time.
    Expired(Option<String>),
    /// A valid token that may not reach this resource (seller deauthorized, grantless token, RDT elsewhere).
    Denied(Option<String>),
    /// The seller's account may not use the API.
    Ineligible(String),
}

impl AuthFailure {
    /// The seller the refused call was made for, when known.
    pub(crate) fn seller(&self) -> Option<&str> {
        match self {
            AuthFailure::Expired(seller) | AuthFailure::Denied(seller) => seller.as_deref(),
            AuthFailure::Ineligible(seller) => Some(seller),
            AuthFailure::Missing | AuthFailure::Invalid => None,
        }
    }

    /// The 403 Amazon answers, in the variants reported from production.
    pub(crate) fn error(&self) -> ApiError {
        let denied = "Access to requested resource is denied.";
        match self {
            AuthFailure::Missing => ApiError::new(403, "Unauthorized", denied)
                .details("Access token is missing in the request header.")
                .error_type("ValidationException"),
            AuthFailure::Invalid => ApiError::new(403, "Unauthorized", denied)
                .details("The access token you provided is revoked, malformed or invalid."),
            AuthFailure::Expired(_) => ApiError::new(403, "Unauthorized", denied)
                .details("The security token included in the request is expired"),
            AuthFailure::Denied(_) => ApiError::new(403, "Unauthorized", denied).details(""),
            AuthFailure::Ineligible(_) => ApiError::new(403, "Unauthorized", denied)
                .details("The seller account is not eligible to use this API."),
        }
    }
}

/// The access token a call carries, issued by the sandbox and not expired at `now`.
fn live_token<'w>(
    world: &'w World,
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<&'w AccessToken, AuthFailure> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthFailure::Missing)?;
    let issued = world.tokens.access.get(token).ok_or(AuthFailure::Invalid)?;
    if now >= issued.expires_at {
        return Err(AuthFailure::Expired(issued.seller.clone()));
    }
    Ok(issued)
}

/// Checks a grantless call's `x-amz-access-token` at `now`: a client-credentials token with `scope`.
pub(crate) fn authenticate_grantless(
    world: &World,
    token: Option<&str>,
    scope: &str,
    now: DateTime<Utc>,
) -> Result<(), AuthFailure> {
    let issued = live_token(world, token, now)?;
    if issued.seller.is_some() || issued.scope.as_deref() != Some(scope) {
        return Err(AuthFailure::Denied(issued.seller.clone()));
    }
    Ok(())
}

/// Checks a call's `x-amz-access-token` for `method path` at `now`.
pub(crate) fn authenticate(
    world: &World,
    token: Option<&str>,
    method: &str,
    path: &str,
    now: DateTime<Utc>,
) -> Result<Caller, AuthFailure> {
    let issued = live_token(world, token, now)?;
    let seller = issued.seller.clone().ok_or(AuthFailure::Denied(None))?;
    let state = world.sellers.get(&seller).ok_or(AuthFailure::Invalid)?;
    if !state.authorized {
        return Err(AuthFailure::Denied(Some(seller)));
    }
    if !state.eligible {
        return Err(AuthFailure::Ineligible(seller));
    }
    if let Some(resources) = &issued.restricted
        && !resources.iter().any(|r| r.covers(method, path))
    {
        return Err(AuthFailure::Denied(Some(seller)));
    }
    Ok(Caller {
        seller,
        restricted: issued.restricted.clone(),
    })
}

/// Paths that restricted operations take, as templates; RDTs may only name these.
const RESTRICTED_PATHS: &[&str] = &[
    "/orders/v0/orders",
    "/orders/v0/orders/{orderId}",
    "/orders/v0/orders/{orderId}/orderItems",
    "/orders/v0/orders/{orderId}/address",
    "/orders/v0/orders/{orderId}/buyerInfo",
    "/orders/v0/orders/{orderId}/orderItems/buyerInfo",
    "/reports/2021-06-30/documents/{reportDocumentId}",
    "/mfn/v0/shipments/{shipmentId}",
    "/shipping/v1/shipments/{shipmentId}",
];

const DATA_ELEMENTS: &[&str] = &["buyerInfo", "shippingAddress", "buyerTaxInformation"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRdtRequest {
    #[serde(default)]
    restricted_resources: Option<Vec<RestrictedResource>>,
}

/// `createRestrictedDataToken`: validates the restricted resources and issues an RDT for exactly them.
pub(crate) fn create_restricted_data_token(
    world: &mut World,
    caller: &Caller,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let invalid = |details: &str| {
        ApiError::new(
            400,
            "InvalidRequest",
            "Request is missing or has invalid parameters",
        )
        .details(details)
    };
    let request: CreateRdtRequest =
        serde_json::from_slice(body).map_err(|_| invalid("The request body is not valid JSON."))?;
    let resources = request
        .restricted_resources
        .filter(|r| !r.is_empty())
        .ok_or_else(|| invalid("Resource not provided."))?;
    if resources.len() > 50 {
        return Err(invalid("At most 50 restricted resources may be requested."));
    }
    for resource in &resources {
        if !matches!(resource.method.as_str(), "GET" | "PUT" | "POST" | "DELETE") {
            return Err(invalid("Resource not provided."));
        }
        let template = RESTRICTED_PATHS.iter().find(|template| {
            RestrictedResource {
                method: resource.method.clone(),
                path: template.to_string(),
                data_elements: None,
            }
            .covers(&resource.method, &resource.path)
        });
        let Some(template) = template else {
            return Err(invalid(&format!("Invalid resource path: {}", resource.path)));
        };
        let is_orders = template.starts_with("/orders/");
        if template.starts_with("/reports/") && resource.path.contains('{') {
            return Err(invalid(
                "A specific path is required for getReportDocument, not a generic path.",
            ));
        }
        if let Some(elements) = &resource.data_elements {
            if !is_orders {
                return Err(invalid("dataElements are only supported for the Orders API."));
            }
            if let Some(bad) = elements.iter().find(|e| !DATA_ELEMENTS.contains(&e.as_str())) {
                return Err(invalid(&format!("Invalid dataElements value: {bad}")));
            }
        }
    }
    let token = format!("Atz.sprdt|{}", world.random_string(300, TOKEN_ALPHABET));
    world.tokens.access.insert(
        token.clone(),
        AccessToken {
            seller: Some(caller.seller.clone()),
            expires_at: now + TOKEN_LIFETIME,
            restricted: Some(resources),
            scope: None,
        },
    );
    Ok(json!({ "restrictedDataToken": token, "expiresIn": TOKEN_LIFETIME.num_seconds() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(method: &str, path: &str) -> RestrictedResource {
        RestrictedResource {
            method: method.to_owned(),
            path: path.to_owned(),
            data_elements: None,
        }
    }

    #[test]
    fn a_resource_covers_its_exact_path_or_its_template() {
        let doc = resource("GET", "/reports/2021-06-30/documents/amzn1.spdoc.1");
        assert!(doc.covers("GET", "/reports/2021-06-30/documents/amzn1.spdoc.1"));
        assert!(!doc.covers("GET", "/reports/2021-06-30/documents/amzn1.spdoc.2"));
        assert!(!doc.covers("POST", "/reports/2021-06-30/documents/amzn1.spdoc.1"));
        let generic = resource("GET", "/orders/v0/orders/{orderId}/address");
        assert!(generic.covers("GET", "/orders/v0/orders/123-1234567-1234567/address"));
        assert!(!generic.covers("GET", "/orders/v0/orders/123-1234567-1234567"));
    }
}
