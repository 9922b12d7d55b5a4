//! A fake PrestaShop shop under `/prestashop` (the shop URL), its webservice at `/api/…`:
//! `GET /orders`, `/orders/{id}`, `/products`, `/products/{id}`, `/customers`,
//! `/customers/{id}`, `POST /order_histories` (XML input).
//!
//! Contract as the webservice documents it: the key as the Basic user (or `ws_key`), XML
//! unless `output_format=JSON`; lists of ids unless `display=full`, `filter[field]=[value]`
//! (or `[a,b]` ranges with `date=1` for dates) on known fields only, `sort=[field_ASC|DESC]`,
//! `limit=offset,count`; an empty list answered `[]`; errors `{"errors": [{code, message}]}`
//! (codes UNCONFIRMED). Throttling, which PrestaShop has none of, is a host's: 429 with
//! `Retry-After` and a plain-text body.

mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{basic_auth, query_map, Throttle};
use crate::faults::lock;
use crate::state::State;
use store::{Shop, STATES};

/// The only webservice key the fake accepts.
pub const WEBSERVICE_KEY: &str = "K5XQ8ZJ3N2WDM7RT4YBV6HCE9PLA1GSU";
/// Seeded: orders 1 (payment accepted) and 2 (processing) of customer 2, 3 (awaiting check)
/// of customer 3.
pub const ORDER_IDS: [i64; 3] = [1, 2, 3];

pub(crate) struct Presta {
    shop: Mutex<Shop>,
    throttle: Throttle,
}

type St = AxState<Arc<Presta>>;

pub(crate) fn routes() -> (Router<Arc<State>>, Router<Arc<State>>) {
    let st = Arc::new(Presta {
        shop: Mutex::new(Shop::seeded()),
        throttle: Throttle::default(),
    });
    let api = Router::new()
        .route("/api/{resource}", get(list))
        .route("/api/{resource}/{id}", get(one))
        .route("/api/order_histories", post(add_history))
        .with_state(st.clone());
    let control = Router::new()
        .route(
            "/throttle",
            post(|AxState(st): St, Json(b): Json<Value>| async move {
                let times = u32::try_from(b["times"].as_u64().unwrap_or(1)).unwrap_or(1);
                st.throttle
                    .set(times, b["retryAfterSecs"].as_u64().unwrap_or(1));
                Json(json!({ "throttled": times }))
            }),
        )
        .route(
            "/stats",
            get(|AxState(st): St| async move {
                Json(json!({ "histories": lock(&st.shop).histories.len() }))
            }),
        )
        .with_state(st);
    (api, control)
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({"errors": [{"code": code, "message": message}]});
    (status, Json(body)).into_response()
}

/// Throttle, key, then the JSON output the connector must ask for.
fn admit(
    st: &Presta,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<(), Box<Response>> {
    if let Some(secs) = st.throttle.take() {
        return Err(Box::new(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, secs.to_string())],
                "Too Many Requests",
            )
                .into_response(),
        ));
    }
    let key = basic_auth(headers)
        .map(|(user, _)| user)
        .or_else(|| q.get("ws_key").cloned());
    let refused = match key.as_deref() {
        Some(WEBSERVICE_KEY) => None,
        None | Some("") => Some((17, "Authentication key is empty")),
        Some(_) => Some((18, "Invalid authentication key")),
    };
    if let Some((code, message)) = refused {
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, code, message)));
    }
    if q.get("output_format").map(String::as_str) != Some("JSON") {
        // What PrestaShop answers by default; a connector that forgot to ask cannot parse it.
        return Err(Box::new(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/xml;charset=utf-8")],
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><prestashop></prestashop>",
            )
                .into_response(),
        ));
    }
    Ok(())
}

struct Kind {
    list_key: &'static str,
    item_key: &'static str,
    fields: &'static [&'static str],
}

fn kind(resource: &str) -> Option<Kind> {
    Some(match resource {
        "orders" => Kind {
            list_key: "orders",
            item_key: "order",
            fields: &[
                "id",
                "id_customer",
                "current_state",
                "reference",
                "date_add",
            ],
        },
        "products" => Kind {
            list_key: "products",
            item_key: "product",
            fields: &["id", "reference", "active", "name"],
        },
        "customers" => Kind {
            list_key: "customers",
            item_key: "customer",
            fields: &["id", "email", "lastname", "firstname"],
        },
        _ => return None,
    })
}

fn items<'s>(shop: &'s Shop, resource: &str) -> Option<&'s std::collections::BTreeMap<i64, Value>> {
    match resource {
        "orders" => Some(&shop.orders),
        "products" => Some(&shop.products),
        "customers" => Some(&shop.customers),
        _ => None,
    }
}

fn no_resource(resource: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        22,
        &format!("Resource of type \"{resource}\" does not exists. Did you mean: \"orders\"?"),
    )
}

/// Multilingual fields reduced to one language when `language` is given.
fn localized(mut v: Value, q: &HashMap<String, String>) -> Value {
    if let (Some(lang), Some(Value::Array(names))) = (q.get("language"), v.get("name").cloned()) {
        let kept: Vec<Value> = names
            .into_iter()
            .filter(|n| n["id"] == lang.as_str())
            .collect();
        v["name"] = json!(kept);
    }
    v
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(names) => names
            .iter()
            .filter_map(|n| n["value"].as_str())
            .collect::<Vec<_>>()
            .join("|"),
        other => other.to_string(),
    }
}

