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
use crate::kit::{Actions, LoginTarget, Request, TokenAuth};
use client::HubSpotApi;
pub use client::PRODUCTION_URL;
pub use token::TOKEN_ENDPOINT;

pub const INTEGRATION_ID: &str = "crm-hubspot";

pub struct HubSpotConnector {
    http: reqwest::Client,
    base_url: String,
    actions: Actions<HubSpotApi>,
    tokens: TokenAuth,
}

impl HubSpotConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self {
            http: settings.client.clone(),
            base_url: settings
                .base_url(INTEGRATION_ID)
                .unwrap_or(PRODUCTION_URL)
                .to_string(),
            actions: Actions::new(INTEGRATION_ID, actions::TABLE),
            tokens: TokenAuth::new(INTEGRATION_ID, &token::HUBSPOT_OAUTH),
        }
    }

    fn target(&self) -> LoginTarget<'_> {
        LoginTarget {
            http: &self.http,
            base_url: &self.base_url,
        }
    }
}

impl crate::Checked for HubSpotConnector {
    fn check(&self, catalog: &Catalog) -> Result<()> {
        self.actions.check_catalog(catalog)?;
        self.tokens.spec().check(INTEGRATION_ID, catalog)
    }
}

#[async_trait]
impl Connector for HubSpotConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Lists one contact with the connection's token (renewing it if it has expired).
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        self.tokens
            .run(self.target(), &ctx, true, |auth, budget| {
                let api = HubSpotApi::new(&self.http, &self.base_url, auth, budget);
                async move {
                    api.call(Request::get("/crm/v3/objects/contacts").query("limit", "1"))
                        .await
                }
            })
            .await?;
        Ok("HubSpot accepted the token and listed contacts".into())
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let known = self.actions.ids().contains(&action_id);
        let execution_id = ctx.execution_id;
        self.tokens
            .run(self.target(), &ctx, known, |auth, budget| {
                let api = HubSpotApi::new(&self.http, &self.base_url, auth, budget);
                async move { self.actions.run(&api, action_id, input, execution_id).await }
            })
            .await
    }
}
