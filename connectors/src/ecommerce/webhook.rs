//! What the shop platforms' webhooks share: a base64 HMAC-SHA256 of the raw body in a header
//! (with the current secret or, during a rotation, the previous one), the topic in another
//! header, a JSON body, and one closed set of normalized event types. Each platform's
//! `webhook.rs` declares its [`ShopHook`] and adds its own handshake.

use chrono::DateTime;
use integrations_core::model::Credentials;

use crate::kit::sign::body_digest_hex;
use crate::webhook::{check_body_hmac, json_body, Rejection, Verified, WebhookRequest};

/// The normalized shop events: every platform topic that means one of these maps to it; any
/// other topic is recorded as `<platform>.<topic>` ([`ShopHook::prefix`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopEvent {
    OrderCreated,
    OrderUpdated,
    OrderPaid,
    OrderCancelled,
    OrderDeleted,
    FulfillmentCreated,
    FulfillmentUpdated,
    RefundCreated,
    ProductCreated,
    ProductUpdated,
    ProductDeleted,
}

impl ShopEvent {
    pub const ALL: [ShopEvent; 11] = [
        Self::OrderCreated,
        Self::OrderUpdated,
        Self::OrderPaid,
        Self::OrderCancelled,
        Self::OrderDeleted,
        Self::FulfillmentCreated,
        Self::FulfillmentUpdated,
        Self::RefundCreated,
        Self::ProductCreated,
        Self::ProductUpdated,
        Self::ProductDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderCreated => "order.created",
            Self::OrderUpdated => "order.updated",
            Self::OrderPaid => "order.paid",
            Self::OrderCancelled => "order.cancelled",
            Self::OrderDeleted => "order.deleted",
            Self::FulfillmentCreated => "fulfillment.created",
            Self::FulfillmentUpdated => "fulfillment.updated",
            Self::RefundCreated => "refund.created",
            Self::ProductCreated => "product.created",
            Self::ProductUpdated => "product.updated",
            Self::ProductDeleted => "product.deleted",
        }
    }

    /// The platforms' topics for it: Shopify's `orders/create` style (which Sapo and Haravan
    /// follow) and WooCommerce's `order.created` style.
    fn topics(self) -> &'static [&'static str] {
        match self {
            Self::OrderCreated => &["orders/create", "order.created"],
            Self::OrderUpdated => &["orders/updated", "order.updated"],
            Self::OrderPaid => &["orders/paid"],
            Self::OrderCancelled => &["orders/cancelled"],
            Self::OrderDeleted => &["orders/delete", "orders/deleted", "order.deleted"],
            Self::FulfillmentCreated => &["fulfillments/create", "orders/fulfilled"],
            Self::FulfillmentUpdated => &["fulfillments/update"],
            Self::RefundCreated => &["refunds/create"],
            Self::ProductCreated => &["products/create", "product.created"],
            Self::ProductUpdated => &["products/update", "product.updated"],
            Self::ProductDeleted => &["products/delete", "products/deleted", "product.deleted"],
        }
    }

    pub fn from_topic(topic: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.topics().contains(&topic))
    }
}

/// How a platform's deliveries are told apart.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dedupe {
    /// A delivery id header, else an event id header (Shopify).
    Header(&'static str, &'static str),
    /// A delivery id header that is not unique on its own, combined with a body hash
    /// (WooCommerce's is reused within one second).
    HeaderAndBody(&'static str),
    /// No id at all: the topic and a hash of the body (Sapo, Haravan). The topic is part of it
    /// because `orders/paid` and `orders/updated` can carry the very same order document.
    TopicAndBody,
}

