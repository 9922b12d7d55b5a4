//! Viettel Post, Vietnam's postal carrier: integration `shipping-viettelpost`. Every call but
//! the master data needs the long-lived token of [`token`] (login-then-token, run by the kit);
//! a call VTP refuses for its token is run once more after one renewal.

mod actions;
mod client;
#[cfg(test)]
mod tests;
mod token;

use async_trait::async_trait;
use integrations_core::catalog::Catalog;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::Value;

use crate::http::ConnectorSettings;
use crate::kit::TokenConnector;
use client::VtpApi;
pub use client::PRODUCTION_URL;

pub const INTEGRATION_ID: &str = "shipping-viettelpost";

pub struct ViettelPostConnector(TokenConnector<VtpApi>);

impl ViettelPostConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self(TokenConnector::new(
            settings,
            INTEGRATION_ID,
            actions::TABLE,
            &token::VTP_LOGIN,
        ))
    }
}

impl crate::Checked for ViettelPostConnector {
    fn check(&self, catalog: &Catalog) -> Result<()> {
        self.0.check(catalog)
    }
}

#[async_trait]
impl Connector for ViettelPostConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Logs in with the connection's username and password (both steps), which proves them,
    /// and keeps the fresh token.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let config = self.0.verify(&ctx).await?;
        Ok(format!(
            "Viettel Post accepted the login of {} and issued an API token",
            config.username
        ))
    }

    /// Unknown actions are answered by the table and the master data without logging in.
    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        self.0.execute(action_id, input, &ctx).await
    }
}
