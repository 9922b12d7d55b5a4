//! GHTK actions: camelCase inputs mapped to GHTK's fields (names of places, weights in kg for
//! orders and grams for fees), GHTK's answers (numbers often as strings) normalized to the
//! catalog's outputSchema.

use integrations_core::{Error, ErrorKind, Result};
use serde_json::{json, Map, Value};

use super::client::GhtkApi;
use crate::fields::{int, string};
use crate::kit::{Action, ActionCall, Request};

pub(crate) const FEE: &str = "/services/shipment/fee";
const CREATE: &str = "/services/shipment/order/";
const DETAIL: &str = "/services/shipment/v2";
const CANCEL: &str = "/services/shipment/cancel";
/// GHTK's status for a cancelled order.
const CANCELLED: i64 = -1;
/// GHTK requires a hamlet and asks for "Khác" (other) when there is none (UNCONFIRMED).
const NO_HAMLET: &str = "Khác";

pub(crate) const TABLE: &[Action<GhtkApi>] = &[
    Action {
        id: "calculate_fee",
        run: |api, call| Box::pin(calculate_fee(api, call)),
    },
    Action {
        id: "create_order",
        run: |api, call| Box::pin(create_order(api, call)),
    },
    Action {
        id: "track_order",
        run: |api, call| Box::pin(track_order(api, call)),
    },
    Action {
        id: "cancel_order",
        run: |api, call| Box::pin(cancel_order(api, call)),
    },
];

fn bad_response(what: &str) -> Error {
    Error::new(
        ErrorKind::ProviderBadResponse,
        format!("GHTK answered without {what}"),
    )
    .with_request_sent(true)
}

fn text<'v>(input: &'v Value, key: &str) -> Option<&'v str> {
    string(input, key)
}

/// Query for a fee quote; the pick-up point comes from the input or the connection.
pub(crate) fn fee_request(api: &GhtkApi, input: &Value) -> Result<Request> {
    let pickup = api.pickup.overridden_by(input);
    let mut req = Request::get(FEE)
        .query("pick_province", pickup.need(&pickup.province, "province")?)
        .query("pick_district", pickup.need(&pickup.district, "district")?);
    for (value, name) in [
        (&pickup.ward, "pick_ward"),
        (&pickup.address, "pick_address"),
    ] {
        if let Some(v) = value {
            req = req.query(name, v);
        }
    }
    for (key, name) in [
        ("toProvince", "province"),
        ("toDistrict", "district"),
        ("toWard", "ward"),
        ("toAddress", "address"),
        ("transport", "transport"),
        ("deliverOption", "deliver_option"),
    ] {
        if let Some(v) = text(input, key) {
            req = req.query(name, v);
        }
    }
    for (key, name) in [("weight", "weight"), ("value", "value")] {
        if let Some(v) = int(input, key) {
            req = req.query(name, v.to_string());
        }
    }
    Ok(req)
}

async fn calculate_fee(api: &GhtkApi, call: &ActionCall<'_>) -> Result<Value> {
    let data = api.call(fee_request(api, call.input)?).await?;
    let fee = data.get("fee").ok_or_else(|| bad_response("fee"))?;
    let total = int(fee, "fee").ok_or_else(|| bad_response("fee.fee"))?;
    let mut out = json!({
        "fee": total,
        "insuranceFee": int(fee, "insurance_fee").unwrap_or(0),
        "delivery": fee.get("delivery").and_then(Value::as_bool).unwrap_or(true),
        "currency": "VND",
    });
    if let Some(area) = string(fee, "name") {
        out["area"] = json!(area);
    }
    Ok(out)
}

fn order_body(api: &GhtkApi, input: &Value) -> Result<Value> {
    let pickup = api.pickup.overridden_by(input);
    let mut order = Map::new();
    for (field, name, key) in [
        (&pickup.name, "name", "pick_name"),
        (&pickup.phone, "phone", "pick_tel"),
        (&pickup.address, "address", "pick_address"),
        (&pickup.province, "province", "pick_province"),
        (&pickup.district, "district", "pick_district"),
    ] {
        order.insert(key.into(), json!(pickup.need(field, name)?));
    }
    if let Some(ward) = &pickup.ward {
        order.insert("pick_ward".into(), json!(ward));
    }
    for (key, name) in [
        ("toName", "name"),
        ("toPhone", "tel"),
        ("toAddress", "address"),
        ("toProvince", "province"),
        ("toDistrict", "district"),
        ("toWard", "ward"),
        ("pickDate", "pick_date"),
        ("note", "note"),
        ("transport", "transport"),
        ("pickOption", "pick_option"),
        ("deliverOption", "deliver_option"),
    ] {
        if let Some(v) = text(input, key) {
            order.insert(name.into(), json!(v));
        }
    }
    order.insert(
        "hamlet".into(),
        json!(text(input, "toHamlet").unwrap_or(NO_HAMLET)),
    );
    order.insert(
        "pick_money".into(),
        json!(int(input, "codAmount").unwrap_or(0)),
    );
    order.insert("value".into(), json!(int(input, "value").unwrap_or(0)));
    let freeship = input.get("freeShipping").and_then(Value::as_bool) == Some(true);
    order.insert("is_freeship".into(), json!(i64::from(freeship)));
    let products: Vec<Value> = crate::fields::rows(input.get("products").unwrap_or(&Value::Null))
        .map(|p| {
            let mut out = json!({
                "name": text(p, "name").unwrap_or_default(),
                // Orders take kilograms; our inputs are grams like every other weight.
                "weight": int(p, "weight").unwrap_or(0) as f64 / 1000.0,
                "quantity": int(p, "quantity").unwrap_or(1),
            });
            if let Some(price) = int(p, "price") {
                out["price"] = json!(price);
            }
            if let Some(code) = text(p, "productCode") {
                out["product_code"] = json!(code);
            }
            out
        })
        .collect();
    Ok(json!({ "products": products, "order": order }))
}