/// One platform's webhook scheme.
pub(crate) struct ShopHook {
    /// Unknown topics are recorded as `<prefix>.<topic>`.
    pub prefix: &'static str,
    pub signature_header: &'static str,
    pub topic_header: &'static str,
    /// The connection's secret fields: the current secret, and the previous one accepted
    /// during a rotation.
    pub secret_fields: [&'static str; 2],
    pub dedupe: Dedupe,
    /// When the platform says the event happened (RFC 3339), where it says.
    pub occurred_header: Option<&'static str>,
}

impl ShopHook {
    pub(crate) fn verify(
        &self,
        request: &WebhookRequest<'_>,
        secrets: &Credentials,
    ) -> Result<Verified, Rejection> {
        check_body_hmac(request, self.signature_header, secrets, self.secret_fields)?;
        let topic = request
            .header(self.topic_header)
            .filter(|t| !t.is_empty())
            .ok_or(Rejection::Malformed)?
            .to_string();
        let data = json_body(request.body)?;
        if !data.is_object() {
            return Err(Rejection::Malformed);
        }
        let header = |name: &str| request.header(name).filter(|v| !v.is_empty());
        let dedupe_key = match self.dedupe {
            Dedupe::Header(delivery, event) => header(delivery)
                .or_else(|| header(event))
                .ok_or(Rejection::Malformed)?
                .to_string(),
            Dedupe::HeaderAndBody(delivery) => format!(
                "{}:{}",
                header(delivery).unwrap_or_default(),
                body_digest_hex(request.body)
            ),
            Dedupe::TopicAndBody => format!("{topic}:{}", body_digest_hex(request.body)),
        };
        Ok(Verified {
            dedupe_key,
            event_type: match ShopEvent::from_topic(&topic) {
                Some(e) => e.as_str().to_string(),
                None => format!("{}.{topic}", self.prefix),
            },
            occurred_at: self
                .occurred_header
                .and_then(header)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.to_utc()),
            provider_type: topic,
            data,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::payment::webhook_tests::{credentials, request};
    use crate::webhook::WebhookVerifier;
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    /// Computed with Python's `hmac` (base64 of HMAC-SHA256 of [`VECTOR_BODY`] under
    /// [`VECTOR_KEY`]), independently of this crate: the value every shop verifier must accept.
    pub(crate) const VECTOR_KEY: &str = "hush_shopify_secret";
    pub(crate) const VECTOR_BODY: &[u8] = br#"{"id":820982911946154508,"email":"jon@example.com"}"#;
    pub(crate) const VECTOR_BASE64: &str = "GKdabt7CRbAuAMkXd4ERWlMTlhHeksk2wP7OyCKpLp8=";
    pub(crate) const VECTOR_HEX: &str =
        "18a75a6edec245b02e00c9177781115a53139611de92c936c0fecec822a92e9f";

    /// The signature computed with the hmac crate directly, not through `kit::sign`.
    pub(crate) fn sign(key: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("key");
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// Verifies `body` with `headers` (plus `signature_header: signature`) and `secrets`.
    pub(crate) fn verify_with(
        verifier: &dyn WebhookVerifier,
        headers: &[(&str, &str)],
        body: &[u8],
        secrets: &[(&str, &str)],
    ) -> Result<Verified, Rejection> {
        let (headers, query) = (request(headers), Vec::new());
        let req = WebhookRequest {
            headers: &headers,
            query: &query,
            body,
            received_at: chrono::Utc::now(),
        };
        verifier.verify(&req, &credentials(secrets))
    }

    /// The failure paths every shop verifier shares: forged, missing header, hex instead of
    /// base64, one byte altered, empty body, no secret, and the rotation (current and previous
    /// secret accepted, an unrelated one not).
    pub(crate) fn refuses_what_it_must(
        verifier: &dyn WebhookVerifier,
        signature_header: &str,
        other_headers: &[(&str, &str)],
        [current, previous]: [&str; 2],
    ) {
        let run = |signature: Option<&str>, body: &[u8], secrets: &[(&str, &str)]| {
            let mut headers = other_headers.to_vec();
            if let Some(s) = signature {
                headers.push((signature_header, s));
            }
            verify_with(verifier, &headers, body, secrets)
        };
        let key = [(current, VECTOR_KEY)];
        assert_eq!(sign(VECTOR_KEY, VECTOR_BODY), VECTOR_BASE64);
        assert!(run(Some(VECTOR_BASE64), VECTOR_BODY, &key).is_ok());
        assert_eq!(
            run(None, VECTOR_BODY, &key),
            Err(Rejection::Unsigned),
            "missing header"
        );
        assert_eq!(
            run(Some(VECTOR_HEX), VECTOR_BODY, &key),
            Err(Rejection::BadSignature),
            "hex instead of base64"
        );
        let mut altered = VECTOR_BODY.to_vec();
        altered[10] ^= 1;
        assert_eq!(
            run(Some(VECTOR_BASE64), &altered, &key),
            Err(Rejection::BadSignature),
            "one byte altered"
        );
        assert_eq!(
            run(Some(VECTOR_BASE64), b"", &key),
            Err(Rejection::BadSignature)
        );
        assert_eq!(
            run(Some(&sign(VECTOR_KEY, b"")), b"", &key),
            Err(Rejection::Malformed),
            "an empty body, even signed, is no event"
        );
        assert_eq!(
            run(Some(VECTOR_BASE64), VECTOR_BODY, &[]),
            Err(Rejection::NoSecret)
        );
        let rotating = [(current, "the-new-secret"), (previous, VECTOR_KEY)];
        assert!(
            run(Some(VECTOR_BASE64), VECTOR_BODY, &rotating).is_ok(),
            "the previous secret during a rotation"
        );
        let by_new = sign("the-new-secret", VECTOR_BODY);
        assert!(run(Some(&by_new), VECTOR_BODY, &rotating).is_ok());
        let unrelated = sign("an-unrelated-secret", VECTOR_BODY);
        assert_eq!(
            run(Some(&unrelated), VECTOR_BODY, &rotating),
            Err(Rejection::BadSignature)
        );
        let previous_only = [(previous, VECTOR_KEY)];
        assert_eq!(
            run(Some(VECTOR_BASE64), VECTOR_BODY, &previous_only),
            Err(Rejection::NoSecret),
            "a previous secret alone is not a configured connection"
        );
    }

    #[test]
    fn topics_map_to_one_closed_set() {
        for e in ShopEvent::ALL {
            for topic in e.topics() {
                assert_eq!(ShopEvent::from_topic(topic), Some(e), "{topic}");
            }
        }
        assert_eq!(ShopEvent::from_topic("app/uninstalled"), None);
        let names: std::collections::BTreeSet<_> =
            ShopEvent::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names.len(), ShopEvent::ALL.len());
    }
}
