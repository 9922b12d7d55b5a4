//! GHTK status webhooks: nothing signed, so the registered URL carries the connection's token
//! ([`crate::webhook::check_token`]). A form-urlencoded body; deduplicated by `label_id` +
//! `status_id` + `action_time`; GHTK wants exactly 200.

use integrations_core::model::Credentials;
use serde_json::{Map, Value};

use super::INTEGRATION_ID;
use crate::webhook::{check_token, Rejection, Verified, WebhookRequest, WebhookVerifier};

pub struct GhtkWebhook;

impl WebhookVerifier for GhtkWebhook {
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
        let form: Map<String, Value> = url::form_urlencoded::parse(request.body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        let text = |k: &str| {
            form.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let label = text("label_id");
        if label.is_empty() {
            return Err(Rejection::Malformed);
        }
        Ok(Verified {
            dedupe_key: format!("{label}:{}:{}", text("status_id"), text("action_time")),
            event_type: "shipment.status_changed".into(),
            provider_type: text("status_id"),
            occurred_at: chrono::DateTime::parse_from_rfc3339(&text("action_time"))
                .ok()
                .map(|t| t.to_utc()),
            data: Value::Object(form),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::webhook_tests::{credentials, request};

    #[test]
    fn a_form_body_with_the_token_verifies() {
        let body = b"label_id=S1.A1.17373471&partner_id=ORDER9&status_id=5&action_time=2026-01-02T10%3A00%3A00%2B07%3A00";
        let headers = request(&[]);
        let verify = |token: &str| {
            let query = vec![("token".to_string(), token.to_string())];
            let req = WebhookRequest {
                headers: &headers,
                query: &query,
                body,
                received_at: chrono::Utc::now(),
            };
            GhtkWebhook.verify(&req, &credentials(&[("webhookToken", "tok_ghtk")]))
        };
        let v = verify("tok_ghtk").expect("valid");
        assert_eq!(v.dedupe_key, "S1.A1.17373471:5:2026-01-02T10:00:00+07:00");
        assert_eq!(v.data["partner_id"], "ORDER9");
        assert!(v.occurred_at.is_some());
        assert_eq!(verify("tok_ghtX"), Err(Rejection::BadSignature));
    }
}
