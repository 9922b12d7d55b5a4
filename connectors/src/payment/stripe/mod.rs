//! Stripe: integration `payment-stripe`.

mod actions;
mod client;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::Value;

use crate::http::ConnectorSettings;
use crate::kit::{Actions, Request};
use client::StripeApi;
pub use client::BASE_URL;

pub const INTEGRATION_ID: &str = "payment-stripe";

pub struct StripeConnector {
    http: reqwest::Client,
    base_url_override: Option<String>,
    actions: Actions<StripeApi>,
}

impl StripeConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self {
            http: settings.client.clone(),
            base_url_override: settings.base_url(INTEGRATION_ID).map(str::to_string),
            actions: Actions::new(INTEGRATION_ID, actions::TABLE),
        }
    }

    #[cfg(test)]
    pub(crate) fn actions(&self) -> &Actions<StripeApi> {
        &self.actions
    }

    fn api(&self, ctx: &CallContext<'_>) -> Result<StripeApi> {
        StripeApi::new(&self.http, self.base_url_override.as_deref(), ctx)
    }
}

#[async_trait]
impl Connector for StripeConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Lists one charge: any valid key with read access to charges succeeds.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let api = self.api(&ctx)?;
        api.call(Request::get("/v1/charges").query("limit", "1"))
            .await?;
        Ok("Stripe accepted the key".to_string())
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let api = self.api(&ctx)?;
        self.actions
            .run(&api, action_id, input, ctx.execution_id)
            .await
    }
}
