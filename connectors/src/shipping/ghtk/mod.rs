//! GHTK (Giao Hang Tiet Kiem), Vietnam's shipping carrier: integration `shipping-ghtk`.

mod actions;
mod client;
#[cfg(test)]
mod tests;
pub mod webhook;

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::{json, Value};

use client::GhtkApi;
pub use client::{PRODUCTION_URL, STAGING_URL};

pub const INTEGRATION_ID: &str = "shipping-ghtk";

crate::kit_connector!(
    GhtkConnector,
    GhtkApi,
    INTEGRATION_ID,
    actions::TABLE,
    client::AUTH
);

#[async_trait]
impl Connector for GhtkConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Quotes a fee within the pick-up province (or Hà Nội when the connection has none):
    /// proves the token without creating anything.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let api = self.api(&ctx)?;
        let province = api.pickup.province.clone().unwrap_or("Hà Nội".into());
        let district = api.pickup.district.clone().unwrap_or("Quận Ba Đình".into());
        let input = json!({
            "pickup": { "province": province, "district": district },
            "toProvince": province, "toDistrict": district, "weight": 500,
        });
        api.call(actions::fee_request(&api, &input)?).await?;
        Ok(format!(
            "GHTK {} accepted the token (fee quote within {province})",
            api.environment
        ))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let api = self.api(&ctx)?;
        self.actions
            .run(&api, action_id, input, ctx.execution_id)
            .await
    }
}
