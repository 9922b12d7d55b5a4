//! WooCommerce actions: camelCase inputs to WooCommerce's parameters, its snake_case objects
//! (money as decimal strings, kept as strings so no amount is rounded) renamed to the
//! catalog's outputSchema.

use integrations_core::{Error, ErrorKind, Result};
use serde_json::{json, Value};

use super::client::WooApi;
use crate::fields::{int, pick, required_int, rows, string};
use crate::http::HttpReply;
use crate::kit::{Action, ActionCall, Request};

pub(crate) const TABLE: &[Action<WooApi>] = &[
    Action {
        id: "list_orders",
        run: |api, call| Box::pin(list_orders(api, call.input)),
    },
    Action {
        id: "get_order",
        run: |api, call| Box::pin(get_order(api, call.input)),
    },
    Action {
        id: "list_products",
        run: |api, call| Box::pin(list_products(api, call.input)),
    },
    Action {
        id: "update_order_status",
        run: |api, call| Box::pin(update_order_status(api, call.input)),
    },
    Action {
        id: "add_order_note",
        run: |api, call| Box::pin(add_order_note(api, call)),
    },
];

fn bad_response(what: &str) -> Error {
    Error::new(
        ErrorKind::ProviderBadResponse,
        format!("WooCommerce answered without {what}"),
    )
    .with_retryable(true)
    .with_request_sent(true)
}

const ADDRESS: &[(&str, &str)] = &[
    ("first_name", "firstName"),
    ("last_name", "lastName"),
    ("company", "company"),
    ("address_1", "address1"),
    ("address_2", "address2"),
    ("city", "city"),
    ("state", "state"),
    ("postcode", "postcode"),
    ("country", "country"),
    ("email", "email"),
    ("phone", "phone"),
];

/// Only the string fields: WordPress plugins add others of any type to addresses.
fn address(from: &Value) -> Value {
    let mut out = pick(from, ADDRESS);
    if let Some(m) = out.as_object_mut() {
        m.retain(|_, v| v.is_string());
    }
    out
}

fn line_item(from: &Value) -> Value {
    let mut out = pick(
        from,
        &[
            ("id", "id"),
            ("product_id", "productId"),
            ("variation_id", "variationId"),
            ("name", "name"),
            ("sku", "sku"),
            ("quantity", "quantity"),
            ("price", "price"),
            ("subtotal", "subtotal"),
            ("total", "total"),
        ],
    );
    // `price` is a number in line items (unlike every other amount).
    if let Some(p) = from.get("price").and_then(|p| match p {
        Value::String(s) => s.parse::<f64>().ok(),
        other => other.as_f64(),
    }) {
        out["price"] = json!(p);
    }
    out
}

pub(crate) fn order(from: &Value) -> Result<Value> {
    if int(from, "id").is_none() {
        return Err(bad_response("the order's id"));
    }
    let mut out = pick(
        from,
        &[
            ("id", "id"),
            ("status", "status"),
            ("currency", "currency"),
            ("total", "total"),
            ("total_tax", "totalTax"),
            ("shipping_total", "shippingTotal"),
            ("discount_total", "discountTotal"),
            ("payment_method", "paymentMethod"),
            ("payment_method_title", "paymentMethodTitle"),
            ("customer_id", "customerId"),
            ("customer_note", "customerNote"),
            ("date_created", "dateCreated"),
            ("date_modified", "dateModified"),
            ("date_paid", "datePaid"),
            ("date_completed", "dateCompleted"),
        ],
    );
    // `number` is a string in WooCommerce's schema but plugins renumber orders with integers.
    out["number"] = match from.get("number") {
        Some(Value::String(s)) => json!(s),
        Some(Value::Number(n)) => json!(n.to_string()),
        _ => json!(from["id"].to_string()),
    };
    let items: Vec<Value> = rows(&from["line_items"]).map(line_item).collect();
    // The order's subtotal is not a field of WooCommerce's order: it is the lines' sum, in
    // cents so that decimal strings add exactly.
    let cents: Option<i64> = items
        .iter()
        .map(|i| i["subtotal"].as_str().and_then(to_cents))
        .sum();
    if let Some(c) = cents {
        out["subtotal"] = json!(format!("{}.{:02}", c / 100, c % 100));
    }
    out["lineItems"] = json!(items);
    for (theirs, ours) in [("billing", "billing"), ("shipping", "shipping")] {
        if let Some(a) = from.get(theirs).filter(|a| a.is_object()) {
            out[ours] = address(a);
        }
    }
    Ok(out)
}

