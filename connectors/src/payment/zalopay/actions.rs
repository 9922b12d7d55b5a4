//! ZaloPay actions. ZaloPay's own keys must carry a date (`yymmdd_…`, Vietnam time): declared
//! as key formats ([`KEY_FORMATS`]) that the kit renders from the execution id and its ULID
//! creation date, the same on every attempt, and places where the catalog's providerField
//! says — `app_trans_id = yymmdd_<id>` (33 chars, ZaloPay allows 40) and
//! `m_refund_id = yymmdd_<app_id>_<id>`. The mac covers the key, so the connector asks the kit
//! for its value too ([`ActionCall::key`]). A repeated app_trans_id is refused (-68) and the
//! order is then looked up; a repeated m_refund_id answers the first refund.

use integrations_core::Result;
use serde_json::{json, Value};

use super::client::{mac, outcome, return_code, sub_return_code, ZaloPayApi};
use crate::fields::{int, required_int, required_str, string};
use crate::kit::{Action, ActionCall, KeyFormat, KeyPart, Request};

pub(crate) const TABLE: &[Action<ZaloPayApi>] = &[
    Action {
        id: "create_order",
        run: |api, call| Box::pin(create_order(api, call)),
    },
    Action {
        id: "query_order",
        run: |api, call| Box::pin(query_order(api, call.input)),
    },
    Action {
        id: "refund",
        run: |api, call| Box::pin(refund(api, call)),
    },
    Action {
        id: "query_refund",
        run: |api, call| Box::pin(query_refund(api, call.input)),
    },
];

/// ZaloPay's answer to a repeated app_trans_id (UNCONFIRMED).
const DUPLICATE: i64 = -68;

/// The date ZaloPay wants in front of its keys: the execution's, in Vietnam time (GMT+7).
const DATE: KeyPart = KeyPart::CreatedOn {
    format: "%y%m%d",
    utc_offset_hours: 7,
};

const APP_TRANS_ID: KeyFormat = KeyFormat(&[DATE, KeyPart::Text("_"), KeyPart::ExecutionId]);

const M_REFUND_ID: KeyFormat = KeyFormat(&[
    DATE,
    KeyPart::Text("_"),
    KeyPart::Param("app_id"),
    KeyPart::Text("_"),
    KeyPart::ExecutionId,
]);

pub(crate) const KEY_FORMATS: &[(&str, KeyFormat)] =
    &[("create_order", APP_TRANS_ID), ("refund", M_REFUND_ID)];

#[cfg(test)]
pub(crate) fn app_trans_id(execution_id: &str) -> String {
    APP_TRANS_ID.render(execution_id, &[]).expect("renders")
}

#[cfg(test)]
pub(crate) fn m_refund_id(app_id: i64, execution_id: &str) -> String {
    M_REFUND_ID
        .render(execution_id, &[("app_id", &app_id.to_string())])
        .expect("renders")
}

fn now_ms() -> String {
    chrono::Utc::now().timestamp_millis().to_string()
}

fn json_text(v: Option<&Value>, default: &str) -> String {
    v.map(Value::to_string)
        .unwrap_or_else(|| default.to_string())
}

