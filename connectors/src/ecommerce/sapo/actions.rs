//! Sapo actions on its Admin API (`/admin/<resource>.json`), mapped by the Admin API helpers
//! shared with Haravan.

use integrations_core::Result;
use serde_json::{json, Value};

use super::client::{SapoApi, PROVIDER};
use crate::ecommerce::admin_api::{
    order, orders_page, orders_request, products_page, products_request, unwrap,
};
use crate::fields::required_int;
use crate::kit::{Action, ActionCall, Request};

pub(crate) const TABLE: &[Action<SapoApi>] = &[
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
        id: "update_order",
        run: |api, call| Box::pin(update_order(api, call)),
    },
];

async fn list_orders(api: &SapoApi, input: &Value) -> Result<Value> {
    let (request, page, limit) = orders_request("/admin/orders.json", input);
    orders_page(PROVIDER, &api.call(request).await?, page, limit)
}

async fn get_order(api: &SapoApi, input: &Value) -> Result<Value> {
    let id = required_int(input, "orderId")?;
    let body = api
        .call(Request::get(format!("/admin/orders/{id}.json")))
        .await?;
    order(PROVIDER, unwrap(PROVIDER, &body, "order")?)
}

async fn list_products(api: &SapoApi, input: &Value) -> Result<Value> {
    let (request, page, limit) = products_request("/admin/products.json", input);
    products_page(PROVIDER, &api.call(request).await?, page, limit)
}

/// Only the fields given are sent, each replacing the order's value: a repeat is a no-op.
async fn update_order(api: &SapoApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let id = required_int(input, "orderId")?;
    let mut fields = json!({ "id": id });
    for key in ["note", "tags", "email"] {
        if let Some(v) = input.get(key).and_then(Value::as_str) {
            fields[key] = json!(v);
        }
    }
    if fields.as_object().map_or(0, |f| f.len()) < 2 {
        return Err(integrations_core::Error::validation(
            "update_order needs at least one of note, tags, email",
        ));
    }
    let body = api
        .call(Request::put(format!("/admin/orders/{id}.json")).json(json!({ "order": fields })))
        .await?;
    order(PROVIDER, unwrap(PROVIDER, &body, "order")?)
}
