//! PrestaShop's webservice (JSON output) on the shop's own domain: integration
//! `ecommerce-prestashop`.

mod actions;
mod client;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::Value;

use client::PrestaApi;
pub use client::API_PATH;

pub const INTEGRATION_ID: &str = "ecommerce-prestashop";

crate::kit_connector!(
    PrestaShopConnector,
    PrestaApi,
    INTEGRATION_ID,
    actions::TABLE,
    client::AUTH
);

#[async_trait]
impl Connector for PrestaShopConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Lists one order id: proves the key and its permission to read orders.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let api = self.api(&ctx)?;
        api.call(api.get("/orders").query("limit", "1")).await?;
        Ok(format!("PrestaShop at {} accepted the key", api.shop()))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let api = self.api(&ctx)?;
        self.actions
            .run(&api, action_id, input, ctx.execution_id)
            .await
    }
}
