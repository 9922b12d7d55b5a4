//! WooCommerce (REST API v3 on the store's own WordPress): integration
//! `ecommerce-woocommerce`.

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
use client::WooApi;
pub use client::API_PATH;

pub const INTEGRATION_ID: &str = "ecommerce-woocommerce";

crate::kit_connector!(
    WooCommerceConnector,
    WooApi,
    INTEGRATION_ID,
    actions::TABLE,
    client::AUTH
);

#[async_trait]
impl Connector for WooCommerceConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Lists one order: proves the store answers the REST API and that the key may read
    /// orders (WooCommerce refuses a key without read permission with 401 too).
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let api = self.api(&ctx)?;
        api.call(Request::get("/orders").query("per_page", "1"))
            .await?;
        Ok(format!("WooCommerce at {} accepted the key", api.store()))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let api = self.api(&ctx)?;
        self.actions
            .run(&api, action_id, input, ctx.execution_id)
            .await
    }
}
