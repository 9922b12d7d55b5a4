//! Fake ZaloPay v2 under `/zalopay`: `POST /v2/{create,query,refund,query_refund}`, form or
//! JSON bodies, a hex HMAC-SHA256 `mac` with key1 over `|`-joined fields (providers.md §3).
//!
//! Errors come as HTTP 200 with `return_code` 2 and a `sub_return_code` saying why. From
//! ZaloPay's status-code page: -68 duplicate app_trans_id, -401 illegal data, -402 illegal app
//! or signature. This fake's own convention (UNCONFIRMED): -101 unknown transaction or
//! refund, -14 refund larger than what is left. Refunds are asynchronous: `refund` answers 3
//! (processing) and `query_refund` reports 1 (refunded). A repeated m_refund_id for the same
//! refund answers that refund's state instead of refunding twice (UNCONFIRMED).
//! `GET /pay/{app_trans_id}` (the order_url) pays the order, as a payer would.

mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{flat_fields, hmac_sha256_hex, now_ms, origin, same_signature};
use store::{Order, RefundOutcome, Store};

/// ZaloPay's sandbox credentials (providers.md §3).
pub const APP_ID: i64 = 2553;
pub const KEY1: &str = "PcY4iZIKFCIdgZvA6ueMcMHHUbRLYjPL";
pub const KEY2: &str = "kLtgPl8HHhfvMuDHPwKfgfsY4Ydm9eIz";
/// An order that is already paid, to refund in tests.
pub const PAID_APP_TRANS_ID: &str = "240101_paid";
pub const PAID_ZP_TRANS_ID: i64 = 240_101_000_000_123;
pub const PAID_AMOUNT: i64 = 50_000;

/// `app_time` must be within 15 minutes of ZaloPay's clock.
const APP_TIME_WINDOW_MS: i64 = 15 * 60 * 1000;

type Fields = BTreeMap<String, String>;

pub(crate) fn routes<S>() -> Router<S> {
    Router::new()
        .route("/v2/create", post(create))
        .route("/v2/query", post(query))
        .route("/v2/refund", post(refund))
        .route("/v2/query_refund", post(query_refund))
        .route("/pay/{app_trans_id}", get(pay))
        .with_state(Arc::new(Store::seeded()))
}

/// The fields of an order's mac, in ZaloPay's order.
pub const CREATE_MAC_FIELDS: [&str; 7] = [
    "app_id",
    "app_trans_id",
    "app_user",
    "amount",
    "app_time",
    "embed_data",
    "item",
];

/// The mac inputs, per call (the fields in ZaloPay's order; `key1` means the key itself).
pub fn mac_input(call: &str, f: &Fields) -> String {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let parts: Vec<String> = match call {
        "create" => CREATE_MAC_FIELDS.iter().map(|k| get(k)).collect(),
        "query" => vec![get("app_id"), get("app_trans_id"), KEY1.to_string()],
        "refund" => {
            let mut p = vec![get("app_id"), get("zp_trans_id"), get("amount")];
            if f.contains_key("refund_fee_amount") {
                p.push(get("refund_fee_amount"));
            }
            p.extend([get("description"), get("timestamp")]);
            p
        }
        _ => vec![get("app_id"), get("m_refund_id"), get("timestamp")],
    };
    parts.join("|")
}

pub fn mac(call: &str, f: &Fields) -> String {
    hmac_sha256_hex(KEY1, &mac_input(call, f))
}

fn fail(sub: i64, message: &str) -> Response {
    Json(json!({
        "return_code": 2, "return_message": "Giao dịch thất bại",
        "sub_return_code": sub, "sub_return_message": message,
    }))
    .into_response()
}

/// Parse, require fields, check the app and the mac.
fn check(
    call: &str,
    headers: &HeaderMap,
    raw: &[u8],
    required: &[&str],
) -> Result<Fields, Box<Response>> {
    let Some(f) = flat_fields(headers, raw) else {
        return Err(Box::new(fail(-401, "Dữ liệu yêu cầu không hợp lệ")));
    };
    if let Some(k) = required
        .iter()
        .find(|k| f.get(**k).is_none_or(String::is_empty))
    {
        return Err(Box::new(fail(-401, &format!("Thiếu tham số {k}"))));
    }
    if f.get("app_id").and_then(|a| a.parse::<i64>().ok()) != Some(APP_ID) {
        return Err(Box::new(fail(-402, "app_id không hợp lệ")));
    }
    let got = f.get("mac").map(String::as_str).unwrap_or("");
    if !same_signature(&mac(call, &f), got) {
        return Err(Box::new(fail(-402, "Chữ ký không hợp lệ (mac)")));
    }
    Ok(f)
}

