//! MoMo actions. The execution id is each write's `requestId` (MoMo's idempotency key, placed
//! by the kit from the catalog's providerField) and its `orderId` (MoMo refuses a second
//! payment or refund with the same orderId), so every attempt of one execution sends the same
//! request: MoMo answers a repeat of a final result with that result, refuses one after an
//! unfinished result with 40 and a reused orderId with 41; the payment is then looked up, or
//! the request resent under a fresh requestId when nothing was made.

use integrations_core::{ErrorKind, Result};
use serde_json::{json, Map, Value};

use super::client::{outcome, result_code, MomoApi};
use crate::fields::{as_int, int, required_int, required_str, string};
use crate::kit::{Action, ActionCall, Request};

pub(crate) const TABLE: &[Action<MomoApi>] = &[
    Action {
        id: "create_payment",
        run: |api, call| Box::pin(create_payment(api, call)),
    },
    Action {
        id: "query_payment",
        run: |api, call| Box::pin(query_payment(api, call)),
    },
    Action {
        id: "refund",
        run: |api, call| Box::pin(refund(api, call)),
    },
];

const CREATE: &str = "/v2/gateway/api/create";
const QUERY: &str = "/v2/gateway/api/query";
const REFUND: &str = "/v2/gateway/api/refund";

pub(crate) const CREATE_KEYS: &[&str] = &[
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
pub(crate) const QUERY_KEYS: &[&str] = &["accessKey", "orderId", "partnerCode", "requestId"];
pub(crate) const REFUND_KEYS: &[&str] = &[
    "accessKey",
    "amount",
    "description",
    "orderId",
    "partnerCode",
    "requestId",
    "transId",
];

/// Duplicated requestId / orderId: an earlier attempt reached MoMo.
const DUPLICATE_REQUEST: i64 = 40;
const DUPLICATE_ORDER: i64 = 41;

fn status_of(code: i64) -> &'static str {
    match code {
        0 => "succeeded",
        9000 => "authorized",
        1000 | 8000 => "pending",
        7000 | 7002 => "processing",
        _ => "failed",
    }
}

async fn create_payment(api: &MomoApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let mut body = api.base_body();
    body.insert("orderId".into(), json!(call.execution_id));
    body.insert("amount".into(), json!(required_int(input, "amount")?));
    body.insert("orderInfo".into(), json!(required_str(input, "orderInfo")?));
    body.insert(
        "redirectUrl".into(),
        json!(required_str(input, "redirectUrl")?),
    );
    body.insert("ipnUrl".into(), json!(required_str(input, "ipnUrl")?));
    body.insert(
        "requestType".into(),
        json!(string(input, "requestType").unwrap_or("captureWallet")),
    );
    body.insert(
        "extraData".into(),
        json!(string(input, "extraData").unwrap_or("")),
    );
    body.insert("lang".into(), json!(string(input, "lang").unwrap_or("vi")));
    if let Some(b) = input.get("autoCapture").and_then(Value::as_bool) {
        body.insert("autoCapture".into(), json!(b));
    }
    let request = call.keyed(Request::post(CREATE).json(Value::Object(body)))?;
    let (status, answer) = api.send(request.clone(), CREATE_KEYS).await?;
    match result_code(&answer) {
        Some(DUPLICATE_REQUEST | DUPLICATE_ORDER) => {}
        _ => return Ok(created(call, &outcome(status, answer, false)?, false)),
    }
    // An earlier attempt reached MoMo. A payment it made is found by its orderId (MoMo does
    // not give the payUrl again).
    match query(api, call.execution_id, call.execution_id).await {
        Ok(found) => Ok(created(call, &found, true)),
        Err(e) if e.kind == ErrorKind::ProviderNotFound => {
            // MoMo refuses a requestId again after a non-final answer (maintenance, busy…)
            // although nothing was made: send once more under a fresh requestId; the orderId
            // (the execution id) still guards against a second payment.
            let (status, answer) = api
                .send(fresh_request_id(request, call.execution_id), CREATE_KEYS)
                .await?;
            Ok(created(call, &outcome(status, answer, false)?, false))
        }
        Err(e) => Err(e),
    }
}

/// The same request under a requestId MoMo has not seen, derived from the execution id.
fn fresh_request_id(mut request: Request, execution_id: &str) -> Request {
    if let crate::kit::Body::Json(Value::Object(body)) = &mut request.body {
        let id = format!("{execution_id}R{}", chrono::Utc::now().timestamp_millis());
        body.insert("requestId".into(), json!(id));
    }
    request
}

