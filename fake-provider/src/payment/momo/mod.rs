//! Fake MoMo payment gateway v2 under `/momo`: `POST /v2/gateway/api/{create,query,refund}`.
//!
//! Contract enforced as MoMo documents it: JSON bodies, the partner's code, a hex
//! HMAC-SHA256 `signature` over `key=value&…` in a–z key order with `accessKey` in the signed
//! string (not in the body), MoMo's `resultCode` table. Idempotency: `requestId` is MoMo's
//! key — the same requestId with the same body replays the first answer, with a different
//! body it is resultCode 40; a new requestId reusing an orderId is 41 (replaying is what the
//! gateway's idempotency page describes for final result codes; a repeat after a non-final one
//! is 40 too).
//! `GET /pay/{orderId}` (the payUrl) pays the order, as a payer would.

mod store;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::{hmac_sha256_hex, now_ms, origin, same_signature};
use store::{Payment, Refund, Store};

/// MoMo's public test credentials (providers.md §2).
pub const PARTNER_CODE: &str = "MOMO";
pub const ACCESS_KEY: &str = "F8BBA842ECF85";
pub const SECRET_KEY: &str = "K951B6PE1waDMi640xX08PD3vg6EkVlz";
/// A payment that is already paid, to refund in tests.
pub const PAID_ORDER_ID: &str = "MOMO-PAID-1";
pub const PAID_TRANS_ID: i64 = 4_088_878_653;
pub const PAID_AMOUNT: i64 = 50_000;

pub const CREATE_KEYS: &[&str] = &[
    "accessKey",
    "amount",
    "extraData",
    "ipnUrl",
    "orderId",
    "orderInfo",
    "partnerCode",
    "redirectUrl",
    "requestId",
    "requestType",
];
pub const QUERY_KEYS: &[&str] = &["accessKey", "orderId", "partnerCode", "requestId"];
pub const REFUND_KEYS: &[&str] = &[
    "accessKey",
    "amount",
    "description",
    "orderId",
    "partnerCode",
    "requestId",
    "transId",
];
const REQUEST_TYPES: &[&str] = &["captureWallet", "payWithATM", "payWithCC", "payWithMethod"];

pub(crate) fn routes<S>() -> Router<S> {
    Router::new()
        .route("/v2/gateway/api/create", post(create))
        .route("/v2/gateway/api/query", post(query))
        .route("/v2/gateway/api/refund", post(refund))
        .route("/pay/{order_id}", get(pay))
        .with_state(Arc::new(Store::seeded()))
}

