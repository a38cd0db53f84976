//! Application Management API 2023-11-30 `rotateApplicationClientSecret`
//! (`application-management-api-model/application_2023-11-30.json`): Amazon makes a new client secret for the
//! application and sends it to the queue the developer registered for `APPLICATION_OAUTH_CLIENT_NEW_SECRET`; the
//! old secret keeps working for a week. Grantless: the call carries an access token of LWA's
//! `client_credentials` grant with the rotation scope, not a seller's.

use reqwest::Method;

use super::auth::SellerAuth;
use super::client::{AmazonClient, ApiRequest};
use super::rate::Operation;
use crate::domain::Region;
use crate::error::AmazonError;

/// The LWA scope of the rotation's grantless token ("Rotate your application's client secret", Step 2).
pub const ROTATION_SCOPE: &str = "sellingpartnerapi::client_credential:rotation";

/// The rate limiter's account for calls made for the application rather than a seller.
pub const APPLICATION_ACCOUNT: &str = "_application";

impl AmazonClient {
    /// `rotateApplicationClientSecret` at `region`'s endpoint: 204, and the new secret on its way to the
    /// registered queue. Not repeated after an answer that got lost (a second rotation would cut the first new
    /// secret's life to a week), only after a 429.
    pub async fn rotate_application_client_secret(&self, region: Region) -> Result<(), AmazonError> {
        let token = self.grantless_token(ROTATION_SCOPE).await?;
        let mut request = ApiRequest::new(
            Operation::RotateApplicationClientSecret,
            Method::POST,
            "/applications/2023-11-30/clientSecret".to_owned(),
        );
        request.grantless_token = Some(token);
        let caller = SellerAuth::new(APPLICATION_ACCOUNT, region, "");
        self.send(&caller, request).await.map(drop)
    }
}
