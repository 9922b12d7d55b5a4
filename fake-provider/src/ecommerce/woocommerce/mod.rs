//! A fake WooCommerce store under `/woocommerce` (the store URL), REST API v3 at
//! `/wp-json/wc/v3/…` after it: `GET /orders`, `GET|PUT|POST /orders/{id}`,
//! `POST /orders/{id}/notes`, `GET /products`.
//!
//! Contract as WooCommerce documents it: HTTP Basic with the consumer key and secret (401
//! `woocommerce_rest_authentication_error` otherwise), errors as the WordPress REST error
//! `{code, message, data: {status}}` with WooCommerce's codes, `page`/`per_page` (1–100)
//! pagination answered with `X-WP-Total` and `X-WP-TotalPages`, status values checked against
//! WooCommerce's list. Throttling (a host's or plugin's limiter; WooCommerce's REST API has
//! none of its own) answers like WooCommerce's Store API limiter: 429 `rate_limit_exceeded`
//! with `RateLimit-Remaining: 0` and `RateLimit-Reset` as a Unix time.

mod store;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{basic_auth, page, query_map, Throttle};
use crate::state::State;
use store::Store;

/// The only consumer key and secret the fake accepts.
pub const CONSUMER_KEY: &str = "ck_fake0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8";
pub const CONSUMER_SECRET: &str = "cs_fake9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1";
/// Seeded orders: 101 processing and 102 completed (customer 7), 103 on-hold (a guest).
pub const ORDER_IDS: [i64; 3] = [101, 102, 103];
/// Order statuses WooCommerce accepts.
const STATUSES: &[&str] = &[
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
    "trash",
];

pub(crate) struct Woo {
    store: Store,
    throttle: Throttle,
}

impl Woo {
    pub(crate) fn seeded() -> Self {
        Self {
            store: Store::seeded(),
            throttle: Throttle::default(),
        }
    }
}

pub(crate) fn routes(st: Arc<Woo>) -> Router<Arc<State>> {
    Router::new()
        .route("/wp-json/wc/v3/orders", get(list_orders))
        .route(
            "/wp-json/wc/v3/orders/{id}",
            get(get_order).put(update_order).post(update_order),
        )
        .route("/wp-json/wc/v3/orders/{id}/notes", post(add_note))
        .route("/wp-json/wc/v3/products", get(list_products))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "rest_no_route",
                "No route was found matching the URL and request method.",
            )
        })
        .with_state(st)
}

pub(crate) fn control(st: Arc<Woo>) -> Router<Arc<State>> {
    Router::new()
        .route(
            "/throttle",
            post(
                |AxState(st): AxState<Arc<Woo>>, Json(b): Json<Value>| async move {
                    let times = b["times"].as_u64().unwrap_or(1);
                    st.throttle.set(
                        u32::try_from(times).unwrap_or(u32::MAX),
                        b["resetSecs"].as_u64().unwrap_or(1),
                    );
                    Json(json!({ "throttled": times }))
                },
            ),
        )
        .route(
            "/stats",
            get(|AxState(st): AxState<Arc<Woo>>| async move {
                let (notes, orders) = st.store.with(|s| (s.notes.len(), s.orders.len()));
                Json(json!({ "notes": notes, "orders": orders }))
            }),
        )
        .with_state(st)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"code": code, "message": message, "data": {"status": status.as_u16()}});
    (status, Json(body)).into_response()
}

/// `rest_invalid_param`, naming the parameter and why, as WordPress does.
fn invalid_param(name: &str, why: String) -> Response {
    let body = json!({
        "code": "rest_invalid_param",
        "message": format!("Invalid parameter(s): {name}"),
        "data": {"status": 400, "params": {name: why}, "details": {}},
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// Throttling first (a limiter answers before WordPress looks at the key), then the key.
fn admit(st: &Woo, headers: &HeaderMap) -> Result<(), Box<Response>> {
    if let Some(secs) = st.throttle.take() {
        let mut resp = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            &format!("Too many requests. Please wait {secs} seconds before trying again."),
        );
        let reset = chrono::Utc::now().timestamp() + i64::try_from(secs).unwrap_or(1);
        let h = resp.headers_mut();
        h.insert("ratelimit-limit", HeaderValue::from_static("25"));
        h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
        if let Ok(v) = HeaderValue::from_str(&reset.to_string()) {
            h.insert("ratelimit-reset", v);
        }
        return Err(Box::new(resp));
    }
    match basic_auth(headers) {
        Some((key, secret)) if key == CONSUMER_KEY && secret == CONSUMER_SECRET => Ok(()),
        Some((key, _)) if key == CONSUMER_KEY => Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_authentication_error",
            "Invalid signature - provided signature does not match.",
        ))),
        Some(_) => Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_authentication_error",
            "Consumer key is invalid.",
        ))),
        None => Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ))),
    }
}

/// `page` and `per_page` as WordPress checks them.
fn paging(q: &HashMap<String, String>) -> Result<(usize, usize), Box<Response>> {
    let number = |name: &str, default: usize, max: usize| match q.get(name) {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(Box::new(invalid_param(
                name,
                format!("{name} must be between 1 (inclusive) and {max} (inclusive)"),
            ))),
        },
    };
    Ok((number("page", 1, usize::MAX)?, number("per_page", 10, 100)?))
}

