//! The shell of a connector whose calls carry a token from [`TokenAuth`] (login-then-token, or
//! OAuth2's refresh-token grant): what [`crate::kit_connector!`] is for static credentials. A
//! provider supplies its per-call API ([`TokenApi`]); [`TokenConnector`] holds the client, the
//! operator's base-URL override, the action table and the tokens, checks table and auth against
//! the catalog, and runs a call with a current token, renewed once and run again when the
//! provider rejects it.

use std::future::Future;
use std::time::Duration;

use integrations_core::catalog::Catalog;
use integrations_core::connector::CallContext;
use integrations_core::Result;
use serde_json::Value;

use crate::http::ConnectorSettings;
use crate::kit::{Action, Actions, Auth, LoginTarget, TokenAuth, TokenLogin};

/// A provider's API for one call, built from the connection's config and the token to send.
pub trait TokenApi: Sized + Sync + 'static {
    /// What a call needs from the connection besides its token (typed config, the base URL),
    /// loaded before any login so that a misconfigured connection fails without one.
    type Config: Clone + Send + Sync;

    /// `base_url_override` is the operator's replacement of the provider's URL (tests, proxies).
    fn config(ctx: &CallContext<'_>, base_url_override: Option<&str>) -> Result<Self::Config>;

    /// Where logins and renewals go.
    fn base_url(config: &Self::Config) -> &str;

    fn new(http: &reqwest::Client, config: Self::Config, auth: Auth, budget: Duration) -> Self;

    /// Whether an action of the table needs a token (some providers serve master data without).
    fn needs_token(_action_id: &str) -> bool {
        true
    }
}

pub struct TokenConnector<A: TokenApi> {
    integration_id: &'static str,
    http: reqwest::Client,
    base_url_override: Option<String>,
    actions: Actions<A>,
    tokens: TokenAuth,
}

impl<A: TokenApi> TokenConnector<A> {
    pub fn new(
        settings: &ConnectorSettings,
        integration_id: &'static str,
        table: &'static [Action<A>],
        login: &'static TokenLogin,
    ) -> Self {
        Self {
            integration_id,
            http: settings.client_for(integration_id).clone(),
            base_url_override: settings.base_url(integration_id).map(str::to_string),
            actions: Actions::new(integration_id, table),
            tokens: TokenAuth::new(integration_id, login),
        }
    }

    /// The action table and the auth strategy agree with the catalog.
    pub fn check(&self, catalog: &Catalog) -> Result<()> {
        self.actions.check_catalog(catalog)?;
        self.tokens.spec().check(self.integration_id, catalog)
    }

    fn config(&self, ctx: &CallContext<'_>) -> Result<A::Config> {
        A::config(ctx, self.base_url_override.as_deref())
    }

    fn target<'a>(&'a self, config: &'a A::Config) -> LoginTarget<'a> {
        LoginTarget {
            http: &self.http,
            base_url: A::base_url(config),
        }
    }

    /// Run `call` with the API of this call: with a current token when `needs_token` (logging in
    /// or renewing first), and once more after one renewal when the provider rejects it.
    pub async fn with_api<T, F, Fut>(
        &self,
        ctx: &CallContext<'_>,
        needs_token: bool,
        call: F,
    ) -> Result<T>
    where
        F: Fn(A) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let config = self.config(ctx)?;
        self.tokens
            .run(self.target(&config), ctx, needs_token, |auth, budget| {
                call(A::new(&self.http, config.clone(), auth, budget))
            })
            .await
    }

    /// Run an action of the table. An unknown one is answered by the table, without a login.
    pub async fn execute(
        &self,
        action_id: &str,
        input: &Value,
        ctx: &CallContext<'_>,
    ) -> Result<Value> {
        let needs_token = self.actions.ids().contains(&action_id) && A::needs_token(action_id);
        let execution_id = ctx.execution_id;
        self.with_api(ctx, needs_token, |api| async move {
            self.actions.run(&api, action_id, input, execution_id).await
        })
        .await
    }

    /// Log in with the connection's credentials, which proves them, and keep the token; answers
    /// the config the login used.
    pub async fn verify(&self, ctx: &CallContext<'_>) -> Result<A::Config> {
        let config = self.config(ctx)?;
        self.tokens.verify(self.target(&config), ctx).await?;
        Ok(config)
    }
}
