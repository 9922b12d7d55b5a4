//! Shopify, over the GraphQL Admin API (`POST /admin/api/{version}/graphql.json`, REST being
//! legacy): integration `ecommerce-shopify`, authType `oauth2`. The offline access token
//! (`X-Shopify-Access-Token`) comes from the OAuth callback; when it expires (1 h) or Shopify
//! refuses it, the kit renews it with the refresh-token grant ([`token`]), writing the rotated
//! refresh token back, one renewer at a time across the fleet.

mod actions;
mod client;
#[cfg(test)]
mod tests;
mod token;
pub mod webhook;

use async_trait::async_trait;
use integrations_core::catalog::Catalog;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::Value;

use crate::http::ConnectorSettings;
use crate::kit::TokenConnector;
use client::ShopifyApi;
pub use token::TOKEN_ENDPOINT;

pub const INTEGRATION_ID: &str = "ecommerce-shopify";

pub struct ShopifyConnector(TokenConnector<ShopifyApi>);

impl ShopifyConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self(TokenConnector::new(
            settings,
            INTEGRATION_ID,
            actions::TABLE,
            &token::SHOPIFY_OAUTH,
        ))
    }
}

impl crate::Checked for ShopifyConnector {
    fn check(&self, catalog: &Catalog) -> Result<()> {
        self.0.check(catalog)
    }
}

#[async_trait]
impl Connector for ShopifyConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Reads the shop's name with the connection's token (renewing it if it has expired),
    /// which proves the grant is still honoured.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let name = self
            .0
            .with_api(&ctx, true, |api| async move { api.shop_name().await })
            .await?;
        Ok(format!("Shopify accepted the token of shop {name}"))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        self.0.execute(action_id, input, &ctx).await
    }
}