async fn create_order(api: &GhtkApi, call: &ActionCall<'_>) -> Result<Value> {
    let body = order_body(api, call.input)?;
    let request = call.keyed(Request::post(CREATE).query("ver", "1.5").json(body))?;
    let reply = api.send(request).await?;
    // A repeated order.id fails with ORDER_ID_EXIST and the first order's label: that is
    // the idempotent answer, not an error.
    if let Ok(body) = reply.json("GHTK") {
        if body.pointer("/error/code").and_then(Value::as_str) == Some("ORDER_ID_EXIST") {
            return existing_order(api, call.execution_id, &body["error"]).await;
        }
    }
    let data = api.interpret(&reply)?;
    let order = data.get("order").ok_or_else(|| bad_response("order"))?;
    let label = string(order, "label").ok_or_else(|| bad_response("order.label"))?;
    let mut out = json!({
        "label": label,
        "partnerId": string(order, "partner_id").unwrap_or(call.execution_id),
        "alreadyExisted": false,
    });
    for (from, to) in [
        ("fee", "fee"),
        ("insurance_fee", "insuranceFee"),
        ("status_id", "status"),
        ("tracking_id", "trackingId"),
    ] {
        if let Some(n) = int(order, from) {
            out[to] = json!(n);
        }
    }
    for (from, to) in [
        ("estimated_pick_time", "estimatedPickTime"),
        ("estimated_deliver_time", "estimatedDeliverTime"),
    ] {
        if let Some(s) = string(order, from) {
            out[to] = json!(s);
        }
    }
    if let Some(area) = order.get("area").and_then(|a| match a {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }) {
        out["area"] = json!(area);
    }
    Ok(out)
}

/// The order an earlier attempt created: GHTK names its label in the error; when it does not
/// (UNCONFIRMED that it always does), it is looked up by our id.
async fn existing_order(api: &GhtkApi, execution_id: &str, error: &Value) -> Result<Value> {
    let detail = match string(error, "ghtk_label") {
        Some(label) => json!({ "label_id": label, "status": error.get("status") }),
        None => {
            let path = format!("{DETAIL}/partner_id:{execution_id}");
            let data = api.call(Request::get(path)).await?;
            data.get("order")
                .cloned()
                .ok_or_else(|| bad_response("order"))?
        }
    };
    let label = string(&detail, "label_id").ok_or_else(|| bad_response("the order's label"))?;
    let mut out = json!({ "label": label, "partnerId": execution_id, "alreadyExisted": true });
    if let Some(status) = int(&detail, "status") {
        out["status"] = json!(status);
    }
    if let Some(fee) = int(&detail, "ship_money") {
        out["fee"] = json!(fee);
    }
    Ok(out)
}

pub(crate) async fn detail(api: &GhtkApi, label: &str) -> Result<Value> {
    let data = api.call(Request::get(format!("{DETAIL}/{label}"))).await?;
    data.get("order")
        .cloned()
        .ok_or_else(|| bad_response("order"))
}

fn label_of(input: &Value) -> Result<&str> {
    crate::fields::required_str(input, "label")
}

async fn track_order(api: &GhtkApi, call: &ActionCall<'_>) -> Result<Value> {
    let label = label_of(call.input)?;
    let order = detail(api, label).await?;
    let status = int(&order, "status").ok_or_else(|| bad_response("order.status"))?;
    let mut out = json!({
        "label": string(&order, "label_id").unwrap_or(label),
        "status": status,
        "statusText": order.get("status_text").and_then(Value::as_str).unwrap_or_default(),
    });
    for (from, to) in [
        ("partner_id", "partnerId"),
        ("created", "createdAt"),
        ("modified", "updatedAt"),
        ("pick_date", "pickDate"),
        ("deliver_date", "deliverDate"),
    ] {
        if let Some(s) = string(&order, from) {
            out[to] = json!(s);
        }
    }
    for (from, to) in [
        ("ship_money", "shipMoney"),
        ("insurance", "insurance"),
        ("value", "value"),
        ("weight", "weight"),
        ("pick_money", "codAmount"),
    ] {
        if let Some(n) = int(&order, from) {
            out[to] = json!(n);
        }
    }
    Ok(out)
}

async fn cancel_order(api: &GhtkApi, call: &ActionCall<'_>) -> Result<Value> {
    let label = label_of(call.input)?;
    match api.call(Request::post(format!("{CANCEL}/{label}"))).await {
        Ok(data) => {
            let mut out = json!({
                "label": label,
                "status": CANCELLED,
                "alreadyCancelled": false,
                "message": data.get("message").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or("OK"),
            });
            if let Some(log) = data.get("log_id").and_then(|l| match l {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }) {
                out["logId"] = json!(log);
            }
            Ok(out)
        }
        // GHTK's wording for "already cancelled" is not documented: a refusal is checked
        // against the order's status, so a repeat succeeds whatever GHTK says.
        Err(e) if e.kind == ErrorKind::ProviderRejected => {
            let order = detail(api, label).await.map_err(|_| e.clone())?;
            if int(&order, "status") != Some(CANCELLED) {
                return Err(e);
            }
            Ok(json!({
                "label": label,
                "status": CANCELLED,
                "alreadyCancelled": true,
                "message": e.message,
            }))
        }
        Err(e) => Err(e),
    }
}
