//! HubSpot (CRM v3 objects, v4 default associations): integration `crm-hubspot`, authType
//! `oauth2`. One connection holds either a private app token or OAuth tokens in the same
//! `accessToken` field, sent as Bearer: OAuth ones (30 minutes) are renewed by the kit with
//! the refresh-token grant ([`token`]); a private app token has no refresh token and never
//! expires, so a rejected one needs a new credential.

mod actions;
mod client;
#[cfg(test)]
mod tests;
mod token;

use async_trait::async_trait;
use integrations_core::catalog::Catalog;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::Value;

use crate::http::ConnectorSettings;
use crate::kit::{Request, TokenConnector};
use client::HubSpotApi;
pub use client::PRODUCTION_URL;
pub use token::TOKEN_ENDPOINT;

pub const INTEGRATION_ID: &str = "crm-hubspot";

pub struct HubSpotConnector(TokenConnector<HubSpotApi>);

impl HubSpotConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self(TokenConnector::new(
            settings,
            INTEGRATION_ID,
            actions::TABLE,
            &token::HUBSPOT_OAUTH,
        ))
    }
}

impl crate::Checked for HubSpotConnector {
    fn check(&self, catalog: &Catalog) -> Result<()> {
        self.0.check(catalog)
    }
}

#[async_trait]
impl Connector for HubSpotConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Lists one contact with the connection's token (renewing it if it has expired).
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        self.0
            .with_api(&ctx, true, |api| async move {
                api.call(Request::get("/crm/v3/objects/contacts").query("limit", "1"))
                    .await
            })
            .await?;
        Ok("HubSpot accepted the token and listed contacts".into())
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        self.0.execute(action_id, input, &ctx).await
    }
}
