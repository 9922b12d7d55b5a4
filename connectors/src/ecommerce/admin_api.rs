//! What Sapo and Haravan share: both serve a Shopify-style Admin API — resources wrapped in
//! their name (`{"order": {…}}`, `{"orders": […]}`), `page`/`limit` pagination, errors as
//! `{"errors": "…"}` or `{"errors": {"field": ["…"]}}` with the HTTP status, and a leaky-bucket
//! call limit reported in an `X-<Platform>-Api-Call-Limit: used/size` header. One protocol and
//! one mapping of their orders and products to the catalog's camelCase.

use integrations_core::{Error, ErrorKind, Result};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fields::{as_int, int, pick, rows, string};
use crate::kit::{Envelope, Match, Protocol, Request, ResultCode};

/// A Shopify-style Admin API's protocol, named for its platform.
pub(crate) struct AdminApi(pub &'static str);

/// Decided by the status, as these APIs have no codes of their own; 401/403/429/5xx are
/// decided by the status before this table.
const CODES: &[ResultCode] = &[
    ResultCode::on(Match::Code("404"), ErrorKind::ProviderNotFound),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for AdminApi {
    fn provider(&self) -> &'static str {
        self.0
    }

    fn envelope(&self, status: StatusCode, body: Value) -> Option<Envelope> {
        if status.is_success() {
            return Some(Envelope::ok(status, body));
        }
        let message = describe(body.get("errors").or_else(|| body.get("error"))?);
        Some(Envelope {
            success: false,
            code: status.as_u16().to_string(),
            message,
            tag: None,
            data: Value::Null,
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "an Admin API resource"
    }
}

/// `"Not Found"`, `["…"]` or `{"email": ["is invalid"]}` as one line.
fn describe(errors: &Value) -> String {
    match errors {
        Value::String(s) => s.clone(),
        Value::Array(list) => list.iter().map(describe).collect::<Vec<_>>().join("; "),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| format!("{k} {}", describe(v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

pub(crate) fn bad_response(provider: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::ProviderBadResponse,
        format!("{provider} answered without {what}"),
    )
    .with_retryable(true)
    .with_request_sent(true)
}

/// The resource wrapped in `key` (`order`, `orders`, …).
pub(crate) fn unwrap<'v>(provider: &str, body: &'v Value, key: &str) -> Result<&'v Value> {
    body.get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| bad_response(provider, key))
}

/// Money as these APIs send it: a number, or a decimal string (Shopify's style).
fn money(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn money_fields(from: &Value, out: &mut Value, pairs: &[(&str, &str)]) {
    for (theirs, ours) in pairs {
        if let Some(m) = from.get(*theirs).and_then(money) {
            out[*ours] = json!(m);
        }
    }
}

/// Ids as integers whether sent as numbers or strings; nulls kept.
fn ids(out: &mut Value, keys: &[&str]) {
    for k in keys {
        if let Some(v) = out.get(*k).filter(|v| !v.is_null()) {
            out[*k] = as_int(v).map_or(Value::Null, |n| json!(n));
        }
    }
}

fn line_item(from: &Value) -> Value {
    let mut out = pick(
        from,
        &[
            ("id", "id"),
            ("product_id", "productId"),
            ("variant_id", "variantId"),
            ("title", "title"),
            ("variant_title", "variantTitle"),
            ("sku", "sku"),
            ("quantity", "quantity"),
            ("fulfillable_quantity", "fulfillableQuantity"),
        ],
    );
    ids(&mut out, &["id", "productId", "variantId"]);
    money_fields(from, &mut out, &[("price", "price")]);
    out
}

const ADDRESS: &[(&str, &str)] = &[
    ("name", "name"),
    ("address1", "address1"),
    ("address2", "address2"),
    ("city", "city"),
    ("district", "district"),
    ("ward", "ward"),
    ("province", "province"),
    ("country", "country"),
    ("zip", "zip"),
    ("phone", "phone"),
];

pub(crate) fn order(provider: &str, from: &Value) -> Result<Value> {
    if int(from, "id").is_none() {
        return Err(bad_response(provider, "the order's id"));
    }
    let mut out = pick(
        from,
        &[
            ("id", "id"),
            ("name", "name"),
            ("order_number", "orderNumber"),
            ("email", "email"),
            ("financial_status", "financialStatus"),
            ("fulfillment_status", "fulfillmentStatus"),
            ("currency", "currency"),
            ("created_at", "createdAt"),
            ("updated_at", "updatedAt"),
            ("cancelled_at", "cancelledAt"),
            ("closed_at", "closedAt"),
            ("note", "note"),
        ],
    );
    ids(&mut out, &["id", "orderNumber"]);
    money_fields(
        from,
        &mut out,
        &[
            ("total_price", "totalPrice"),
            ("subtotal_price", "subtotalPrice"),
            ("total_tax", "totalTax"),
            ("total_discounts", "totalDiscounts"),
        ],
    );
    out["tags"] = json!(string(from, "tags").unwrap_or_default());
    out["lineItems"] = json!(rows(&from["line_items"]).map(line_item).collect::<Vec<_>>());
    out["customer"] = match from.get("customer").filter(|c| int(c, "id").is_some()) {
        Some(c) => {
            let mut c = pick(
                c,
                &[
                    ("id", "id"),
                    ("email", "email"),
                    ("first_name", "firstName"),
                    ("last_name", "lastName"),
                    ("phone", "phone"),
                ],
            );
            ids(&mut c, &["id"]);
            c
        }
        None => Value::Null,
    };
    if let Some(a) = from.get("shipping_address") {
        out["shippingAddress"] = if a.is_object() {
            pick(a, ADDRESS)
        } else {
            Value::Null
        };
    }
    Ok(out)
}

pub(crate) fn product(from: &Value) -> Value {
    let mut out = pick(
        from,
        &[
            ("id", "id"),
            ("title", "title"),
            ("handle", "handle"),
            ("product_type", "productType"),
            ("vendor", "vendor"),
            ("created_at", "createdAt"),
            ("updated_at", "updatedAt"),
        ],
    );
    ids(&mut out, &["id"]);
    out["tags"] = json!(string(from, "tags").unwrap_or_default());
    let variants: Vec<Value> = rows(&from["variants"])
        .map(|v| {
            let mut o = pick(
                v,
                &[
                    ("id", "id"),
                    ("title", "title"),
                    ("sku", "sku"),
                    ("inventory_quantity", "inventoryQuantity"),
                    ("barcode", "barcode"),
                ],
            );
            ids(&mut o, &["id", "inventoryQuantity"]);
            money_fields(v, &mut o, &[("price", "price")]);
            o
        })
        .collect();
    out["variants"] = json!(variants);
    out
}

/// Query parameters of an order list or count from the catalog's camelCase filters.
pub(crate) fn order_filters(input: &Value) -> Vec<(String, String)> {
    let mut q = Vec::new();
    for (ours, theirs) in [
        ("status", "status"),
        ("financialStatus", "financial_status"),
        ("fulfillmentStatus", "fulfillment_status"),
        ("createdAtMin", "created_at_min"),
        ("createdAtMax", "created_at_max"),
    ] {
        if let Some(v) = string(input, ours) {
            q.push((theirs.to_string(), v.to_string()));
        }
    }
    q
}

/// A page of `path`: the input's `page` and `limit` (defaults 1 and 50) as sent, and as the
/// answer reports them.
fn page_request(path: &str, input: &Value) -> (Request, i64, i64) {
    let page = int(input, "page").unwrap_or(1);
    let limit = int(input, "limit").unwrap_or(50);
    let request = Request::get(path)
        .query("page", page.to_string())
        .query("limit", limit.to_string());
    (request, page, limit)
}

/// A page of orders of `path` (`…/orders.json`) with the catalog's filters.
pub(crate) fn orders_request(path: &str, input: &Value) -> (Request, i64, i64) {
    let (mut request, page, limit) = page_request(path, input);
    request.query.extend(order_filters(input));
    (request, page, limit)
}

pub(crate) fn orders_page(provider: &str, body: &Value, page: i64, limit: i64) -> Result<Value> {
    let orders = rows(unwrap(provider, body, "orders")?)
        .map(|o| order(provider, o))
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({ "orders": orders, "page": page, "limit": limit }))
}

/// A page of products of `path` (`…/products.json`) by title, type or vendor.
pub(crate) fn products_request(path: &str, input: &Value) -> (Request, i64, i64) {
    let (mut request, page, limit) = page_request(path, input);
    for (ours, theirs) in [
        ("title", "title"),
        ("productType", "product_type"),
        ("vendor", "vendor"),
    ] {
        if let Some(v) = string(input, ours) {
            request = request.query(theirs, v);
        }
    }
    (request, page, limit)
}

pub(crate) fn products_page(provider: &str, body: &Value, page: i64, limit: i64) -> Result<Value> {
    let products: Vec<Value> = rows(unwrap(provider, body, "products")?)
        .map(product)
        .collect();
    Ok(json!({ "products": products, "page": page, "limit": limit }))
}
