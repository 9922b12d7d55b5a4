//! One fake Shopify-style Admin API, the shape Sapo and Haravan share, parameterized by the
//! platform's path root, auth, call-limit header and bucket: `GET {root}/orders.json`,
//! `GET {root}/orders/count.json`, `GET|PUT {root}/orders/{id}.json`,
//! `POST {root}/orders/{id}/fulfillments.json`, `GET {root}/products.json`,
//! `GET {root}/products/{id}.json`.
//!
//! Contract: resources wrapped in their name; `page`/`limit` (1–250) pagination; errors as
//! `{"errors": "…"}` (401, 404, 429) or `{"errors": {"field": ["…"]}}` (400, 422); a leaky
//! bucket per shop reported on every answer as `X-<Platform>-Api-Call-Limit: used/size`, a
//! full bucket answered 429 with `Retry-After`.

pub(crate) mod store;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::shopify::oauth::OAuth;
use super::{page, query_map, LeakyBucket};
use crate::faults::lock;
use crate::state::State;
use store::{Refused, Shop};

/// What differs between the platforms.
pub(crate) struct Platform {
    /// Path root of the resources: `/admin` (Sapo), `/com` (Haravan).
    pub root: &'static str,
    /// The call-limit header, lowercase.
    pub limit_header: &'static str,
    pub bucket_size: u32,
    pub leak_per_sec: f64,
    /// Whether the request carries the platform's credentials (tokens issued by the
    /// platform's OAuth, when it has one).
    pub authorized: fn(&HeaderMap, Option<&OAuth>) -> bool,
}

pub(crate) struct AdminShop {
    platform: &'static Platform,
    oauth: Option<Arc<OAuth>>,
    shop: Mutex<Shop>,
    bucket: LeakyBucket,
}

impl AdminShop {
    pub(crate) fn new(platform: &'static Platform) -> Self {
        Self {
            platform,
            oauth: None,
            shop: Mutex::new(Shop::seeded()),
            bucket: LeakyBucket::new(platform.bucket_size, platform.leak_per_sec),
        }
    }

    /// The shop whose API takes the tokens `oauth` issued.
    pub(crate) fn with_oauth(platform: &'static Platform, oauth: Arc<OAuth>) -> Self {
        Self {
            oauth: Some(oauth),
            ..Self::new(platform)
        }
    }
}

type St = AxState<Arc<AdminShop>>;

pub(crate) fn routes(st: Arc<AdminShop>) -> Router<Arc<State>> {
    let root = st.platform.root;
    Router::new()
        .route(&format!("{root}/orders.json"), get(list_orders))
        .route(&format!("{root}/orders/count.json"), get(count_orders))
        .route(
            &format!("{root}/orders/{{file}}"),
            get(get_order).put(update_order),
        )
        .route(
            &format!("{root}/orders/{{id}}/fulfillments.json"),
            post(fulfil),
        )
        .route(&format!("{root}/products.json"), get(list_products))
        .route(&format!("{root}/products/{{file}}"), get(get_product))
        .fallback(|| async { errors(StatusCode::NOT_FOUND, json!("Not Found")) })
        .with_state(st)
}

/// `POST …/bucket {"level": n}`: fill the shop's bucket (a full one throttles the next call);
/// `GET …/stats`: `{"fulfillments": n, "bucket": level}`.
pub(crate) fn control(st: Arc<AdminShop>) -> Router<Arc<State>> {
    Router::new()
        .route(
            "/bucket",
            post(|AxState(st): St, Json(b): Json<Value>| async move {
                st.bucket.fill(b["level"].as_f64().unwrap_or(0.0));
                Json(json!({ "level": st.bucket.level() }))
            }),
        )
        .route(
            "/stats",
            get(|AxState(st): St| async move {
                let fulfillments: usize = lock(&st.shop)
                    .orders
                    .values()
                    .map(|o| o["fulfillments"].as_array().map_or(0, Vec::len))
                    .sum();
                Json(json!({ "fulfillments": fulfillments, "bucket": st.bucket.level() }))
            }),
        )
        .with_state(st)
}

fn errors(status: StatusCode, errors: Value) -> Response {
    (status, Json(json!({ "errors": errors }))).into_response()
}

