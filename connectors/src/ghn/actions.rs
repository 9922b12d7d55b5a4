//! GHN actions: camelCase inputs (validated against the catalog's inputSchema) mapped to GHN's
//! snake_case fields, and GHN's answers normalized to the catalog's outputSchema.

use integrations_core::{Error, ErrorKind, Result};
use serde_json::{json, Map, Value};

use super::client::GhnApi;
use crate::fields::{
    as_int, camel, copy_string, int, required_int, required_str, rows, string, to_snake_fields,
};
use crate::kit::{Action, ActionCall, Request};

/// The actions, in the catalog's order (checked against it in `crate::tests`).
pub(crate) const TABLE: &[Action<GhnApi>] = &[
    Action {
        id: "calculate_fee",
        run: |api, call| Box::pin(calculate_fee(api, call.input)),
    },
    Action {
        id: "create_order",
        run: |api, call| Box::pin(create_order(api, call)),
    },
    Action {
        id: "track_order",
        run: |api, call| Box::pin(track_order(api, call.input)),
    },
    Action {
        id: "cancel_order",
        run: |api, call| Box::pin(cancel_order(api, call.input)),
    },
    Action {
        id: "get_provinces",
        run: |api, _| Box::pin(get_provinces(api)),
    },
    Action {
        id: "get_districts",
        run: |api, call| Box::pin(get_districts(api, call.input)),
    },
    Action {
        id: "get_wards",
        run: |api, call| Box::pin(get_wards(api, call.input)),
    },
];

const FEE: &str = "/v2/shipping-order/fee";
const CREATE: &str = "/v2/shipping-order/create";
const DETAIL: &str = "/v2/shipping-order/detail";
const DETAIL_BY_CLIENT_CODE: &str = "/v2/shipping-order/detail-by-client-code";
const CANCEL: &str = "/v2/switch-status/cancel";
const PROVINCES: &str = "/master-data/province";
const DISTRICTS: &str = "/master-data/district";
const WARDS: &str = "/master-data/ward";
pub(crate) const AVAILABLE_SERVICES: &str = "/v2/shipping-order/available-services";

/// GHN's service type for light parcels, used when the caller names no service.
const LIGHT_GOODS: i64 = 2;

const FEE_INPUTS: &[&str] = &[
    "fromDistrictId",
    "fromWardCode",
    "toDistrictId",
    "toWardCode",
    "weight",
    "length",
    "width",
    "height",
    "insuranceValue",
    "codValue",
    "codFailedAmount",
    "coupon",
    "serviceId",
    "serviceTypeId",
    "items",
];

const CREATE_INPUTS: &[&str] = &[
    "toName",
    "toPhone",
    "toAddress",
    "toWardCode",
    "toDistrictId",
    "toProvinceName",
    "fromName",
    "fromPhone",
    "fromAddress",
    "fromWardName",
    "fromDistrictName",
    "fromProvinceName",
    "returnPhone",
    "returnAddress",
    "returnDistrictId",
    "returnWardCode",
    "weight",
    "length",
    "width",
    "height",
    "codAmount",
    "insuranceValue",
    "content",
    "note",
    "coupon",
    "requiredNote",
    "paymentTypeId",
    "serviceId",
    "serviceTypeId",
    "pickStationId",
    "pickShift",
    "items",
];

async fn calculate_fee(api: &GhnApi, input: &Value) -> Result<Value> {
    let body = with_default_service(to_snake_fields(input, FEE_INPUTS));
    let data = api.call(FEE, &body).await?;
    let total = int(&data, "total").ok_or_else(|| bad_response("fee answer has no total"))?;
    let mut breakdown = Map::new();
    if let Some(obj) = data.as_object() {
        for (k, v) in obj {
            if !matches!(k.as_str(), "total" | "service_fee" | "insurance_fee") {
                if let Some(n) = as_int(v) {
                    breakdown.insert(camel(k), json!(n));
                }
            }
        }
    }
    Ok(json!({
        "fee": total,
        "serviceFee": int(&data, "service_fee").unwrap_or(0),
        "insuranceFee": int(&data, "insurance_fee").unwrap_or(0),
        "currency": "VND",
        "breakdown": breakdown,
    }))
}

