//! Verifying what providers push to us: one [`WebhookVerifier`] per provider, beside its
//! connector (`payment/<p>/webhook.rs`), so that the receiving route is generic. A verifier checks
//! the provider's own mechanism (an HMAC over the raw body, a signed timestamp, a per-connection
//! token) with the connection's secrets, names the delivery for deduplication, normalizes its
//! type, and knows the answers the provider expects.

use chrono::{DateTime, Utc};
use integrations_core::model::Credentials;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A provider's request as received: nothing parsed before it is verified.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    pub headers: &'a HeaderMap,
    /// Decoded query pairs, in order.
    pub query: &'a [(String, String)],
    /// The raw body: signatures are over these bytes, never over a re-serialization.
    pub body: &'a [u8],
    pub received_at: DateTime<Utc>,
}

impl WebhookRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A verified webhook, ready to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// Equal on every retry of one delivery ([`integrations_core::webhooks::InboundWebhook`]).
    pub dedupe_key: String,
    /// The provider's own type.
    pub provider_type: String,
    /// Normalized: `payment.succeeded`, `payment.failed`, `shipment.status_changed`, ….
    pub event_type: String,
    /// When the provider says it happened, where it says.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The provider's payload (sanitized before it is stored).
    pub data: Value,
}

/// Why a webhook was refused: a closed set, the `reason` label of `webhooks_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No signature (or token) where the provider always sends one.
    Unsigned,
    /// A signature or token that does not match.
    BadSignature,
    /// Signed too long ago (a replay of an old delivery).
    Stale,
    /// Signed correctly but not the shape the provider documents.
    Malformed,
    /// The connection holds no secret to verify with.
    NoSecret,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::BadSignature => "bad_signature",
            Self::Stale => "stale",
            Self::Malformed => "malformed",
            Self::NoSecret => "no_secret",
        }
    }
}

/// An answer to the provider: status and, where it reads one, a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Option<Value>,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self { status, body: None }
    }

    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
        }
    }
}

pub trait WebhookVerifier: Send + Sync + 'static {
    /// The catalog id of the integration whose webhooks this verifies.
    fn integration_id(&self) -> &'static str;

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        secrets: &Credentials,
    ) -> Result<Verified, Rejection>;

    /// The answer for a webhook recorded now or before (a duplicate is acknowledged alike, so
    /// that the provider stops retrying).
    fn accepted(&self) -> Answer {
        Answer::status(200)
    }

    /// The answer for a refused webhook.
    fn rejected(&self, _why: Rejection) -> Answer {
        Answer::status(401)
    }
}

/// A secret of the connection, or [`Rejection::NoSecret`].
pub(crate) fn secret<'a>(secrets: &'a Credentials, field: &str) -> Result<&'a str, Rejection> {
    secrets
        .get(field)
        .filter(|s| !s.is_empty())
        .ok_or(Rejection::NoSecret)
}

/// The body as JSON, or [`Rejection::Malformed`] (only ever called after verification).
pub(crate) fn json_body(body: &[u8]) -> Result<Value, Rejection> {
    serde_json::from_slice(body).map_err(|_| Rejection::Malformed)
}

/// A JSON field as text: strings as they are, numbers and the rest as JSON.
pub(crate) fn field_text(value: &Value, field: &str) -> String {
    match value.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The connection's secret field holding the URL token of providers that sign nothing.
pub const TOKEN_FIELD: &str = "webhookToken";

/// For providers that sign nothing (GHN, GHTK): the registered URL carries an unguessable
/// per-connection token, `?token=…`, compared in constant time with the connection's
/// [`TOKEN_FIELD`].
pub(crate) fn check_token(
    request: &WebhookRequest<'_>,
    secrets: &Credentials,
) -> Result<(), Rejection> {
    let expected = secret(secrets, TOKEN_FIELD)?;
    let sent = request.query_value("token").ok_or(Rejection::Unsigned)?;
    if crate::kit::sign::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Rejection::BadSignature)
    }
}

/// Every verifier, one per provider that pushes webhooks.
pub fn verifiers() -> Vec<Box<dyn WebhookVerifier>> {
    vec![
        Box::new(crate::payment::stripe::webhook::StripeWebhook),
        Box::new(crate::payment::zalopay::webhook::ZaloPayWebhook),
        Box::new(crate::payment::vnpay::webhook::VnpayWebhook),
        Box::new(crate::payment::momo::webhook::MomoWebhook),
        Box::new(crate::ghn::webhook::GhnWebhook),
        Box::new(crate::shipping::ghtk::webhook::GhtkWebhook),
    ]
}
