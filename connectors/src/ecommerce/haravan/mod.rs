//! Haravan, Vietnam's shop platform, through its API at `apis.haravan.com`: integration
//! `ecommerce-haravan`.
//!
//! Auth is the shop's access token as a Bearer token (`api_key` in the catalog today): the
//! token Haravan's OAuth consent issues. When the kit's OAuth2 connections land, the catalog's
//! authType becomes `oauth2` with the same `accessToken` credential and this declaration
//! changes, nothing else.

mod actions;
mod client;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::Value;

use crate::kit::Request;
use client::HaravanApi;
pub use client::BASE_URL;

pub const INTEGRATION_ID: &str = "ecommerce-haravan";

crate::kit_connector!(
    HaravanConnector,
    HaravanApi,
    INTEGRATION_ID,
    actions::TABLE,
    client::AUTH
);

#[async_trait]
impl Connector for HaravanConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Counts the shop's orders: proves the token and its read access to orders.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let api = self.api(&ctx)?;
        api.call(Request::get("/com/orders/count.json")).await?;
        Ok(format!("Haravan accepted the token of {}", api.shop()))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let api = self.api(&ctx)?;
        self.actions
            .run(&api, action_id, input, ctx.execution_id)
            .await
    }
}
