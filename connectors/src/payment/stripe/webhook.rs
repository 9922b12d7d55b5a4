//! Stripe webhooks: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…]`, hex HMAC-SHA256 over
//! `{t}.{raw body}` keyed by the endpoint's `whsec_…` secret as-is (connection field
//! `webhookSecret`). Any `v1` may match (Stripe signs with both secrets while one is rolled);
//! a timestamp more than [`TOLERANCE_SECS`] from now is refused, so a captured request cannot be
//! replayed later. Deduplicated by the event `id`.

use chrono::DateTime;
use integrations_core::model::Credentials;

use super::INTEGRATION_ID;
use crate::kit::sign::{constant_time_eq, hmac_sha256_hex};
use crate::webhook::{
    field_text, json_body, secret, Rejection, Verified, WebhookRequest, WebhookVerifier,
};

/// Stripe's own libraries' default tolerance.
pub const TOLERANCE_SECS: i64 = 300;

pub struct StripeWebhook;

/// The signature Stripe sends for `body` at `timestamp` (also what tests sign with).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    hmac_sha256_hex(secret.as_bytes(), &signed)
}

fn normalized(provider_type: &str) -> String {
    match provider_type {
        "payment_intent.succeeded" | "charge.succeeded" | "checkout.session.completed" => {
            "payment.succeeded".into()
        }
        "payment_intent.payment_failed" | "charge.failed" => "payment.failed".into(),
        "charge.refunded" | "refund.created" | "refund.updated" => "payment.refunded".into(),
        other => format!("stripe.{other}"),
    }
}

impl WebhookVerifier for StripeWebhook {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        secrets: &Credentials,
    ) -> Result<Verified, Rejection> {
        let key = secret(secrets, "webhookSecret")?;
        let header = request
            .header("stripe-signature")
            .ok_or(Rejection::Unsigned)?;
        let mut timestamp = None;
        let mut candidates = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
                Some(("v1", v)) => candidates.push(v),
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(Rejection::Unsigned)?;
        if candidates.is_empty() {
            return Err(Rejection::Unsigned);
        }
        let expected = signature(key, timestamp, request.body);
        if !candidates
            .iter()
            .any(|c| constant_time_eq(c.as_bytes(), expected.as_bytes()))
        {
            return Err(Rejection::BadSignature);
        }
        // Checked after the signature, so that a forged request is reported as forged.
        if (request.received_at.timestamp() - timestamp).abs() > TOLERANCE_SECS {
            return Err(Rejection::Stale);
        }
        let event = json_body(request.body)?;
        let id = field_text(&event, "id");
        let provider_type = field_text(&event, "type");
        if id.is_empty() || provider_type.is_empty() {
            return Err(Rejection::Malformed);
        }
        Ok(Verified {
            dedupe_key: id,
            event_type: normalized(&provider_type),
            provider_type,
            occurred_at: event
                .get("created")
                .and_then(serde_json::Value::as_i64)
                .and_then(|s| DateTime::from_timestamp(s, 0)),
            data: event.get("data").cloned().unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::webhook_tests::{credentials, request};
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded","created":1700000000,"data":{"object":{"id":"pi_1","amount":1200}}}"#;

    /// Stripe's scheme computed independently of [`signature`], with the hmac crate directly.
    fn independent(t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    fn verify(header: &str, body: &[u8], now: i64) -> Result<Verified, Rejection> {
        let (headers, query) = (request(&[("stripe-signature", header)]), Vec::new());
        let req = WebhookRequest {
            headers: &headers,
            query: &query,
            body,
            received_at: DateTime::from_timestamp(now, 0).expect("time"),
        };
        StripeWebhook.verify(&req, &credentials(&[("webhookSecret", SECRET)]))
    }

    #[test]
    fn a_valid_event_is_verified_and_normalized() {
        let t = 1_700_000_100;
        let header = format!("t={t},v1=00ff,v1={}", independent(t, BODY));
        let v = verify(&header, BODY, t + 10).expect("valid");
        assert_eq!(v.dedupe_key, "evt_1");
        assert_eq!(v.event_type, "payment.succeeded");
        assert_eq!(v.provider_type, "payment_intent.succeeded");
        assert_eq!(v.occurred_at, DateTime::from_timestamp(1_700_000_000, 0));
        assert_eq!(v.data["object"]["id"], "pi_1");
    }

    #[test]
    fn forged_unsigned_stale_and_secretless_are_refused() {
        let t = 1_700_000_100;
        let good = independent(t, BODY);
        let tampered = br#"{"id":"evt_1","type":"payment_intent.succeeded","amount":1}"#;
        let header = format!("t={t},v1={good}");
        assert_eq!(verify(&header, tampered, t), Err(Rejection::BadSignature));
        let other_time = format!("t={},v1={good}", t + 1);
        assert_eq!(verify(&other_time, BODY, t), Err(Rejection::BadSignature));
        assert_eq!(verify(&format!("t={t}"), BODY, t), Err(Rejection::Unsigned));
        assert_eq!(
            verify(&header, BODY, t + TOLERANCE_SECS + 1),
            Err(Rejection::Stale)
        );
        assert_eq!(
            verify(&header, BODY, t - TOLERANCE_SECS - 1),
            Err(Rejection::Stale)
        );
        assert!(verify(&header, BODY, t + TOLERANCE_SECS).is_ok());
        let (headers, query) = (request(&[("stripe-signature", &header)]), Vec::new());
        let req = WebhookRequest {
            headers: &headers,
            query: &query,
            body: BODY,
            received_at: DateTime::from_timestamp(t, 0).expect("time"),
        };
        assert_eq!(
            StripeWebhook.verify(&req, &credentials(&[])),
            Err(Rejection::NoSecret)
        );
    }
}
