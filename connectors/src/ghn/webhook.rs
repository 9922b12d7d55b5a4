//! GHN status webhooks: GHN signs nothing, so the URL the shop registers carries the
//! connection's token ([`crate::webhook::check_token`]). A JSON body; deduplicated by
//! `OrderCode` + `Type` + `Time` (GHN retries 10 times, 5 s apart, until it gets 200).

use integrations_core::model::Credentials;

use super::INTEGRATION_ID;
use crate::webhook::{
    check_token, field_text, json_body, Rejection, Verified, WebhookRequest, WebhookVerifier,
};

pub struct GhnWebhook;

impl WebhookVerifier for GhnWebhook {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    fn url_token(&self) -> bool {
        true
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        secrets: &Credentials,
    ) -> Result<Verified, Rejection> {
        check_token(request, secrets)?;
        let body = json_body(request.body)?;
        let order_code = field_text(&body, "OrderCode");
        if order_code.is_empty() {
            return Err(Rejection::Malformed);
        }
        let time = field_text(&body, "Time");
        Ok(Verified {
            dedupe_key: format!("{order_code}:{}:{time}", field_text(&body, "Type")),
            event_type: "shipment.status_changed".into(),
            provider_type: field_text(&body, "Status"),
            occurred_at: chrono::DateTime::parse_from_rfc3339(&time)
                .ok()
                .map(|t| t.to_utc()),
            data: body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::webhook_tests::{credentials, request};

    const BODY: &[u8] = br#"{"OrderCode":"GHN123","Type":"switch_status","Status":"delivered","Time":"2026-01-02T03:04:05Z"}"#;

    fn verify(token: Option<&str>) -> Result<Verified, Rejection> {
        let headers = request(&[]);
        let query: Vec<(String, String)> = token
            .map(|t| ("token".to_string(), t.to_string()))
            .into_iter()
            .collect();
        let req = WebhookRequest {
            headers: &headers,
            query: &query,
            body: BODY,
            received_at: chrono::Utc::now(),
        };
        GhnWebhook.verify(
            &req,
            &credentials(&[("webhookToken", "tok_0123456789abcdef")]),
        )
    }

    #[test]
    fn the_token_is_required_and_compared() {
        let v = verify(Some("tok_0123456789abcdef")).expect("valid");
        assert_eq!(v.dedupe_key, "GHN123:switch_status:2026-01-02T03:04:05Z");
        assert_eq!(v.event_type, "shipment.status_changed");
        assert_eq!(v.provider_type, "delivered");
        assert_eq!(
            verify(Some("tok_0123456789abcdeX")),
            Err(Rejection::BadSignature)
        );
        assert_eq!(verify(Some("")), Err(Rejection::BadSignature));
        assert_eq!(verify(None), Err(Rejection::Unsigned));
    }
}
