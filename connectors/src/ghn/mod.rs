//! GHN (Giao Hang Nhanh), Vietnam's shipping carrier: integration `shipping-ghn`.

mod actions;
mod client;
#[cfg(test)]
mod tests;
pub mod webhook;

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::{json, Value};

use client::GhnApi;
pub use client::{PRODUCTION_URL, SANDBOX_URL};

pub const INTEGRATION_ID: &str = "shipping-ghn";

/// A district GHN serves (Quận 1, Hồ Chí Minh), used as both ends of the connection test's
/// route so the answer depends only on the token and the shop.
const TEST_DISTRICT_ID: i64 = 1442;

/// The action ids, in the table's (and the catalog's) order.
pub fn action_ids() -> Vec<&'static str> {
    actions::TABLE.iter().map(|a| a.id).collect()
}

crate::kit_connector!(
    GhnConnector,
    GhnApi,
    INTEGRATION_ID,
    actions::TABLE,
    client::AUTH
);

#[async_trait]
impl Connector for GhnConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Lists the shop's services: proves the token and that the shop belongs to it.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let api = self.api(&ctx)?;
        let body = json!({
            "shop_id": api.shop_id(),
            "from_district": TEST_DISTRICT_ID,
            "to_district": TEST_DISTRICT_ID,
        });
        let services = api.call(actions::AVAILABLE_SERVICES, &body).await?;
        let count = services.as_array().map_or(0, Vec::len);
        Ok(format!(
            "GHN {} accepted the token for shop {} ({count} shipping services available)",
            api.environment,
            api.shop_id()
        ))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let api = self.api(&ctx)?;
        self.actions
            .run(&api, action_id, input, ctx.execution_id)
            .await
    }
}
