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
use integrations_core::connector::{CallContext, Connector};
use integrations_core::Result;
use serde_json::Value;

use integrations_core::catalog::Catalog;

use crate::http::ConnectorSettings;
use crate::kit::{Actions, LoginTarget, Request, TokenAuth};
use client::HaravanApi;
pub use client::BASE_URL;

pub const INTEGRATION_ID: &str = "ecommerce-haravan";

pub struct HaravanConnector {
    http: reqwest::Client,
    base_url_override: Option<String>,
    actions: Actions<HaravanApi>,
    tokens: TokenAuth,
}

impl HaravanConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self {
            http: settings.client.clone(),
            base_url_override: settings.base_url(INTEGRATION_ID).map(str::to_string),
            actions: Actions::new(INTEGRATION_ID, actions::TABLE),
            tokens: TokenAuth::new(INTEGRATION_ID, &client::HARAVAN_OAUTH),
        }
    }

    /// Runs `call` with the connection's token; a refused one fails as
    /// CONNECTION_REAUTH_REQUIRED (nothing to renew it with).
    async fn with_api<T, F, Fut>(
        &self,
        ctx: &CallContext<'_>,
        needs_token: bool,
        call: F,
    ) -> Result<T>
    where
        F: Fn(HaravanApi) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let target = LoginTarget {
            http: &self.http,
            base_url: self.base_url_override.as_deref().unwrap_or(BASE_URL),
        };
        self.tokens
            .run(target, ctx, needs_token, |auth, budget| {
                let api = HaravanApi::new(
                    &self.http,
                    self.base_url_override.as_deref(),
                    ctx,
                    auth,
                    budget,
                );
                let call = &call;
                async move { call(api?).await }
            })
            .await
    }
}

impl crate::Checked for HaravanConnector {
    fn check(&self, catalog: &Catalog) -> Result<()> {
        self.actions.check_catalog(catalog)?;
        self.tokens.spec().check(INTEGRATION_ID, catalog)
    }
}

#[async_trait]
impl Connector for HaravanConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Counts the shop's orders: proves the token and its read access to orders.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        self.with_api(&ctx, true, |api| async move {
            api.call(Request::get("/com/orders/count.json")).await?;
            Ok(format!("Haravan accepted the token of {}", api.shop()))
        })
        .await
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let known = self.actions.ids().contains(&action_id);
        let execution_id = ctx.execution_id;
        self.with_api(&ctx, known, |api| async move {
            self.actions.run(&api, action_id, input, execution_id).await
        })
        .await
    }
}
