//! Shopify actions as GraphQL Admin API operations, their answers mapped to the catalog's
//! outputSchemas (connections flattened: `lineItems.nodes` → `lineItems`).

use integrations_core::Result;
use serde_json::{json, Value};

use super::client::{bad_answer, user_errors, ShopifyApi};
use crate::fields::required_str;
use crate::kit::{Action, ActionCall};

pub(crate) const TABLE: &[Action<ShopifyApi>] = &[
    Action {
        id: "get_order",
        run: |api, call| Box::pin(get_order(api, call)),
    },
    Action {
        id: "list_orders",
        run: |api, call| Box::pin(list_orders(api, call)),
    },
    Action {
        id: "get_product",
        run: |api, call| Box::pin(get_product(api, call)),
    },
    Action {
        id: "adjust_inventory",
        run: |api, call| Box::pin(adjust_inventory(api, call)),
    },
    Action {
        id: "create_fulfillment",
        run: |api, call| Box::pin(create_fulfillment(api, call)),
    },
    Action {
        id: "update_order",
        run: |api, call| Box::pin(update_order(api, call)),
    },
];

const ORDER_FIELDS: &str = "id name createdAt displayFinancialStatus displayFulfillmentStatus \
     email note tags totalPriceSet { shopMoney { amount currencyCode } } \
     lineItems(first: 50) { nodes { id title quantity sku variant { id } } }";

pub(crate) const GET_ORDER: &str = "query GetOrder($id: ID!) { order(id: $id) { ORDER } }";
pub(crate) const LIST_ORDERS: &str = "query ListOrders($first: Int!, $after: String, $query: \
     String) { orders(first: $first, after: $after, query: $query, reverse: true) { nodes { \
     ORDER } pageInfo { hasNextPage endCursor } } }";
pub(crate) const GET_PRODUCT: &str = "query GetProduct($id: ID!) { product(id: $id) { id title \
     handle status variants(first: 100) { nodes { id title sku price inventoryQuantity \
     inventoryItem { id } } } } }";
/// `@idempotent` (API 2026-01, required from 2026-04): Shopify applies a key's change once and
/// answers its repeats with the first result, so a lost answer can be retried.
pub(crate) const ADJUST_INVENTORY: &str = "mutation AdjustInventory($input: \
     InventoryAdjustQuantitiesInput!, $idempotencyKey: String!) { inventoryAdjustQuantities(\
     input: $input) @idempotent(key: $idempotencyKey) { inventoryAdjustmentGroup { id changes \
     { name delta } } userErrors { field message } } }";
pub(crate) const CREATE_FULFILLMENT: &str = "mutation CreateFulfillment($fulfillment: \
     FulfillmentInput!) { fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id \
     status trackingInfo { number company } } userErrors { field message } } }";
pub(crate) const UPDATE_ORDER: &str = "mutation UpdateOrder($input: OrderInput!) { \
     orderUpdate(input: $input) { order { id tags note } userErrors { field message } } }";

fn with_order_fields(query: &str) -> String {
    query.replace("ORDER", ORDER_FIELDS)
}