/// A non-negative decimal string with at most two decimals, in cents.
fn to_cents(s: &str) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 2 || whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = format!("{frac:0<2}");
    Some(whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

fn product(from: &Value) -> Value {
    let mut out = pick(
        from,
        &[
            ("id", "id"),
            ("name", "name"),
            ("slug", "slug"),
            ("type", "type"),
            ("status", "status"),
            ("sku", "sku"),
            ("price", "price"),
            ("regular_price", "regularPrice"),
            ("sale_price", "salePrice"),
            ("stock_status", "stockStatus"),
            ("manage_stock", "manageStock"),
            ("stock_quantity", "stockQuantity"),
            ("date_modified", "dateModified"),
        ],
    );
    out["categories"] = json!(rows(&from["categories"])
        .map(|c| pick(c, &[("id", "id"), ("name", "name")]))
        .collect::<Vec<_>>());
    out
}

/// `page`/`per_page` from the input, onto `request`.
fn paged(request: Request, input: &Value) -> (Request, i64, i64) {
    let page = int(input, "page").unwrap_or(1);
    let per_page = int(input, "perPage").unwrap_or(10);
    let request = request
        .query("page", page.to_string())
        .query("per_page", per_page.to_string());
    (request, page, per_page)
}

/// The page's place in the whole list, from WordPress's pagination headers.
fn page_info(reply: &HttpReply, page: i64, per_page: i64) -> Value {
    let header = |name: &str| {
        reply
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    json!({
        "page": page,
        "perPage": per_page,
        "total": header("x-wp-total").unwrap_or(0),
        "totalPages": header("x-wp-totalpages").unwrap_or(0),
    })
}

async fn list_orders(api: &WooApi, input: &Value) -> Result<Value> {
    let (mut request, page, per_page) = paged(Request::get("/orders"), input);
    for (ours, theirs) in [
        ("status", "status"),
        ("search", "search"),
        ("after", "after"),
        ("before", "before"),
    ] {
        if let Some(v) = string(input, ours) {
            request = request.query(theirs, v);
        }
    }
    if let Some(c) = int(input, "customerId") {
        request = request.query("customer", c.to_string());
    }
    let (data, reply) = api.call_with_headers(request).await?;
    let list = data
        .as_array()
        .ok_or_else(|| bad_response("a list of orders"))?;
    let mut out = page_info(&reply, page, per_page);
    out["orders"] = json!(list.iter().map(order).collect::<Result<Vec<_>>>()?);
    Ok(out)
}

async fn get_order(api: &WooApi, input: &Value) -> Result<Value> {
    let id = required_int(input, "orderId")?;
    order(&api.call(Request::get(format!("/orders/{id}"))).await?)
}

async fn list_products(api: &WooApi, input: &Value) -> Result<Value> {
    let (mut request, page, per_page) = paged(Request::get("/products"), input);
    for key in ["search", "sku", "status"] {
        if let Some(v) = string(input, key) {
            request = request.query(key, v);
        }
    }
    let (data, reply) = api.call_with_headers(request).await?;
    let list = data
        .as_array()
        .ok_or_else(|| bad_response("a list of products"))?;
    let mut out = page_info(&reply, page, per_page);
    out["products"] = json!(list.iter().map(product).collect::<Vec<_>>());
    Ok(out)
}

async fn update_order_status(api: &WooApi, input: &Value) -> Result<Value> {
    let id = required_int(input, "orderId")?;
    let status = crate::fields::required_str(input, "status")?;
    let body = json!({ "status": status });
    order(
        &api.call(Request::put(format!("/orders/{id}")).json(body))
            .await?,
    )
}

async fn add_order_note(api: &WooApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let id = required_int(input, "orderId")?;
    let body = json!({
        "note": crate::fields::required_str(input, "note")?,
        "customer_note": input.get("customerNote").and_then(Value::as_bool).unwrap_or(false),
    });
    let note = api
        .call(Request::post(format!("/orders/{id}/notes")).json(body))
        .await?;
    if int(&note, "id").is_none() {
        return Err(bad_response("the note's id"));
    }
    let mut out = pick(
        &note,
        &[
            ("id", "id"),
            ("note", "note"),
            ("customer_note", "customerNote"),
            ("author", "author"),
            ("date_created", "dateCreated"),
        ],
    );
    out["orderId"] = json!(id);
    Ok(out)
}
