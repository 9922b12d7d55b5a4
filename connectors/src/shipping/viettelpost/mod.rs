//! Viettel Post, Vietnam's postal carrier: integration `shipping-viettelpost`. Every call but
//! the master data needs the long-lived token of [`token`] (login-then-token, run by the kit);
//! a call VTP refuses for its token is run once more after one renewal.

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
use crate::kit::{Actions, LoginTarget, TokenAuth};
pub use client::PRODUCTION_URL;
use client::{VtpApi, VtpConfig};

pub const INTEGRATION_ID: &str = "shipping-viettelpost";

pub struct ViettelPostConnector {
    http: reqwest::Client,
    base_url: String,
    actions: Actions<VtpApi>,
    tokens: TokenAuth,
}

impl ViettelPostConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self {
            http: settings.client.clone(),
            base_url: settings
                .base_url(INTEGRATION_ID)
                .unwrap_or(PRODUCTION_URL)
                .to_string(),
            actions: Actions::new(INTEGRATION_ID, actions::TABLE),
            tokens: TokenAuth::new(INTEGRATION_ID, &token::VTP_LOGIN),
        }
    }

    fn target(&self) -> LoginTarget<'_> {
        LoginTarget {
            http: &self.http,
            base_url: &self.base_url,
        }
    }
}

impl crate::Checked for ViettelPostConnector {
    fn check(&self, catalog: &Catalog) -> Result<()> {
        self.actions.check_catalog(catalog)?;
        self.tokens.spec().check(INTEGRATION_ID, catalog)
    }
}

#[async_trait]
impl Connector for ViettelPostConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Logs in with the connection's username and password (both steps), which proves them,
    /// and keeps the fresh token.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let config = VtpConfig::load(&ctx)?;
        self.tokens.verify(self.target(), &ctx).await?;
        Ok(format!(
            "Viettel Post accepted the login of {} and issued an API token",
            config.username
        ))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let config = VtpConfig::load(&ctx)?;
        // Unknown actions are answered by the table without logging in.
        let needs_token =
            self.actions.ids().contains(&action_id) && !actions::PUBLIC.contains(&action_id);
        let execution_id = ctx.execution_id;
        self.tokens
            .run(self.target(), &ctx, needs_token, |auth, budget| {
                let api = VtpApi::new(&self.http, &self.base_url, config.clone(), auth, budget);
                async move { self.actions.run(&api, action_id, input, execution_id).await }
            })
            .await
    }
}
