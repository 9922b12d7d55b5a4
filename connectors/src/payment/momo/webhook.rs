//! MoMo IPN: a JSON POST signed like the calls ([`super::client::signature`]) over
//! [`IPN_KEYS`] with `secretKey` (`accessKey` taken from the connection). Deduplicated by
//! `orderId` + `transId`. MoMo expects HTTP 204 within 15 s.

use chrono::DateTime;
use integrations_core::model::Credentials;

use super::client::signature;
use super::INTEGRATION_ID;
use crate::kit::sign::constant_time_eq;
use crate::webhook::{
    field_text, json_body, secret, Answer, Rejection, Verified, WebhookRequest, WebhookVerifier,
};

/// The IPN's signed fields, a–z (providers.md).
pub const IPN_KEYS: &[&str] = &[
    "accessKey",
    "amount",
    "extraData",
    "message",
    "orderId",
    "orderInfo",
    "orderType",
    "partnerCode",
    "payType",
    "requestId",
    "responseTime",
    "resultCode",
    "transId",
];

pub struct MomoWebhook;

impl WebhookVerifier for MomoWebhook {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        secrets: &Credentials,
    ) -> Result<Verified, Rejection> {
        let (secret_key, access_key) =
            (secret(secrets, "secretKey")?, secret(secrets, "accessKey")?);
        let ipn = json_body(request.body)?;
        let body = ipn.as_object().ok_or(Rejection::Malformed)?;
        let sent = body
            .get("signature")
            .and_then(|s| s.as_str())
            .ok_or(Rejection::Unsigned)?;
        let expected = signature(secret_key, access_key, IPN_KEYS, body);
        if !constant_time_eq(expected.as_bytes(), sent.as_bytes()) {
            return Err(Rejection::BadSignature);
        }
        let (order_id, trans_id) = (field_text(&ipn, "orderId"), field_text(&ipn, "transId"));
        if order_id.is_empty() {
            return Err(Rejection::Malformed);
        }
        let result_code = field_text(&ipn, "resultCode");
        let mut data = ipn.clone();
        if let Some(d) = data.as_object_mut() {
            d.remove("signature");
        }
        Ok(Verified {
            dedupe_key: format!("{order_id}:{trans_id}"),
            event_type: if result_code == "0" {
                "payment.succeeded"
            } else {
                "payment.failed"
            }
            .into(),
            provider_type: format!("ipn.{result_code}"),
            occurred_at: ipn
                .get("responseTime")
                .and_then(serde_json::Value::as_i64)
                .and_then(DateTime::from_timestamp_millis),
            data,
        })
    }

    fn accepted(&self) -> Answer {
        Answer::status(204)
    }

    fn rejected(&self, _why: Rejection) -> Answer {
        Answer::status(400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::webhook_tests::{credentials, request};
    use serde_json::json;

    /// providers.md, the derived MoMo IPN vector.
    const EXPECTED: &str = "898c51586e804e9781be2ecb021f3707390f6a2e58a0af8d4a9ff8e54c9f0341";

    fn ipn(signature: &str) -> serde_json::Value {
        json!({
            "partnerCode": "MOMO", "orderId": "ORDER123", "requestId": "REQ123",
            "amount": 50000, "orderInfo": "pay with MoMo", "orderType": "momo_wallet",
            "transId": 4088878653_u64, "resultCode": 0, "message": "Successful.",
            "payType": "qr", "responseTime": 1700000000000_u64, "extraData": "",
            "signature": signature
        })
    }

    fn verify(body: &serde_json::Value) -> Result<Verified, Rejection> {
        let (headers, query, body) = (request(&[]), Vec::new(), body.to_string());
        let req = WebhookRequest {
            headers: &headers,
            query: &query,
            body: body.as_bytes(),
            received_at: chrono::Utc::now(),
        };
        let keys = [
            ("accessKey", "F8BBA842ECF85"),
            ("secretKey", "K951B6PE1waDMi640xX08PD3vg6EkVlz"),
        ];
        MomoWebhook.verify(&req, &credentials(&keys))
    }

    #[test]
    fn the_ipn_vector_verifies() {
        let v = verify(&ipn(EXPECTED)).expect("valid");
        assert_eq!(v.dedupe_key, "ORDER123:4088878653");
        assert_eq!(v.event_type, "payment.succeeded");
        assert!(v.data.get("signature").is_none());
        assert_eq!(MomoWebhook.accepted().status, 204);
    }

    #[test]
    fn a_forged_or_unsigned_ipn_is_refused() {
        let mut forged = ipn(EXPECTED);
        forged["amount"] = json!(1);
        assert_eq!(verify(&forged), Err(Rejection::BadSignature));
        let mut unsigned = ipn(EXPECTED);
        unsigned
            .as_object_mut()
            .expect("object")
            .remove("signature");
        assert_eq!(verify(&unsigned), Err(Rejection::Unsigned));
    }
}