/// A page of `items` with WordPress's pagination headers.
fn paged(items: Vec<Value>, q: &HashMap<String, String>) -> Response {
    let (page_no, per_page) = match paging(q) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let total = items.len();
    let pages = total.div_ceil(per_page);
    let mut resp = Json(Value::Array(page(&items, page_no, per_page))).into_response();
    let h = resp.headers_mut();
    for (name, v) in [("x-wp-total", total), ("x-wp-totalpages", pages)] {
        if let Ok(v) = HeaderValue::from_str(&v.to_string()) {
            h.insert(name, v);
        }
    }
    resp
}

fn text_match(v: &Value, fields: &[&str], needle: &str) -> bool {
    let needle = needle.to_lowercase();
    fields.iter().any(|f| {
        v.pointer(f)
            .and_then(Value::as_str)
            .is_some_and(|s| s.to_lowercase().contains(&needle))
    })
}

async fn list_orders(
    AxState(st): AxState<Arc<Woo>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = admit(&st, &headers) {
        return *r;
    }
    let q = query_map(raw.as_deref());
    let mut orders = st.store.with(|s| s.orders_newest_first());
    if let Some(status) = q.get("status").filter(|s| s.as_str() != "any") {
        let wanted: Vec<&str> = status.split(',').collect();
        if let Some(bad) = wanted.iter().find(|s| !STATUSES.contains(s)) {
            return invalid_param(
                "status",
                format!("status[0] is not one of {bad}'s allowed values"),
            );
        }
        orders.retain(|o| wanted.iter().any(|w| o["status"] == *w));
    }
    if let Some(c) = q.get("customer") {
        let Ok(c) = c.parse::<i64>() else {
            return invalid_param("customer", "customer is not of type integer.".into());
        };
        orders.retain(|o| o["customer_id"] == c);
    }
    for (name, keep_after) in [("after", true), ("before", false)] {
        if let Some(v) = q.get(name) {
            let Ok(at) = chrono::DateTime::parse_from_rfc3339(v) else {
                return invalid_param(name, format!("Invalid date for {name}."));
            };
            // Seeded times are site time (UTC+7) without an offset.
            let local = (at.naive_utc() + chrono::Duration::hours(7))
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string();
            orders.retain(|o| {
                let created = o["date_created"].as_str().unwrap_or_default();
                if keep_after {
                    created > local.as_str()
                } else {
                    created < local.as_str()
                }
            });
        }
    }
    if let Some(s) = q.get("search") {
        orders.retain(|o| text_match(o, &["/billing/first_name", "/billing/email", "/number"], s));
    }
    paged(orders, &q)
}

fn order_id(raw: &str) -> Result<i64, Box<Response>> {
    raw.parse::<i64>().map_err(|_| {
        Box::new(error(
            StatusCode::NOT_FOUND,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        ))
    })
}

fn no_order() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "woocommerce_rest_shop_order_invalid_id",
        "Invalid ID.",
    )
}

async fn get_order(
    AxState(st): AxState<Arc<Woo>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = admit(&st, &headers) {
        return *r;
    }
    let id = match order_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match st.store.with(|s| s.orders.get(&id).cloned()) {
        Some(o) => Json(o).into_response(),
        None => no_order(),
    }
}

fn json_body(raw: &[u8]) -> Result<Value, Box<Response>> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "rest_invalid_json",
            "Invalid JSON body passed.",
        ))),
    }
}

/// A write to an order: admitted, its id from the path, its JSON body.
fn admitted_write(
    st: &Woo,
    headers: &HeaderMap,
    id: &str,
    raw: &[u8],
) -> Result<(i64, Value), Box<Response>> {
    admit(st, headers)?;
    Ok((order_id(id)?, json_body(raw)?))
}

async fn update_order(
    AxState(st): AxState<Arc<Woo>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Bytes,
) -> Response {
    let (id, body) = match admitted_write(&st, &headers, &id, &raw) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(status) = body.get("status") else {
        return match st.store.with(|s| s.orders.get(&id).cloned()) {
            Some(o) => Json(o).into_response(),
            None => no_order(),
        };
    };
    let status = status.as_str().unwrap_or_default();
    if !STATUSES.contains(&status) {
        return invalid_param(
            "status",
            format!("status is not one of {}.", STATUSES.join(", ")),
        );
    }
    match st.store.with(|s| s.set_status(id, status)) {
        Some(o) => Json(o).into_response(),
        None => no_order(),
    }
}

async fn add_note(
    AxState(st): AxState<Arc<Woo>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Bytes,
) -> Response {
    let (id, body) = match admitted_write(&st, &headers, &id, &raw) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Some(note) = body
        .get("note")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
    else {
        let body = json!({
            "code": "rest_missing_callback_param", "message": "Missing parameter(s): note",
            "data": {"status": 400, "params": ["note"]},
        });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    };
    let customer = body
        .get("customer_note")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let created = st.store.with(|s| {
        s.orders
            .contains_key(&id)
            .then(|| s.add_note(id, note, customer))
    });
    match created {
        Some(n) => (StatusCode::CREATED, Json(n)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "woocommerce_rest_order_invalid_id",
            "Invalid order ID.",
        ),
    }
}

async fn list_products(
    AxState(st): AxState<Arc<Woo>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = admit(&st, &headers) {
        return *r;
    }
    let q = query_map(raw.as_deref());
    let mut products = st.store.with(|s| s.products.clone());
    if let Some(status) = q.get("status").filter(|s| s.as_str() != "any") {
        products.retain(|p| p["status"] == status.as_str());
    }
    if let Some(sku) = q.get("sku") {
        products.retain(|p| p["sku"] == sku.as_str());
    }
    if let Some(s) = q.get("search") {
        products.retain(|p| text_match(p, &["/name", "/sku"], s));
    }
    paged(products, &q)
}
