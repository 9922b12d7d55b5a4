//! A provider as seen by one call: base URL, auth, protocol, fixed headers and the action's
//! time budget. Every request goes encode → sign → send → interpret, and every error leaving
//! it is scrubbed of the credentials.

use std::time::{Duration, Instant};

use integrations_core::{Error, ErrorKind, Result};
use serde_json::Value;

use super::auth::{Auth, Signer};
use super::protocol::{interpret, Protocol};
use super::request::{Outgoing, Request};
use crate::http::{self, Call, HttpReply};

pub struct ProviderClient {
    http: reqwest::Client,
    base_url: String,
    protocol: &'static dyn Protocol,
    auth: Auth,
    headers: Vec<(String, String)>,
    /// Every request of the action shares this deadline (an action may need several calls).
    deadline: Instant,
}

impl ProviderClient {
    /// `budget` is the action's timeout, counted from now.
    pub fn new(
        http: &reqwest::Client,
        base_url: &str,
        protocol: &'static dyn Protocol,
        auth: Auth,
        budget: Duration,
    ) -> Self {
        Self {
            http: http.clone(),
            base_url: base_url.trim_end_matches('/').to_string(),
            protocol,
            auth,
            headers: Vec::new(),
            deadline: Instant::now() + budget,
        }
    }

    /// A header sent on every request (connection context such as GHN's `ShopId`); unlike
    /// auth, its value is not treated as a secret.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn provider(&self) -> &'static str {
        self.protocol.provider()
    }

    /// The request exactly as it would be sent: body encoded, fixed headers added (the
    /// request's own win), then signed.
    pub fn prepare(&self, request: Request) -> Result<Outgoing> {
        let mut out = request.encode()?;
        for (name, value) in &self.headers {
            if out.header(name).is_none() {
                out.headers.push((name.clone(), value.clone()));
            }
        }
        self.auth.sign(&mut out)?;
        Ok(out)
    }

    /// Send and interpret through the protocol: the envelope's data, or a classified error.
    pub async fn call(&self, request: Request) -> Result<Value> {
        let reply = self.send(request).await?;
        interpret(self.protocol, &reply).map_err(|e| self.redact(e))
    }

    /// Send and return the reply whatever its status (for answers outside the envelope, such
    /// as redirects to a payment page). Transport errors are classified and redacted.
    pub async fn send(&self, request: Request) -> Result<HttpReply> {
        self.send_inner(request).await.map_err(|e| self.redact(e))
    }

    async fn send_inner(&self, request: Request) -> Result<HttpReply> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining < Duration::from_millis(1) {
            return Err(Error::new(
                ErrorKind::ProviderTimeout,
                format!(
                    "the action's time budget ran out before calling {}",
                    self.provider()
                ),
            ));
        }
        let out = self.prepare(request)?;
        let call = Call {
            provider: self.provider(),
            base_url: &self.base_url,
            request: &out,
            timeout: remaining,
            max_response_bytes: self.protocol.max_response_bytes(),
        };
        http::send(&self.http, &call).await
    }

    fn redact(&self, e: Error) -> Error {
        http::redact_error(e, &self.auth.secrets())
    }
}

#[cfg(test)]
mod tests;
