//! Haravan actions on `/com/<resource>.json`, mapped by the Admin API helpers shared with
//! Sapo. A fulfillment repeated after a lost answer is refused by Haravan (no units remain)
//! and answered with the first one, found by its tracking number.

use integrations_core::{ErrorKind, Result};
use serde_json::{json, Value};

use super::client::{HaravanApi, PROVIDER};
use crate::ecommerce::admin_api::{
    order_filters, orders_page, orders_request, product, products_page, products_request, unwrap,
};
use crate::fields::{int, pick, required_int, required_str, rows, string};
use crate::kit::{Action, ActionCall, Request};

pub(crate) const TABLE: &[Action<HaravanApi>] = &[
    Action {
        id: "list_orders",
        run: |api, call| Box::pin(list_orders(api, call.input)),
    },
    Action {
        id: "count_orders",
        run: |api, call| Box::pin(count_orders(api, call.input)),
    },
    Action {
        id: "list_products",
        run: |api, call| Box::pin(list_products(api, call.input)),
    },
    Action {
        id: "get_product",
        run: |api, call| Box::pin(get_product(api, call.input)),
    },
    Action {
        id: "create_fulfillment",
        run: |api, call| Box::pin(create_fulfillment(api, call)),
    },
];

async fn list_orders(api: &HaravanApi, input: &Value) -> Result<Value> {
    let (request, page, limit) = orders_request("/com/orders.json", input);
    orders_page(PROVIDER, &api.call(request).await?, page, limit)
}

async fn count_orders(api: &HaravanApi, input: &Value) -> Result<Value> {
    let mut request = Request::get("/com/orders/count.json");
    request.query.extend(order_filters(input));
    let body = api.call(request).await?;
    let count = int(&body, "count")
        .ok_or_else(|| crate::ecommerce::admin_api::bad_response(PROVIDER, "count"))?;
    Ok(json!({ "count": count }))
}

async fn list_products(api: &HaravanApi, input: &Value) -> Result<Value> {
    let (request, page, limit) = products_request("/com/products.json", input);
    products_page(PROVIDER, &api.call(request).await?, page, limit)
}

async fn get_product(api: &HaravanApi, input: &Value) -> Result<Value> {
    let id = required_int(input, "productId")?;
    let body = api
        .call(Request::get(format!("/com/products/{id}.json")))
        .await?;
    Ok(product(unwrap(PROVIDER, &body, "product")?))
}

fn fulfillment(f: &Value, already: bool) -> Value {
    let mut out = pick(
        f,
        &[
            ("id", "id"),
            ("order_id", "orderId"),
            ("status", "status"),
            ("tracking_number", "trackingNumber"),
            ("tracking_company", "trackingCompany"),
            ("tracking_url", "trackingUrl"),
            ("created_at", "createdAt"),
        ],
    );
    out["lineItems"] = json!(rows(&f["line_items"])
        .map(|l| json!({"id": int(l, "id"), "quantity": int(l, "quantity")}))
        .collect::<Vec<_>>());
    out["alreadyExisted"] = json!(already);
    out
}

async fn create_fulfillment(api: &HaravanApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let order_id = required_int(input, "orderId")?;
    let tracking = required_str(input, "trackingNumber")?;
    let mut body = json!({
        "tracking_number": tracking,
        "notify_customer": input.get("notifyCustomer").and_then(Value::as_bool).unwrap_or(false),
    });
    for (ours, theirs) in [
        ("trackingCompany", "tracking_company"),
        ("trackingUrl", "tracking_url"),
    ] {
        if let Some(v) = string(input, ours) {
            body[theirs] = json!(v);
        }
    }
    if let Some(lines) = input.get("lineItems").and_then(Value::as_array) {
        body["line_items"] = json!(lines
            .iter()
            .map(|l| json!({"id": int(l, "id"), "quantity": int(l, "quantity")}))
            .collect::<Vec<_>>());
    }
    let path = format!("/com/orders/{order_id}/fulfillments.json");
    match api
        .call(Request::post(path).json(json!({ "fulfillment": body })))
        .await
    {
        Ok(answer) => Ok(fulfillment(
            unwrap(PROVIDER, &answer, "fulfillment")?,
            false,
        )),
        // Refused: perhaps because an earlier attempt fulfilled these units. Its fulfillment,
        // found by tracking number, is the answer; any other refusal stands.
        Err(e) if e.kind == ErrorKind::ProviderRejected => {
            let found = api
                .call(Request::get(format!("/com/orders/{order_id}.json")))
                .await
                .map_err(|_| e.clone())?;
            let first = rows(&found["order"]["fulfillments"])
                .find(|f| string(f, "tracking_number") == Some(tracking))
                .ok_or(e)?;
            Ok(fulfillment(first, true))
        }
        Err(e) => Err(e),
    }
}
