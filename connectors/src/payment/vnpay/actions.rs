//! VNPay actions. The payment URL carries the execution id as `vnp_TxnRef` (placed by the kit
//! from the catalog's providerField) and the id's creation time as `vnp_CreateDate`, so a
//! repeat builds the same URL. The merchant API needs a `vnp_RequestId` unique per request
//! (VNPay refuses a repeat with 94), so each attempt sends a fresh one; refunds have no
//! idempotency key at VNPay and are `none` in the catalog.

use chrono::Duration;
use integrations_core::Result;
use serde_json::{json, Map, Value};

use super::client::{text, VnpayApi};
use crate::fields::{int, required_int, required_str, string};
use crate::kit::{Action, ActionCall};
use crate::payment::{execution_time, vietnam};

pub(crate) const TABLE: &[Action<VnpayApi>] = &[
    Action {
        id: "create_payment_url",
        run: |api, call| Box::pin(create_payment_url(api, call)),
    },
    Action {
        id: "query_transaction",
        run: |api, call| Box::pin(query_transaction(api, call.input, call.execution_id)),
    },
    Action {
        id: "refund",
        run: |api, call| Box::pin(refund(api, call)),
    },
];

const VERSION: &str = "2.1.0";
const DATE: &str = "%Y%m%d%H%M%S";
const DEFAULT_EXPIRE_MINUTES: i64 = 15;
/// The merchant API's request fields, in checksum order (UNCONFIRMED, providers.md §4).
pub(crate) const QUERYDR_FIELDS: &[&str] = &[
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
pub(crate) const REFUND_FIELDS: &[&str] = &[
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
/// What VNPay's answers sign; refund answers stop before the promotion fields.
pub(crate) const ANSWER_FIELDS: &[&str] = &[
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
const REFUND_ANSWER_FIELDS: usize = 13;

async fn create_payment_url(api: &VnpayApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let created = execution_time(call.execution_id);
    let minutes = int(input, "expireMinutes").unwrap_or(DEFAULT_EXPIRE_MINUTES);
    let create_date = vietnam(created, DATE);
    let expire_date = vietnam(created + Duration::minutes(minutes), DATE);
    let amount = required_int(input, "amount")?;
    let mut request = api
        .pay_request()
        .query("vnp_Version", VERSION)
        .query("vnp_Command", "pay")
        .query("vnp_TmnCode", api.tmn_code())
        .query("vnp_Amount", (amount * 100).to_string())
        .query("vnp_CreateDate", &create_date)
        .query("vnp_CurrCode", "VND")
        .query("vnp_IpAddr", required_str(input, "ipAddr")?)
        .query("vnp_Locale", string(input, "locale").unwrap_or("vn"))
        .query("vnp_OrderInfo", required_str(input, "orderInfo")?)
        .query(
            "vnp_OrderType",
            string(input, "orderType").unwrap_or("other"),
        )
        .query("vnp_ReturnUrl", required_str(input, "returnUrl")?)
        .query("vnp_ExpireDate", &expire_date);
    if let Some(b) = string(input, "bankCode").filter(|b| !b.is_empty()) {
        request = request.query("vnp_BankCode", b);
    }
    let url = api.pay_url(call.keyed(request)?)?;
    Ok(
        json!({"paymentUrl": url, "txnRef": call.execution_id, "createDate": create_date, "expireDate": expire_date}),
    )
}

/// A request id VNPay has not seen: the execution id and this attempt's microseconds
/// (VNPay allows 32 characters).
fn request_id(execution_id: &str) -> String {
    let head: String = execution_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(26)
        .collect();
    format!(
        "{head}{:06}",
        chrono::Utc::now().timestamp_subsec_micros() % 1_000_000
    )
}

fn base(
    api: &VnpayApi,
    command: &str,
    input: &Value,
    execution_id: &str,
) -> Result<Map<String, Value>> {
    let mut b = Map::new();
    let mut put = |k: &str, v: &str| {
        b.insert(k.to_string(), json!(v));
    };
    put("vnp_RequestId", &request_id(execution_id));
    put("vnp_Version", VERSION);
    put("vnp_Command", command);
    put("vnp_TmnCode", api.tmn_code());
    put("vnp_TxnRef", required_str(input, "txnRef")?);
    put(
        "vnp_TransactionDate",
        required_str(input, "transactionDate")?,
    );
    put("vnp_CreateDate", &vietnam(chrono::Utc::now(), DATE));
    put("vnp_IpAddr", string(input, "ipAddr").unwrap_or("127.0.0.1"));
    put(
        "vnp_OrderInfo",
        string(input, "orderInfo").unwrap_or(command),
    );
    Ok(b)
}

/// VNPay's transaction answer in the catalog's shape.
fn transaction(a: &Map<String, Value>) -> Value {
    let mut out =
        json!({"txnRef": text(a, "vnp_TxnRef"), "responseCode": text(a, "vnp_ResponseCode")});
    for (from, to) in [
        ("vnp_Message", "message"),
        ("vnp_TransactionStatus", "transactionStatus"),
        ("vnp_TransactionType", "transactionType"),
        ("vnp_TransactionNo", "transactionNo"),
        ("vnp_BankCode", "bankCode"),
        ("vnp_PayDate", "payDate"),
        ("vnp_OrderInfo", "orderInfo"),
    ] {
        let v = text(a, from);
        if !v.is_empty() {
            out[to] = json!(v);
        }
    }
    // VNPay's amounts are VND × 100.
    if let Ok(n) = text(a, "vnp_Amount").parse::<i64>() {
        out["amount"] = json!(n / 100);
    }
    out
}

pub(crate) async fn query_transaction(
    api: &VnpayApi,
    input: &Value,
    execution_id: &str,
) -> Result<Value> {
    let body = base(api, "querydr", input, execution_id)?;
    let a = api.call(body, QUERYDR_FIELDS, ANSWER_FIELDS).await?;
    Ok(transaction(&a))
}

async fn refund(api: &VnpayApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let mut body = base(api, "refund", input, call.execution_id)?;
    body.insert(
        "vnp_TransactionType".into(),
        json!(required_str(input, "transactionType")?),
    );
    body.insert(
        "vnp_Amount".into(),
        json!((required_int(input, "amount")? * 100).to_string()),
    );
    body.insert(
        "vnp_TransactionNo".into(),
        json!(string(input, "transactionNo").unwrap_or("")),
    );
    body.insert(
        "vnp_CreateBy".into(),
        json!(required_str(input, "createBy")?),
    );
    let a = api
        .call(body, REFUND_FIELDS, &ANSWER_FIELDS[..REFUND_ANSWER_FIELDS])
        .await?;
    Ok(transaction(&a))
}