/// `[value]` or, for dates with `date=1`, `[from,to]`.
fn matches_filter(item: &Value, field: &str, raw: &str, dates: bool) -> Option<bool> {
    let inner = raw.strip_prefix('[')?.strip_suffix(']')?;
    let have = text_of(&item[field]);
    if field == "date_add" {
        if !dates {
            return None;
        }
        let (from, to) = inner.split_once(',')?;
        return Some(have.as_str() >= from && have.as_str() <= to);
    }
    Some(inner.split('|').any(|v| have.split('|').any(|h| h == v)))
}

async fn list(
    AxState(st): St,
    headers: HeaderMap,
    Path(resource): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_map(raw.as_deref());
    if let Err(r) = admit(&st, &headers, &q) {
        return *r;
    }
    let Some(k) = kind(&resource) else {
        return no_resource(&resource);
    };
    let shop = lock(&st.shop);
    let mut found: Vec<Value> = items(&shop, &resource)
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default();
    for (name, value) in &q {
        let Some(field) = name
            .strip_prefix("filter[")
            .and_then(|f| f.strip_suffix(']'))
        else {
            continue;
        };
        if !k.fields.contains(&field) {
            let msg = format!(
                "Unable to filter by this field. However, these are available: {}",
                k.fields.join(", ")
            );
            return error(StatusCode::BAD_REQUEST, 32, &msg);
        }
        let dates = q.get("date").map(String::as_str) == Some("1");
        let mut refused = false;
        found.retain(|item| match matches_filter(item, field, value, dates) {
            Some(keep) => keep,
            None => {
                refused = true;
                false
            }
        });
        if refused {
            return error(
                StatusCode::BAD_REQUEST,
                33,
                &format!("The filter \"{field}\" is malformed."),
            );
        }
    }
    match q.get("sort").map(String::as_str) {
        None | Some("[id_ASC]") => {}
        Some("[id_DESC]") => found.reverse(),
        Some(_) => return error(StatusCode::BAD_REQUEST, 34, "Unable to sort by this field."),
    }
    if let Some(limit) = q.get("limit") {
        let parsed = match limit.split_once(',') {
            Some((o, c)) => o.parse::<usize>().ok().zip(c.parse::<usize>().ok()),
            None => limit.parse::<usize>().ok().map(|c| (0, c)),
        };
        let Some((offset, count)) = parsed else {
            return error(
                StatusCode::BAD_REQUEST,
                35,
                "The limit parameter is malformed.",
            );
        };
        found = found.into_iter().skip(offset).take(count).collect();
    }
    if found.is_empty() {
        return Json(json!([])).into_response();
    }
    let full = q.get("display").map(String::as_str) == Some("full");
    let list: Vec<Value> = found
        .into_iter()
        .map(|v| {
            if full {
                localized(v, &q)
            } else {
                json!({"id": v["id"]})
            }
        })
        .collect();
    Json(json!({ k.list_key: list })).into_response()
}

async fn one(
    AxState(st): St,
    headers: HeaderMap,
    Path((resource, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_map(raw.as_deref());
    if let Err(r) = admit(&st, &headers, &q) {
        return *r;
    }
    let Some(k) = kind(&resource) else {
        return no_resource(&resource);
    };
    let shop = lock(&st.shop);
    let found = id
        .parse::<i64>()
        .ok()
        .and_then(|id| items(&shop, &resource)?.get(&id).cloned());
    match found {
        Some(v) => Json(json!({ k.item_key: localized(v, &q) })).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            87,
            &format!("Id(s) not exists: {id}"),
        ),
    }
}

/// The text of `<tag>…</tag>`, CDATA unwrapped.
fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    let v = xml[start..end].trim();
    let v = v
        .strip_prefix("<![CDATA[")
        .and_then(|v| v.strip_suffix("]]>"))
        .unwrap_or(v);
    Some(v.to_string())
}

async fn add_history(
    AxState(st): St,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let q = query_map(raw.as_deref());
    if let Err(r) = admit(&st, &headers, &q) {
        return *r;
    }
    let xml = String::from_utf8_lossy(&body);
    if !xml.contains("<prestashop") || !xml.contains("<order_history>") {
        return error(
            StatusCode::BAD_REQUEST,
            127,
            "XML error : String could not be parsed as XML",
        );
    }
    let int = |tag: &str| xml_value(&xml, tag).and_then(|v| v.parse::<i64>().ok());
    let (Some(order), Some(state)) = (int("id_order"), int("id_order_state")) else {
        return error(
            StatusCode::BAD_REQUEST,
            41,
            "parameter \"id_order\" and \"id_order_state\" required",
        );
    };
    if !STATES.contains(&state) {
        return error(
            StatusCode::BAD_REQUEST,
            85,
            "Validation error: \"Property OrderHistory->id_order_state is not valid\"",
        );
    }
    match lock(&st.shop).add_history(order, state) {
        Some(h) => (StatusCode::CREATED, Json(json!({ "order_history": h }))).into_response(),
        None => error(
            StatusCode::BAD_REQUEST,
            85,
            "Validation error: \"Property OrderHistory->id_order is not valid\"",
        ),
    }
}