fn num(f: &Fields, k: &str) -> Option<i64> {
    f.get(k).and_then(|v| v.trim().parse().ok())
}

async fn create(State(st): State<Arc<Store>>, headers: HeaderMap, raw: Bytes) -> Response {
    let required = [
        "app_id",
        "app_user",
        "app_trans_id",
        "app_time",
        "amount",
        "item",
        "embed_data",
        "description",
        "mac",
    ];
    let f = match check("create", &headers, &raw, &required) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let id = f.get("app_trans_id").cloned().unwrap_or_default();
    let dated = id.len() > 7
        && id.as_bytes()[..6].iter().all(u8::is_ascii_digit)
        && id.as_bytes()[6] == b'_';
    if !dated || id.len() > 40 {
        return fail(
            -401,
            "app_trans_id phải có dạng yymmdd_xxx, tối đa 40 ký tự",
        );
    }
    let app_time_ok =
        num(&f, "app_time").is_some_and(|t| (now_ms() - t).abs() <= APP_TIME_WINDOW_MS);
    if !app_time_ok {
        return fail(-401, "app_time không hợp lệ hoặc đã hết hạn");
    }
    let amount = num(&f, "amount").filter(|a| *a > 0);
    let json_ok = ["item", "embed_data"].iter().all(|k| {
        f.get(*k)
            .is_some_and(|v| serde_json::from_str::<Value>(v).is_ok())
    });
    let Some(amount) = amount.filter(|_| json_ok) else {
        return fail(-401, "amount, item hoặc embed_data không hợp lệ");
    };
    if !st.insert(Order::new(&id, amount)) {
        return fail(-68, "Mã giao dịch app_trans_id bị trùng");
    }
    let token = format!("ACf{}", id.replace('_', ""));
    Json(json!({
        "return_code": 1, "return_message": "Giao dịch thành công",
        "sub_return_code": 1, "sub_return_message": "Giao dịch thành công",
        "zp_trans_token": token, "order_token": token,
        "order_url": format!("{}/zalopay/pay/{id}", origin(&headers)),
        "qr_code": format!("00020101021226520010vn.zalopay0203001{id}"),
    }))
    .into_response()
}

async fn query(State(st): State<Arc<Store>>, headers: HeaderMap, raw: Bytes) -> Response {
    let f = match check("query", &headers, &raw, &["app_id", "app_trans_id", "mac"]) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let Some(o) = st.order(f.get("app_trans_id").map(String::as_str).unwrap_or("")) else {
        return fail(-101, "Giao dịch không tồn tại");
    };
    let (code, message) = match o.zp_trans_id {
        Some(_) => (1, "Giao dịch thành công"),
        None => (3, "Giao dịch chưa thanh toán hoặc đang xử lý"),
    };
    Json(json!({
        "return_code": code, "return_message": message,
        "sub_return_code": if code == 1 { 1 } else { -49 }, "sub_return_message": message,
        "is_processing": false, "amount": o.amount, "discount_amount": 0,
        "zp_trans_id": o.zp_trans_id.unwrap_or(0), "server_time": now_ms(),
    }))
    .into_response()
}

