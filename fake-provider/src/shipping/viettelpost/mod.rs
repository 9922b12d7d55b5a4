//! A fake Viettel Post under `/viettelpost/v2`, the real paths after it (`/user/Login`,
//! `/order/createOrder`, …). Every answer is HTTP 200 with `{status, error, message, data}`:
//! 200 is success; a missing or unknown token answers 201, an expired one 202 (VTP's
//! documented codes are UNCONFIRMED: the connector treats both, and HTTP 401, as "renew");
//! business failures answer 205. `getPriceAll` answers a bare array, as VTP's does.
//! A repeated partner ORDER_NUMBER answers 205 with the first order's data.

mod auth;
pub(crate) mod store;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{control_error, valid_phone};
use crate::state::State;
use auth::{Check, Kind, Tokens};
use store::{Cancel, Order, Store, DISTRICTS, PROVINCES, SERVICES, WARDS};

/// The account the fake accepts.
pub const USERNAME: &str = "0987000111";
pub const PASSWORD: &str = "vtp-test-password";
/// VTP's "invalid data" result code, as the fake uses it for every business failure.
pub const BUSINESS_ERROR: i64 = 205;

/// What `GET /__viettelpost/stats` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VtpStats {
    /// Successful `user/Login` calls.
    pub logins: u64,
    /// Successful `user/ownerconnect` calls.
    pub token_exchanges: u64,
    /// Calls refused for a missing, unknown, expired or wrong-kind token.
    pub rejected_tokens: u64,
    pub orders: usize,
}

#[derive(Default)]
pub(crate) struct Vtp {
    tokens: Tokens,
    orders: Store,
}

pub(crate) fn routes(st: Arc<Vtp>) -> Router<Arc<State>> {
    Router::new()
        .route("/user/Login", post(login))
        .route("/user/ownerconnect", post(ownerconnect))
        .route("/categories/listProvinceById", get(provinces))
        .route("/categories/listDistrict", get(districts))
        .route("/categories/listWards", get(wards))
        .route("/order/getPrice", post(get_price))
        .route("/order/getPriceAll", post(get_price_all))
        .route("/order/createOrder", post(create_order))
        .route("/order/UpdateOrder", post(update_order))
        .fallback(|| async { fail(404, "Not Found") })
        .with_state(st)
}

pub(crate) fn control(st: Arc<Vtp>) -> Router<Arc<State>> {
    Router::new()
        .route("/stats", get(stats))
        .route(
            "/expire-tokens",
            post(|AxState(st): AxState<Arc<Vtp>>| async move {
                Json(json!({ "expired": st.tokens.expire_all() }))
            }),
        )
        .route("/orders/{code}/status", post(set_status))
        .with_state(st)
}

fn ok(data: Value) -> Response {
    Json(json!({"status": 200, "error": false, "message": "OK", "data": data})).into_response()
}

fn fail(status: i64, message: impl Into<String>) -> Response {
    Json(json!({"status": status, "error": true, "message": message.into(), "data": null}))
        .into_response()
}

fn business(message: impl Into<String>) -> Response {
    fail(BUSINESS_ERROR, message)
}

fn check_token(st: &Vtp, headers: &HeaderMap, want: Kind) -> Result<(), Box<Response>> {
    let token = headers
        .get("token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    match st.tokens.check(token, want) {
        Check::Valid => Ok(()),
        Check::Expired => Err(Box::new(fail(
            202,
            "Token đã hết hạn, vui lòng đăng nhập lại",
        ))),
        Check::Unknown | Check::WrongKind => Err(Box::new(fail(201, "Token không hợp lệ"))),
    }
}

fn parse(raw: &[u8]) -> Result<Map<String, Value>, Box<Response>> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Box::new(business("Dữ liệu không hợp lệ (JSON)"))),
    }
}

fn num(m: &Map<String, Value>, key: &str) -> Option<i64> {
    match m.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or("").trim()
}

fn credentials(m: &Map<String, Value>) -> bool {
    text(m, "USERNAME") == USERNAME && text(m, "PASSWORD") == PASSWORD
}

