//! VNPay: integration `payment-vnpay`.

mod actions;
mod client;
#[cfg(test)]
mod tests;
pub mod webhook;

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::{ErrorKind, Result};
use serde_json::{json, Value};

use client::VnpayApi;
pub use client::{checksum, PRODUCTION_API_URL, PRODUCTION_PAY_URL, SANDBOX_URL};

pub const INTEGRATION_ID: &str = "payment-vnpay";

crate::kit_connector!(
    VnpayConnector,
    VnpayApi,
    INTEGRATION_ID,
    actions::TABLE,
    client::AUTH
);

#[async_trait]
impl Connector for VnpayConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Queries a transaction that cannot exist: VNPay checks the terminal and the checksum
    /// first, so "not found" (91) proves the hash secret and 97 or 02 refutes it.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let api = self.api(&ctx)?;
        let input = json!({"txnRef": format!("CONNTEST{}", ctx.execution_id), "transactionDate": "20200101000000"});
        match actions::query_transaction(&api, &input, ctx.execution_id).await {
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::ProviderNotFound => {}
            Err(e) => return Err(e),
        }
        Ok(format!(
            "VNPay {} accepted the checksum of terminal {}",
            api.environment,
            api.tmn_code()
        ))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let api = self.api(&ctx)?;
        self.actions
            .run(&api, action_id, input, ctx.execution_id)
            .await
    }
}
