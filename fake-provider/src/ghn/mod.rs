//! The GHN endpoints, under `/shiip/public-api`. Handlers are plain synchronous functions:
//! they never await, so no lock is ever held across an await.

pub mod fee;
pub mod master_data;

pub(crate) mod body;
mod rules;
pub(crate) mod store;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use serde_json::{json, Value};

use crate::state::State;
use body::{opt, req, success, Body, Field, GhnError, Kind};
use master_data::{DISTRICTS, PROVINCES, WARDS};
use rules::{check_route, check_service, parcel, valid_phone};
pub use store::STATUSES;

type Handler = fn(&State, &HeaderMap, &[u8]) -> Result<Value, GhnError>;

/// GHN's service ids for light (type 2) and heavy (type 5) goods.
pub const SERVICES: &[(i64, &str, i64)] = &[(53320, "Hàng nhẹ", 2), (100039, "Hàng nặng", 5)];

pub(crate) fn routes() -> Router<Arc<State>> {
    Router::new()
        .route("/master-data/province", endpoint(province))
        .route("/master-data/district", endpoint(district))
        .route("/master-data/ward", endpoint(ward))
        .route(
            "/v2/shipping-order/available-services",
            endpoint(available_services),
        )
        .route("/v2/shipping-order/fee", endpoint(calculate_fee))
        .route("/v2/shipping-order/create", endpoint(create_order))
        .route("/v2/shipping-order/detail", endpoint(detail))
        .route(
            "/v2/shipping-order/detail-by-client-code",
            endpoint(detail_by_client_code),
        )
        .route("/v2/switch-status/cancel", endpoint(cancel))
        .fallback(|| async {
            let mut e = GhnError::bad_request("Not Found", "USER_ERR_COMMON");
            e.status = axum::http::StatusCode::NOT_FOUND;
            e.into_response()
        })
}

