//! GHTK (Giao Hang Tiet Kiem), Vietnam's shipping carrier: integration `shipping-ghtk`.

mod actions;
mod client;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::{json, Value};

use crate::http::ConnectorSettings;
use crate::kit::Actions;
use client::GhtkApi;
pub use client::{PRODUCTION_URL, STAGING_URL};

pub const INTEGRATION_ID: &str = "shipping-ghtk";

pub struct GhtkConnector {
    http: reqwest::Client,
    base_url_override: Option<String>,
    actions: Actions<GhtkApi>,
}

impl GhtkConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self {
            http: settings.client.clone(),
            base_url_override: settings.base_url(INTEGRATION_ID).map(str::to_string),
            actions: Actions::new(INTEGRATION_ID, actions::TABLE),
        }
    }

    #[cfg(test)]
    pub(crate) fn actions(&self) -> &Actions<GhtkApi> {
        &self.actions
    }

    fn api(&self, ctx: &CallContext<'_>) -> Result<GhtkApi> {
        GhtkApi::new(&self.http, self.base_url_override.as_deref(), ctx)
    }
}

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
