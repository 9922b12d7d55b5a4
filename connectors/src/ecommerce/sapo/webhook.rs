//! Sapo webhooks: `X-Sapo-Hmac-Sha256`, base64 HMAC-SHA256 of the raw body (the scheme known
//! from implementations, not from Sapo's documentation), keyed by the webhook secret of the
//! store's app, which the tenant copies into the connection's `webhookSecret`
//! (`previousWebhookSecret` beside it while it changes). The topic is `X-Sapo-Topic`. Sapo
//! names no delivery: the dedupe key is the topic and a hash of the body.

use integrations_core::model::Credentials;

use super::INTEGRATION_ID;
use crate::ecommerce::webhook::{Dedupe, ShopHook};
use crate::webhook::{Rejection, Verified, WebhookRequest, WebhookVerifier};

pub const SECRET_FIELDS: [&str; 2] = ["webhookSecret", "previousWebhookSecret"];

const HOOK: ShopHook = ShopHook {
    prefix: "sapo",
    signature_header: "x-sapo-hmac-sha256",
    topic_header: "x-sapo-topic",
    secret_fields: SECRET_FIELDS,
    dedupe: Dedupe::TopicAndBody,
    occurred_header: None,
};

pub struct SapoWebhook;

impl WebhookVerifier for SapoWebhook {
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
    use crate::kit::sign::body_digest_hex;

    #[test]
    fn a_valid_delivery_is_named_by_topic_and_body() {
        let verify = |topic: &str| {
            verify_with(
                &SapoWebhook,
                &[
                    ("x-sapo-hmac-sha256", VECTOR_BASE64),
                    ("x-sapo-topic", topic),
                ],
                VECTOR_BODY,
                &[("webhookSecret", VECTOR_KEY)],
            )
            .expect("valid")
        };
        let paid = verify("orders/paid");
        assert_eq!(
            paid.dedupe_key,
            format!("orders/paid:{}", body_digest_hex(VECTOR_BODY))
        );
        assert_eq!(paid.event_type, "order.paid");
        let updated = verify("orders/updated");
        assert_ne!(
            updated.dedupe_key, paid.dedupe_key,
            "the same order under two topics is two events"
        );
        assert_eq!(
            verify("customers/create").event_type,
            "sapo.customers/create"
        );
    }

    #[test]
    fn forged_unsigned_and_rotated_secrets() {
        refuses_what_it_must(
            &SapoWebhook,
            "x-sapo-hmac-sha256",
            &[("x-sapo-topic", "orders/create")],
            SECRET_FIELDS,
        );
    }
}