/// The bucket first (it counts refused calls too, as the platforms do), then the credentials;
/// every answer carries the bucket's level.
fn admit(st: &AdminShop, headers: &HeaderMap) -> Result<HeaderValue, Box<Response>> {
    let p = st.platform;
    let admitted = st.bucket.take();
    let used = HeaderValue::from_str(&format!("{}/{}", st.bucket.used(), p.bucket_size))
        .unwrap_or(HeaderValue::from_static("0/0"));
    let with_limit = |mut r: Response| {
        r.headers_mut()
            .insert(HeaderName::from_static(p.limit_header), used.clone());
        Box::new(r)
    };
    if let Err(wait) = admitted {
        let mut r = errors(
            StatusCode::TOO_MANY_REQUESTS,
            json!("Exceeded call limit. Reduce request rates to resume uninterrupted service."),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert("retry-after", v);
        }
        return Err(with_limit(r));
    }
    if !(p.authorized)(headers, st.oauth.as_deref()) {
        return Err(with_limit(errors(
            StatusCode::UNAUTHORIZED,
            json!("[API] Invalid API key or access token (unrecognized login or wrong password)"),
        )));
    }
    Ok(used)
}

fn answer(st: &AdminShop, headers: &HeaderMap, f: impl FnOnce(&mut Shop) -> Response) -> Response {
    let used = match admit(st, headers) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let mut resp = f(&mut lock(&st.shop));
    resp.headers_mut()
        .insert(HeaderName::from_static(st.platform.limit_header), used);
    resp
}

/// `{id}.json` as the id.
fn id_of(file: &str) -> Option<i64> {
    file.strip_suffix(".json")?.parse().ok()
}

fn not_found() -> Response {
    errors(StatusCode::NOT_FOUND, json!("Not Found"))
}

fn paging(q: &std::collections::HashMap<String, String>) -> Result<(usize, usize), Box<Response>> {
    let get = |k: &str, default: usize| q.get(k).map_or(Ok(default), |v| v.parse::<usize>());
    match (get("page", 1), get("limit", 50)) {
        (Ok(p), Ok(l)) if p >= 1 && (1..=250).contains(&l) => Ok((p, l)),
        _ => Err(Box::new(errors(
            StatusCode::BAD_REQUEST,
            json!({"limit": ["must be between 1 and 250"], "page": ["must be at least 1"]}),
        ))),
    }
}

/// Orders matching the list and count filters, newest first.
fn filtered(
    shop: &Shop,
    q: &std::collections::HashMap<String, String>,
) -> Result<Vec<Value>, Box<Response>> {
    let invalid = |k: &str| {
        Box::new(errors(
            StatusCode::BAD_REQUEST,
            json!({ k: ["is invalid"] }),
        ))
    };
    let mut out: Vec<Value> = shop.orders.values().rev().cloned().collect();
    let status = q.get("status").map_or("open", String::as_str);
    let open = |o: &Value| o["cancelled_at"].is_null() && o["closed_at"].is_null();
    match status {
        "open" => out.retain(open),
        "closed" => out.retain(|o| !o["closed_at"].is_null()),
        "cancelled" => out.retain(|o| !o["cancelled_at"].is_null()),
        "any" => {}
        _ => return Err(invalid("status")),
    }
    if let Some(f) = q.get("financial_status").filter(|f| f.as_str() != "any") {
        out.retain(|o| {
            o["financial_status"] == f.as_str()
                || (f == "unpaid" && o["financial_status"] == "pending")
        });
    }
    if let Some(f) = q.get("fulfillment_status").filter(|f| f.as_str() != "any") {
        let wanted = match f.as_str() {
            "shipped" => json!("fulfilled"),
            "partial" => json!("partial"),
            "unshipped" => Value::Null,
            _ => return Err(invalid("fulfillment_status")),
        };
        out.retain(|o| o["fulfillment_status"] == wanted);
    }
    for (k, after) in [("created_at_min", true), ("created_at_max", false)] {
        if let Some(v) = q.get(k) {
            let at = chrono::DateTime::parse_from_rfc3339(v).map_err(|_| invalid(k))?;
            out.retain(|o| {
                let created = o["created_at"]
                    .as_str()
                    .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok());
                created.is_some_and(|c| if after { c >= at } else { c <= at })
            });
        }
    }
    Ok(out)
}

