//! Fake payment providers, one module each, every one mounted under its own path prefix
//! (`/momo`, `/zalopay`, `/vnpay`, `/stripe`) with the real provider's paths after it. Each
//! accepts only its provider's public test credentials (the constants of its module),
//! recomputes every signature, answers in the provider's own envelope and result codes, and
//! keeps its payments in memory. The shared fault injection applies to them as to GHN: faults
//! match the full path, e.g. `/momo/v2/gateway/api/create`.
//!
//! Each provider also serves its payment page (the URL its create call returns): a GET marks
//! the payment paid, as a payer would, so tests can move a payment along over HTTP.
//!
//! Each provider's state lives in its own router (it needs nothing of the shared state), so
//! `POST /__reset` clears faults and call counts but not payments: start a new fake for a
//! clean slate. Every provider is seeded with one paid payment to query and refund.

pub mod momo;
pub mod stripe;
pub mod vnpay;
pub mod zalopay;

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Sha256, Sha512};

/// Hex HMAC-SHA256 (MoMo, ZaloPay).
pub fn hmac_sha256_hex(key: &str, message: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Hex HMAC-SHA512 (VNPay).
pub fn hmac_sha512_hex(key: &str, message: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Signatures are compared case-insensitively (providers' samples use either case) and
/// without an early exit.
pub(crate) fn same_signature(expected: &str, got: &str) -> bool {
    let (a, b) = (expected.to_ascii_lowercase(), got.to_ascii_lowercase());
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A body as flat `name → text` fields: a JSON object (numbers as their text) or a
/// form-urlencoded body, whichever the Content-Type says.
pub(crate) fn flat_fields(headers: &HeaderMap, body: &[u8]) -> Option<BTreeMap<String, String>> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/x-www-form-urlencoded") {
        return Some(url::form_urlencoded::parse(body).into_owned().collect());
    }
    let Value::Object(map) = serde_json::from_slice::<Value>(body).ok()? else {
        return None;
    };
    Some(map.into_iter().map(|(k, v)| (k, text(&v))).collect())
}

/// A JSON value as the text a provider signs: strings raw, everything else as JSON.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `scheme://host` the caller used, so payment URLs point back at this fake.
pub(crate) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Vietnam wall-clock time (GMT+7), which every Vietnamese provider's dates use, formatted.
pub(crate) fn vietnam_now(format: &str) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(7))
        .format(format)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Official vector 1 of providers.md (ZaloPay's published callback sample).
    #[test]
    fn zalopay_official_callback_vector() {
        let data = r#"{"app_id":2553,"app_trans_id":"200904_2553_1598435687208","app_time":1599189392817,"app_user":"demo","amount":10000,"embed_data":"{\"merchantinfo\":\"embeddata123\",\"promotioninfo\":\"\"}","item":"[{\"itemid\":\"knb\",\"itemname\":\"kim nguyen bao\",\"itemprice\":198400,\"itemquantity\":1}]","zp_trans_id":200904000000389,"server_time":1599189413498,"channel":38,"merchant_user_id":"7ZMSl3nEg5sOUJzOLSoUFT8xKNQVaLOLXHB--8Eytqc","user_fee_amount":0,"discount_amount":0}"#;
        assert_eq!(
            hmac_sha256_hex("kLtgPl8HHhfvMuDHPwKfgfsY4Ydm9eIz", data),
            "d8d33baf449b31d7f9b94fa50d7c942c08cd4d83f28fa185557da21acb104f67"
        );
    }

    /// Official vector 2 (ZaloPay's legacy app 553 order sample).
    #[test]
    fn zalopay_official_order_vector() {
        assert_eq!(
            hmac_sha256_hex(
                "9phuAOYhan4urywHTh0ndEXiV3pKHr5Q",
                "553|200904_000234|user123|10000|1599202366026|{}|[]"
            ),
            "7e95836a9feace32458f23416feea423172ef0a098f27a668a1e10788b5a6838"
        );
    }

    #[test]
    fn signatures_compare_case_insensitively() {
        assert!(same_signature("abcd", "ABCD"));
        assert!(!same_signature("abcd", "abce"));
        assert!(!same_signature("abcd", "abc"));
    }
}