/// GHN documents every endpoint as "post/get".
fn endpoint(h: Handler) -> MethodRouter<Arc<State>> {
    on(
        MethodFilter::GET.or(MethodFilter::POST),
        move |AxState(st): AxState<Arc<State>>, headers: HeaderMap, body: Bytes| async move {
            match h(&st, &headers, &body) {
                Ok(data) => success(data),
                Err(e) => e.into_response(),
            }
        },
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn check_token(st: &State, headers: &HeaderMap) -> Result<(), GhnError> {
    match header(headers, "token").map(str::trim) {
        None | Some("") => Err(GhnError::unauthorized("Token is required!")),
        Some(t) if t != st.token => Err(GhnError::unauthorized("Token is not valid!")),
        Some(_) => Ok(()),
    }
}

/// Order and fee calls also need the shop, in the `ShopId` header.
fn check_shop(st: &State, headers: &HeaderMap) -> Result<(), GhnError> {
    let raw = header(headers, "shopid").unwrap_or("");
    match raw.trim().parse::<i64>() {
        Ok(id) if id == st.shop_id => Ok(()),
        _ => Err(GhnError::bad_request(
            format!(
                "ShopID is invalid: Lỗi gọi API: corev2_tenant_shop - Shop ID is invalid: {raw}"
            ),
            "SHOP_NOT_FOUND",
        )),
    }
}

fn province(st: &State, headers: &HeaderMap, _body: &[u8]) -> Result<Value, GhnError> {
    check_token(st, headers)?;
    Ok(PROVINCES
        .iter()
        .map(|p| json!({ "ProvinceID": p.id, "ProvinceName": p.name, "Code": p.code, "NameExtension": [p.name] }))
        .collect())
}

fn district(st: &State, headers: &HeaderMap, raw: &[u8]) -> Result<Value, GhnError> {
    check_token(st, headers)?;
    let b = Body::parse(raw, "GetDistrictRequest", &[opt("province_id", Kind::Int)])?;
    let province = b.int("province_id");
    Ok(DISTRICTS
        .iter()
        .filter(|d| province.is_none_or(|p| p == d.province_id))
        .map(|d| {
            json!({
                "DistrictID": d.id, "ProvinceID": d.province_id, "DistrictName": d.name,
                "Code": d.code, "Type": 1, "SupportType": 3, "NameExtension": [d.name],
                "CanUpdateCOD": false, "Status": 1,
            })
        })
        .collect())
}

fn ward(st: &State, headers: &HeaderMap, raw: &[u8]) -> Result<Value, GhnError> {
    check_token(st, headers)?;
    let b = Body::parse(raw, "GetWardRequest", &[req("district_id", Kind::Int)])?;
    let district = b.int("district_id");
    Ok(WARDS
        .iter()
        .filter(|w| Some(w.district_id) == district)
        .map(|w| json!({ "WardCode": w.code, "DistrictID": w.district_id, "WardName": w.name, "NameExtension": [w.name] }))
        .collect())
}

fn available_services(st: &State, headers: &HeaderMap, raw: &[u8]) -> Result<Value, GhnError> {
    check_token(st, headers)?;
    let fields = [
        req("shop_id", Kind::Int),
        req("from_district", Kind::Int),
        req("to_district", Kind::Int),
    ];
    let b = Body::parse(raw, "GetServiceRequest", &fields)?;
    if b.int("shop_id") != Some(st.shop_id) {
        return Err(GhnError::bad_request(
            "ShopID is invalid: Lỗi gọi API: corev2_tenant_shop - Shop ID is invalid",
            "SHOP_NOT_FOUND",
        ));
    }
    check_route(b.int("from_district"), None, b.int("to_district"), None)?;
    Ok(SERVICES
        .iter()
        .map(
            |(id, name, ty)| json!({ "service_id": id, "short_name": name, "service_type_id": ty }),
        )
        .collect())
}

const FEE_FIELDS: &[Field] = &[
    opt("service_id", Kind::Int),
    opt("service_type_id", Kind::Int),
    opt("from_district_id", Kind::Int),
    opt("from_ward_code", Kind::Str),
    req("to_district_id", Kind::Int),
    opt("to_ward_code", Kind::Str),
    req("weight", Kind::Int),
    opt("length", Kind::Int),
    opt("width", Kind::Int),
    opt("height", Kind::Int),
    opt("insurance_value", Kind::Int),
    opt("cod_failed_amount", Kind::Int),
    opt("cod_value", Kind::Int),
    opt("coupon", Kind::Str),
    opt("items", Kind::ObjArray),
];

fn calculate_fee(st: &State, headers: &HeaderMap, raw: &[u8]) -> Result<Value, GhnError> {
    check_token(st, headers)?;
    check_shop(st, headers)?;
    let b = Body::parse(raw, "CalculateFeeRequest", FEE_FIELDS)?;
    check_service(&b, "CalculateFeeRequest")?;
    let from = b
        .int("from_district_id")
        .unwrap_or(master_data::SHOP_DISTRICT_ID);
    check_route(
        Some(from),
        b.str("from_ward_code"),
        b.int("to_district_id"),
        b.str("to_ward_code"),
    )?;
    let q = fee::quote(&parcel(&b, from)?);
    Ok(json!({
        "total": q.total, "service_fee": q.service_fee, "insurance_fee": q.insurance_fee,
        "pick_station_fee": 0, "coupon_value": 0, "r2s_fee": 0, "return_again_fee": 0,
        "document_return": 0, "double_check": 0, "cod_fee": 0, "pick_remote_areas_fee": 0,
        "deliver_remote_areas_fee": 0, "cod_failed_fee": 0,
    }))
}

const CREATE_FIELDS: &[Field] = &[
    req("payment_type_id", Kind::Int),
    req("required_note", Kind::Str),
    opt("note", Kind::Str),
    opt("client_order_code", Kind::Str),
    opt("from_name", Kind::Str),
    opt("from_phone", Kind::Str),
    opt("from_address", Kind::Str),
    opt("from_ward_name", Kind::Str),
    opt("from_district_name", Kind::Str),
    opt("from_province_name", Kind::Str),
    opt("return_phone", Kind::Str),
    opt("return_address", Kind::Str),
    opt("return_district_id", Kind::Int),
    opt("return_ward_code", Kind::Str),
    req("to_name", Kind::Str),
    req("to_phone", Kind::Str),
    req("to_address", Kind::Str),
    req("to_ward_code", Kind::Str),
    req("to_district_id", Kind::Int),
    opt("to_province_name", Kind::Str),
    opt("cod_amount", Kind::Int),
    opt("content", Kind::Str),
    req("weight", Kind::Int),
    opt("length", Kind::Int),
    opt("width", Kind::Int),
    opt("height", Kind::Int),
    opt("pick_station_id", Kind::Int),
    opt("insurance_value", Kind::Int),
    opt("service_id", Kind::Int),
    opt("service_type_id", Kind::Int),
    opt("coupon", Kind::Str),
    req("items", Kind::ObjArray),
];

const ITEM_FIELDS: &[Field] = &[
    req("name", Kind::Str),
    opt("code", Kind::Str),
    req("quantity", Kind::Int),
    opt("price", Kind::Int),
    opt("length", Kind::Int),
    opt("width", Kind::Int),
    opt("height", Kind::Int),
    opt("weight", Kind::Int),
    opt("category", Kind::Object),
];

const REQUIRED_NOTES: &[&str] = &["CHOTHUHANG", "CHOXEMHANGKHONGTHU", "KHONGCHOXEMHANG"];

fn create_order(st: &State, headers: &HeaderMap, raw: &[u8]) -> Result<Value, GhnError> {
    check_token(st, headers)?;
    check_shop(st, headers)?;
    let b = Body::parse(raw, "CreateOrderRequest", CREATE_FIELDS)?;
    for (i, item) in b.array("items").iter().enumerate() {
        if let Value::Object(item) = item {
            let name = format!("CreateOrderRequest.Items[{i}]");
            body::check_fields(item, &name, ITEM_FIELDS)?;
        }
    }
    check_service(&b, "CreateOrderRequest")?;
    if !b
        .str("required_note")
        .is_some_and(|n| REQUIRED_NOTES.contains(&n))
    {
        return Err(GhnError::bad_request(
            "Sai thông tin Required Note",
            "USER_ERR_COMMON",
        ));
    }
    if !matches!(b.int("payment_type_id"), Some(1 | 2)) {
        return Err(GhnError::bad_request(
            "Sai thông tin PaymentTypeID",
            "USER_ERR_COMMON",
        ));
    }
    if !b.str("to_phone").is_some_and(valid_phone) {
        return Err(GhnError::bad_request(
            "Số điện thoại không hợp lệ",
            "PHONE_INVALID",
        ));
    }
    if !(0..=50_000_000).contains(&b.int("cod_amount").unwrap_or(0)) {
        return Err(GhnError::bad_request(
            "Tiền thu hộ vượt quá 50.000.000",
            "USER_ERR_COMMON",
        ));
    }
    let client_order_code = b.str("client_order_code").map(str::to_string);
    if client_order_code
        .as_ref()
        .is_some_and(|c| c.chars().count() > 50)
    {
        return Err(GhnError::bad_request(
            "client_order_code dài quá 50 ký tự",
            "USER_ERR_COMMON",
        ));
    }
    let from = master_data::SHOP_DISTRICT_ID;
    let to = b.int("to_district_id");
    check_route(Some(from), None, to, b.str("to_ward_code"))?;
    let parcel = parcel(&b, from)?;
    let q = fee::quote(&parcel);

    let code = st.orders.next_code();
    let sort_code = format!("{}-{}-{}", to.unwrap_or(0) % 100, &code[2..5], &code[5..]);
    let created = store::now();
    let leadtime = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%dT23:59:59Z")
        .to_string();
    let mut request = b.into_map();
    request.remove("client_order_code");
    let order = store::Order {
        code: code.clone(),
        client_order_code: client_order_code.clone(),
        status: "ready_to_pick".into(),
        log: Vec::new(),
        request,
        sort_code: sort_code.clone(),
        converted_weight: fee::converted_weight(&parcel),
        created: created.clone(),
        updated: created,
        leadtime: leadtime.clone(),
    };
    if st.orders.insert(order).is_err() {
        return Err(GhnError::bad_request(
            format!(
                "Mã đơn hàng riêng của shop (client_order_code) {} đã tồn tại",
                client_order_code.unwrap_or_default()
            ),
            "USER_ERR_COMMON",
        ));
    }
    Ok(json!({
        "order_code": code,
        "sort_code": sort_code,
        "trans_type": "truck",
        "ward_encode": "",
        "district_encode": "",
        "fee": {
            "main_service": q.service_fee, "insurance": q.insurance_fee, "station_do": 0,
            "station_pu": 0, "return": 0, "r2s": 0, "coupon": 0, "cod_failed_fee": 0,
        },
        // GHN's documented sample sends the total as a string.
        "total_fee": q.total.to_string(),
        "expected_delivery_time": leadtime,
    }))
}

fn detail(st: &State, headers: &HeaderMap, raw: &[u8]) -> Result<Value, GhnError> {
    check_token(st, headers)?;
    let b = Body::parse(raw, "OrderDetailRequest", &[req("order_code", Kind::Str)])?;
    let code = b.str("order_code").unwrap_or_default();
    st.orders
        .detail(code, st.shop_id)
        .ok_or_else(GhnError::order_not_found)
}

/// GHN's official sample answers this one with an array.
fn detail_by_client_code(st: &State, headers: &HeaderMap, raw: &[u8]) -> Result<Value, GhnError> {
    check_token(st, headers)?;
    let fields = [req("client_order_code", Kind::Str)];
    let b = Body::parse(raw, "OrderDetailByClientCodeRequest", &fields)?;
    let code = b.str("client_order_code").unwrap_or_default();
    st.orders
        .detail_by_client(code, st.shop_id)
        .map(|o| json!([o]))
        .ok_or_else(GhnError::order_not_found)
}

fn cancel(st: &State, headers: &HeaderMap, raw: &[u8]) -> Result<Value, GhnError> {
    check_token(st, headers)?;
    check_shop(st, headers)?;
    let b = Body::parse(
        raw,
        "CancelOrderRequest",
        &[req("order_codes", Kind::StrArray)],
    )?;
    Ok(b.array("order_codes")
        .iter()
        .filter_map(Value::as_str)
        .map(|code| {
            let outcome = st.orders.cancel(code);
            json!({ "order_code": code, "result": outcome.result, "message": outcome.message })
        })
        .collect())
}