async fn list_orders(AxState(st): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let q = query_map(raw.as_deref());
    answer(&st, &headers, |shop| {
        let (p, l) = match paging(&q) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        match filtered(shop, &q) {
            Ok(orders) => Json(json!({ "orders": page(&orders, p, l) })).into_response(),
            Err(r) => *r,
        }
    })
}

async fn count_orders(AxState(st): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let q = query_map(raw.as_deref());
    answer(&st, &headers, |shop| match filtered(shop, &q) {
        Ok(orders) => Json(json!({ "count": orders.len() })).into_response(),
        Err(r) => *r,
    })
}

async fn get_order(AxState(st): St, headers: HeaderMap, Path(file): Path<String>) -> Response {
    answer(&st, &headers, |shop| {
        match id_of(&file).and_then(|id| shop.orders.get(&id)) {
            Some(o) => Json(json!({ "order": o })).into_response(),
            None => not_found(),
        }
    })
}

fn wrapped(raw: &[u8], key: &str) -> Result<Value, Box<Response>> {
    serde_json::from_slice::<Value>(raw)
        .ok()
        .and_then(|b| b.get(key).filter(|v| v.is_object()).cloned())
        .ok_or_else(|| {
            Box::new(errors(
                StatusCode::BAD_REQUEST,
                json!({ key: "Required parameter missing or invalid" }),
            ))
        })
}

async fn update_order(
    AxState(st): St,
    headers: HeaderMap,
    Path(file): Path<String>,
    raw: Bytes,
) -> Response {
    answer(&st, &headers, |shop| {
        let Some(id) = id_of(&file).filter(|id| shop.orders.contains_key(id)) else {
            return not_found();
        };
        let fields = match wrapped(&raw, "order") {
            Ok(Value::Object(f)) => f,
            Ok(_) => return not_found(),
            Err(r) => return *r,
        };
        if let Some(email) = fields.get("email") {
            if !email
                .as_str()
                .is_some_and(|e| e.contains('@') && !e.starts_with('@'))
            {
                return errors(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"email": ["is invalid"]}),
                );
            }
        }
        match shop.update(id, &fields) {
            Some(o) => Json(json!({ "order": o })).into_response(),
            None => not_found(),
        }
    })
}

async fn fulfil(
    AxState(st): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: Bytes,
) -> Response {
    answer(&st, &headers, |shop| {
        let Ok(id) = id.parse::<i64>() else {
            return not_found();
        };
        let req = match wrapped(&raw, "fulfillment") {
            Ok(r) => r,
            Err(r) => return *r,
        };
        match shop.fulfil(id, &req) {
            None => not_found(),
            Some(Ok(f)) => (StatusCode::CREATED, Json(json!({ "fulfillment": f }))).into_response(),
            Some(Err(Refused(e))) => errors(StatusCode::UNPROCESSABLE_ENTITY, e),
        }
    })
}

async fn list_products(AxState(st): St, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let q = query_map(raw.as_deref());
    answer(&st, &headers, |shop| {
        let (p, l) = match paging(&q) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let mut products: Vec<Value> = shop.products.values().cloned().collect();
        if let Some(t) = q.get("title") {
            let t = t.to_lowercase();
            products.retain(|p| {
                p["title"]
                    .as_str()
                    .is_some_and(|s| s.to_lowercase().contains(&t))
            });
        }
        for (k, field) in [("product_type", "product_type"), ("vendor", "vendor")] {
            if let Some(v) = q.get(k) {
                products.retain(|p| p[field] == v.as_str());
            }
        }
        Json(json!({ "products": page(&products, p, l) })).into_response()
    })
}

async fn get_product(AxState(st): St, headers: HeaderMap, Path(file): Path<String>) -> Response {
    answer(&st, &headers, |shop| {
        match id_of(&file).and_then(|id| shop.products.get(&id)) {
            Some(p) => Json(json!({ "product": p })).into_response(),
            None => not_found(),
        }
    })
}