fn created(call: &ActionCall<'_>, a: &Value, already: bool) -> Value {
    let code = result_code(a).unwrap_or(0);
    let mut out = json!({
        "orderId": call.execution_id,
        "requestId": call.execution_id,
        "amount": int(a, "amount").unwrap_or(0),
        "resultCode": code,
        "alreadyExisted": already,
        "status": if already { status_of(code) } else { "pending" },
    });
    copy(
        a,
        &mut out,
        &["message", "payUrl", "deeplink", "qrCodeUrl"],
        &["responseTime"],
    );
    out
}

/// Copy the non-empty string fields and the integer fields that are present.
fn copy(from: &Value, to: &mut Value, strings: &[&str], ints: &[&str]) {
    for k in strings {
        if let Some(s) = string(from, k).filter(|s| !s.is_empty()) {
            to[*k] = json!(s);
        }
    }
    for k in ints {
        if let Some(n) = int(from, k) {
            to[*k] = json!(n);
        }
    }
}

/// MoMo's query of `order_id`, as raw data (payment states are data, not errors). Each query
/// carries its own requestId: it is a read, and MoMo wants every requestId unique.
pub(crate) async fn query(api: &MomoApi, order_id: &str, execution_id: &str) -> Result<Value> {
    let mut body = api.base_body();
    let request_id = format!("{execution_id}Q{}", chrono::Utc::now().timestamp_millis());
    body.insert("requestId".into(), json!(request_id));
    body.insert("orderId".into(), json!(order_id));
    body.insert("lang".into(), json!("vi"));
    let (status, answer) = api
        .send(Request::post(QUERY).json(Value::Object(body)), QUERY_KEYS)
        .await?;
    outcome(status, answer, true)
}

async fn query_payment(api: &MomoApi, call: &ActionCall<'_>) -> Result<Value> {
    let order_id = required_str(call.input, "orderId")?;
    let a = query(api, order_id, call.execution_id).await?;
    let code = result_code(&a).unwrap_or(-1);
    let mut out = json!({
        "orderId": order_id,
        "status": status_of(code),
        "resultCode": code,
        "amount": int(&a, "amount").unwrap_or(0),
    });
    copy(
        &a,
        &mut out,
        &["message", "payType", "extraData"],
        &["responseTime"],
    );
    if let Some(t) = int(&a, "transId").filter(|t| *t > 0) {
        out["transId"] = json!(t);
    }
    let refunds: Vec<Value> = a
        .get("refundTrans")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(refund_row).collect())
        .unwrap_or_default();
    out["refunds"] = Value::Array(refunds);
    Ok(out)
}

fn refund_row(r: &Value) -> Option<Value> {
    let mut row = Map::new();
    row.insert("orderId".into(), json!(string(r, "orderId")?));
    row.insert("amount".into(), json!(int(r, "amount").unwrap_or(0)));
    row.insert(
        "resultCode".into(),
        json!(r.get("resultCode").and_then(as_int).unwrap_or(0)),
    );
    if let Some(t) = int(r, "transId") {
        row.insert("transId".into(), json!(t));
    }
    if let Some(d) = string(r, "description") {
        row.insert("description".into(), json!(d));
    }
    Some(Value::Object(row))
}

async fn refund(api: &MomoApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let mut body = api.base_body();
    body.insert("orderId".into(), json!(call.execution_id));
    body.insert("amount".into(), json!(required_int(input, "amount")?));
    body.insert("transId".into(), json!(required_int(input, "transId")?));
    body.insert(
        "description".into(),
        json!(string(input, "description").unwrap_or("")),
    );
    body.insert("lang".into(), json!("vi"));
    let request = call.keyed(Request::post(REFUND).json(Value::Object(body)))?;
    let (mut status, mut answer) = api.send(request.clone(), REFUND_KEYS).await?;
    if result_code(&answer) == Some(DUPLICATE_REQUEST) {
        // MoMo replays final answers, so a 40 means the earlier attempt ended unfinished:
        // send again under a fresh requestId, the orderId still refusing a second refund.
        (status, answer) = api
            .send(fresh_request_id(request, call.execution_id), REFUND_KEYS)
            .await?;
    }
    if result_code(&answer) == Some(DUPLICATE_ORDER) {
        // Without the original payment's orderId the earlier refund cannot be looked up
        // here, so say so plainly.
        return Err(integrations_core::Error::new(
            ErrorKind::ProviderRejected,
            format!(
                "MoMo already has refund {} from an earlier attempt; check the payment with query_payment",
                call.execution_id
            ),
        ));
    }
    let a = outcome(status, answer, false)?;
    let mut out = json!({
        "orderId": call.execution_id,
        "requestId": call.execution_id,
        "amount": int(&a, "amount").unwrap_or(0),
        "resultCode": result_code(&a).unwrap_or(0),
        "alreadyExisted": false,
    });
    copy(&a, &mut out, &["message"], &["transId", "responseTime"]);
    Ok(out)
}
