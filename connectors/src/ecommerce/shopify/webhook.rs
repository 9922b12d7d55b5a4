//! Shopify webhooks: `X-Shopify-Hmac-Sha256`, base64 HMAC-SHA256 of the raw body keyed by the
//! OAuth app's client secret (the connection's `clientSecret`, copied at the OAuth callback).
//! After the operator rotates the app's secret Shopify may sign with either for up to an hour:
//! `previousClientSecret` is accepted beside it. Deduplicated by `X-Shopify-Webhook-Id` (the
//! same on every retry), else `X-Shopify-Event-Id`; the topic is `X-Shopify-Topic`.

use integrations_core::model::Credentials;

use super::INTEGRATION_ID;
use crate::ecommerce::webhook::{Dedupe, ShopHook};
use crate::webhook::{Rejection, Verified, WebhookRequest, WebhookVerifier};

pub const SECRET_FIELDS: [&str; 2] = ["clientSecret", "previousClientSecret"];

const HOOK: ShopHook = ShopHook {
    prefix: "shopify",
    signature_header: "x-shopify-hmac-sha256",
    topic_header: "x-shopify-topic",
    secret_fields: SECRET_FIELDS,
    dedupe: Dedupe::Header("x-shopify-webhook-id", "x-shopify-event-id"),
    occurred_header: Some("x-shopify-triggered-at"),
};

pub struct ShopifyWebhook;

impl WebhookVerifier for ShopifyWebhook {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
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

    const TOPIC: (&str, &str) = ("x-shopify-topic", "orders/paid");

    #[test]
    fn a_valid_delivery_is_named_by_its_webhook_id() {
        let signed = |extra: &[(&'static str, &'static str)]| {
            let mut h = vec![("x-shopify-hmac-sha256", VECTOR_BASE64), TOPIC];
            h.extend_from_slice(extra);
            verify_with(
                &ShopifyWebhook,
                &h,
                VECTOR_BODY,
                &[("clientSecret", VECTOR_KEY)],
            )
        };
        let v = signed(&[
            (
                "x-shopify-webhook-id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            ),
            ("x-shopify-event-id", "98880550-7158-44d4-b7cd-2c97c8a091b5"),
            ("x-shopify-triggered-at", "2026-01-02T03:04:05.123Z"),
        ])
        .expect("valid");
        assert_eq!(v.dedupe_key, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
        assert_eq!(v.event_type, "order.paid");
        assert_eq!(v.provider_type, "orders/paid");
        assert_eq!(
            v.occurred_at.map(|t| t.timestamp_millis()),
            Some(1_767_323_045_123)
        );
        assert_eq!(v.data["email"], "jon@example.com");
        let by_event = signed(&[("x-shopify-event-id", "evt-1")]).expect("valid");
        assert_eq!(by_event.dedupe_key, "evt-1");
        assert_eq!(
            signed(&[]),
            Err(Rejection::Malformed),
            "Shopify always names its delivery"
        );
    }

    #[test]
    fn forged_unsigned_and_rotated_secrets() {
        refuses_what_it_must(
            &ShopifyWebhook,
            "x-shopify-hmac-sha256",
            &[TOPIC, ("x-shopify-webhook-id", "w1")],
            SECRET_FIELDS,
        );
    }

    #[test]
    fn unknown_topics_keep_their_name() {
        let v = verify_with(
            &ShopifyWebhook,
            &[
                ("x-shopify-hmac-sha256", VECTOR_BASE64),
                ("x-shopify-topic", "app/uninstalled"),
                ("x-shopify-webhook-id", "w2"),
            ],
            VECTOR_BODY,
            &[("clientSecret", VECTOR_KEY)],
        )
        .expect("valid");
        assert_eq!(v.event_type, "shopify.app/uninstalled");
    }
}
