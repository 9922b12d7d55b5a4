//! Viettel Post's login-then-token: `user/Login` with the connection's username and password
//! answers a short token, `user/ownerconnect` with it a long-lived one, sent as `Token` on
//! every call. The token is kept in the connection's secret (`token`), cached in process, and
//! renewed when VTP rejects it — through the engine's [`Renewer`](integrations_core::renewal)
//! when the call has one (one renewal at a time across the fleet, written back to the secret
//! store), else by one caller at a time in this process. Tokens are never logged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use integrations_core::connector::CallContext;
use integrations_core::model::Credentials;
use integrations_core::{Error, ErrorKind, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::client::{VtpConfig, PROVIDER, VTP};
use crate::http::redact_error;
use crate::kit::{Auth, ProviderClient, Request, Secret};

pub(crate) const LOGIN: &str = "/user/Login";
pub(crate) const OWNERCONNECT: &str = "/user/ownerconnect";
/// The secret field holding the long-lived token (declared writeOnly in the catalog).
pub(crate) const TOKEN_FIELD: &str = "token";

/// Tokens learned by this process, per connection and password.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<String, String>>,
    /// Single flight per connection when no fleet-wide renewer is available.
    gates: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Locks guard no await and cannot panic inside, so a poisoned one still holds good data.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The connection's secret name (or tenant and username), with a digest of the password so
/// that a changed password never reuses a token obtained with the old one.
pub(crate) fn cache_key(ctx: &CallContext<'_>, config: &VtpConfig) -> String {
    let base = match ctx.renewal {
        Some(r) => r.secret_name.to_string(),
        None => format!("{}/{}", ctx.tenant_id, config.username),
    };
    let digest = Sha256::digest(config.password.expose().as_bytes());
    format!("{base}#{}", hex::encode(&digest[..8]))
}

impl TokenCache {
    /// The token to try first: one this process learned, else the connection's own.
    pub(crate) fn current(&self, key: &str, config: &VtpConfig) -> Option<String> {
        lock(&self.tokens)
            .get(key)
            .cloned()
            .or_else(|| config.token.as_ref().map(|t| t.expose().to_string()))
    }

    /// A token to replace `stale` (None: there was none), renewed at most once at a time.
    pub(crate) async fn renew(
        &self,
        login: &Login<'_>,
        ctx: &CallContext<'_>,
        key: &str,
        stale: Option<&str>,
    ) -> Result<String> {
        // Another call of this process may have renewed it already.
        if let Some(t) = lock(&self.tokens)
            .get(key)
            .filter(|t| Some(t.as_str()) != stale)
        {
            return Ok(t.clone());
        }
        let token = match ctx.renewal {
            Some(r) => {
                let mut stale_creds = ctx.credentials.clone();
                match stale {
                    Some(t) => stale_creds.0.insert(TOKEN_FIELD.into(), t.into()),
                    None => stale_creds.0.remove(TOKEN_FIELD),
                };
                let renewed = r
                    .renewer
                    .renew(r.secret_name, &stale_creds, |current| async move {
                        let password = current.get("password").map(Secret::new);
                        let token = login.run(password.as_ref()).await?;
                        let mut renewed = current;
                        renewed.0.insert(TOKEN_FIELD.into(), token);
                        Ok::<Credentials, Error>(renewed)
                    })
                    .await?;
                renewed
                    .get(TOKEN_FIELD)
                    .map(str::to_string)
                    .ok_or_else(|| Error::internal("renewed credentials carry no token"))?
            }
            None => {
                let gate = lock(&self.gates)
                    .entry(key.to_string())
                    .or_default()
                    .clone();
                let _turn = gate.lock().await;
                if let Some(t) = lock(&self.tokens)
                    .get(key)
                    .filter(|t| Some(t.as_str()) != stale)
                {
                    return Ok(t.clone());
                }
                login.run(None).await?
            }
        };
        lock(&self.tokens).insert(key.to_string(), token.clone());
        tracing::info!(provider = PROVIDER, "renewed the API token");
        Ok(token)
    }
}

/// One login: both steps under the call's remaining budget.
pub(crate) struct Login<'a> {
    pub http: &'a reqwest::Client,
    pub base_url: &'a str,
    pub config: &'a VtpConfig,
    pub budget: Duration,
}

impl Login<'_> {
    /// The long-lived token. `password` overrides the config's (the secret store's current
    /// credentials during a fleet renewal).
    pub(crate) async fn run(&self, password: Option<&Secret>) -> Result<String> {
        let password = password.unwrap_or(&self.config.password);
        let body = json!({ "USERNAME": self.config.username, "PASSWORD": password.expose() });
        let plain = ProviderClient::new(self.http, self.base_url, &VTP, Auth::None, self.budget);
        let short = self.step(&plain, LOGIN, &body, password).await?;
        let auth = Auth::header_token("Token", Secret::new(short));
        let exchange = ProviderClient::new(self.http, self.base_url, &VTP, auth, self.budget);
        self.step(&exchange, OWNERCONNECT, &body, password).await
    }

    async fn step(
        &self,
        client: &ProviderClient,
        path: &str,
        body: &Value,
        password: &Secret,
    ) -> Result<String> {
        let data = client
            .call(Request::post(path).json(body.clone()))
            .await
            .map_err(|e| redact_error(refused_login(e), &[password.expose()]))?;
        data.get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::ProviderBadResponse,
                    format!("{PROVIDER} answered {path} without a token"),
                )
                .with_retryable(true)
            })
    }
}

/// A login VTP refuses (wrong username or password) is an auth failure whatever its code;
/// outages, throttling and timeouts keep their kind so they are retried.
fn refused_login(e: Error) -> Error {
    match e.kind {
        ErrorKind::ProviderRejected | ErrorKind::ProviderNotFound => Error::new(
            ErrorKind::ProviderAuthFailed,
            format!("{PROVIDER} refused the login: {}", e.message),
        )
        .with_request_sent(true),
        _ => e,
    }
}
