//! ZaloPay (API v2): integration `payment-zalopay`.

mod actions;
mod client;
#[cfg(test)]
mod tests;
pub mod webhook;

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::{ErrorKind, Result};
use serde_json::Value;

use client::ZaloPayApi;
pub use client::{mac, PRODUCTION_URL, SANDBOX_URL};

pub const INTEGRATION_ID: &str = "payment-zalopay";

crate::kit_connector!(
    ZaloPayConnector,
    ZaloPayApi,
    INTEGRATION_ID,
    actions::TABLE,
    client::AUTH,
    actions::KEY_FORMATS
);

#[async_trait]
impl Connector for ZaloPayConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Queries an order that cannot exist: ZaloPay checks the app and the mac first, so "not
    /// found" proves key1 and a mac error refutes it.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let api = self.api(&ctx)?;
        let probe = format!("000000_{}", ctx.execution_id);
        match actions::query(&api, &probe).await {
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::ProviderNotFound => {}
            Err(e) => return Err(e),
        }
        Ok(format!(
            "ZaloPay {} accepted the mac of app {}",
            api.environment,
            api.app_id()
        ))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let api = self.api(&ctx)?;
        self.actions
            .run(&api, action_id, input, ctx.execution_id)
            .await
    }
}