async fn login(AxState(st): AxState<Arc<Vtp>>, body: Bytes) -> Response {
    let m = match parse(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    if !credentials(&m) {
        return business("Tên đăng nhập hoặc mật khẩu không đúng");
    }
    let token = st.tokens.issue(Kind::Short);
    ok(json!({
        "userId": 7_001_234, "token": token, "partner": 7_001_234, "phone": USERNAME,
        "expired": expiry_ms(1), "encrypted": false, "source": -1,
    }))
}

async fn ownerconnect(AxState(st): AxState<Arc<Vtp>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_token(&st, &headers, Kind::Short) {
        return *r;
    }
    let m = match parse(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    if !credentials(&m) {
        return business("Tên đăng nhập hoặc mật khẩu không đúng");
    }
    let token = st.tokens.issue(Kind::Long);
    ok(json!({
        "userId": 7_001_234, "token": token, "partner": 7_001_234, "phone": USERNAME,
        "expired": expiry_ms(365), "encrypted": false, "source": -1,
    }))
}

fn expiry_ms(days: i64) -> i64 {
    (chrono::Utc::now() + chrono::Duration::days(days)).timestamp_millis()
}

async fn provinces(Query(q): Query<HashMap<String, String>>) -> Response {
    let id = q
        .get("provinceId")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(-1);
    ok(PROVINCES
        .iter()
        .filter(|p| id == -1 || p.0 == id)
        .map(|p| json!({"PROVINCE_ID": p.0, "PROVINCE_CODE": p.1, "PROVINCE_NAME": p.2}))
        .collect())
}

async fn districts(Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(id) = q.get("provinceId").and_then(|v| v.parse::<i64>().ok()) else {
        return business("provinceId là bắt buộc");
    };
    ok(DISTRICTS
        .iter()
        .filter(|d| d.1 == id)
        .map(|d| json!({"DISTRICT_ID": d.0, "DISTRICT_VALUE": d.2, "DISTRICT_NAME": d.3, "PROVINCE_ID": d.1}))
        .collect())
}

async fn wards(Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(id) = q.get("districtId").and_then(|v| v.parse::<i64>().ok()) else {
        return business("districtId là bắt buộc");
    };
    ok(WARDS
        .iter()
        .filter(|w| w.1 == id)
        .map(|w| json!({"WARDS_ID": w.0, "WARDS_NAME": w.2, "DISTRICT_ID": w.1}))
        .collect())
}

/// The route and parcel fields shared by the price calls and createOrder.
struct Route {
    same_province: bool,
    grams: i64,
    cod: i64,
}

fn route(m: &Map<String, Value>) -> Result<Route, Box<Response>> {
    let ends = ["SENDER", "RECEIVER"].map(|side| {
        (
            num(m, &format!("{side}_PROVINCE")).unwrap_or(0),
            num(m, &format!("{side}_DISTRICT")).unwrap_or(0),
        )
    });
    for (province, district) in ends {
        if !district_in(district, province) {
            return Err(Box::new(business(format!(
                "Không tìm thấy quận/huyện {district} thuộc tỉnh {province}"
            ))));
        }
    }
    let grams = num(m, "PRODUCT_WEIGHT").unwrap_or(0);
    if grams <= 0 {
        return Err(Box::new(business(
            "Trọng lượng (PRODUCT_WEIGHT) phải lớn hơn 0",
        )));
    }
    Ok(Route {
        same_province: ends[0].0 == ends[1].0,
        grams,
        cod: num(m, "MONEY_COLLECTION").unwrap_or(0).max(0),
    })
}

use store::district_in;

fn service(code: &str) -> Option<&'static (&'static str, &'static str, i64, &'static str)> {
    SERVICES.iter().find(|s| s.0 == code)
}

async fn get_price(AxState(st): AxState<Arc<Vtp>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_token(&st, &headers, Kind::Long) {
        return *r;
    }
    let m = match parse(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let r = match route(&m) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let Some(svc) = service(text(&m, "ORDER_SERVICE")) else {
        return business(format!(
            "Dịch vụ {} không tồn tại",
            text(&m, "ORDER_SERVICE")
        ));
    };
    ok(store::price(svc.2, r.same_province, r.grams, r.cod).to_json())
}

/// VTP answers this one with a bare array, not its envelope.
async fn get_price_all(
    AxState(st): AxState<Arc<Vtp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = check_token(&st, &headers, Kind::Long) {
        return *r;
    }
    let m = match parse(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let r = match route(&m) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let list: Vec<Value> = SERVICES
        .iter()
        .map(|s| {
            let p = store::price(s.2, r.same_province, r.grams, r.cod);
            json!({"MA_DV_CHINH": s.0, "TEN_DICHVU": s.1, "GIA_CUOC": p.total, "THOI_GIAN": s.3,
                   "EXCHANGE_WEIGHT": p.exchange_weight, "EXTRA_SERVICE": []})
        })
        .collect();
    Json(Value::Array(list)).into_response()
}

const RECEIVER_TEXT: &[&str] = &[
    "RECEIVER_FULLNAME",
    "RECEIVER_ADDRESS",
    "RECEIVER_PHONE",
    "PRODUCT_NAME",
];
const SENDER_TEXT: &[&str] = &["SENDER_FULLNAME", "SENDER_ADDRESS", "SENDER_PHONE"];

async fn create_order(AxState(st): AxState<Arc<Vtp>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_token(&st, &headers, Kind::Long) {
        return *r;
    }
    let m = match parse(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    if let Some(f) = RECEIVER_TEXT
        .iter()
        .chain(SENDER_TEXT)
        .find(|f| text(&m, f).is_empty())
    {
        return business(format!("{f} không được để trống"));
    }
    for f in ["RECEIVER_PHONE", "SENDER_PHONE"] {
        if !valid_phone(text(&m, f)) {
            return business(format!("{f} không hợp lệ"));
        }
    }
    let r = match route(&m) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    if !matches!(num(&m, "ORDER_PAYMENT"), Some(1..=4)) {
        return business("ORDER_PAYMENT không hợp lệ (1-4)");
    }
    let Some(svc) = service(text(&m, "ORDER_SERVICE")) else {
        return business(format!(
            "Dịch vụ {} không tồn tại",
            text(&m, "ORDER_SERVICE")
        ));
    };
    let partner = Some(text(&m, "ORDER_NUMBER").to_string()).filter(|p| !p.is_empty());
    let order = Order {
        code: st.orders.next_code(),
        partner: partner.clone(),
        status: store::NEW,
        price: store::price(svc.2, r.same_province, r.grams, r.cod),
        cod: r.cod,
        receiver: (
            num(&m, "RECEIVER_PROVINCE").unwrap_or(0),
            num(&m, "RECEIVER_DISTRICT").unwrap_or(0),
            num(&m, "RECEIVER_WARDS").unwrap_or(0),
        ),
    };
    match st.orders.insert(order.clone()) {
        Ok(()) => ok(order.to_json()),
        Err(first) => Json(json!({
            "status": BUSINESS_ERROR, "error": true,
            "message": format!("Mã đơn hàng ORDER_NUMBER {} đã tồn tại", partner.unwrap_or_default()),
            "data": first.to_json(),
        }))
        .into_response(),
    }
}

async fn update_order(AxState(st): AxState<Arc<Vtp>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_token(&st, &headers, Kind::Long) {
        return *r;
    }
    let m = match parse(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let code = text(&m, "ORDER_NUMBER");
    if num(&m, "TYPE") != Some(4) {
        return business("TYPE không được hỗ trợ");
    }
    match st.orders.cancel(code) {
        Cancel::Done => ok(Value::Null),
        Cancel::NotFound => business(format!("Không tìm thấy đơn hàng {code}")),
        Cancel::AlreadyCancelled => business(format!("Đơn hàng {code} đã hủy")),
        Cancel::PickedUp(s) => business(format!("Đơn hàng {code} ở trạng thái {s}, không thể hủy")),
    }
}

async fn stats(AxState(st): AxState<Arc<Vtp>>) -> Response {
    Json(VtpStats {
        logins: st.tokens.logins.load(Ordering::Relaxed),
        token_exchanges: st.tokens.exchanges.load(Ordering::Relaxed),
        rejected_tokens: st.tokens.rejected.load(Ordering::Relaxed),
        orders: st.orders.count(),
    })
    .into_response()
}

async fn set_status(
    AxState(st): AxState<Arc<Vtp>>,
    Path(code): Path<String>,
    body: Bytes,
) -> Response {
    let status = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("status").and_then(Value::as_i64));
    let Some(status) = status else {
        return control_error("body must be {\"status\": <VTP ORDER_STATUS>}");
    };
    match st.orders.set_status(&code, status) {
        Ok(()) => Json(json!({ "orderNumber": code, "status": status })).into_response(),
        Err(e) => control_error(e),
    }
}
