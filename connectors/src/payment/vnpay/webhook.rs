//! VNPay IPN: a GET whose `vnp_*` query is signed like the payment URL: drop `vnp_SecureHash`,
//! `vnp_SecureHashType` and empty values, sort, join `k=urlencode(v)` with `&`, hex
//! HMAC-SHA512 with `hashSecret`. Deduplicated by `vnp_TxnRef` + `vnp_TransactionNo`. VNPay reads
//! `RspCode` in the answer: 00 confirmed, 97 invalid signature, 99 anything else.

use integrations_core::model::Credentials;
use serde_json::{json, Map, Value};

use super::INTEGRATION_ID;
use crate::kit::sign::{
    constant_time_eq, hmac, sorted_pairs, Encoding, HmacAlgorithm, PairEncoding,
};
use crate::webhook::{secret, Answer, Rejection, Verified, WebhookRequest, WebhookVerifier};

pub struct VnpayWebhook;

/// The `vnp_SecureHash` of `query` (also what tests sign with).
pub fn secure_hash(hash_secret: &str, query: &[(String, String)]) -> String {
    let signed: Vec<&(String, String)> = query
        .iter()
        .filter(|(k, _)| {
            k.starts_with("vnp_") && k != "vnp_SecureHash" && k != "vnp_SecureHashType"
        })
        .collect();
    let pairs: Vec<(&str, &str)> = signed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let canonical = sorted_pairs(&pairs, PairEncoding::FormUrlencoded, true);
    Encoding::Hex.encode(&hmac(
        HmacAlgorithm::Sha512,
        hash_secret.as_bytes(),
        canonical.as_bytes(),
    ))
}

impl WebhookVerifier for VnpayWebhook {
    fn integration_id(&self) -> &'static str {
        INTEGRATION_ID
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        secrets: &Credentials,
    ) -> Result<Verified, Rejection> {
        let key = secret(secrets, "hashSecret")?;
        let sent = request
            .query_value("vnp_SecureHash")
            .ok_or(Rejection::Unsigned)?;
        let expected = secure_hash(key, request.query);
        // VNPay's samples compare without regard to case.
        if !constant_time_eq(sent.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
            return Err(Rejection::BadSignature);
        }
        let txn_ref = request.query_value("vnp_TxnRef").unwrap_or_default();
        let txn_no = request.query_value("vnp_TransactionNo").unwrap_or_default();
        if txn_ref.is_empty() {
            return Err(Rejection::Malformed);
        }
        let paid = request.query_value("vnp_ResponseCode") == Some("00")
            && request.query_value("vnp_TransactionStatus") == Some("00");
        let data: Map<String, Value> = request
            .query
            .iter()
            .filter(|(k, _)| k.starts_with("vnp_") && !k.starts_with("vnp_SecureHash"))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        Ok(Verified {
            dedupe_key: format!("{txn_ref}:{txn_no}"),
            event_type: if paid {
                "payment.succeeded"
            } else {
                "payment.failed"
            }
            .into(),
            provider_type: format!(
                "ipn.{}",
                request.query_value("vnp_ResponseCode").unwrap_or_default()
            ),
            occurred_at: None,
            data: Value::Object(data),
        })
    }

    fn accepted(&self) -> Answer {
        Answer::json(200, json!({"RspCode": "00", "Message": "Confirm Success"}))
    }

    fn rejected(&self, why: Rejection) -> Answer {
        let body = match why {
            Rejection::BadSignature | Rejection::Unsigned => {
                json!({"RspCode": "97", "Message": "Invalid signature"})
            }
            _ => json!({"RspCode": "99", "Message": "Unknown error"}),
        };
        Answer::json(200, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::webhook_tests::{credentials, request};

    const SECRET: &str = "VNPAYSECRETKEY";

    fn ipn(code: &str) -> Vec<(String, String)> {
        [
            ("vnp_Amount", "1000000"),
            ("vnp_OrderInfo", "Thanh toan don hang 42"),
            ("vnp_ResponseCode", code),
            ("vnp_TmnCode", "DEMO"),
            ("vnp_TransactionNo", "14000000"),
            ("vnp_TransactionStatus", code),
            ("vnp_TxnRef", "ORDER42"),
            ("vnp_BankCode", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn verify(query: &[(String, String)]) -> Result<Verified, Rejection> {
        let headers = request(&[]);
        let req = WebhookRequest {
            headers: &headers,
            query,
            body: b"",
            received_at: chrono::Utc::now(),
        };
        VnpayWebhook.verify(&req, &credentials(&[("hashSecret", SECRET)]))
    }

    /// The canonical string written out by hand (sorted, form-encoded, empty dropped), so the
    /// test does not trust the code's own canonicalization.
    #[test]
    fn a_signed_ipn_verifies() {
        let canonical = "vnp_Amount=1000000&vnp_OrderInfo=Thanh+toan+don+hang+42&vnp_ResponseCode=00\
            &vnp_TmnCode=DEMO&vnp_TransactionNo=14000000&vnp_TransactionStatus=00&vnp_TxnRef=ORDER42";
        let hash = hex::encode(hmac(
            HmacAlgorithm::Sha512,
            SECRET.as_bytes(),
            canonical.as_bytes(),
        ));
        let mut query = ipn("00");
        query.push(("vnp_SecureHashType".into(), "HmacSHA512".into()));
        query.push(("vnp_SecureHash".into(), hash.to_ascii_uppercase()));
        let v = verify(&query).expect("valid");
        assert_eq!(v.dedupe_key, "ORDER42:14000000");
        assert_eq!(v.event_type, "payment.succeeded");
        assert_eq!(v.data["vnp_Amount"], "1000000");
        assert!(v.data.get("vnp_SecureHash").is_none());
        let declined = ipn("24");
        let mut signed = declined.clone();
        signed.push(("vnp_SecureHash".into(), secure_hash(SECRET, &declined)));
        assert_eq!(verify(&signed).expect("valid").event_type, "payment.failed");
    }

    #[test]
    fn a_forged_or_unsigned_ipn_gets_97() {
        let mut query = ipn("00");
        let hash = secure_hash(SECRET, &query);
        query[0].1 = "1".into();
        query.push(("vnp_SecureHash".into(), hash));
        assert_eq!(verify(&query), Err(Rejection::BadSignature));
        assert_eq!(verify(&ipn("00")), Err(Rejection::Unsigned));
        let answer = VnpayWebhook.rejected(Rejection::BadSignature);
        assert_eq!(answer.json_body().expect("body")["RspCode"], "97");
    }
}
