//! WooCommerce webhooks: `X-WC-Webhook-Signature`, base64 HMAC-SHA256 of the raw body keyed by
//! the secret the tenant typed when creating the webhook in WooCommerce (the connection's
//! `webhookSecret`; `previousWebhookSecret` is accepted beside it while the tenant changes
//! it). The topic is `X-WC-Webhook-Topic`; `X-WC-Webhook-Delivery-ID` is reused within one
//! second, so the dedupe key adds a hash of the body.
//!
//! On creation WooCommerce pings the URL with an unsigned form body `webhook_id=<id>`, and
//! disables the webhook unless it gets exactly 200: [`WooCommerceWebhook::handshake`] answers
//! it without recording an event.

use integrations_core::model::Credentials;

use super::INTEGRATION_ID;
use crate::ecommerce::webhook::{Dedupe, ShopHook};
use crate::webhook::{Answer, Rejection, Verified, WebhookRequest, WebhookVerifier};

pub const SECRET_FIELDS: [&str; 2] = ["webhookSecret", "previousWebhookSecret"];
const SIGNATURE_HEADER: &str = "x-wc-webhook-signature";

const HOOK: ShopHook = ShopHook {
    prefix: "woocommerce",
    signature_header: SIGNATURE_HEADER,
    topic_header: "x-wc-webhook-topic",
    secret_fields: SECRET_FIELDS,
    dedupe: Dedupe::HeaderAndBody("x-wc-webhook-delivery-id"),
    occurred_header: None,
};

pub struct WooCommerceWebhook;

/// Whether `body` is exactly WooCommerce's ping: one `webhook_id` field, a number.
fn is_ping(body: &[u8]) -> bool {
    let pairs: Vec<_> = url::form_urlencoded::parse(body).collect();
    matches!(pairs.as_slice(), [(k, v)] if k == "webhook_id"
        && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
}

impl WebhookVerifier for WooCommerceWebhook {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    /// The ping proves nothing and records nothing, so it needs no signature; anything signed
    /// is a delivery and is verified.
    fn handshake(
        &self,
        request: &WebhookRequest<'_>,
        _secrets: &Credentials,
    ) -> Option<Result<Answer, Rejection>> {
        (request.header(SIGNATURE_HEADER).is_none() && is_ping(request.body))
            .then(|| Ok(Answer::status(200)))
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        secrets: &Credentials,
    ) -> Result<Verified, Rejection> {
        HOOK.verify(request, secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecommerce::webhook::tests::{
        refuses_what_it_must, verify_with, VECTOR_BASE64, VECTOR_BODY, VECTOR_KEY,
    };
    use crate::payment::webhook_tests::{credentials, request};

    const TOPIC: (&str, &str) = ("x-wc-webhook-topic", "order.created");

    #[test]
    fn a_valid_delivery_adds_a_body_hash_to_its_delivery_id() {
        let v = verify_with(
            &WooCommerceWebhook,
            &[
                (SIGNATURE_HEADER, VECTOR_BASE64),
                TOPIC,
                ("x-wc-webhook-delivery-id", "7"),
            ],
            VECTOR_BODY,
            &[("webhookSecret", VECTOR_KEY)],
        )
        .expect("valid");
        assert_eq!(
            v.dedupe_key,
            format!("7:{}", crate::kit::sign::body_digest_hex(VECTOR_BODY))
        );
        assert_eq!(v.event_type, "order.created");
        assert_eq!(v.provider_type, "order.created");
    }

    #[test]
    fn forged_unsigned_and_rotated_secrets() {
        refuses_what_it_must(
            &WooCommerceWebhook,
            SIGNATURE_HEADER,
            &[TOPIC, ("x-wc-webhook-delivery-id", "7")],
            SECRET_FIELDS,
        );
    }

    #[test]
    fn only_the_unsigned_ping_is_a_handshake() {
        let handshake = |headers: &[(&str, &str)], body: &[u8]| {
            let (headers, query) = (request(headers), Vec::new());
            let req = WebhookRequest {
                headers: &headers,
                query: &query,
                body,
                received_at: chrono::Utc::now(),
            };
            WooCommerceWebhook.handshake(&req, &credentials(&[]))
        };
        assert_eq!(
            handshake(&[], b"webhook_id=42"),
            Some(Ok(Answer::status(200)))
        );
        assert_eq!(
            handshake(&[(SIGNATURE_HEADER, "x")], b"webhook_id=42"),
            None
        );
        for body in [
            &b"webhook_id=42&x=1"[..],
            b"webhook_id=",
            b"webhook_id=4a",
            b"{}",
            b"",
        ] {
            assert_eq!(handshake(&[], body), None, "{body:?}");
        }
    }
}
