//! Login-then-token (`token_exchange`): a connector declares how to log in ([`TokenLogin`]:
//! the requests built from the connection's credentials, where the token and its expiry are in
//! the answers, which failures mean "token rejected"); [`TokenAuth`] does the rest. The token is
//! kept in the connection's secret, cached in process, renewed when it has expired or the
//! provider rejects it (the call then runs once more), written back to the secret store, and
//! renewed by one caller at a time across the fleet through the engine's
//! [`Renewer`](integrations_core::renewal) (in process only, when the call has none). Tokens and
//! credentials never reach a log line or an error message.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use integrations_core::connector::CallContext;
use integrations_core::model::Credentials;
use integrations_core::{Error, ErrorKind, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::strategy::AuthSpec;
use super::Auth;
use crate::http::redact_error;
use crate::kit::{ProviderClient, Secret};

mod login;
pub mod oauth2;

pub use login::{Expiry, Grant, LoginInput, LoginStep, TokenLogin};

/// Renew this long before a stated expiry, so a token does not lapse in flight.
const EXPIRY_MARGIN: chrono::Duration = chrono::Duration::seconds(30);

#[derive(Clone)]
struct Token {
    value: String,
    expires: Option<DateTime<Utc>>,
    /// The answer's [`LoginStep::keep`] values, as (secret field, value).
    kept: Vec<(String, String)>,
}

impl Token {
    fn fresh(&self) -> bool {
        self.expires.is_none_or(|t| Utc::now() + EXPIRY_MARGIN < t)
    }
}

/// Where the provider is, for one call's logins.
#[derive(Clone, Copy)]
pub struct LoginTarget<'a> {
    pub http: &'a reqwest::Client,
    pub base_url: &'a str,
}

/// A token_exchange connector's tokens: one per connection and credentials.
pub struct TokenAuth {
    integration_id: &'static str,
    login: &'static TokenLogin,
    tokens: Mutex<HashMap<String, Token>>,
    /// Single flight per connection when no fleet-wide renewer is available.
    gates: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Locks guard no await and cannot panic inside, so a poisoned one still holds good data.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TokenAuth {
    pub fn new(integration_id: &'static str, login: &'static TokenLogin) -> Self {
        Self {
            integration_id,
            login,
            tokens: Mutex::default(),
            gates: Mutex::default(),
        }
    }

    /// The auth parameters this is, for the registry's check against the catalog.
    pub fn spec(&self) -> AuthSpec {
        match self.login.grant {
            Grant::Login => AuthSpec::TokenExchange(self.login),
            Grant::RefreshToken => AuthSpec::OAuth2(self.login),
        }
    }

    /// Run `attempt` with the connection's token (logging in first when there is none or it
    /// has expired and `needs_token`), renewing it once and running again when the provider
    /// rejects it. `attempt` gets the auth to send and what is left of the action's budget.
    pub async fn run<T, F, Fut>(
        &self,
        target: LoginTarget<'_>,
        ctx: &CallContext<'_>,
        needs_token: bool,
        attempt: F,
    ) -> Result<T>
    where
        F: Fn(Auth, Duration) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let started = Instant::now();
        self.spec().select(self.integration_id, ctx)?;
        let key = self.cache_key(ctx);
        let mut token = self.current(&key, ctx);
        if needs_token && !token.as_ref().is_some_and(Token::fresh) {
            token = Some(self.renew(target, ctx, &key, token, started).await?);
        }
        let mut renewed = false;
        loop {
            let auth = match &token {
                Some(t) => self.login.place.auth(Secret::new(&t.value)),
                None => Auth::None,
            };
            match attempt(auth, remaining(ctx, started, self.provider())?).await {
                Err(e) if (self.login.rejected)(&e) && !renewed => {
                    renewed = true;
                    token = Some(self.renew(target, ctx, &key, token, started).await?);
                }
                outcome => return outcome,
            }
        }
    }

