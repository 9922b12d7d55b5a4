//! A fake GHTK (Giao Hang Tiet Kiem) under `/ghtk`, the real paths after it
//! (`/services/shipment/…`). GHTK answers HTTP 200 for business failures, with
//! `{success: false, message}`; a repeated `order.id` answers `ORDER_ID_EXIST` with the first
//! order's label (the connector's idempotency relies on it). Handlers never await, so no lock
//! is held across an await.

pub(crate) mod store;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::{control_error, now_vn, valid_phone};
use crate::state::State;
use store::{Cancel, Order, Store};

/// The token the fake accepts.
pub const TOKEN: &str = "ghtk-test-token";
/// Provinces the fake delivers to (GHTK takes names, not ids).
pub const PROVINCES: &[&str] = &["Hà Nội", "Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ"];
/// The most cash GHTK collects on delivery.
const MAX_PICK_MONEY: i64 = 20_000_000;

#[derive(Default)]
pub(crate) struct Ghtk {
    orders: Store,
}

pub(crate) fn routes(st: Arc<Ghtk>) -> Router<Arc<State>> {
    Router::new()
        .route("/services/shipment/fee", get(fee))
        .route("/services/shipment/order", post(create))
        .route("/services/shipment/order/", post(create))
        .route("/services/shipment/v2/{label}", get(detail))
        .route("/services/shipment/cancel/{label}", post(cancel))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(json!({"success": false, "message": "Not Found"})),
            )
        })
        .with_state(st)
}

pub(crate) fn control(st: Arc<Ghtk>) -> Router<Arc<State>> {
    Router::new()
        .route("/orders/{label}/status", post(set_status))
        .route(
            "/stats",
            get(|AxState(st): AxState<Arc<Ghtk>>| async move {
                Json(json!({ "orders": st.orders.count() }))
            }),
        )
        .with_state(st)
}

/// GHTK's failure: HTTP 200 with `success: false`.
fn fail(message: impl Into<String>) -> Response {
    Json(json!({ "success": false, "message": message.into() })).into_response()
}

fn check_token(headers: &HeaderMap) -> Result<(), Box<Response>> {
    match headers
        .get("token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    {
        Some(TOKEN) => Ok(()),
        None | Some("") => Err(Box::new(fail("Token không được để trống"))),
        Some(_) => Err(Box::new(fail("Token không hợp lệ"))),
    }
}

fn known_province(name: &str) -> bool {
    PROVINCES
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name.trim()))
}

/// Deterministic, so tests can assert exact values: 22,000 within a province, 30,000 across,
/// +2,500 per started 500 g above 500 g, +20 % by air across provinces; insurance 0.5 % of a
/// declared value above 1,000,000.
pub fn quote(pick_province: &str, province: &str, grams: i64, value: i64, fly: bool) -> (i64, i64) {
    let same = pick_province.trim().eq_ignore_ascii_case(province.trim());
    let mut fee = if same { 22_000 } else { 30_000 };
    fee += 2_500 * (((grams - 500).max(0) + 499) / 500);
    if fly && !same {
        fee += fee / 5;
    }
    let insurance = if value > 1_000_000 { value / 200 } else { 0 };
    (fee, insurance)
}

async fn fee(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Err(r) = check_token(&headers) {
        return *r;
    }
    for field in [
        "pick_province",
        "pick_district",
        "province",
        "district",
        "weight",
    ] {
        if q.get(field).is_none_or(|v| v.trim().is_empty()) {
            return fail(format!("Thiếu tham số {field}"));
        }
    }
    let Some(grams) = q.get("weight").and_then(|w| w.parse::<f64>().ok()) else {
        return fail("weight phải là số");
    };
    let value = q
        .get("value")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    let (pick, to) = (&q["pick_province"], &q["province"]);
    for p in [pick, to] {
        if !known_province(p) {
            return fail(format!("Không hỗ trợ tỉnh/thành phố {p}"));
        }
    }
    let fly = q.get("transport").map(String::as_str) == Some("fly");
    let (fee, insurance) = quote(pick, to, grams.ceil() as i64, value, fly);
    Json(json!({
        "success": true,
        "message": "",
        "fee": {
            "name": if pick.eq_ignore_ascii_case(to) { "area1" } else { "area2" },
            "fee": fee, "insurance_fee": insurance, "include_vat": 0, "cost_id": 0,
            "delivery_type": "", "a": 0, "dt": "local", "extFees": [], "delivery": true,
        }
    }))
    .into_response()
}

const ORDER_STRINGS: &[&str] = &[
    "id",
    "pick_name",
    "pick_address",
    "pick_province",
    "pick_district",
    "pick_tel",
    "tel",
    "name",
    "address",
    "province",
    "district",
    "hamlet",
];

