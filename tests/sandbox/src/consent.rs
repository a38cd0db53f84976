//! Seller Central's side of the website authorization workflow, as Amazon's developer guide describes it
//! (`spapi-docs/guides/en-US/developer-guide/SellingPartnerApiDeveloperGuide.md`, "Website authorization
//! workflow", Steps 1 to 4; <https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow>):
//!
//! - The OAuth authorization URI is the Seller Central URL with `/apps/authorize/consent?application_id=...`,
//!   with the application's `state` and, for an application in draft status, `version=beta` (Step 1).
//!   `redirect_uri` is optional and "must [be] an OAuth Redirect URI that you specified when you registered your
//!   application"; left out, "the default is the first OAuth Redirect URI that you specified".
//! - The selling partner signs in and sees the consent page: **Confirm** continues, **Cancel** "exit[s] without
//!   authorizing" (Step 2), so a cancelled consent never reaches the application.
//! - On Confirm, Amazon loads the redirect URI with `state`, `selling_partner_id` and `spapi_oauth_code`
//!   (Step 3); "An LWA authorization code expires after five minutes" (Steps 3 and 4). The code is exchanged at
//!   the LWA token endpoint with `grant_type=authorization_code`, `code`, `redirect_uri`, `client_id` and
//!   `client_secret` (Step 4; [`super::auth::lwa_token`]).
//!
//! The sandbox's consent page has no sign-in: whoever opens it picks one of the sandbox's sellers (its "choose
//! another seller"), as a person signed in to Seller Central with several accounts would. An unknown
//! application or a redirect URI the application did not register gets an error page and no redirect (a
//! redirect would hand a code to a URI nobody registered).

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Utc};

use super::state::World;

/// The application id of the one SP-API application the sandbox knows (the shape of Amazon's example
/// `amzn1.sellerapps.app.0bf296b5-36a6-4942-a13e-EXAMPLEfcd28`).
pub const APPLICATION_ID: &str = "amzn1.sellerapps.app.5a4d3f2e-1b0c-4d5e-8f9a-0b1c2d3e4f5a";

/// "An LWA authorization code expires after five minutes."
pub(crate) const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(5);

const CODE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An authorization code Seller Central handed out.
#[derive(Debug, Clone)]
pub(crate) struct IssuedCode {
    pub(crate) seller: String,
    /// The redirect URI the code went to: the exchange must name the same one.
    pub(crate) redirect_uri: String,
    pub(crate) expires_at: DateTime<Utc>,
    /// Exchanged already: a code is good for one exchange.
    pub(crate) used: bool,
}

/// The application's registration and the codes handed out for it.
#[derive(Debug, Default)]
pub(crate) struct Consent {
    /// The OAuth Redirect URIs registered for the application, in order (the first is the default).
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) codes: HashMap<String, IssuedCode>,
}

/// What the consent page was asked for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConsentRequest {
    pub(crate) state: String,
    pub(crate) redirect_uri: String,
    pub(crate) beta: bool,
}

/// Why the consent page shows an error instead of the consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConsentError(pub(crate) String);

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Checks the query of `/apps/authorize/consent` (or the confirmation form, which carries the same fields).
pub(crate) fn check_request(
    world: &World,
    pairs: &[(String, String)],
) -> Result<ConsentRequest, ConsentError> {
    if field(pairs, "application_id") != Some(APPLICATION_ID) {
        return Err(ConsentError(
            "The application you are trying to authorize is not available. Check the application_id.".into(),
        ));
    }
    let registered = &world.consent.redirect_uris;
    let redirect_uri = match field(pairs, "redirect_uri") {
        Some(uri) if registered.iter().any(|r| r == uri) => uri.to_owned(),
        Some(_) => {
            return Err(ConsentError(
                "The redirect_uri is not one of the application's OAuth Redirect URIs.".into(),
            ));
        }
        None => registered
            .first()
            .cloned()
            .ok_or_else(|| ConsentError("The application has no OAuth Redirect URI registered.".into()))?,
    };
    let state = field(pairs, "state").unwrap_or_default().to_owned();
    Ok(ConsentRequest {
        state,
        redirect_uri,
        beta: field(pairs, "version") == Some("beta"),
    })
}

/// Confirm: a new code for `seller`, and the redirect URI loaded with `state`, `selling_partner_id` and
/// `spapi_oauth_code` (Step 3).
pub(crate) fn confirm(
    world: &mut World,
    request: &ConsentRequest,
    seller: &str,
    now: DateTime<Utc>,
) -> Result<String, ConsentError> {
    if !world.sellers.contains_key(seller) {
        return Err(ConsentError(format!("No seller {seller} is signed in.")));
    }
    let code = world.random_string(20, CODE_ALPHABET);
    world.consent.codes.insert(
        code.clone(),
        IssuedCode {
            seller: seller.to_owned(),
            redirect_uri: request.redirect_uri.clone(),
            expires_at: now + CODE_LIFETIME,
            used: false,
        },
    );
    let query = serde_urlencoded::to_string([
        ("state", request.state.as_str()),
        ("selling_partner_id", seller),
        ("spapi_oauth_code", code.as_str()),
    ])
    .map_err(|e| ConsentError(e.to_string()))?;
    let separator = if request.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(format!("{}{separator}{query}", request.redirect_uri))
}

/// The seller an authorization code stands for, once: an unknown, used or expired code, or one sent with
/// another redirect URI, is refused.
pub(crate) fn redeem(
    world: &mut World,
    code: &str,
    redirect_uri: Option<&str>,
    now: DateTime<Utc>,
) -> Option<String> {
    let issued = world.consent.codes.get_mut(code)?;
    if issued.used || now >= issued.expires_at || redirect_uri != Some(issued.redirect_uri.as_str()) {
        return None;
    }
    issued.used = true;
    Some(issued.seller.clone())
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body><main><h1>{}</h1>{body}</main></body></html>\n",
        escape(title),
        escape(title)
    )
}

/// The consent page: the application, the sellers to sign in as, Confirm and Cancel (Step 2).
pub(crate) fn consent_page(world: &World, request: &ConsentRequest) -> String {
    let mut sellers = String::new();
    for (i, id) in world.sellers.keys().enumerate() {
        let checked = if i == 0 { " checked" } else { "" };
        let _ = write!(
            sellers,
            "<label><input type=\"radio\" name=\"seller_id\" value=\"{id}\"{checked}> {id}</label><br>",
            id = escape(id)
        );
    }
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        )
    };
    let mut form = String::new();
    form.push_str(&hidden("application_id", APPLICATION_ID));
    form.push_str(&hidden("state", &request.state));
    form.push_str(&hidden("redirect_uri", &request.redirect_uri));
    if request.beta {
        form.push_str(&hidden("version", "beta"));
    }
    page(
        "Authorize sellersync (sandbox)",
        &format!(
            "<p>sellersync asks to read your orders and reports and to send feeds on your behalf.</p>\
             <form method=\"post\" action=\"/apps/authorize/confirm\">{form}\
             <fieldset><legend>Signed in as</legend>{sellers}</fieldset>\
             <button type=\"submit\" name=\"decision\" value=\"confirm\">Confirm</button> \
             <button type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button></form>"
        ),
    )
}

/// The page after Cancel: Seller Central, without a redirect.
pub(crate) fn cancelled_page() -> String {
    page(
        "Authorization cancelled",
        "<p>You did not authorize sellersync. You can close this page.</p>",
    )
}

/// An error page (no redirect).
pub(crate) fn error_page(error: &ConsentError) -> String {
    page(
        "We could not authorize this application",
        &format!("<p>{}</p>", escape(&error.0)),
    )
}
