//! MoMo e-wallet (payment gateway v2): integration `payment-momo`.

mod actions;
mod client;
#[cfg(test)]
mod tests;
pub mod webhook;

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::{ErrorKind, Result};
use serde_json::Value;

use client::MomoApi;
pub use client::{signature, PRODUCTION_URL, SANDBOX_URL};

pub const INTEGRATION_ID: &str = "payment-momo";

crate::kit_connector!(
    MomoConnector,
    MomoApi,
    INTEGRATION_ID,
    actions::TABLE,
    client::AUTH
);

#[async_trait]
impl Connector for MomoConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Queries an order that cannot exist: MoMo checks the partner and the signature before
    /// looking the order up, so "not found" (42) proves the keys and a 13 refutes them.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let api = self.api(&ctx)?;
        let probe = format!("CONNTEST{}", ctx.execution_id);
        match actions::query(&api, &probe, ctx.execution_id).await {
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::ProviderNotFound => {}
            Err(e) => return Err(e),
        }
        Ok(format!(
            "MoMo {} accepted the signature of partner {}",
            api.environment,
            api.partner_code()
        ))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let api = self.api(&ctx)?;
        self.actions
            .run(&api, action_id, input, ctx.execution_id)
            .await
    }
}