    /// Log in with the connection's credentials (proving them) unless a token other than the
    /// connection's own was obtained meanwhile; keeps the token.
    pub async fn verify(&self, target: LoginTarget<'_>, ctx: &CallContext<'_>) -> Result<()> {
        self.spec().select(self.integration_id, ctx)?;
        let key = self.cache_key(ctx);
        let stale = self.stored(ctx.credentials);
        self.renew(target, ctx, &key, stale, Instant::now())
            .await
            .map(drop)
    }

    fn provider(&self) -> &'static str {
        self.login.protocol.provider()
    }

    fn expiry_field(&self) -> String {
        format!("{}ExpiresAt", self.login.secret_field)
    }

    /// The connection's secret name (or tenant), with a digest of its config and every
    /// credential but the token, so that changed credentials never reuse an old token.
    fn cache_key(&self, ctx: &CallContext<'_>) -> String {
        let base = match ctx.renewal {
            Some(r) => r.secret_name.to_string(),
            None => ctx.tenant_id.to_string(),
        };
        let expiry = self.expiry_field();
        let mut digest = Sha256::new();
        digest.update(ctx.config.to_string().as_bytes());
        for (k, v) in &ctx.credentials.0 {
            if k != self.login.secret_field && *k != expiry && !self.kept_field(k) {
                digest.update([0]);
                digest.update(k.as_bytes());
                digest.update([0]);
                digest.update(v.as_bytes());
            }
        }
        format!("{base}#{}", hex::encode(&digest.finalize()[..8]))
    }

    /// A field renewals rewrite (a rotated refresh token): not part of the cache key.
    fn kept_field(&self, field: &str) -> bool {
        self.login
            .steps
            .iter()
            .any(|s| s.keep.iter().any(|(_, f)| *f == field))
    }

    /// The token to try first: one this process learned, else the connection's own.
    fn current(&self, key: &str, ctx: &CallContext<'_>) -> Option<Token> {
        lock(&self.tokens)
            .get(key)
            .cloned()
            .or_else(|| self.stored(ctx.credentials))
    }

    fn stored(&self, credentials: &Credentials) -> Option<Token> {
        let value = credentials.get(self.login.secret_field)?.to_string();
        let expires = credentials
            .get(&self.expiry_field())
            .and_then(|ms| ms.parse().ok())
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
        Some(Token {
            value,
            expires,
            kept: Vec::new(),
        })
    }

    /// A token to replace `stale` (None: there was none), renewed at most once at a time.
    async fn renew(
        &self,
        target: LoginTarget<'_>,
        ctx: &CallContext<'_>,
        key: &str,
        stale: Option<Token>,
        started: Instant,
    ) -> Result<Token> {
        let stale_value = stale.as_ref().map(|t| t.value.as_str());
        if let Some(t) = self.learned_since(key, stale_value) {
            return Ok(t);
        }
        let budget = remaining(ctx, started, self.provider())?;
        let token = match ctx.renewal {
            Some(r) => {
                // The secret as it stood when this caller read it: the Renewer logs in only
                // while the store still holds exactly that.
                let stale_creds = match &stale {
                    Some(t) => self.with_token(ctx.credentials.clone(), t),
                    None => {
                        let mut c = ctx.credentials.clone();
                        c.0.remove(self.login.secret_field);
                        c.0.remove(&self.expiry_field());
                        c
                    }
                };
                let renewed = r
                    .renewer
                    .renew(r.secret_name, &stale_creds, |current| async move {
                        let token = self.log_in(target, &current, ctx.config, budget).await?;
                        Ok::<Credentials, Error>(self.with_token(current, &token))
                    })
                    .await?;
                self.stored(&renewed)
                    .ok_or_else(|| Error::internal("renewed credentials carry no token"))?
            }
            None => {
                let gate = lock(&self.gates)
                    .entry(key.to_string())
                    .or_default()
                    .clone();
                let _turn = gate.lock().await;
                if let Some(t) = self.learned_since(key, stale_value) {
                    return Ok(t);
                }
                // What this process learned last (a rotated refresh token) replaces the
                // connection's older values.
                let credentials = match lock(&self.tokens).get(key) {
                    Some(t) => self.with_token(ctx.credentials.clone(), t),
                    None => ctx.credentials.clone(),
                };
                self.log_in(target, &credentials, ctx.config, budget)
                    .await?
            }
        };
        lock(&self.tokens).insert(key.to_string(), token.clone());
        tracing::info!(provider = self.provider(), "renewed the API token");
        Ok(token)
    }

    /// A token this process learned that is not `stale` and still fresh (another call
    /// renewed it meanwhile).
    fn learned_since(&self, key: &str, stale: Option<&str>) -> Option<Token> {
        lock(&self.tokens)
            .get(key)
            .filter(|t| Some(t.value.as_str()) != stale && t.fresh())
            .cloned()
    }

    fn with_token(&self, mut credentials: Credentials, token: &Token) -> Credentials {
        credentials
            .0
            .insert(self.login.secret_field.into(), token.value.clone());
        match token.expires {
            Some(t) => credentials
                .0
                .insert(self.expiry_field(), t.timestamp_millis().to_string()),
            None => credentials.0.remove(&self.expiry_field()),
        };
        for (field, value) in &token.kept {
            credentials.0.insert(field.clone(), value.clone());
        }
        credentials
    }

    /// Every step under the call's remaining budget; errors scrubbed of every credential.
    async fn log_in(
        &self,
        target: LoginTarget<'_>,
        credentials: &Credentials,
        config: &Value,
        budget: Duration,
    ) -> Result<Token> {
        let secrets: Vec<&str> = credentials.values().collect();
        let scrub = |e: Error| redact_error(e, &secrets);
        let input = LoginInput::new(credentials, config);
        let protocol = self.login.protocol;
        let mut token: Option<Token> = None;
        for step in self.login.steps {
            let auth = match &token {
                Some(t) => self.login.place.auth(Secret::new(&t.value)),
                None => Auth::None,
            };
            let request = (step.request)(&input).map_err(scrub)?;
            let path = request.path.clone();
            let client = ProviderClient::new(target.http, target.base_url, protocol, auth, budget);
            let data = client
                .call(request)
                .await
                .map_err(|e| scrub(refused_login(protocol.provider(), e)))?;
            let value = data
                .pointer(step.token)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::ProviderBadResponse,
                        format!("{} answered {path} without a token", protocol.provider()),
                    )
                    .with_retryable(true)
                })?;
            let kept = step
                .keep
                .iter()
                .filter_map(|(pointer, field)| {
                    let v = data.pointer(pointer)?.as_str().filter(|v| !v.is_empty())?;
                    Some((field.to_string(), v.to_string()))
                })
                .collect();
            token = Some(Token {
                value: value.to_string(),
                expires: step.expires.and_then(|x| x.read(&data, Utc::now())),
                kept,
            });
        }
        token.ok_or_else(|| Error::internal("a token login needs at least one step"))
    }
}

/// What is left of the action's budget (a renewal and a second attempt share it).
fn remaining(ctx: &CallContext<'_>, started: Instant, provider: &str) -> Result<Duration> {
    let left = ctx.timeout.saturating_sub(started.elapsed());
    if left < Duration::from_millis(1) {
        return Err(Error::new(
            ErrorKind::ProviderTimeout,
            format!("the action's time budget ran out before calling {provider}"),
        ));
    }
    Ok(left)
}

/// A login the provider refuses (wrong username or password) is an auth failure whatever its
/// code; outages, throttling and timeouts keep their kind so they are retried.
fn refused_login(provider: &str, e: Error) -> Error {
    match e.kind {
        ErrorKind::ProviderRejected | ErrorKind::ProviderNotFound => Error::new(
            ErrorKind::ProviderAuthFailed,
            format!("{provider} refused the login: {}", e.message),
        )
        .with_request_sent(true),
        _ => e,
    }
}

/// The usual [`TokenLogin::rejected`]: the protocol classified the failure as an auth failure.
pub fn rejected_as_auth_failure(e: &Error) -> bool {
    e.kind == ErrorKind::ProviderAuthFailed
}

#[cfg(test)]
mod tests;
