//! Viettel Post, Vietnam's postal carrier: integration `shipping-viettelpost`. Every call but
//! the master data needs the long-lived token of [`token`]; a call VTP refuses for its token
//! is run once more after one renewal.

mod actions;
mod client;
#[cfg(test)]
mod tests;
mod token;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::{Error, ErrorKind, Result};
use serde_json::Value;

use crate::http::ConnectorSettings;
use crate::kit::Actions;
pub use client::PRODUCTION_URL;
use client::{VtpApi, VtpConfig};
use token::{Login, TokenCache};

pub const INTEGRATION_ID: &str = "shipping-viettelpost";

pub struct ViettelPostConnector {
    http: reqwest::Client,
    base_url: String,
    actions: Actions<VtpApi>,
    tokens: TokenCache,
}

impl ViettelPostConnector {
    pub fn new(settings: &ConnectorSettings) -> Self {
        Self {
            http: settings.client.clone(),
            base_url: settings
                .base_url(INTEGRATION_ID)
                .unwrap_or(PRODUCTION_URL)
                .to_string(),
            actions: Actions::new(INTEGRATION_ID, actions::TABLE),
            tokens: TokenCache::default(),
        }
    }

    #[cfg(test)]
    pub(crate) fn actions(&self) -> &Actions<VtpApi> {
        &self.actions
    }

    fn login<'a>(&'a self, config: &'a VtpConfig, budget: Duration) -> Login<'a> {
        Login {
            http: &self.http,
            base_url: &self.base_url,
            config,
            budget,
        }
    }
}

/// What is left of the action's budget (a renewal and a second attempt share it).
fn remaining(ctx: &CallContext<'_>, started: Instant) -> Result<Duration> {
    let left = ctx.timeout.saturating_sub(started.elapsed());
    if left < Duration::from_millis(1) {
        return Err(Error::new(
            ErrorKind::ProviderTimeout,
            "the action's time budget ran out before calling Viettel Post",
        ));
    }
    Ok(left)
}

#[async_trait]
impl Connector for ViettelPostConnector {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// Logs in with the connection's username and password (both steps), which proves them,
    /// and keeps the fresh token.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String> {
        let started = Instant::now();
        let config = VtpConfig::load(&ctx)?;
        let key = token::cache_key(&ctx, &config);
        let stale = config.token.as_ref().map(|t| t.expose().to_string());
        let login = self.login(&config, remaining(&ctx, started)?);
        self.tokens
            .renew(&login, &ctx, &key, stale.as_deref())
            .await?;
        Ok(format!(
            "Viettel Post accepted the login of {} and issued an API token",
            config.username
        ))
    }

    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value> {
        let started = Instant::now();
        let config = VtpConfig::load(&ctx)?;
        let key = token::cache_key(&ctx, &config);
        let mut token = self.tokens.current(&key, &config);
        // Unknown actions are answered by the table without logging in.
        let known = self.actions.ids().contains(&action_id);
        if token.is_none() && known && !actions::PUBLIC.contains(&action_id) {
            let login = self.login(&config, remaining(&ctx, started)?);
            token = Some(self.tokens.renew(&login, &ctx, &key, None).await?);
        }
        let mut renewed = false;
        loop {
            let budget = remaining(&ctx, started)?;
            let api = VtpApi::new(
                &self.http,
                &self.base_url,
                config.clone(),
                token.as_deref(),
                budget,
            );
            match self
                .actions
                .run(&api, action_id, input, ctx.execution_id)
                .await
            {
                // A refused token means VTP did nothing: renew once and run the action again.
                Err(e) if e.kind == ErrorKind::ProviderAuthFailed && !renewed => {
                    renewed = true;
                    let login = self.login(&config, remaining(&ctx, started)?);
                    token = Some(
                        self.tokens
                            .renew(&login, &ctx, &key, token.as_deref())
                            .await?,
                    );
                }
                outcome => return outcome,
            }
        }
    }
}
