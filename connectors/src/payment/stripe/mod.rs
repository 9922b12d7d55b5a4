//! Stripe: integration `payment-stripe`.

mod actions;
mod client;
#[cfg(test)]
mod tests;
pub mod webhook;

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::Value;

use crate::kit::Request;
use client::StripeApi;
pub use client::BASE_URL;

pub const INTEGRATION_ID: &str = "payment-stripe";

crate::kit_connector!(
    StripeConnector,
    StripeApi,
    INTEGRATION_ID,
    actions::TABLE,
    client::AUTH
);

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
