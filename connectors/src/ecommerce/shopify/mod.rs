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
use crate::kit::{Actions, LoginTarget, TokenAuth};
use client::{ShopifyApi, ShopifyConfig};
pub use token::TOKEN_ENDPOINT;

pub const INTEGRATION_ID: &str = "ecommerce-shopify";

pub struct ShopifyConnector {
    http: reqwest::Client,
    base_url_override: Option<String>,
    actions: Actions<ShopifyApi>,
    tokens: TokenAuth,
}

impl ShopifyConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self {
            http: settings.client.clone(),
            base_url_override: settings.base_url(INTEGRATION_ID).map(str::to_string),
            actions: Actions::new(INTEGRATION_ID, actions::TABLE),
            tokens: TokenAuth::new(INTEGRATION_ID, &token::SHOPIFY_OAUTH),
        }
    }
}

impl crate::Checked for ShopifyConnector {
    fn check(&self, catalog: &Catalog) -> Result<()> {
        self.actions.check_catalog(catalog)?;
        self.tokens.spec().check(INTEGRATION_ID, catalog)
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
        let config = ShopifyConfig::load(&ctx, self.base_url_override.as_deref())?;
        let target = LoginTarget {
            http: &self.http,
            base_url: &config.base_url,
        };
        let name = self
            .tokens
            .run(target, &ctx, true, |auth, budget| {
                let api = ShopifyApi::new(&self.http, config.clone(), auth, budget);
                async move { api.shop_name().await }
            })
            .await?;
        Ok(format!("Shopify accepted the token of shop {name}"))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let config = ShopifyConfig::load(&ctx, self.base_url_override.as_deref())?;
        let target = LoginTarget {
            http: &self.http,
            base_url: &config.base_url,
        };
        // Unknown actions are answered by the table without renewing anything.
        let known = self.actions.ids().contains(&action_id);
        let execution_id = ctx.execution_id;
        self.tokens
            .run(target, &ctx, known, |auth, budget| {
                let api = ShopifyApi::new(&self.http, config.clone(), auth, budget);
                async move { self.actions.run(&api, action_id, input, execution_id).await }
            })
            .await
    }
}
