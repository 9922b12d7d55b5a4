//! Sapo (sapo.vn), Vietnam's shop platform, through its Admin API: integration
//! `ecommerce-sapo`.

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
use client::SapoApi;

pub const INTEGRATION_ID: &str = "ecommerce-sapo";

crate::kit_connector!(
    SapoConnector,
    SapoApi,
    INTEGRATION_ID,
    actions::TABLE,
    client::AUTH
);

#[async_trait]
impl Connector for SapoConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Lists one order: proves the store's key (or token) may read orders.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let api = self.api(&ctx)?;
        api.call(Request::get("/admin/orders.json").query("limit", "1"))
            .await?;
        Ok(format!(
            "Sapo store {} accepted the credentials",
            api.store()
        ))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let api = self.api(&ctx)?;
        self.actions
            .run(&api, action_id, input, ctx.execution_id)
            .await
    }
}
