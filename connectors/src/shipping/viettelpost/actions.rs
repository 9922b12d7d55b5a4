//! Viettel Post actions: camelCase inputs mapped to VTP's UPPER_CASE fields (places by VTP id),
//! VTP's answers normalized to the catalog's outputSchema.

use integrations_core::{Error, ErrorKind, Result};
use serde_json::{json, Map, Value};

use super::client::{Sender, VtpApi};
use crate::fields::{int, required_int, required_str, rows, string};
use crate::kit::{Action, ActionCall, Request};

const PRICE: &str = "/order/getPrice";
const PRICE_ALL: &str = "/order/getPriceAll";
const CREATE: &str = "/order/createOrder";
const UPDATE: &str = "/order/UpdateOrder";
const PROVINCES: &str = "/categories/listProvinceById";
const DISTRICTS: &str = "/categories/listDistrict";
const WARDS: &str = "/categories/listWards";
/// UpdateOrder's TYPE for cancelling.
const CANCEL_TYPE: i64 = 4;
/// Domestic, in getPrice's NATIONAL_TYPE.
const DOMESTIC: i64 = 1;

/// Master data VTP serves without a token (UNCONFIRMED: a rejection still renews and retries).
pub(crate) const PUBLIC: &[&str] = &["get_provinces", "get_districts", "get_wards"];

pub(crate) const TABLE: &[Action<VtpApi>] = &[
    Action {
        id: "calculate_price",
        run: |api, call| Box::pin(calculate_price(api, call)),
    },
    Action {
        id: "list_services",
        run: |api, call| Box::pin(list_services(api, call)),
    },
    Action {
        id: "create_order",
        run: |api, call| Box::pin(create_order(api, call)),
    },
    Action {
        id: "cancel_order",
        run: |api, call| Box::pin(cancel_order(api, call)),
    },
    Action {
        id: "get_provinces",
        run: |api, _| Box::pin(get_provinces(api)),
    },
    Action {
        id: "get_districts",
        run: |api, call| Box::pin(get_districts(api, call)),
    },
    Action {
        id: "get_wards",
        run: |api, call| Box::pin(get_wards(api, call)),
    },
];

fn bad_response(what: &str) -> Error {
    Error::new(
        ErrorKind::ProviderBadResponse,
        format!("Viettel Post answered without {what}"),
    )
    .with_request_sent(true)
}

fn sender_of(api: &VtpApi, input: &Value) -> Sender {
    let d = &api.config.sender;
    let s = input.get("sender").unwrap_or(&Value::Null);
    let text = |k: &str, def: &Option<String>| string(s, k).map(str::to_string).or(def.clone());
    Sender {
        name: text("name", &d.name),
        phone: text("phone", &d.phone),
        address: text("address", &d.address),
        province_id: int(s, "provinceId").or(d.province_id),
        district_id: int(s, "districtId").or(d.district_id),
        ward_id: int(s, "wardId").or(d.ward_id),
    }
}

fn need<T: Clone>(v: &Option<T>, name: &str) -> Result<T> {
    v.clone().ok_or_else(|| {
        Error::validation(format!(
            "Viettel Post needs the sender's {name}: set it in the input or the connection's sender"
        ))
    })
}

/// The route and parcel fields getPrice and getPriceAll share.
fn route_body(api: &VtpApi, input: &Value) -> Result<Map<String, Value>> {
    let sender = sender_of(api, input);
    let from_province = int(input, "senderProvinceId").or(sender.province_id);
    let from_district = int(input, "senderDistrictId").or(sender.district_id);
    let mut body = Map::new();
    body.insert(
        "SENDER_PROVINCE".into(),
        json!(need(&from_province, "provinceId")?),
    );
    body.insert(
        "SENDER_DISTRICT".into(),
        json!(need(&from_district, "districtId")?),
    );
    body.insert(
        "RECEIVER_PROVINCE".into(),
        json!(required_int(input, "receiverProvinceId")?),
    );
    body.insert(
        "RECEIVER_DISTRICT".into(),
        json!(required_int(input, "receiverDistrictId")?),
    );
    body.insert(
        "PRODUCT_TYPE".into(),
        json!(string(input, "productType").unwrap_or("HH")),
    );
    body.insert(
        "PRODUCT_WEIGHT".into(),
        json!(required_int(input, "weight")?),
    );
    body.insert(
        "PRODUCT_PRICE".into(),
        json!(int(input, "productPrice").unwrap_or(0)),
    );
    body.insert(
        "MONEY_COLLECTION".into(),
        json!(int(input, "codAmount").unwrap_or(0)),
    );
    Ok(body)
}

/// VTP's money fields as the catalog's fee fields.
fn fees(data: &Value, out: &mut Value) {
    for (from, to) in [
        ("MONEY_TOTAL", "total"),
        ("MONEY_FEE", "fee"),
        ("MONEY_COLLECTION_FEE", "collectionFee"),
        ("MONEY_VAT", "vat"),
    ] {
        if let Some(n) = int(data, from) {
            out[to] = json!(n.max(0));
        }
    }
    out["currency"] = json!("VND");
}