/// The raw string MoMo signs: `key=value` in the given (a–z) order, `accessKey` from the
/// merchant's keys, every other value as the body carries it.
pub fn raw_signature_string(keys: &[&str], body: &Map<String, Value>, access_key: &str) -> String {
    keys.iter()
        .map(|k| {
            let v = if *k == "accessKey" {
                access_key.to_string()
            } else {
                body.get(*k).map(super::text).unwrap_or_default()
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub fn signature(keys: &[&str], body: &Map<String, Value>) -> String {
    hmac_sha256_hex(SECRET_KEY, &raw_signature_string(keys, body, ACCESS_KEY))
}

/// MoMo's answer: always the echo fields plus resultCode/message. Format and authentication
/// failures come as HTTP 400, business results as 200 (UNCONFIRMED: clients must read the
/// body either way).
fn answer(body: &Map<String, Value>, code: i64, message: &str, extra: Value) -> Response {
    let mut out = json!({
        "partnerCode": body.get("partnerCode").cloned().unwrap_or(json!(PARTNER_CODE)),
        "requestId": body.get("requestId").cloned().unwrap_or(json!("")),
        "orderId": body.get("orderId").cloned().unwrap_or(json!("")),
        "amount": body.get("amount").cloned().unwrap_or(json!(0)),
        "responseTime": now_ms(),
        "message": message,
        "resultCode": code,
    });
    if let (Value::Object(o), Value::Object(e)) = (&mut out, extra) {
        o.extend(e);
    }
    let status = if matches!(code, 11 | 13 | 20) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, Json(out)).into_response()
}

/// Parse and authenticate: a JSON object with `required` present, the right partnerCode and
/// a signature recomputed over `keys`.
fn check(
    raw: &[u8],
    required: &[&str],
    keys: &[&str],
) -> Result<Map<String, Value>, Box<Response>> {
    let empty = Map::new();
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(raw) else {
        return Err(Box::new(answer(
            &empty,
            20,
            "Bad format request.",
            json!({}),
        )));
    };
    if let Some(k) = required
        .iter()
        .find(|k| body.get(**k).is_none_or(Value::is_null))
    {
        return Err(Box::new(answer(
            &body,
            20,
            &format!("Bad format request: {k} is required."),
            json!({}),
        )));
    }
    if body.get("partnerCode").and_then(Value::as_str) != Some(PARTNER_CODE) {
        return Err(Box::new(answer(
            &body,
            13,
            "Merchant authentication failed.",
            json!({}),
        )));
    }
    let got = body.get("signature").and_then(Value::as_str).unwrap_or("");
    if !same_signature(&signature(keys, &body), got) {
        return Err(Box::new(answer(
            &body,
            13,
            "Merchant authentication failed: signature is invalid.",
            json!({}),
        )));
    }
    Ok(body)
}

fn int(body: &Map<String, Value>, k: &str) -> Option<i64> {
    match body.get(k)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn valid_order_id(id: &str) -> bool {
    // ^[0-9a-zA-Z]([-_.]*[0-9a-zA-Z]+)*$, without a regex engine.
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 50
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Whether MoMo marks a resultCode "final": a repeat of its requestId gets the same answer.
/// A repeat after a non-final one is refused with 40 (MoMo's idempotency page).
fn is_final(code: i64) -> bool {
    matches!(code, 0 | 98 | 99) || (code > 1000 && !matches!(code, 7000 | 7002 | 9000))
}

/// Replay or refuse a repeated requestId; None when it is new.
fn repeated(st: &Store, body: &Map<String, Value>) -> Option<Response> {
    let request_id = body.get("requestId").map(super::text).unwrap_or_default();
    let (first_body, first_answer) = st.request(&request_id)?;
    let code = first_answer
        .get("resultCode")
        .and_then(Value::as_i64)
        .unwrap_or(-1);
    if &first_body == body && is_final(code) {
        return Some((StatusCode::OK, Json(first_answer)).into_response());
    }
    Some(answer(body, 40, "Duplicated requestId.", json!({})))
}

async fn create(State(st): State<Arc<Store>>, headers: HeaderMap, raw: Bytes) -> Response {
    let required = [
        "partnerCode",
        "requestId",
        "amount",
        "orderId",
        "orderInfo",
        "redirectUrl",
        "ipnUrl",
        "requestType",
        "extraData",
        "signature",
    ];
    let body = match check(&raw, &required, CREATE_KEYS) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    if let Some(r) = repeated(&st, &body) {
        return r;
    }
    let resp = create_payment(&st, &headers, &body);
    // Every answer past authentication is kept: a repeat replays a final one, else gets 40.
    remember(&st, body, resp).await
}

fn create_payment(st: &Store, headers: &HeaderMap, body: &Map<String, Value>) -> Response {
    let body = body.clone();
    let order_id = body.get("orderId").map(super::text).unwrap_or_default();
    let request_type = body.get("requestType").map(super::text).unwrap_or_default();
    if !valid_order_id(&order_id) || !REQUEST_TYPES.contains(&request_type.as_str()) {
        return answer(
            &body,
            20,
            "Bad format request: orderId or requestType.",
            json!({}),
        );
    }
    let Some(amount) = int(&body, "amount") else {
        return answer(&body, 20, "Bad format request: amount.", json!({}));
    };
    if !(1_000..=50_000_000).contains(&amount) {
        return answer(&body, 22, "Transaction amount is out of range.", json!({}));
    }
    let pay_url = format!("{}/momo/pay/{order_id}", origin(headers));
    let extra = json!({
        "payUrl": pay_url,
        "deeplink": format!("momo://app?action=payWithApp&orderId={order_id}"),
        "qrCodeUrl": format!("2|99|0000|{order_id}|{amount}"),
    });
    let payment = Payment::new(&order_id, amount, &body);
    if !st.insert_payment(payment) {
        return answer(&body, 41, "Duplicated orderId.", json!({}));
    }
    answer(&body, 0, "Thành công.", extra)
}

/// Keep the answer for replays of the same requestId, and hand it out.
async fn remember(st: &Store, body: Map<String, Value>, resp: Response) -> Response {
    let (parts, b) = resp.into_parts();
    let bytes = axum::body::to_bytes(b, 1 << 20).await.unwrap_or_default();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let request_id = body.get("requestId").map(super::text).unwrap_or_default();
    st.remember(request_id, body, value.clone());
    (parts.status, Json(value)).into_response()
}

async fn query(State(st): State<Arc<Store>>, raw: Bytes) -> Response {
    let required = ["partnerCode", "requestId", "orderId", "signature"];
    let body = match check(&raw, &required, QUERY_KEYS) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let order_id = body.get("orderId").map(super::text).unwrap_or_default();
    let Some(p) = st.payment(&order_id) else {
        return answer(
            &body,
            42,
            "Invalid orderId or orderId is not found.",
            json!({}),
        );
    };
    let refunds: Vec<Value> = p
        .refunds
        .iter()
        .map(|r| json!({"orderId": r.order_id, "amount": r.amount, "resultCode": 0, "transId": r.trans_id, "description": r.description, "createdTime": r.created}))
        .collect();
    let (code, message) = match p.trans_id {
        Some(_) => (0, "Thành công."),
        None => (
            1000,
            "Transaction is initiated, waiting for user confirmation.",
        ),
    };
    let mut echo = body.clone();
    echo.insert("amount".into(), json!(p.amount));
    answer(
        &echo,
        code,
        message,
        json!({
            "extraData": p.extra_data, "transId": p.trans_id.unwrap_or(0),
            "payType": if p.trans_id.is_some() { "qr" } else { "" },
            "refundTrans": refunds,
        }),
    )
}

async fn refund(State(st): State<Arc<Store>>, raw: Bytes) -> Response {
    let required = [
        "partnerCode",
        "requestId",
        "orderId",
        "amount",
        "transId",
        "description",
        "signature",
    ];
    let body = match check(&raw, &required, REFUND_KEYS) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    if let Some(r) = repeated(&st, &body) {
        return r;
    }
    let resp = refund_payment(&st, &body);
    remember(&st, body, resp).await
}

fn refund_payment(st: &Store, body: &Map<String, Value>) -> Response {
    let body = body.clone();
    let order_id = body.get("orderId").map(super::text).unwrap_or_default();
    let (Some(amount), Some(trans_id)) = (int(&body, "amount"), int(&body, "transId")) else {
        return answer(
            &body,
            20,
            "Bad format request: amount or transId.",
            json!({}),
        );
    };
    if !valid_order_id(&order_id) {
        return answer(&body, 20, "Bad format request: orderId.", json!({}));
    }
    if st.order_id_taken(&order_id) {
        return answer(&body, 41, "Duplicated orderId.", json!({}));
    }
    let refund = Refund {
        order_id,
        amount,
        trans_id: 0,
        description: body.get("description").map(super::text).unwrap_or_default(),
        created: now_ms(),
    };
    match st.refund(trans_id, refund) {
        Ok(refund_trans_id) => answer(&body, 0, "Thành công.", json!({"transId": refund_trans_id})),
        Err(store::RefundError::NotFound) => {
            answer(&body, 42, "Invalid orderId or orderId is not found.", json!({}))
        }
        Err(store::RefundError::TooMuch) => answer(
            &body,
            1081,
            "Refund rejected: the original transaction may have been refunded or the amount exceeds the refundable amount.",
            json!({}),
        ),
    }
}

/// The payment page: paying marks the order paid (resultCode 0) with a MoMo transId.
async fn pay(State(st): State<Arc<Store>>, Path(order_id): Path<String>) -> Response {
    match st.pay(&order_id) {
        Some(trans_id) => {
            Json(json!({"orderId": order_id, "transId": trans_id, "resultCode": 0})).into_response()
        }
        None => (StatusCode::NOT_FOUND, Json(json!({"resultCode": 42}))).into_response(),
    }
}

#[cfg(test)]
mod tests;
