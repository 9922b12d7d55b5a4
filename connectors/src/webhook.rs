//! Verifying what providers push to us: one [`WebhookVerifier`] per provider, beside its
//! connector (`payment/<p>/webhook.rs`, `ecommerce/<p>/webhook.rs`, …), so that the receiving route is generic. A verifier checks
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

/// An answer to the provider: status and, where it reads one, a body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Option<AnswerBody>,
}

/// What a provider reads in an answer: JSON (ZaloPay's `return_code`, VNPay's `RspCode`) or
/// plain text (Haravan's echoed challenge, which must come back byte for byte).
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerBody {
    Json(Value),
    Text(String),
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self { status, body: None }
    }

    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(AnswerBody::Json(body)),
        }
    }

    pub fn text(status: u16, body: String) -> Self {
        Self {
            status,
            body: Some(AnswerBody::Text(body)),
        }
    }

    /// The JSON body, if the answer has one.
    pub fn json_body(&self) -> Option<&Value> {
        match &self.body {
            Some(AnswerBody::Json(v)) => Some(v),
            _ => None,
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

    /// A provider's handshake, answered without recording anything (WooCommerce's ping when a
    /// webhook is created, Haravan's subscription challenge); `None` for a delivery, which goes
    /// to [`WebhookVerifier::verify`]. A refused handshake is `Some(Err(_))`.
    fn handshake(
        &self,
        _request: &WebhookRequest<'_>,
        _secrets: &Credentials,
    ) -> Option<Result<Answer, Rejection>> {
        None
    }

    /// Whether the connection's webhook URL carries a token made by the service
    /// ([`TOKEN_FIELD`]): providers that sign nothing (GHN, GHTK), and Haravan, whose
    /// subscription challenge checks it as its `hub.verify_token`.
    fn url_token(&self) -> bool {
        false
    }

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

/// The connection's secret field holding the URL token ([`WebhookVerifier::url_token`]),
/// generated by the service when the connection is created.
pub const TOKEN_FIELD: &str = "webhookToken";
/// After a rotation, the token it replaced, accepted until [`PREVIOUS_TOKEN_EXPIRES_FIELD`] so
/// that the tenant has time to update the provider's dashboard.
pub const PREVIOUS_TOKEN_FIELD: &str = "previousWebhookToken";
/// Unix milliseconds after which [`PREVIOUS_TOKEN_FIELD`] is refused.
pub const PREVIOUS_TOKEN_EXPIRES_FIELD: &str = "previousWebhookTokenExpiresAt";

/// Whether `sent` is the connection's token: the current one, or the previous one within its
/// grace period (at the request's `received_at`). Both are compared, in constant time.
pub fn token_matches(
    sent: &str,
    secrets: &Credentials,
    at: DateTime<Utc>,
) -> Result<(), Rejection> {
    use crate::kit::sign::constant_time_eq;
    let current = secret(secrets, TOKEN_FIELD)?;
    let is_current = constant_time_eq(sent.as_bytes(), current.as_bytes());
    let previous = secrets.get(PREVIOUS_TOKEN_FIELD).filter(|p| !p.is_empty());
    let is_previous = previous.is_some_and(|p| constant_time_eq(sent.as_bytes(), p.as_bytes()));
    let previous_valid = secrets
        .get(PREVIOUS_TOKEN_EXPIRES_FIELD)
        .and_then(|ms| ms.parse::<i64>().ok())
        .is_some_and(|until| at.timestamp_millis() < until);
    if is_current || (is_previous && previous_valid) {
        Ok(())
    } else {
        Err(Rejection::BadSignature)
    }
}

/// For providers that sign nothing (GHN, GHTK): the registered URL carries the unguessable
/// per-connection token, `?token=…` ([`token_matches`]).
pub(crate) fn check_token(
    request: &WebhookRequest<'_>,
    secrets: &Credentials,
) -> Result<(), Rejection> {
    let sent = request.query_value("token").ok_or(Rejection::Unsigned)?;
    token_matches(sent, secrets, request.received_at)
}

/// Base64 HMAC-SHA256 of the raw body in `header` (Shopify, WooCommerce, Sapo, Haravan), with
/// the secret in `fields[0]` or, during a rotation, the previous one in `fields[1]`. Any other
/// encoding (hex, say) simply does not match.
pub(crate) fn check_body_hmac(
    request: &WebhookRequest<'_>,
    header: &str,
    secrets: &Credentials,
    [current, previous]: [&str; 2],
) -> Result<(), Rejection> {
    use crate::kit::sign::{constant_time_eq, hmac, Encoding, HmacAlgorithm};
    let current = secret(secrets, current)?;
    let sent = request.header(header).ok_or(Rejection::Unsigned)?.trim();
    let matches = |key: &str| {
        let mac =
            Encoding::Base64.encode(&hmac(HmacAlgorithm::Sha256, key.as_bytes(), request.body));
        constant_time_eq(sent.as_bytes(), mac.as_bytes())
    };
    // Both are computed, so that timing does not tell which secret is in use.
    let by_current = matches(current);
    let by_previous = secrets
        .get(previous)
        .filter(|p| !p.is_empty())
        .is_some_and(matches);
    if by_current || by_previous {
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
        Box::new(crate::ecommerce::shopify::webhook::ShopifyWebhook),
        Box::new(crate::ecommerce::woocommerce::webhook::WooCommerceWebhook),
        Box::new(crate::ecommerce::sapo::webhook::SapoWebhook),
        Box::new(crate::ecommerce::haravan::webhook::HaravanWebhook),
    ]
}

/// The verifier of `integration_id`, if it receives webhooks.
pub fn verifier(integration_id: &str) -> Option<Box<dyn WebhookVerifier>> {
    verifiers()
        .into_iter()
        .find(|v| v.integration_id() == integration_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::webhook_tests::credentials;

    #[test]
    fn a_rotated_token_keeps_working_until_its_grace_ends() {
        let until = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let expires = until.timestamp_millis().to_string();
        let secrets = credentials(&[
            (TOKEN_FIELD, "tok_new"),
            (PREVIOUS_TOKEN_FIELD, "tok_old"),
            (PREVIOUS_TOKEN_EXPIRES_FIELD, &expires),
        ]);
        let before = until - chrono::Duration::milliseconds(1);
        assert_eq!(token_matches("tok_new", &secrets, before), Ok(()));
        assert_eq!(token_matches("tok_old", &secrets, before), Ok(()));
        assert_eq!(token_matches("tok_new", &secrets, until), Ok(()));
        assert_eq!(
            token_matches("tok_old", &secrets, until),
            Err(Rejection::BadSignature),
            "refused once the grace has ended"
        );
        assert_eq!(
            token_matches("tok_other", &secrets, before),
            Err(Rejection::BadSignature)
        );
        let no_expiry = credentials(&[(TOKEN_FIELD, "tok_new"), (PREVIOUS_TOKEN_FIELD, "tok_old")]);
        assert_eq!(
            token_matches("tok_old", &no_expiry, before),
            Err(Rejection::BadSignature),
            "a previous token without its expiry is never accepted"
        );
        assert_eq!(
            token_matches("tok_new", &credentials(&[]), before),
            Err(Rejection::NoSecret)
        );
    }

    /// Every secret a verifier reads is declared (`writeOnly`) by its catalog document, so that
    /// a connection can hold it at all.
    #[test]
    fn catalogs_declare_the_secrets_verifiers_read() {
        use crate::ecommerce::{haravan, sapo, shopify, woocommerce};
        let catalog = crate::testing::catalog();
        let mut cases: Vec<(&str, Vec<&str>)> = vec![
            (
                shopify::INTEGRATION_ID,
                shopify::webhook::SECRET_FIELDS.to_vec(),
            ),
            (
                woocommerce::INTEGRATION_ID,
                woocommerce::webhook::SECRET_FIELDS.to_vec(),
            ),
            (sapo::INTEGRATION_ID, sapo::webhook::SECRET_FIELDS.to_vec()),
            (
                haravan::INTEGRATION_ID,
                haravan::webhook::SECRET_FIELDS.to_vec(),
            ),
        ];
        for v in verifiers().iter().filter(|v| v.url_token()) {
            let fields = [
                TOKEN_FIELD,
                PREVIOUS_TOKEN_FIELD,
                PREVIOUS_TOKEN_EXPIRES_FIELD,
            ];
            cases.push((v.integration_id(), fields.to_vec()));
        }
        assert_eq!(cases.len(), 7, "GHN, GHTK and Haravan carry URL tokens");
        for (integration, fields) in cases {
            let declared = &catalog
                .integration(integration)
                .expect("in the catalog")
                .secret_fields;
            for f in fields {
                assert!(declared.contains(f), "{integration} declares no secret {f}");
            }
        }
    }
}