fn status(code: i64, paid: &'static str) -> &'static str {
    match code {
        1 => paid,
        3 => "processing",
        _ => "failed",
    }
}

async fn create_order(api: &ZaloPayApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let id = call.key(&[])?;
    let app_id = api.app_id().to_string();
    let app_user = required_str(input, "appUser")?.to_string();
    let amount = required_int(input, "amount")?.to_string();
    // ZaloPay wants app_time within 15 minutes of its clock: the attempt's own time.
    let app_time = now_ms();
    let embed_data = json_text(input.get("embedData"), "{}");
    let item = json_text(input.get("items"), "[]");
    let signed = mac(
        api.key1(),
        &[
            &app_id,
            &id,
            &app_user,
            &amount,
            &app_time,
            &embed_data,
            &item,
        ],
    );
    // app_trans_id is placed by the kit (the catalog's providerField).
    let mut form = vec![
        ("app_id".to_string(), app_id),
        ("app_user".into(), app_user),
        ("app_time".into(), app_time),
        ("amount".into(), amount),
        ("item".into(), item),
        ("embed_data".into(), embed_data),
        (
            "description".into(),
            required_str(input, "description")?.to_string(),
        ),
    ];
    for (from, to) in [("bankCode", "bank_code"), ("callbackUrl", "callback_url")] {
        if let Some(v) = string(input, from) {
            form.push((to.into(), v.to_string()));
        }
    }
    if let Some(s) = int(input, "expireDurationSeconds") {
        form.push(("expire_duration_seconds".into(), s.to_string()));
    }
    let request = call.keyed(Request::post("/v2/create").form(form))?;
    let answer = api.send(request, signed).await?;
    if return_code(&answer) == 2 && sub_return_code(&answer) == Some(DUPLICATE) {
        // An earlier attempt created it: report the order as it stands now.
        let found = query(api, &id).await?;
        let code = return_code(&found);
        return Ok(json!({
            "appTransId": id, "returnCode": code, "alreadyExisted": true, "status": status(code, "paid"),
            "returnMessage": string(&found, "return_message").unwrap_or_default(),
        }));
    }
    let a = outcome(answer, false)?;
    let mut out = json!({"appTransId": id, "returnCode": return_code(&a), "alreadyExisted": false, "status": "processing"});
    for (from, to) in [
        ("order_url", "orderUrl"),
        ("qr_code", "qrCode"),
        ("zp_trans_token", "zpTransToken"),
        ("order_token", "orderToken"),
        ("return_message", "returnMessage"),
    ] {
        if let Some(v) = string(&a, from) {
            out[to] = json!(v);
        }
    }
    Ok(out)
}

/// ZaloPay's query of `app_trans_id`, as data (paid, unpaid and failed are all answers).
pub(crate) async fn query(api: &ZaloPayApi, app_trans_id: &str) -> Result<Value> {
    let app_id = api.app_id().to_string();
    let signed = mac(api.key1(), &[&app_id, app_trans_id, api.key1()]);
    let form = vec![
        ("app_id".to_string(), app_id),
        ("app_trans_id".into(), app_trans_id.to_string()),
    ];
    let request = Request::post("/v2/query").form(form);
    outcome(api.send(request, signed).await?, true)
}

fn messages(a: &Value, out: &mut Value) {
    for (from, to) in [
        ("return_message", "returnMessage"),
        ("sub_return_message", "subReturnMessage"),
    ] {
        if let Some(v) = string(a, from) {
            out[to] = json!(v);
        }
    }
    if let Some(s) = sub_return_code(a) {
        out["subReturnCode"] = json!(s);
    }
}

async fn query_order(api: &ZaloPayApi, input: &Value) -> Result<Value> {
    let id = required_str(input, "appTransId")?;
    let a = query(api, id).await?;
    let code = return_code(&a);
    let mut out = json!({"appTransId": id, "status": status(code, "paid"), "returnCode": code});
    messages(&a, &mut out);
    if let Some(p) = a.get("is_processing").and_then(Value::as_bool) {
        out["isProcessing"] = json!(p);
    }
    if let Some(n) = int(&a, "amount") {
        out["amount"] = json!(n);
    }
    if let Some(z) = int(&a, "zp_trans_id").filter(|z| *z > 0) {
        out["zpTransId"] = json!(z);
    }
    Ok(out)
}

async fn refund(api: &ZaloPayApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let app_id = api.app_id().to_string();
    let params = [("app_id", app_id.as_str())];
    let id = call.key(&params)?;
    let zp = required_int(input, "zpTransId")?.to_string();
    let amount = required_int(input, "amount")?.to_string();
    let description = required_str(input, "description")?.to_string();
    let timestamp = now_ms();
    let fee = int(input, "refundFeeAmount").map(|f| f.to_string());
    let mut fields = vec![app_id.as_str(), zp.as_str(), amount.as_str()];
    if let Some(f) = &fee {
        fields.push(f);
    }
    fields.extend([description.as_str(), timestamp.as_str()]);
    let signed = mac(api.key1(), &fields);
    // m_refund_id is placed by the kit (the catalog's providerField).
    let mut form = vec![
        ("app_id".to_string(), app_id.clone()),
        ("zp_trans_id".into(), zp),
        ("amount".into(), amount),
        ("timestamp".into(), timestamp),
        ("description".into(), description),
    ];
    if let Some(f) = fee {
        form.push(("refund_fee_amount".into(), f));
    }
    let request = call.keyed_with(Request::post("/v2/refund").form(form), &params)?;
    let a = outcome(api.send(request, signed).await?, false)?;
    let code = return_code(&a);
    // Whether this attempt or an earlier one made the refund, ZaloPay answers the same.
    let mut out = json!({"mRefundId": id, "status": status(code, "succeeded"), "returnCode": code, "alreadyExisted": false});
    messages(&a, &mut out);
    if let Some(r) = int(&a, "refund_id") {
        out["refundId"] = json!(r);
    }
    Ok(out)
}

async fn query_refund(api: &ZaloPayApi, input: &Value) -> Result<Value> {
    let id = required_str(input, "mRefundId")?;
    let app_id = api.app_id().to_string();
    let timestamp = now_ms();
    let signed = mac(api.key1(), &[&app_id, id, &timestamp]);
    let form = vec![
        ("app_id".to_string(), app_id),
        ("m_refund_id".into(), id.to_string()),
        ("timestamp".into(), timestamp),
    ];
    let request = Request::post("/v2/query_refund").form(form);
    let a = outcome(api.send(request, signed).await?, true)?;
    let code = return_code(&a);
    let mut out = json!({"mRefundId": id, "status": status(code, "succeeded"), "returnCode": code});
    messages(&a, &mut out);
    Ok(out)
}
