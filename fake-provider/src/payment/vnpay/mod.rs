//! Fake VNPay under `/vnpay`: the payment page `GET /paymentv2/vpcpay.html` and the merchant
//! API `POST /merchant_webapi/api/transaction` (querydr, refund).
//!
//! The payment page recomputes `vnp_SecureHash` (HMAC-SHA512 over the sorted, form-encoded
//! parameters without the hash and empty values), records the transaction as paid and
//! redirects to `vnp_ReturnUrl` with VNPay's signed result parameters, as a payer completing
//! the payment would. The merchant API checks `vnp_SecureHash` over the pipe-joined fields
//! (UNCONFIRMED order, providers.md §4), answers VNPay's response codes (00 ok, 02 merchant,
//! 03 format, 91 not found, 94 duplicate request id, 97 checksum, 99 other) and signs its
//! answers the same way.

mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::{hmac_sha512_hex, same_signature, text};
use store::{RefundError, Store, Txn};

/// The sandbox terminal the fake accepts (VNPay's demo terminal and a test secret).
pub const TMN_CODE: &str = "DEMOV210";
pub const HASH_SECRET: &str = "TESTSECRET";
/// A paid transaction, to query and refund in tests.
pub const PAID_TXN_REF: &str = "SEEDPAID1";
pub const PAID_CREATE_DATE: &str = "20240101120000";
pub const PAID_TRANSACTION_NO: &str = "14000001";
/// VND (VNPay's own amounts are ×100).
pub const PAID_AMOUNT: i64 = 50_000;

pub const QUERYDR_FIELDS: &[&str] = &[
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_TransactionDate",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
];
pub const REFUND_FIELDS: &[&str] = &[
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TransactionType",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_TransactionNo",
    "vnp_TransactionDate",
    "vnp_CreateBy",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
];
/// What VNPay signs in its answers (refund answers stop before the promotion fields).
pub const RESPONSE_FIELDS: &[&str] = &[
    "vnp_ResponseId",
    "vnp_Command",
    "vnp_ResponseCode",
    "vnp_Message",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_BankCode",
    "vnp_PayDate",
    "vnp_TransactionNo",
    "vnp_TransactionType",
    "vnp_TransactionStatus",
    "vnp_OrderInfo",
    "vnp_PromotionCode",
    "vnp_PromotionAmount",
];
const PAY_REQUIRED: &[&str] = &[
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_Amount",
    "vnp_CreateDate",
    "vnp_CurrCode",
    "vnp_IpAddr",
    "vnp_Locale",
    "vnp_OrderInfo",
    "vnp_OrderType",
    "vnp_ReturnUrl",
    "vnp_TxnRef",
];

pub(crate) fn routes<S>() -> Router<S> {
    Router::new()
        .route("/paymentv2/vpcpay.html", get(pay_page))
        .route("/merchant_webapi/api/transaction", post(transaction))
        .with_state(Arc::new(Store::seeded()))
}

/// The payment-URL hash input: sorted, without the hash fields and empty values,
/// `key=value` form-encoded (space as `+`), joined with `&`.
pub fn sign_data(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, v)| !v.is_empty() && k != "vnp_SecureHash" && k != "vnp_SecureHashType")
        .collect();
    sorted.sort();
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in sorted {
        ser.append_pair(k, v);
    }
    ser.finish()
}

