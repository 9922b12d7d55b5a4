//! Haravan, Vietnam's shop platform, through its API at `apis.haravan.com`: integration
//! `ecommerce-haravan`.
//!
//! Auth is `oauth2`: the access token from Haravan's OAuth consent (`POST
//! /connections/oauth/start`, `GET /oauth/callback`), sent as a Bearer token. Haravan's tokens
//! do not expire and have no refresh token: one Haravan refuses needs a new authorization.

mod actions;
mod client;
#[cfg(test)]
mod tests;
pub mod webhook;

use async_trait::async_trait;
use integrations_core::catalog::Catalog;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::Value;

use crate::http::ConnectorSettings;
use crate::kit::{Request, TokenConnector};
use client::HaravanApi;
pub use client::BASE_URL;

pub const INTEGRATION_ID: &str = "ecommerce-haravan";

pub struct HaravanConnector(TokenConnector<HaravanApi>);

impl HaravanConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self(TokenConnector::new(
            settings,
            INTEGRATION_ID,
            actions::TABLE,
            &client::HARAVAN_OAUTH,
        ))
    }
}

impl crate::Checked for HaravanConnector {
    fn check(&self, catalog: &Catalog) -> Result<()> {
        self.0.check(catalog)
    }
}

#[async_trait]
impl Connector for HaravanConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Counts the shop's orders: proves the token and its read access to orders.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        self.0
            .with_api(&ctx, true, |api| async move {
                api.call(Request::get("/com/orders/count.json")).await?;
                Ok(format!("Haravan accepted the token of {}", api.shop()))
            })
            .await
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        self.0.execute(action_id, input, &ctx).await
    }
}