async fn calculate_price(api: &VtpApi, call: &ActionCall<'_>) -> Result<Value> {
    let service = required_str(call.input, "serviceCode")?;
    let mut body = route_body(api, call.input)?;
    body.insert("ORDER_SERVICE".into(), json!(service));
    body.insert(
        "ORDER_SERVICE_ADD".into(),
        json!(string(call.input, "extraServices").unwrap_or("")),
    );
    body.insert("NATIONAL_TYPE".into(), json!(DOMESTIC));
    let data = api
        .call(Request::post(PRICE).json(Value::Object(body)))
        .await?;
    if int(&data, "MONEY_TOTAL").is_none() {
        return Err(bad_response("MONEY_TOTAL"));
    }
    let mut out = json!({ "serviceCode": service, "fee": 0 });
    fees(&data, &mut out);
    let known = [
        "MONEY_TOTAL",
        "MONEY_FEE",
        "MONEY_COLLECTION_FEE",
        "MONEY_VAT",
    ];
    let breakdown: Map<String, Value> = data
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .filter_map(|(k, v)| crate::fields::as_int(v).map(|n| (k.clone(), json!(n))))
        .collect();
    out["breakdown"] = Value::Object(breakdown);
    Ok(out)
}

async fn list_services(api: &VtpApi, call: &ActionCall<'_>) -> Result<Value> {
    let mut body = route_body(api, call.input)?;
    body.insert("TYPE".into(), json!(1));
    let data = api
        .call(Request::post(PRICE_ALL).json(Value::Object(body)))
        .await?;
    let services: Vec<Value> = rows(&data)
        .filter_map(|s| {
            let mut out = json!({
                "serviceCode": string(s, "MA_DV_CHINH")?,
                "name": string(s, "TEN_DICHVU").unwrap_or_default(),
                "price": int(s, "GIA_CUOC").unwrap_or(0).max(0),
            });
            if let Some(t) = string(s, "THOI_GIAN") {
                out["deliveryTime"] = json!(t);
            }
            Some(out)
        })
        .collect();
    Ok(json!({ "services": services }))
}

fn order_body(api: &VtpApi, input: &Value) -> Result<Value> {
    let s = sender_of(api, input);
    let items: Vec<Value> = rows(input.get("items").unwrap_or(&Value::Null))
        .map(|i| {
            json!({
                "PRODUCT_NAME": string(i, "name").unwrap_or_default(),
                "PRODUCT_PRICE": int(i, "price").unwrap_or(0),
                "PRODUCT_WEIGHT": int(i, "weight").unwrap_or(0),
                "PRODUCT_QUANTITY": int(i, "quantity").unwrap_or(1),
            })
        })
        .collect();
    Ok(json!({
        "GROUPADDRESS_ID": api.config.group_address_id.unwrap_or(0),
        "CUS_ID": api.config.customer_id.unwrap_or(0),
        "SENDER_FULLNAME": need(&s.name, "name")?,
        "SENDER_ADDRESS": need(&s.address, "address")?,
        "SENDER_PHONE": need(&s.phone, "phone")?,
        "SENDER_PROVINCE": need(&s.province_id, "provinceId")?,
        "SENDER_DISTRICT": need(&s.district_id, "districtId")?,
        "SENDER_WARD": s.ward_id.unwrap_or(0),
        "RECEIVER_FULLNAME": required_str(input, "receiverName")?,
        "RECEIVER_ADDRESS": required_str(input, "receiverAddress")?,
        "RECEIVER_PHONE": required_str(input, "receiverPhone")?,
        "RECEIVER_PROVINCE": required_int(input, "receiverProvinceId")?,
        "RECEIVER_DISTRICT": required_int(input, "receiverDistrictId")?,
        "RECEIVER_WARDS": int(input, "receiverWardId").unwrap_or(0),
        "PRODUCT_NAME": required_str(input, "productName")?,
        "PRODUCT_DESCRIPTION": string(input, "productDescription").unwrap_or(""),
        "PRODUCT_QUANTITY": int(input, "productQuantity").unwrap_or(1),
        "PRODUCT_PRICE": int(input, "productPrice").unwrap_or(0),
        "PRODUCT_WEIGHT": required_int(input, "weight")?,
        "PRODUCT_LENGTH": int(input, "length").unwrap_or(0),
        "PRODUCT_WIDTH": int(input, "width").unwrap_or(0),
        "PRODUCT_HEIGHT": int(input, "height").unwrap_or(0),
        "PRODUCT_TYPE": string(input, "productType").unwrap_or("HH"),
        "ORDER_PAYMENT": int(input, "paymentMethod").unwrap_or(1),
        "ORDER_SERVICE": required_str(input, "serviceCode")?,
        "ORDER_SERVICE_ADD": string(input, "extraServices").unwrap_or(""),
        "ORDER_NOTE": string(input, "note").unwrap_or(""),
        "MONEY_COLLECTION": int(input, "codAmount").unwrap_or(0),
        "LIST_ITEM": items,
    }))
}