async fn refund(State(st): State<Arc<Store>>, headers: HeaderMap, raw: Bytes) -> Response {
    let required = [
        "app_id",
        "m_refund_id",
        "zp_trans_id",
        "amount",
        "timestamp",
        "description",
        "mac",
    ];
    let f = match check("refund", &headers, &raw, &required) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let m_refund_id = f.get("m_refund_id").cloned().unwrap_or_default();
    let prefix_ok = m_refund_id
        .split('_')
        .collect::<Vec<_>>()
        .get(..2)
        .is_some_and(|p| {
            p[0].len() == 6
                && p[0].bytes().all(|c| c.is_ascii_digit())
                && p[1] == APP_ID.to_string()
        });
    if !prefix_ok || m_refund_id.split('_').count() < 3 {
        return fail(-401, "m_refund_id phải có dạng yymmdd_appid_xxx");
    }
    let (Some(zp_trans_id), Some(amount)) =
        (num(&f, "zp_trans_id"), num(&f, "amount").filter(|a| *a > 0))
    else {
        return fail(-401, "zp_trans_id hoặc amount không hợp lệ");
    };
    match st.refund(&m_refund_id, zp_trans_id, amount) {
        RefundOutcome::Accepted { refund_id, done } => {
            let (code, message) = if done {
                (1, "Hoàn tiền thành công")
            } else {
                (3, "Giao dịch đang refund")
            };
            Json(json!({
                "return_code": code, "return_message": message,
                "sub_return_code": code, "sub_return_message": message, "refund_id": refund_id,
            }))
            .into_response()
        }
        RefundOutcome::Conflict => fail(-68, "m_refund_id đã được dùng cho một yêu cầu khác"),
        RefundOutcome::NotFound => fail(-101, "Giao dịch zp_trans_id không tồn tại"),
        RefundOutcome::TooMuch => fail(-14, "Số tiền hoàn vượt quá số tiền còn lại"),
    }
}

async fn query_refund(State(st): State<Arc<Store>>, headers: HeaderMap, raw: Bytes) -> Response {
    let f = match check(
        "query_refund",
        &headers,
        &raw,
        &["app_id", "m_refund_id", "timestamp", "mac"],
    ) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match st.complete_refund(f.get("m_refund_id").map(String::as_str).unwrap_or("")) {
        Some(_) => Json(json!({
            "return_code": 1, "return_message": "Hoàn tiền thành công",
            "sub_return_code": 1, "sub_return_message": "Hoàn tiền thành công",
        }))
        .into_response(),
        None => fail(-101, "Yêu cầu hoàn tiền không tồn tại"),
    }
}

async fn pay(State(st): State<Arc<Store>>, Path(id): Path<String>) -> Response {
    match st.pay(&id) {
        Some(zp) => {
            Json(json!({"app_trans_id": id, "zp_trans_id": zp, "return_code": 1})).into_response()
        }
        None => (StatusCode::NOT_FOUND, Json(json!({"return_code": 2}))).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The derived ZaloPay vectors of providers.md, rebuilt from body fields.
    #[test]
    fn macs_match_the_providers_md_vectors() {
        let create = fields(&[
            ("app_id", "2553"),
            ("app_trans_id", "240101_123456"),
            ("app_user", "user123"),
            ("amount", "50000"),
            ("app_time", "1704067200000"),
            ("embed_data", "{}"),
            ("item", "[]"),
        ]);
        assert_eq!(
            mac("create", &create),
            "25582ddf00033e1723a7a4d7daa2f6c7a7a93174489b9c470cfd45dd30377254"
        );
        let query = fields(&[("app_id", "2553"), ("app_trans_id", "240101_123456")]);
        assert_eq!(
            mac("query", &query),
            "1f398e7ecd7cc19e0c1baa0f82a47e11cb1042544f9d90dd55bbb0aa2522c2d0"
        );
        let refund = fields(&[
            ("app_id", "2553"),
            ("zp_trans_id", "240101000000123"),
            ("amount", "50000"),
            ("description", "refund"),
            ("timestamp", "1704067200000"),
        ]);
        assert_eq!(
            mac("refund", &refund),
            "c78071a58dde34cc7a7b029cb41797ffda7fadbd5342035f3ab7bb5d483186ef"
        );
        let qr = fields(&[
            ("app_id", "2553"),
            ("m_refund_id", "240101_2553_r1"),
            ("timestamp", "1704067200000"),
        ]);
        assert_eq!(
            mac("query_refund", &qr),
            "7175bd68149dc91818289b1512d4e051510a860169c65a2dd621b650baeb8daf"
        );
    }

    #[test]
    fn refund_fee_goes_right_after_amount() {
        let f = fields(&[
            ("app_id", "1"),
            ("zp_trans_id", "2"),
            ("amount", "3"),
            ("refund_fee_amount", "4"),
            ("description", "d"),
            ("timestamp", "5"),
        ]);
        assert_eq!(mac_input("refund", &f), "1|2|3|4|d|5");
    }
}