/// A GraphQL order as the outputSchema's order.
fn order(o: &Value) -> Result<Value> {
    let money = o
        .pointer("/totalPriceSet/shopMoney")
        .ok_or_else(|| bad_answer("the order's totalPriceSet"))?;
    let lines: Vec<Value> = o
        .pointer("/lineItems/nodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|l| {
            json!({
                "id": l["id"], "title": l["title"], "quantity": l["quantity"],
                "sku": l.get("sku").cloned().unwrap_or(Value::Null),
                "variantId": l.pointer("/variant/id").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(json!({
        "id": o["id"], "name": o["name"], "createdAt": o["createdAt"],
        "displayFinancialStatus": o.get("displayFinancialStatus").cloned().unwrap_or(Value::Null),
        "displayFulfillmentStatus": o["displayFulfillmentStatus"],
        "email": o.get("email").cloned().unwrap_or(Value::Null),
        "note": o.get("note").cloned().unwrap_or(Value::Null),
        "tags": o.get("tags").cloned().unwrap_or(json!([])),
        "totalPrice": {"amount": money["amount"], "currencyCode": money["currencyCode"]},
        "lineItems": lines,
    }))
}

fn found<'a>(data: &'a Value, field: &str, id: &str) -> Result<&'a Value> {
    data.get(field).filter(|v| !v.is_null()).ok_or_else(|| {
        integrations_core::Error::new(
            integrations_core::ErrorKind::ProviderNotFound,
            format!("Shopify has no {field} {id}"),
        )
    })
}

async fn get_order(api: &ShopifyApi, call: &ActionCall<'_>) -> Result<Value> {
    let id = required_str(call.input, "orderId")?;
    let data = api
        .graphql(&with_order_fields(GET_ORDER), json!({"id": id}))
        .await?;
    order(found(&data, "order", id)?)
}

async fn list_orders(api: &ShopifyApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let variables = json!({
        "first": input.get("first").and_then(Value::as_i64).unwrap_or(20),
        "after": input.get("after").cloned().unwrap_or(Value::Null),
        "query": input.get("query").cloned().unwrap_or(Value::Null),
    });
    let data = api
        .graphql(&with_order_fields(LIST_ORDERS), variables)
        .await?;
    let orders = data
        .pointer("/orders/nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_answer("orders"))?
        .iter()
        .map(order)
        .collect::<Result<Vec<_>>>()?;
    let page = &data["orders"]["pageInfo"];
    Ok(json!({
        "orders": orders,
        "pageInfo": {
            "hasNextPage": page["hasNextPage"].as_bool().unwrap_or(false),
            "endCursor": page.get("endCursor").cloned().unwrap_or(Value::Null),
        },
    }))
}

async fn get_product(api: &ShopifyApi, call: &ActionCall<'_>) -> Result<Value> {
    let id = required_str(call.input, "productId")?;
    let data = api.graphql(GET_PRODUCT, json!({"id": id})).await?;
    let p = found(&data, "product", id)?;
    let variants: Vec<Value> = p
        .pointer("/variants/nodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| {
            json!({
                "id": v["id"], "title": v["title"], "price": v["price"],
                "sku": v.get("sku").cloned().unwrap_or(Value::Null),
                "inventoryQuantity": v.get("inventoryQuantity").cloned().unwrap_or(Value::Null),
                "inventoryItemId": v.pointer("/inventoryItem/id").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(json!({
        "id": p["id"], "title": p["title"], "handle": p["handle"], "status": p["status"],
        "variants": variants,
    }))
}

/// The mutation's payload, its userErrors refused.
fn payload<'a>(data: &'a Value, mutation: &str) -> Result<&'a Value> {
    let payload = data
        .get(mutation)
        .filter(|p| !p.is_null())
        .ok_or_else(|| bad_answer(mutation))?;
    user_errors(payload)?;
    Ok(payload)
}

async fn adjust_inventory(api: &ShopifyApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let variables = json!({"input": {
        "name": "available",
        "reason": input.get("reason").and_then(Value::as_str).unwrap_or("correction"),
        "changes": [{
            "inventoryItemId": required_str(input, "inventoryItemId")?,
            "locationId": required_str(input, "locationId")?,
            "delta": input["delta"],
        }],
    }});
    let data = api.graphql_keyed(ADJUST_INVENTORY, variables, call).await?;
    let group = payload(&data, "inventoryAdjustQuantities")?
        .get("inventoryAdjustmentGroup")
        .filter(|g| !g.is_null())
        .ok_or_else(|| bad_answer("inventoryAdjustmentGroup"))?;
    Ok(json!({
        "adjustmentGroupId": group["id"],
        "changes": group.get("changes").cloned().unwrap_or(json!([])),
    }))
}

async fn create_fulfillment(api: &ShopifyApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let mut tracking = json!({
        "number": required_str(input, "trackingNumber")?,
        "company": required_str(input, "trackingCompany")?,
    });
    if let Some(url) = input.get("trackingUrl") {
        tracking["url"] = url.clone();
    }
    let variables = json!({"fulfillment": {
        "lineItemsByFulfillmentOrder": [{
            "fulfillmentOrderId": required_str(input, "fulfillmentOrderId")?,
        }],
        "trackingInfo": tracking,
        "notifyCustomer": input.get("notifyCustomer").and_then(Value::as_bool).unwrap_or(false),
    }});
    let data = api.graphql(CREATE_FULFILLMENT, variables).await?;
    let f = payload(&data, "fulfillmentCreate")?
        .get("fulfillment")
        .filter(|f| !f.is_null())
        .ok_or_else(|| bad_answer("fulfillment"))?;
    let info = f.pointer("/trackingInfo/0").cloned().unwrap_or(Value::Null);
    Ok(json!({
        "fulfillmentId": f["id"], "status": f["status"],
        "trackingNumber": info.get("number").cloned().unwrap_or(Value::Null),
        "trackingCompany": info.get("company").cloned().unwrap_or(Value::Null),
    }))
}

async fn update_order(api: &ShopifyApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let mut order_input = json!({"id": required_str(input, "orderId")?});
    for field in ["tags", "note"] {
        if let Some(v) = input.get(field) {
            order_input[field] = v.clone();
        }
    }
    let data = api
        .graphql(UPDATE_ORDER, json!({"input": order_input}))
        .await?;
    let o = payload(&data, "orderUpdate")?
        .get("order")
        .filter(|o| !o.is_null())
        .ok_or_else(|| bad_answer("order"))?;
    Ok(json!({
        "id": o["id"],
        "tags": o.get("tags").cloned().unwrap_or(json!([])),
        "note": o.get("note").cloned().unwrap_or(Value::Null),
    }))
}
