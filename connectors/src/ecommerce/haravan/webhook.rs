//! Haravan webhooks: `X-Haravan-Hmacsha256`, HMAC-SHA256 of the raw body keyed by the OAuth
//! app's client secret (the connection's `clientSecret`, copied at the OAuth callback;
//! `previousClientSecret` beside it during a rotation), base64 as most implementations have it
//! (Haravan's documentation does not say). The topic is `X-Haravan-Topic`; Haravan names no
//! delivery, so the dedupe key is the topic and a hash of the body.
//!
//! Subscribing, Haravan calls the URL with `hub.mode=subscribe`, `hub.verify_token` and
//! `hub.challenge`, and expects the challenge back as the body: the verify token is the
//! connection's webhook token, made by the service ([`crate::webhook::TOKEN_FIELD`]).

use integrations_core::model::Credentials;

use super::INTEGRATION_ID;
use crate::ecommerce::webhook::{Dedupe, ShopHook};
use crate::webhook::{token_matches, Answer, Rejection, Verified, WebhookRequest, WebhookVerifier};

pub const SECRET_FIELDS: [&str; 2] = ["clientSecret", "previousClientSecret"];

const HOOK: ShopHook = ShopHook {
    prefix: "haravan",
    signature_header: "x-haravan-hmacsha256",
    topic_header: "x-haravan-topic",
    secret_fields: SECRET_FIELDS,
    dedupe: Dedupe::TopicAndBody,
    occurred_header: None,
};

pub struct HaravanWebhook;

impl WebhookVerifier for HaravanWebhook {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    fn url_token(&self) -> bool {
        true
    }

    /// The subscription challenge, echoed as plain text once its verify token matches.
    fn handshake(
        &self,
        request: &WebhookRequest<'_>,
        secrets: &Credentials,
    ) -> Option<Result<Answer, Rejection>> {
        let challenge = request.query_value("hub.challenge")?;
        Some(
            request
                .query_value("hub.verify_token")
                .ok_or(Rejection::Unsigned)
                .and_then(|sent| token_matches(sent, secrets, request.received_at))
                .map(|()| Answer::text(200, challenge.to_string())),
        )
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

    #[test]
    fn a_valid_delivery_is_normalized() {
        let v = verify_with(
            &HaravanWebhook,
            &[
                ("x-haravan-hmacsha256", VECTOR_BASE64),
                ("x-haravan-topic", "orders/create"),
                ("x-haravan-org-id", "1000"),
            ],
            VECTOR_BODY,
            &[("clientSecret", VECTOR_KEY)],
        )
        .expect("valid");
        assert_eq!(v.event_type, "order.created");
        assert!(v.dedupe_key.starts_with("orders/create:"));
    }

    #[test]
    fn forged_unsigned_and_rotated_secrets() {
        refuses_what_it_must(
            &HaravanWebhook,
            "x-haravan-hmacsha256",
            &[("x-haravan-topic", "orders/create")],
            SECRET_FIELDS,
        );
    }

    #[test]
    fn the_challenge_is_echoed_for_the_right_verify_token() {
        let handshake = |pairs: &[(&str, &str)]| {
            let headers = request(&[]);
            let query: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let req = WebhookRequest {
                headers: &headers,
                query: &query,
                body: b"",
                received_at: chrono::Utc::now(),
            };
            HaravanWebhook.handshake(&req, &credentials(&[("webhookToken", "tok_right")]))
        };
        let subscribe = |token: &'static str| {
            handshake(&[
                ("hub.mode", "subscribe"),
                ("hub.verify_token", token),
                ("hub.challenge", "c-123"),
            ])
        };
        assert_eq!(
            subscribe("tok_right"),
            Some(Ok(Answer::text(200, "c-123".into())))
        );
        assert_eq!(subscribe("tok_wrong"), Some(Err(Rejection::BadSignature)));
        assert_eq!(
            handshake(&[("hub.challenge", "c-123")]),
            Some(Err(Rejection::Unsigned))
        );
        assert_eq!(handshake(&[]), None, "a delivery, not a handshake");
    }
}