/// The kit puts the execution id in GHN's client_order_code (the catalog's providerField), so a
/// retry after an unknown outcome finds the order the first attempt created instead of
/// creating a second one.
async fn create_order(api: &GhnApi, call: &ActionCall<'_>) -> Result<Value> {
    let execution_id = call.execution_id;
    let body = with_default_service(to_snake_fields(call.input, CREATE_INPUTS));
    let request = call.keyed(Request::post(CREATE).json(body))?;
    match api.send(request).await {
        Ok(data) => created(&data, execution_id),
        // GHN refuses a client_order_code it has seen; whatever the wording, an order under
        // our code is the one we asked for.
        Err(e) if e.kind == ErrorKind::ProviderRejected => {
            match find_by_client_code(api, execution_id).await {
                Ok(Some(order)) => existing(&order, execution_id),
                Ok(None) => Err(e),
                // Unsure whether it exists: let the engine retry the whole action.
                Err(lookup) if lookup.retryable => Err(lookup),
                Err(_) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

async fn find_by_client_code(api: &GhnApi, code: &str) -> Result<Option<Value>> {
    match api
        .call(DETAIL_BY_CLIENT_CODE, &json!({ "client_order_code": code }))
        .await
    {
        // The official sample answers with an array; tolerate a bare object too.
        Ok(Value::Array(mut orders)) => Ok((!orders.is_empty()).then(|| orders.swap_remove(0))),
        Ok(order @ Value::Object(_)) => Ok(Some(order)),
        Ok(_) => Ok(None),
        Err(e) if e.kind == ErrorKind::ProviderNotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn created(data: &Value, execution_id: &str) -> Result<Value> {
    let order_code = string(data, "order_code")
        .ok_or_else(|| bad_response("create answer has no order_code"))?;
    let mut out = json!({
        "orderCode": order_code,
        "clientOrderCode": execution_id,
        "alreadyExisted": false,
        "status": "ready_to_pick",
    });
    copy_string(data, "sort_code", &mut out, "sortCode");
    copy_string(
        data,
        "expected_delivery_time",
        &mut out,
        "expectedDeliveryTime",
    );
    if let Some(total) = int(data, "total_fee") {
        out["totalFee"] = json!(total);
    }
    if let Some(fee) = data.get("fee").and_then(Value::as_object) {
        let breakdown: Map<String, Value> = fee
            .iter()
            .filter_map(|(k, v)| as_int(v).map(|n| (camel(k), json!(n))))
            .collect();
        out["breakdown"] = Value::Object(breakdown);
    }
    Ok(out)
}

fn existing(order: &Value, execution_id: &str) -> Result<Value> {
    let order_code = string(order, "order_code")
        .ok_or_else(|| bad_response("order detail has no order_code"))?;
    let mut out = json!({
        "orderCode": order_code,
        "clientOrderCode": execution_id,
        "alreadyExisted": true,
    });
    copy_string(order, "sort_code", &mut out, "sortCode");
    copy_string(order, "leadtime", &mut out, "expectedDeliveryTime");
    copy_string(order, "status", &mut out, "status");
    if let Some(total) = int(order, "total_fee") {
        out["totalFee"] = json!(total);
    }
    Ok(out)
}

async fn track_order(api: &GhnApi, input: &Value) -> Result<Value> {
    let code = required_str(input, "orderCode")?;
    let order = api.call(DETAIL, &json!({ "order_code": code })).await?;
    tracked(&order)
}

fn tracked(order: &Value) -> Result<Value> {
    let order_code = string(order, "order_code")
        .ok_or_else(|| bad_response("order detail has no order_code"))?;
    let status =
        string(order, "status").ok_or_else(|| bad_response("order detail has no status"))?;
    let history: Vec<Value> = order
        .get("log")
        .and_then(Value::as_array)
        .map(|log| {
            log.iter()
                .filter_map(|entry| {
                    let mut h = json!({ "status": string(entry, "status")? });
                    copy_string(entry, "updated_date", &mut h, "at");
                    Some(h)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = json!({ "orderCode": order_code, "status": status, "statusHistory": history });
    copy_string(order, "client_order_code", &mut out, "clientOrderCode");
    copy_string(order, "leadtime", &mut out, "expectedDeliveryTime");
    copy_string(order, "created_date", &mut out, "createdAt");
    copy_string(order, "updated_date", &mut out, "updatedAt");
    for (ghn, ours) in [("cod_amount", "codAmount"), ("weight", "weight")] {
        if let Some(n) = int(order, ghn) {
            out[ours] = json!(n);
        }
    }
    Ok(out)
}

/// Cancelling is naturally idempotent: when GHN refuses, the order's current status decides
/// whether it is already cancelled (success) or past cancelling (rejection).
async fn cancel_order(api: &GhnApi, input: &Value) -> Result<Value> {
    let code = required_str(input, "orderCode")?;
    let data = api.call(CANCEL, &json!({ "order_codes": [code] })).await?;
    let entry = data
        .as_array()
        .and_then(|rows| {
            rows.iter()
                .find(|r| r.get("order_code").and_then(Value::as_str) == Some(code))
        })
        .ok_or_else(|| bad_response("cancel answer does not mention the order"))?;
    let message = string(entry, "message").unwrap_or_default();
    if entry.get("result").and_then(Value::as_bool) == Some(true) {
        return Ok(
            json!({ "orderCode": code, "status": "cancel", "alreadyCancelled": false, "message": message }),
        );
    }
    let order = api.call(DETAIL, &json!({ "order_code": code })).await?;
    match string(&order, "status") {
        Some("cancel") => Ok(
            json!({ "orderCode": code, "status": "cancel", "alreadyCancelled": true, "message": message }),
        ),
        status => Err(Error::new(
            ErrorKind::ProviderRejected,
            format!(
                "GHN refused to cancel order {code} (status {}): {message}",
                status.unwrap_or("unknown")
            ),
        )
        .with_request_sent(true)),
    }
}

async fn get_provinces(api: &GhnApi) -> Result<Value> {
    let data = api.call(PROVINCES, &json!({})).await?;
    let provinces: Vec<Value> = rows(&data)
        .filter_map(|p| {
            Some(json!({
                "provinceId": int(p, "ProvinceID")?,
                "name": string(p, "ProvinceName")?,
                "code": string(p, "Code").unwrap_or_default(),
            }))
        })
        .collect();
    Ok(json!({ "provinces": provinces }))
}

async fn get_districts(api: &GhnApi, input: &Value) -> Result<Value> {
    let province_id = required_int(input, "provinceId")?;
    let data = api
        .call(DISTRICTS, &json!({ "province_id": province_id }))
        .await?;
    let districts: Vec<Value> = rows(&data)
        .filter_map(|d| {
            Some(json!({
                "districtId": int(d, "DistrictID")?,
                "provinceId": int(d, "ProvinceID").unwrap_or(province_id),
                "name": string(d, "DistrictName")?,
                "code": string(d, "Code").unwrap_or_default(),
            }))
        })
        .collect();
    Ok(json!({ "districts": districts }))
}

async fn get_wards(api: &GhnApi, input: &Value) -> Result<Value> {
    let district_id = required_int(input, "districtId")?;
    let data = api
        .call(WARDS, &json!({ "district_id": district_id }))
        .await?;
    let wards: Vec<Value> = rows(&data)
        .filter_map(|w| {
            Some(json!({
                "wardCode": string(w, "WardCode")?,
                "districtId": int(w, "DistrictID").unwrap_or(district_id),
                "name": string(w, "WardName")?,
            }))
        })
        .collect();
    Ok(json!({ "wards": wards }))
}

fn with_default_service(mut body: Value) -> Value {
    if body.get("service_id").is_none() && body.get("service_type_id").is_none() {
        body["service_type_id"] = json!(LIGHT_GOODS);
    }
    body
}

fn bad_response(what: &str) -> Error {
    Error::new(ErrorKind::ProviderBadResponse, format!("GHN {what}")).with_request_sent(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_inputs_map_to_ghn_names() {
        let body = to_snake_fields(
            &json!({"toDistrictId": 1461, "codValue": 5, "ignored": 1, "coupon": null}),
            FEE_INPUTS,
        );
        assert_eq!(body, json!({"to_district_id": 1461, "cod_value": 5}));
    }

    #[test]
    fn total_fee_is_accepted_as_int_or_string() {
        for total in [json!(33000), json!("33000"), json!(33000.0)] {
            let out =
                created(&json!({"order_code": "A1", "total_fee": total}), "exec").expect("created");
            assert_eq!(out["totalFee"], 33000);
        }
        assert!(created(&json!({"total_fee": 1}), "exec").is_err());
    }

    #[test]
    fn a_service_type_is_always_sent() {
        assert_eq!(with_default_service(json!({}))["service_type_id"], 2);
        let chosen = with_default_service(json!({"service_id": 53320}));
        assert!(chosen.get("service_type_id").is_none());
    }
}