/// A repeated ORDER_NUMBER: VTP's wording and whether it returns the first order's data are
/// UNCONFIRMED; the fake answers code 205, "… đã tồn tại", and the first order as data.
fn is_duplicate(body: &Value) -> bool {
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    body.get("error").and_then(Value::as_bool) == Some(true)
        && (message.contains("đã tồn tại") || message.to_lowercase().contains("exist"))
}

async fn create_order(api: &VtpApi, call: &ActionCall<'_>) -> Result<Value> {
    let request = call.keyed(Request::post(CREATE).json(order_body(api, call.input)?))?;
    let reply = api.send(request).await?;
    let (data, already) = match reply.json("Viettel Post") {
        Ok(body) if is_duplicate(&body) => match body.get("data").filter(|d| d.is_object()) {
            Some(d) => (d.clone(), true),
            None => {
                return Err(Error::new(
                    ErrorKind::ProviderRejected,
                    "Viettel Post already has an order with this ORDER_NUMBER but did not say \
                     which; find it in the Viettel Post dashboard",
                )
                .with_request_sent(true))
            }
        },
        _ => (api.interpret(&reply)?, false),
    };
    let code = string(&data, "ORDER_NUMBER").ok_or_else(|| bad_response("ORDER_NUMBER"))?;
    let mut out = json!({
        "orderNumber": code,
        "partnerOrderNumber": call.execution_id,
        "alreadyExisted": already,
    });
    fees(&data, &mut out);
    for (from, to) in [
        ("MONEY_COLLECTION", "codAmount"),
        ("EXCHANGE_WEIGHT", "exchangeWeight"),
    ] {
        if let Some(n) = int(&data, from) {
            out[to] = json!(n.max(0));
        }
    }
    Ok(out)
}

async fn cancel_order(api: &VtpApi, call: &ActionCall<'_>) -> Result<Value> {
    let code = required_str(call.input, "orderNumber")?;
    let body = json!({
        "TYPE": CANCEL_TYPE,
        "ORDER_NUMBER": code,
        "NOTE": string(call.input, "note").unwrap_or("Hủy đơn"),
    });
    let (already, message) = match api.call(Request::post(UPDATE).json(body)).await {
        Ok(_) => (false, "OK".to_string()),
        // VTP has no status lookup here: "already cancelled" is recognised by its wording
        // (UNCONFIRMED), so a repeat succeeds.
        Err(e) if e.kind == ErrorKind::ProviderRejected && e.message.contains("đã hủy") => {
            (true, e.message)
        }
        Err(e) => return Err(e),
    };
    Ok(json!({
        "orderNumber": code,
        "status": "cancelled",
        "alreadyCancelled": already,
        "message": message,
    }))
}

async fn get_provinces(api: &VtpApi) -> Result<Value> {
    let data = api
        .call(Request::get(PROVINCES).query("provinceId", "-1"))
        .await?;
    let provinces: Vec<Value> = rows(&data)
        .filter_map(|p| {
            Some(json!({
                "provinceId": int(p, "PROVINCE_ID")?,
                "code": string(p, "PROVINCE_CODE").unwrap_or_default(),
                "name": string(p, "PROVINCE_NAME").unwrap_or_default(),
            }))
        })
        .collect();
    Ok(json!({ "provinces": provinces }))
}

async fn get_districts(api: &VtpApi, call: &ActionCall<'_>) -> Result<Value> {
    let province = required_int(call.input, "provinceId")?;
    let request = Request::get(DISTRICTS).query("provinceId", province.to_string());
    let data = api.call(request).await?;
    let districts: Vec<Value> = rows(&data)
        .filter_map(|d| {
            Some(json!({
                "districtId": int(d, "DISTRICT_ID")?,
                "provinceId": int(d, "PROVINCE_ID").unwrap_or(province),
                "code": string(d, "DISTRICT_VALUE").unwrap_or_default(),
                "name": string(d, "DISTRICT_NAME").unwrap_or_default(),
            }))
        })
        .collect();
    Ok(json!({ "districts": districts }))
}

async fn get_wards(api: &VtpApi, call: &ActionCall<'_>) -> Result<Value> {
    let district = required_int(call.input, "districtId")?;
    let request = Request::get(WARDS).query("districtId", district.to_string());
    let data = api.call(request).await?;
    let wards: Vec<Value> = rows(&data)
        .filter_map(|w| {
            Some(json!({
                "wardId": int(w, "WARDS_ID")?,
                "districtId": int(w, "DISTRICT_ID").unwrap_or(district),
                "name": string(w, "WARDS_NAME").unwrap_or_default(),
            }))
        })
        .collect();
    Ok(json!({ "wards": wards }))
}