fn int_field(order: &Map<String, Value>, field: &str) -> Option<i64> {
    match order.get(field)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

async fn create(AxState(st): AxState<Arc<Ghtk>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_token(&headers) {
        return *r;
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return fail("Dữ liệu gửi lên không đúng định dạng JSON");
    };
    let Some(Value::Object(order)) = body.get("order") else {
        return fail("Thiếu thông tin đơn hàng (order)");
    };
    let products = match body.get("products") {
        Some(Value::Array(p)) if !p.is_empty() => p,
        _ => return fail("Thiếu thông tin sản phẩm (products)"),
    };
    let mut grams = 0.0;
    for (i, p) in products.iter().enumerate() {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("");
        let Some(kg) = p.get("weight").and_then(Value::as_f64).filter(|w| *w > 0.0) else {
            return fail(format!(
                "Sản phẩm {i}: khối lượng (weight, kg) không hợp lệ"
            ));
        };
        if name.trim().is_empty() {
            return fail(format!("Sản phẩm {i}: thiếu tên sản phẩm"));
        }
        let qty = p.get("quantity").and_then(Value::as_f64).unwrap_or(1.0);
        grams += kg * 1000.0 * qty;
    }
    let text = |f: &str| order.get(f).and_then(Value::as_str).unwrap_or("").trim();
    if let Some(f) = ORDER_STRINGS.iter().find(|f| text(f).is_empty()) {
        return fail(format!("Trường order.{f} không được để trống"));
    }
    let (Some(pick_money), Some(value)) =
        (int_field(order, "pick_money"), int_field(order, "value"))
    else {
        return fail("order.pick_money và order.value là bắt buộc");
    };
    if !valid_phone(text("tel")) {
        return fail("Số điện thoại người nhận không hợp lệ");
    }
    if !(0..=MAX_PICK_MONEY).contains(&pick_money) {
        return fail("Tiền thu hộ (pick_money) tối đa 20.000.000đ");
    }
    for p in ["pick_province", "province"] {
        if !known_province(text(p)) {
            return fail(format!("Không hỗ trợ tỉnh/thành phố {}", text(p)));
        }
    }
    for (field, allowed) in [
        ("transport", &["road", "fly"][..]),
        ("pick_option", &["cod", "post"]),
        ("deliver_option", &["xteam", "none"]),
    ] {
        if order.get(field).is_some() && !allowed.contains(&text(field)) {
            return fail(format!("order.{field} không hợp lệ"));
        }
    }
    let fly = text("transport") == "fly";
    let (fee, insurance_fee) = quote(
        text("pick_province"),
        text("province"),
        grams.ceil() as i64,
        value,
        fly,
    );
    let tracking_id = st.orders.next_tracking_id();
    let today = chrono::Utc::now() + chrono::Duration::hours(7);
    let order = Order {
        label: format!("S1.A1.{tracking_id}"),
        partner_id: text("id").to_string(),
        status: 2,
        created: now_vn(),
        modified: now_vn(),
        fee,
        insurance_fee,
        value,
        weight_grams: grams.ceil() as i64,
        pick_money,
        pick_date: today.format("%Y-%m-%d").to_string(),
        deliver_date: (today + chrono::Duration::days(2))
            .format("%Y-%m-%d")
            .to_string(),
    };
    if let Err(first) = st.orders.insert(order.clone()) {
        return Json(json!({
            "success": false,
            "message": format!("Mã đơn hàng {} đã tồn tại", first.partner_id),
            "error": {
                "code": "ORDER_ID_EXIST",
                "partner_id": first.partner_id,
                "ghtk_label": first.label,
                "created": first.created,
                "status": first.status,
            }
        }))
        .into_response();
    }
    // GHTK's sample answer sends area and fees as strings.
    Json(json!({
        "success": true,
        "message": "Các đơn hàng đã được add thành công",
        "order": {
            "partner_id": order.partner_id,
            "label": order.label,
            "area": if fee >= 30_000 { "2" } else { "1" },
            "fee": fee.to_string(),
            "insurance_fee": insurance_fee.to_string(),
            "estimated_pick_time": format!("Sáng {}", order.pick_date),
            "estimated_deliver_time": format!("Chiều {}", order.deliver_date),
            "products": [],
            "status_id": order.status,
            "tracking_id": tracking_id,
            "sorting_code": "HN-01",
        }
    }))
    .into_response()
}

async fn detail(
    AxState(st): AxState<Arc<Ghtk>>,
    headers: HeaderMap,
    Path(label): Path<String>,
) -> Response {
    if let Err(r) = check_token(&headers) {
        return *r;
    }
    match st.orders.get(&label) {
        Some(o) => {
            Json(json!({"success": true, "message": "", "order": o.detail()})).into_response()
        }
        None => fail(format!("Không tìm thấy đơn hàng {label}")),
    }
}

async fn cancel(
    AxState(st): AxState<Arc<Ghtk>>,
    headers: HeaderMap,
    Path(label): Path<String>,
) -> Response {
    if let Err(r) = check_token(&headers) {
        return *r;
    }
    match st.orders.cancel(&label) {
        Cancel::Done => Json(json!({
            "success": true,
            "message": "",
            "log_id": format!("log-{}", st.orders.next_tracking_id()),
        }))
        .into_response(),
        Cancel::NotFound => fail(format!("Không tìm thấy đơn hàng {label}")),
        Cancel::AlreadyCancelled => fail("Đơn hàng đã bị hủy"),
        Cancel::NotAllowed(s) => fail(format!(
            "Không thể hủy đơn hàng ở trạng thái {}",
            store::status_text(s)
        )),
    }
}

async fn set_status(
    AxState(st): AxState<Arc<Ghtk>>,
    Path(label): Path<String>,
    body: Bytes,
) -> Response {
    let status = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("status").and_then(Value::as_i64));
    let Some(status) = status else {
        return control_error("body must be {\"status\": <GHTK status id>}");
    };
    match st.orders.set_status(&label, status) {
        Ok(()) => Json(json!({ "label": label, "status": status })).into_response(),
        Err(e) => control_error(e),
    }
}
