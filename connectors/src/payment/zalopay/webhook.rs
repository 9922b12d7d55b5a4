//! ZaloPay callbacks: `{data: "<JSON string>", mac, type}` with mac = hex HMAC-SHA256(key2, data
//! exactly as received), the same mac as the calls' ([`super::client::mac`]) over one field.
//! Deduplicated by `app_trans_id`. ZaloPay reads the answer's `return_code`: 1 taken, -1 bad mac
//! (0 would make it retry, which a recorded callback never needs).

use chrono::DateTime;
use integrations_core::model::Credentials;
use serde_json::json;

use super::client::mac;
use super::INTEGRATION_ID;
use crate::kit::sign::constant_time_eq;
use crate::webhook::{
    field_text, json_body, secret, Answer, Rejection, Verified, WebhookRequest, WebhookVerifier,
};

pub struct ZaloPayWebhook;

impl WebhookVerifier for ZaloPayWebhook {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        secrets: &Credentials,
    ) -> Result<Verified, Rejection> {
        let key2 = secret(secrets, "key2")?;
        let envelope = json_body(request.body)?;
        let (Some(data), Some(sent)) = (
            envelope.get("data").and_then(|d| d.as_str()),
            envelope.get("mac").and_then(|m| m.as_str()),
        ) else {
            return Err(Rejection::Unsigned);
        };
        if !constant_time_eq(mac(key2, &[data]).as_bytes(), sent.as_bytes()) {
            return Err(Rejection::BadSignature);
        }
        let data: serde_json::Value =
            serde_json::from_str(data).map_err(|_| Rejection::Malformed)?;
        let app_trans_id = field_text(&data, "app_trans_id");
        if app_trans_id.is_empty() {
            return Err(Rejection::Malformed);
        }
        Ok(Verified {
            dedupe_key: app_trans_id,
            // ZaloPay calls back only for paid orders; `type` 1 is an order, 2 an agreement.
            event_type: "payment.succeeded".into(),
            provider_type: format!("callback.type{}", field_text(&envelope, "type")),
            occurred_at: data
                .get("server_time")
                .and_then(serde_json::Value::as_i64)
                .and_then(DateTime::from_timestamp_millis),
            data,
        })
    }

    fn accepted(&self) -> Answer {
        Answer::json(200, json!({"return_code": 1, "return_message": "success"}))
    }

    fn rejected(&self, why: Rejection) -> Answer {
        Answer::json(
            200,
            json!({"return_code": -1, "return_message": why.as_str()}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::webhook_tests::{credentials, request};

    /// providers.md, test vector 1 (official).
    const KEY2: &str = "kLtgPl8HHhfvMuDHPwKfgfsY4Ydm9eIz";
    const DATA: &str = r#"{"app_id":2553,"app_trans_id":"200904_2553_1598435687208","app_time":1599189392817,"app_user":"demo","amount":10000,"embed_data":"{\"merchantinfo\":\"embeddata123\",\"promotioninfo\":\"\"}","item":"[{\"itemid\":\"knb\",\"itemname\":\"kim nguyen bao\",\"itemprice\":198400,\"itemquantity\":1}]","zp_trans_id":200904000000389,"server_time":1599189413498,"channel":38,"merchant_user_id":"7ZMSl3nEg5sOUJzOLSoUFT8xKNQVaLOLXHB--8Eytqc","user_fee_amount":0,"discount_amount":0}"#;
    const MAC: &str = "d8d33baf449b31d7f9b94fa50d7c942c08cd4d83f28fa185557da21acb104f67";

    fn verify(data: &str, mac: &str) -> Result<Verified, Rejection> {
        let body = json!({"data": data, "mac": mac, "type": 1}).to_string();
        let (headers, query) = (request(&[]), Vec::new());
        let req = WebhookRequest {
            headers: &headers,
            query: &query,
            body: body.as_bytes(),
            received_at: chrono::Utc::now(),
        };
        ZaloPayWebhook.verify(&req, &credentials(&[("key2", KEY2)]))
    }

    #[test]
    fn the_official_vector_verifies() {
        let v = verify(DATA, MAC).expect("valid");
        assert_eq!(v.dedupe_key, "200904_2553_1598435687208");
        assert_eq!(v.event_type, "payment.succeeded");
        assert_eq!(
            v.occurred_at,
            DateTime::from_timestamp_millis(1_599_189_413_498)
        );
        assert_eq!(
            ZaloPayWebhook.accepted().json_body().expect("body")["return_code"],
            1
        );
    }

    #[test]
    fn a_forged_callback_gets_minus_one() {
        let forged = DATA.replace("10000", "1");
        assert_eq!(verify(&forged, MAC), Err(Rejection::BadSignature));
        let answer = ZaloPayWebhook.rejected(Rejection::BadSignature);
        assert_eq!(answer.json_body().expect("body")["return_code"], -1);
    }
}