pub fn pipe_hash(fields: &[&str], body: &Map<String, Value>) -> String {
    let joined = fields
        .iter()
        .map(|k| body.get(*k).map(text).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("|");
    hmac_sha512_hex(HASH_SECRET, &joined)
}

fn page_error(code: &str, message: &str) -> Response {
    let body = format!("<html><body>VNPAY: {message} (code={code})</body></html>");
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn pay_page(State(st): State<Arc<Store>>, RawQuery(q): RawQuery) -> Response {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let p: BTreeMap<&str, &str> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let got = p.get("vnp_SecureHash").copied().unwrap_or("");
    if !same_signature(&hmac_sha512_hex(HASH_SECRET, &sign_data(&params)), got) {
        return page_error("70", "Sai chữ ký");
    }
    if let Some(k) = PAY_REQUIRED
        .iter()
        .find(|k| p.get(**k).is_none_or(|v| v.is_empty()))
    {
        return page_error("03", &format!("Thiếu tham số {k}"));
    }
    if p.get("vnp_TmnCode") != Some(&TMN_CODE) {
        return page_error("02", "Website này chưa được phê duyệt");
    }
    let amount = p.get("vnp_Amount").and_then(|a| a.parse::<i64>().ok());
    let Some(amount) = amount.filter(|a| *a > 0 && a % 100 == 0) else {
        return page_error("03", "Số tiền không hợp lệ");
    };
    let txn = Txn::paid(
        p["vnp_TxnRef"],
        p["vnp_CreateDate"],
        amount / 100,
        p["vnp_OrderInfo"],
    );
    let Some(txn) = st.insert(txn) else {
        return page_error("94", "Giao dịch đã tồn tại");
    };
    let mut result: Vec<(String, String)> = [
        ("vnp_Amount", amount.to_string()),
        ("vnp_BankCode", "NCB".into()),
        ("vnp_OrderInfo", txn.order_info.clone()),
        ("vnp_PayDate", txn.pay_date.clone()),
        ("vnp_ResponseCode", "00".into()),
        ("vnp_TmnCode", TMN_CODE.into()),
        ("vnp_TransactionNo", txn.transaction_no.clone()),
        ("vnp_TransactionStatus", "00".into()),
        ("vnp_TxnRef", txn.txn_ref.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let hash = hmac_sha512_hex(HASH_SECRET, &sign_data(&result));
    result.push(("vnp_SecureHash".into(), hash));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&result)
        .finish();
    let location = format!("{}?{query}", p["vnp_ReturnUrl"]);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// VNPay's merchant-API answer, signed over RESPONSE_FIELDS (refund: without promotions).
fn answer(req: &Map<String, Value>, code: &str, message: &str, txn: Option<&Txn>) -> Response {
    let command = req.get("vnp_Command").map(text).unwrap_or_default();
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_string(), v);
    };
    put(
        "vnp_ResponseId",
        json!(format!("R{}", chrono::Utc::now().timestamp_micros())),
    );
    put("vnp_Command", json!(command));
    put("vnp_ResponseCode", json!(code));
    put("vnp_Message", json!(message));
    put(
        "vnp_TmnCode",
        json!(req.get("vnp_TmnCode").map(text).unwrap_or_default()),
    );
    put(
        "vnp_TxnRef",
        json!(req.get("vnp_TxnRef").map(text).unwrap_or_default()),
    );
    if let Some(t) = txn {
        put("vnp_Amount", json!((t.amount * 100).to_string()));
        put("vnp_BankCode", json!("NCB"));
        put("vnp_PayDate", json!(t.pay_date));
        put("vnp_TransactionNo", json!(t.transaction_no));
        put("vnp_TransactionType", json!(t.transaction_type));
        put("vnp_TransactionStatus", json!(t.status));
        put("vnp_OrderInfo", json!(t.order_info));
        if command == "querydr" {
            put("vnp_PromotionCode", json!(""));
            put("vnp_PromotionAmount", json!(""));
        }
    }
    let fields = if command == "querydr" {
        RESPONSE_FIELDS
    } else {
        &RESPONSE_FIELDS[..13]
    };
    let hash = pipe_hash(fields, &out);
    out.insert("vnp_SecureHash".into(), json!(hash));
    Json(Value::Object(out)).into_response()
}

async fn transaction(State(st): State<Arc<Store>>, raw: Bytes) -> Response {
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&raw) else {
        return answer(&Map::new(), "03", "Invalid data format", None);
    };
    let command = req.get("vnp_Command").map(text).unwrap_or_default();
    let fields = match command.as_str() {
        "querydr" => QUERYDR_FIELDS,
        "refund" => REFUND_FIELDS,
        _ => return answer(&req, "03", "Invalid data format: vnp_Command", None),
    };
    // vnp_TransactionNo and vnp_OrderInfo may be empty for a refund; the rest is required.
    let optional = ["vnp_TransactionNo"];
    if let Some(k) = fields
        .iter()
        .find(|k| !optional.contains(k) && req.get(**k).is_none_or(|v| text(v).is_empty()))
    {
        return answer(&req, "03", &format!("Invalid data format: {k}"), None);
    }
    let got = req.get("vnp_SecureHash").map(text).unwrap_or_default();
    if !same_signature(&pipe_hash(fields, &req), &got) {
        return answer(&req, "97", "Invalid Checksum", None);
    }
    if req.get("vnp_TmnCode").map(text).as_deref() != Some(TMN_CODE) {
        return answer(&req, "02", "Merchant is not valid", None);
    }
    if !st.new_request_id(&req.get("vnp_RequestId").map(text).unwrap_or_default()) {
        return answer(
            &req,
            "94",
            "Duplicate request: vnp_RequestId was already used",
            None,
        );
    }
    let txn_ref = req.get("vnp_TxnRef").map(text).unwrap_or_default();
    let date = req.get("vnp_TransactionDate").map(text).unwrap_or_default();
    if command == "querydr" {
        return match st.get(&txn_ref, &date) {
            Some(t) => answer(&req, "00", "Query success", Some(&t)),
            None => answer(&req, "91", "Transaction not found", None),
        };
    }
    let kind = req.get("vnp_TransactionType").map(text).unwrap_or_default();
    let amount = req
        .get("vnp_Amount")
        .map(text)
        .and_then(|a| a.parse::<i64>().ok())
        .filter(|a| *a > 0 && a % 100 == 0);
    let (Some(amount), true) = (amount, kind == "02" || kind == "03") else {
        return answer(
            &req,
            "03",
            "Invalid data format: vnp_Amount or vnp_TransactionType",
            None,
        );
    };
    match st.refund(&txn_ref, &date, amount / 100, &kind) {
        Ok(t) => answer(&req, "00", "Refund success", Some(&t)),
        Err(RefundError::NotFound) => answer(&req, "91", "Transaction not found", None),
        Err(RefundError::Refused) => answer(
            &req,
            "95",
            "Transaction is not refundable (amount exceeds what remains, or not paid)",
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived VNPay vector of providers.md: sign data built from the parameters.
    #[test]
    fn payment_url_hash_matches_the_providers_md_vector() {
        let params: Vec<(String, String)> = [
            ("vnp_Version", "2.1.0"),
            ("vnp_Command", "pay"),
            ("vnp_TmnCode", "DEMOV210"),
            ("vnp_Amount", "1806000"),
            ("vnp_CreateDate", "20210801153333"),
            ("vnp_CurrCode", "VND"),
            ("vnp_IpAddr", "127.0.0.1"),
            ("vnp_Locale", "vn"),
            ("vnp_OrderInfo", "Thanh toan don hang :5"),
            ("vnp_OrderType", "other"),
            ("vnp_ReturnUrl", "https://domainmerchant.vn/ReturnUrl"),
            ("vnp_TxnRef", "5"),
            ("vnp_BankCode", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let data = sign_data(&params);
        assert_eq!(
            data,
            "vnp_Amount=1806000&vnp_Command=pay&vnp_CreateDate=20210801153333&vnp_CurrCode=VND&vnp_IpAddr=127.0.0.1&vnp_Locale=vn&vnp_OrderInfo=Thanh+toan+don+hang+%3A5&vnp_OrderType=other&vnp_ReturnUrl=https%3A%2F%2Fdomainmerchant.vn%2FReturnUrl&vnp_TmnCode=DEMOV210&vnp_TxnRef=5&vnp_Version=2.1.0"
        );
        assert_eq!(
            hmac_sha512_hex(HASH_SECRET, &data),
            "8d664a901079332bbfcc6c56b36be15967e4fc3c408436bf167dd73a2cb1f14f4fbd78dc43d1fb3e4dfae752476ba3b817121ba08edd1a7f6b947d4a51ee1c7d"
        );
    }
}
